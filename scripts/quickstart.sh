#!/usr/bin/env bash
# Set up midicli and compose: the README's first command.
#   scripts/quickstart.sh ["DESCRIPTION"]
# The demo project uses the bundled `mini` model (offline, seconds on a CPU), or
# midi-llm on a machine with a CUDA GPU; MODEL=... picks another (preset, hub id, folder).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
midicli=.venv/bin/midicli
[ -f demo/midicli.toml ] || $midicli init demo ${MODEL:+--model "$MODEL"}
$midicli -C demo compose "${1:-An Irish folk piece featuring fiddle. Set in the key of D major.}" \
  -n 2 --seed 1 --render wav
$midicli -C demo list
