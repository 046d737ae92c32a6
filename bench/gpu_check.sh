#!/usr/bin/env bash
# The GPU check: one script for a borrowed GPU machine (one H200: Python 3.12, torch with CUDA,
# transformers, accelerate, peft; no Django, no network). Under 8 minutes there; on a machine
# without a GPU the same steps run at toy size in under a minute (CI runs it).
#
#   bench/gpu_check.sh                     # from anywhere; PYTHON=... picks the interpreter
#
# Prints one key=value line per step (check=generation|finetune|fsdp|tests). pytest, for the
# gpu tests, comes from the machine or from GPU_CHECK_SITE (a folder of pure-Python packages,
# `make gpu-check-site`, sent along with the tree).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
SITE="${GPU_CHECK_SITE:-var/gpu-check-site}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
[ -d "$SITE" ] && export PYTHONPATH="$PYTHONPATH:$(cd "$SITE" && pwd)"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
"$PYTHON" -c "import torch, sys; gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'; \
print(f'check=machine python={sys.version.split()[0]} torch={torch.__version__} gpus={torch.cuda.device_count()} gpu={gpu.replace(chr(32), chr(95))}')"
status=0
for step in generation finetune fsdp tests; do
    "$PYTHON" bench/gpu_check.py "$step" || status=1
done
exit $status
