#!/bin/sh
# Install what bench/run.py needs on a fresh Debian machine (run as root):
# wrk (small requests), hey (HEAD: wrk cannot parse HEAD responses), and
# moto[server] + py-spy + pyinstrument + matplotlib (bench/soak.py's plot) into the
# project's virtualenv.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${VENV:-$here/../.venv}
if ! command -v wrk >/dev/null || ! command -v hey >/dev/null; then
    apt-get update
    apt-get install -y wrk hey
fi
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -e "$here/.."
fi
"$venv/bin/pip" install --quiet 'moto[server]' py-spy pyinstrument matplotlib
