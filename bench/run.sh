#!/bin/sh
# One command: install what is missing, then run the benchmark.
#   bench/run.sh            full run (~20-25 min on 2 cores)
#   bench/run.sh --quick    a few minutes
# Other options: python3 bench/run.py --help
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v wrk >/dev/null || ! command -v hey >/dev/null \
        || [ ! -x "$here/../.venv/bin/moto_server" ]; then
    sh "$here/setup.sh"
fi
cd "$here/.."
exec .venv/bin/python bench/run.py "$@"
