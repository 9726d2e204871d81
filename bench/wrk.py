"""Running Debian's `wrk` (a C load generator) with a Lua script and reading its figures.

Every throughput phase of bench/run.py (and bench/checkin.py) goes through `run()`, so the
floor and the product are driven alike: the same connections, the same number of wrk threads,
the same timeout. One wrk thread per connection by default: wrk's Lua state is per thread, so a
stateful script (bench/lifecycle.lua: claim → check-in → report → approve, each step using the
previous answer) then owns exactly one connection and sees its requests and answers in order.
`scripts/ensure-wrk.sh` installs wrk when it is missing (`make bench` calls it).
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# A line a script's done() prints with figures of its own (bench/lifecycle.lua: the statuses).
EXTRA_MARK = "bench-figures "


def available() -> bool:
    return shutil.which("wrk") is not None


def _ms(value: str, unit: str) -> float:
    return float(value) / 1000 if unit == "us" else float(value) * 1000 if unit == "s" else float(value)


def parse(out: str) -> dict:
    """wrk's report (run with --latency) as figures: requests, seconds, rps, ok_rps (answers
    below 400 per second), p50/p90/p99 in ms, non-2xx answers, socket errors, and what a
    script's done() printed after EXTRA_MARK."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    requests = int(total.group(1))
    seconds = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[total.group(3)] * float(total.group(2))

    def latency(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return _ms(m.group(1), m.group(2)) if m else float("nan")

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = int(bad.group(1)) if bad else 0
    figures = {"requests": requests, "seconds": seconds, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)",
                                                                                 out).group(1)),
               "ok_rps": (requests - non_2xx) / seconds if seconds else 0.0,
               "p50_ms": latency("50"), "p90_ms": latency("90"), "p99_ms": latency("99"), "non_2xx": non_2xx,
               "socket_errors": sum(map(int, errors.groups())) if errors else 0}
    for line in out.splitlines():
        if line.startswith(EXTRA_MARK):
            figures.update(json.loads(line[len(EXTRA_MARK):]))
    return figures


def run(base: str, script: str | Path | None, data: Path | None, seconds: float, connections: int, *,
        path: str = "", threads: int | None = None, timeout: int = 10) -> dict:
    """One wrk run against `base` (+ `path` when there is no script); its figures (see `parse`)."""
    command = ["wrk", "-t", str(threads or connections), "-c", str(connections), "-d", f"{max(int(seconds), 1)}s",
               "--timeout", f"{timeout}s", "--latency"]
    if script is not None:
        command += ["-s", str(BENCH / script if not Path(script).is_absolute() else script)]
    command.append(base + path)
    if data is not None:
        command += ["--", str(data)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse(out)
