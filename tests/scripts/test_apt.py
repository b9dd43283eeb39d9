"""scripts/apt.sh: the install scripts wait for another apt or dpkg instead of failing.

apt-get itself is played by a stand-in on PATH that answers like apt 2.6 while another
process holds a lock; the real system's apt is never run here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: apt-get as apt 2.6 answers while another process holds the lists lock (exit 100), for
#: the first $BUSY_RUNS runs; every run's arguments are appended to calls.txt.
APT_GET = """#!/bin/sh
echo "$@" >> "$STAND_IN/calls.txt"
runs=$(wc -l < "$STAND_IN/calls.txt")
if [ "$runs" -le "$BUSY_RUNS" ]; then
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 42 (apt-get)" >&2
  echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
  exit 100
fi
[ -z "$FAIL_WITH" ] || { echo "E: $FAIL_WITH" >&2; exit 100; }
echo "LC_ALL=$LC_ALL DEBIAN_FRONTEND=$DEBIAN_FRONTEND"
"""
SUDO = '#!/bin/sh\nexec "$@"\n'


def run_apt_get(tmp_path: Path, *, busy_runs: int, fail_with: str = "", wait: int = 600):
    for name, text in (("apt-get", APT_GET), ("sudo", SUDO), ("sleep", "#!/bin/sh\n")):
        tool = tmp_path / name
        tool.write_text(text)
        tool.chmod(0o755)
    environ = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "STAND_IN": str(tmp_path),
        "BUSY_RUNS": str(busy_runs),
        "FAIL_WITH": fail_with,
        "APT_WAIT_SECONDS": str(wait),
    }
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail; source scripts/apt.sh; apt_get update -qq"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    return done, calls


def test_a_locked_apt_is_waited_for_then_the_command_runs(tmp_path: Path):
    done, calls = run_apt_get(tmp_path, busy_runs=3)
    assert done.returncode == 0, done.stderr
    assert calls == ["-o DPkg::Lock::Timeout=600 update -qq"] * 4
    assert "apt is busy (held by process 42 (apt-get)); waiting up to 600 s" in done.stderr
    assert "LC_ALL=C DEBIAN_FRONTEND=noninteractive" in done.stdout


def test_the_wait_is_bounded(tmp_path: Path):
    done, calls = run_apt_get(tmp_path, busy_runs=1000, wait=20)
    assert done.returncode == 100
    assert len(calls) == 5  # at 0, 5, 10, 15 and 20 s
    assert "Could not get lock" in done.stderr


def test_a_failure_other_than_the_lock_fails_at_once(tmp_path: Path):
    done, calls = run_apt_get(tmp_path, busy_runs=0, fail_with="Unable to locate package x")
    assert done.returncode == 100
    assert len(calls) == 1
    assert "Unable to locate package x" in done.stderr
