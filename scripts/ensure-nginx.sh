#!/bin/sh
# Debian's nginx for the two-node test (tests/faults/test_two_nodes.py), installed when missing.
# Only the binary is used: the test runs its own nginx in the foreground on a free loopback
# port with a temporary prefix; the package's own service is stopped and not left running.
set -eu
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
echo "installing: nginx" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q >/dev/null
# policy-rc.d 101: do not start the packaged service (it would take port 80 on every address).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nginx >/dev/null
