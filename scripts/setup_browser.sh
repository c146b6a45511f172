#!/usr/bin/env bash
# Everything the browser tests (tests/browser) need; safe to run again.
#   - Debian's chromium (playwright cannot download browsers here), espeak-ng + sox for the clips,
#     festival + festvox-ru for the Russian clips of the correction evaluation
#   - playwright-core from npm into tests/browser/node_modules
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
command -v text2wave >/dev/null 2>&1 || need+=(festival)
[ -d /usr/share/festival/voices/russian ] || need+=(festvox-ru)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm install --no-audit --no-fund)
fi

echo "browser test setup: ok"
