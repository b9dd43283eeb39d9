#!/usr/bin/env bash
# Installs giaoban, loads the illustrative demo data and serves the UI on the embedded
# defaults (SQLite under var/, e-mail into the var/maildrop folder).
# The demo accounts and their passwords are printed before the server starts.
set -euo pipefail
cd "$(dirname "$0")/.."
# The invitation letter (PDF) needs Pango and fonts with Vietnamese glyphs.
missing=()
dpkg -s fonts-liberation2 >/dev/null 2>&1 || missing+=(fonts-liberation2)
dpkg -s libpangoft2-1.0-0 >/dev/null 2>&1 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  source scripts/apt.sh  # waits for another apt or dpkg instead of failing on its lock
  apt_get update -qq
  apt_get install -y -qq "${missing[@]}"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
.venv/bin/giaoban demo
exec .venv/bin/giaoban serve
