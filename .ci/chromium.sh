#!/usr/bin/env bash
# Makes sure a Chromium is there for the browser tests (host/internal/browsertest):
# Debian's chromium package, installed with apt-get when missing. Idempotent.
#
# On CI (CI=true) a Chromium that cannot be had is an error, so that the browser
# tests never pass by skipping. On a laptop without root the script says how to
# install it and succeeds; the tests then skip.
set -euo pipefail

find_chromium() {
  local c
  for c in "${CHROMIUM:-}" chromium chromium-browser google-chrome-stable google-chrome; do
    if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

if path=$(find_chromium); then
  echo "chromium: $path ($("$path" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  echo "installing chromium (Debian package)"
  $sudo apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if path=$(find_chromium); then
  echo "chromium: $path ($("$path" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "chromium: not found and could not be installed; CI needs it for the browser tests" >&2
  exit 1
fi
echo "chromium: not found; install it (Debian: apt-get install chromium) or set CHROMIUM=/path/to/chrome; the browser tests will skip" >&2
exit 0
