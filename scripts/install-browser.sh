#!/usr/bin/env bash
# Install what the browser tests need (tests/e2e/flows/test_queue_page_ui.py): Debian's
# chromium, which playwright (a dev extra, `make venv`) drives headless; playwright's
# own browser download is never used. Idempotent: does nothing when it is there.
# Needs root for apt-get. Prints where the browser is.
set -euo pipefail
CHROMIUM=${RELAUNCH_TEST_CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
[ -x "$CHROMIUM" ] || { echo "install-browser: $CHROMIUM not found after installing chromium" >&2; exit 1; }
echo "$CHROMIUM"
