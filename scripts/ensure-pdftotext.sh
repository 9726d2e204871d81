#!/bin/sh
# pdftotext (Debian's poppler-utils) and poppler-data for the certificate tests
# (tests/test_certificates.py reads the PDF's text back). poppler-data holds the Adobe-GB1
# mapping that turns the PDF's STSong-Light characters back into Chinese text.
set -eu
missing=""
command -v pdftotext >/dev/null 2>&1 || missing="$missing poppler-utils"
[ -d /usr/share/poppler/cMap/Adobe-GB1 ] || missing="$missing poppler-data"
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
