#!/bin/sh
# Debian's wrk (a C HTTP load generator, with LuaJIT scripting), installed when missing: bench/run.py
# drives its throughput phases with it (bench/wrk.py, bench/*.lua), and `make test` runs the Lua
# lifecycle driver under it (tests/test_bench_wrk.py).
set -eu
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
echo "installing: wrk" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q wrk >/dev/null
