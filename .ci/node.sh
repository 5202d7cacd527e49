#!/usr/bin/env bash
# Makes sure Node.js is there for the page scripts' behaviour tests (web:
# TestScripts runs web/testdata/*_test.js and `node --check` on web/static):
# Debian's nodejs package, installed with apt-get when missing. Idempotent.
#
# On CI (CI=true) a Node.js that cannot be had is an error, so that the script
# tests never pass by skipping. On a laptop without root the script says how to
# install it and succeeds; TestScripts then skips.
set -euo pipefail

if path=$(command -v node); then
  echo "node: $path ($(node --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  echo "installing nodejs (Debian package)"
  $sudo apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
fi

if path=$(command -v node); then
  echo "node: $path ($(node --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "node: not found and could not be installed; CI needs it for the page scripts' tests (web TestScripts)" >&2
  exit 1
fi
echo "node: not found; install it (Debian: apt-get install nodejs); web's TestScripts will skip" >&2
exit 0
