#!/usr/bin/env bash
# Sets everything up on a fresh machine (Python packages, Debian's chromium for the browser
# tests) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Debian's chromium, plus Thai and emoji fonts so the screenshots show what users see.
PKGS="chromium fonts-thai-tlwg fonts-noto-color-emoji"
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi -e garuda -e loma -e kinnari; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # wait (up to 10 minutes) for another apt/dpkg process instead of failing on its lock
  APT="apt-get -o DPkg::Lock::Timeout=600"
  echo "unsup: installing Debian's chromium and Thai/emoji fonts for the browser tests…"
  $SUDO $APT install -y -q $PKGS >/dev/null 2>&1 || {
    $SUDO $APT update -q >/dev/null && $SUDO $APT install -y -q $PKGS >/dev/null; }
fi
exec .venv/bin/python -m pytest "$@"
