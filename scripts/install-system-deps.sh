#!/usr/bin/env bash
# System packages the tests and tools need beyond Python: headless Chromium (the report's browser
# test), Japanese fonts (so the report renders real glyphs, not boxes) and poppler-utils (pdftotext).
#
# Idempotent: when everything is installed it only says so (dpkg-query, no network). As root with
# packages missing it runs apt-get update and apt-get install. Not root, or not a Debian-like
# system: it prints how to install them and exits 0, so `make` goes on (the browser test then
# skips locally, and fails on CI where CI is set).
set -euo pipefail

PACKAGES=(chromium fonts-ipaexfont poppler-utils tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: no dpkg/apt-get here; install these yourself: chromium, the IPAex fonts" \
         "(or Noto Sans CJK JP), poppler-utils"
    exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != *"install ok installed"* ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-system-deps: already installed: ${PACKAGES[*]}"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-system-deps: missing system packages: ${missing[*]}"
    echo "  install them with:"
    echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    echo "  (without them the report's browser test is skipped; on CI it fails)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-system-deps: missing ${missing[*]}; running: apt-get update"
apt-get update
echo "install-system-deps: running: apt-get install -y --no-install-recommends ${missing[*]}"
apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-system-deps: installed ${missing[*]}"
