#!/usr/bin/env bash
# Set up midicli and compose: the README's first command.
#   scripts/quickstart.sh ["DESCRIPTION"]
# Until the bundled model ships, the model here is a random-weight scaffold in the
# MIDI-LLM layout (its notes are noise): pass MODEL=midi-llm (or a local copy of it)
# for real music.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
midicli=.venv/bin/midicli
model=${MODEL:-models/tiny}
if [ "$model" = "models/tiny" ] && [ ! -f models/tiny/config.json ]; then
  $midicli model scaffold models/tiny --size tiny
fi
[ -f demo/midicli.toml ] || $midicli init demo --model "$model"
$midicli -C demo compose "${1:-A calm piano waltz in 3/4}" -n 2 --max-tokens 300 --seed 1 --model "$model"
$midicli -C demo list
