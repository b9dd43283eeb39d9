#!/usr/bin/env bash
# Installs giaoban, loads the illustrative demo data and serves the UI on the embedded
# defaults (SQLite under var/, e-mail into the var/maildrop folder).
# The demo accounts and their passwords are printed before the server starts.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
.venv/bin/giaoban demo
exec .venv/bin/giaoban serve
