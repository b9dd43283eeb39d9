#!/usr/bin/env bash
# Installs everything the test suite needs, then runs all of it (lint + types + pytest).
#   bash scripts/test.sh            # the whole suite
#   bash scripts/test.sh -k import  # extra arguments go to pytest
# PostgreSQL tests use GIAOBAN_TEST_POSTGRES_URL
# (default postgresql+asyncpg://postgres@127.0.0.1:5432/test); they are skipped when no
# server answers there, except in CI (CI=true), where that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Chromium for the browser tests (Playwright drives /usr/bin/chromium and
# never downloads a browser), fonts with Vietnamese glyphs and poppler for documents,
# Node.js for ical.js, and Dovecot: the inbound tests start their own IMAP server with it.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s fonts-liberation2 >/dev/null 2>&1 || missing+=(fonts-liberation2)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
dpkg -s libharfbuzz-subset0 >/dev/null 2>&1 || missing+=(libharfbuzz-subset0)
dpkg -s libpangoft2-1.0-0 >/dev/null 2>&1 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  source scripts/apt.sh  # waits for another apt or dpkg instead of failing on its lock
  apt_get update -qq
  apt_get install -y -qq "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# ical.js, the parser inside Thunderbird, reads back every invitation in the tests.
npm install --prefix tests/js --no-audit --no-fund --no-package-lock --loglevel=error
.venv/bin/ruff check .
.venv/bin/ruff format --check meetings agendas notify scheduler tests bench
# Types: the packages and settings are in pyproject.toml ([tool.mypy]).
.venv/bin/mypy
# One pytest worker per core (pytest-xdist): most tests wait on a browser, a subprocess or
# a server, so two workers on two cores take about half the time. Each worker has its own
# PostgreSQL database (tests/conftest.py); `-n 0` as an argument runs in one process.
exec .venv/bin/python -m pytest -n auto "$@"
