# Sourced by scripts/demo.sh, scripts/test.sh and .ci/run: `apt_get ARGS…` runs apt-get
# (with sudo when not root) and waits for another apt or dpkg (unattended-upgrades, a
# second terminal) to let go of its lock instead of failing at once.
# DPkg::Lock::Timeout makes apt-get wait for the dpkg locks, but (apt 2.6) not for the
# lists lock that `apt-get update` takes nor for the archives lock of a download: a run
# refused for one of those ("Could not get lock") is retried every 5 s.
# APT_WAIT_SECONDS (default 600) bounds the wait.

apt_get() {
  local sudo="" waited=0 status errors
  local limit="${APT_WAIT_SECONDS:-600}"
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  errors="$(mktemp)"
  while true; do
    status=0
    # env after sudo: sudo drops the caller's environment. LC_ALL=C: the message below.
    $sudo env LC_ALL=C DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout="$limit" "$@" 2>"$errors" || status=$?
    if [ "$status" -eq 0 ] || [ "$waited" -ge "$limit" ] \
      || ! grep -q "Could not get lock" "$errors"; then
      cat "$errors" >&2
      rm -f "$errors"
      return "$status"
    fi
    if [ "$waited" -eq 0 ]; then
      echo "apt is busy ($(grep -m1 -o 'held by process.*' "$errors" || true));" \
        "waiting up to ${limit} s" >&2
    fi
    sleep 5
    waited=$((waited + 5))
  done
}
