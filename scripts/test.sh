#!/usr/bin/env bash
# Set up (with test tools) and run the whole test suite, plugins included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
paths=(tests)
[ -d plugins ] && [ -n "$(ls plugins)" ] && paths+=(plugins)
exec .venv/bin/python -m pytest "${paths[@]}" "$@"
