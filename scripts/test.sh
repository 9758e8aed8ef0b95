#!/usr/bin/env bash
# Set up (with test tools), check the style with ruff, and run the whole test suite, plugins included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
paths=(tests)
[ -d plugins ] && [ -n "$(ls plugins)" ] && paths+=(plugins)
exec .venv/bin/python -m pytest "${paths[@]}" "$@"
