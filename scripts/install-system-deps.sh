#!/bin/sh
# Installs what the browser and add-in tests need beyond Python: Debian's
# Chromium (Playwright drives it; no browser download) and the Node packages.
set -eu
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ -f package.json ] && command -v npm >/dev/null 2>&1; then
    if [ ! -d node_modules ] || [ package.json -nt node_modules ]; then
        npm install --no-audit --no-fund --silent
        touch node_modules
    fi
fi
