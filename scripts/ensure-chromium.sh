#!/bin/sh
# Debian's Chromium and the Noto CJK fonts for the browser tests (tests/browser).
# Without fonts-noto-cjk Chromium draws every Chinese character as a box.
# Playwright's own browser download is not used: the tests drive /usr/bin/chromium.
set -eu
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$missing fonts-noto-cjk"
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >/dev/null
