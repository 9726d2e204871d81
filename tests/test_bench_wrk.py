"""bench/run.py's wrk side, without timing anything: the lifecycle driver's input file is what
bench/lifecycle.lua reads, the Lua script drives whole claims in order on each connection with
that connection's own members (run by wrk against a stand-in server), and the JSON line keeps
its keys. Figures live in docs/performance.md, never in a test."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import run, wrk

# The keys the JSON line had before wrk (issue 6); it keeps every one of them.
OLD_KEYS = {"machine", "date", "quick", "load_seconds", "virtual_users", "floor_rps", "floor_p50_ms", "floor_p99_ms",
            "floor_errors", "hello_rps", "lifecycle_tps", "lifecycle_p50_ms", "lifecycle_p99_ms", "lifecycle_errors",
            "lifecycle_statuses", "race_claimants", "race_winners", "race_409", "race_5xx", "race_p99_ms",
            "timeline_p50_ms", "timeline_p95_ms", "claim_list_p50_ms", "claim_list_p95_ms",
            "dashboard_district_p50_ms", "dashboard_district_p95_ms", "dashboard_town_p50_ms",
            "dashboard_town_p95_ms", "export_seconds", "export_rows", "export_mb", "export_worker_rss_before_mb",
            "export_worker_peak_rss_mb", "verify_events", "verify_events_per_s", "lifecycle_vs_floor",
            "p99_vs_floor"}

WRK_REPORT = """Running 8s test @ http://127.0.0.1:1234
  16 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    60.12ms   20.00ms 300.00ms   70.00%
  Latency Distribution
     50%   55.50ms
     75%   70.00ms
     90%   90.25ms
     99%    1.20s
  1000 requests in 8.00s, 500.00KB read
  Non-2xx or 3xx responses: 40
Requests/sec:    125.00
Transfer/sec:     62.50KB
bench-figures {"statuses": {"approve 200": 240, "claim 201": 250, "claim 409": 40}}
"""


def _members(connections=3, per=2):
    tokens = {f"m{c}-{i}": f"bd_token-{c}-{i}" for c in range(connections) for i in range(per)}
    actors = {"lifecycle": [f"m{c}-{i}" for i in range(per) for c in range(connections)],
              "lifecycle_tasks": [100 + c for c in range(connections)]}
    return run.lifecycle_connections(actors, tokens, connections)


def test_the_lifecycle_file_names_the_staff_and_each_connections_own_members_and_task(tmp_path):
    connections = _members()
    path = run.write_lifecycle_file(tmp_path / "lifecycle.txt", "bd_staff", connections)
    lines = path.read_text().splitlines()
    assert lines[0] == "staff bd_staff"
    # the Lua patterns: ^staff%s+(%S+)$ and ^(%d+)%s+(%d+)%s+(%S+)$
    rows = [re.fullmatch(r"(\d+)\s+(\d+)\s+(\S+)", line).groups() for line in lines[1:]]
    assert len(rows) == 6
    by_connection = {}
    for number, task, token in rows:
        by_connection.setdefault(int(number), []).append((int(task), token))
    assert sorted(by_connection) == [1, 2, 3]  # wrk numbers its threads from 1
    for number, members in by_connection.items():
        assert {task for task, _ in members} == {100 + number - 1}  # one task per connection
        assert len({token for _, token in members}) == 2
    assert len({token for _, _, token in rows}) == 6  # no member on two connections


def test_wrk_report_is_read_as_figures():
    figures = wrk.parse(WRK_REPORT)
    assert figures["requests"] == 1000 and figures["seconds"] == 8.0
    assert figures["non_2xx"] == 40 and figures["ok_rps"] == 120.0 and figures["rps"] == 125.0
    assert figures["p50_ms"] == 55.5 and figures["p99_ms"] == 1200.0
    assert figures["statuses"]["approve 200"] == 240


def test_the_json_line_keeps_its_keys_and_adds_the_check_in_ratio(monkeypatch):
    assert OLD_KEYS <= set(run.JSON_KEYS)
    assert {"checkin_vs_floor", "checkin_rps", "checkin_p99_ms", "checkin_p99_vs_floor"} <= set(run.JSON_KEYS)
    monkeypatch.setattr(wrk, "run", lambda *a, **kw: wrk.parse(WRK_REPORT))
    rounds = []
    for floor_factor in (1.0, 2.0, 0.5):  # the floor's rate differs per round; the product's does not
        this = {}
        this.update(run.floor_load("http://x", None, 8, 16))
        this["floor_rps"] *= floor_factor
        this.update(run.checkin_load("http://x", None, 8, 16))
        this.update(run.lifecycle_load("http://x", None, 8, 16))
        rounds.append(this)
    figures = run.combine(rounds)
    assert set(figures) <= set(run.JSON_KEYS)
    assert figures["floor_rps"] == 120.0  # the median round
    assert figures["checkin_vs_floor_rounds"] == [1.0, 0.5, 2.0] and figures["checkin_vs_floor"] == 1.0
    assert figures["p99_vs_floor"] == 1.0
    assert figures["lifecycle_errors"] == 120  # errors add up over the rounds
    assert figures["lifecycle_statuses"] == {"approve 200": 720, "claim 201": 750, "claim 409": 120}
    assert json.loads(run.json_line(figures))["lifecycle_tps"] == 120.0


class _StandIn(BaseHTTPRequestHandler):
    """Answers like the API for the lifecycle's four steps, and keeps what it was asked."""

    protocol_version = "HTTP/1.1"
    NEXT = {"check_in": "claimed", "submit_report": "visiting", "approve": "reported"}
    AFTER = {"check_in": "visiting", "submit_report": "reported", "approve": "verified"}

    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        status, headers = 404, {}
        with server.lock:
            claim = re.fullmatch(r"/api/v1/tasks/(\d+)/claims", self.path)
            step = re.fullmatch(r"/api/v1/claims/(\d+)/(\w+)", self.path)
            if claim:
                server.next_id += 1
                server.claims[server.next_id] = {"token": token, "task": int(claim.group(1)), "state": "claimed"}
                server.log.append((token, "claim", int(claim.group(1))))
                status, headers = 201, {"Location": f"/api/v1/claims/{server.next_id}"}
            elif step and int(step.group(1)) in server.claims:
                row, trigger = server.claims[int(step.group(1))], step.group(2)
                allowed = token == ("bd_staff" if trigger == "approve" else row["token"])
                if allowed and row["state"] == self.NEXT.get(trigger):
                    row["state"] = self.AFTER[trigger]
                    status = 200
                else:
                    status = 409
                server.log.append((token, trigger, int(step.group(1))))
        body = b'{"id": 1}'
        self.send_response(status)
        for name, value in {**headers, "Content-Type": "application/json",
                            "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.skipif(not wrk.available(), reason="wrk is not installed (scripts/ensure-wrk.sh)")
def test_the_lua_driver_runs_whole_claims_in_order_with_each_connections_own_members(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    server.lock, server.claims, server.log, server.next_id = threading.Lock(), {}, [], 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connections = _members()
        path = run.write_lifecycle_file(tmp_path / "lifecycle.txt", "bd_staff", connections)
        figures = wrk.run(f"http://127.0.0.1:{server.server_address[1]}", "lifecycle.lua", path, 1, 3)
    finally:
        server.shutdown()
        server.server_close()
    statuses = figures["statuses"]
    assert statuses.get("approve 200", 0) > 0, statuses
    assert not [key for key in statuses if not key.endswith((" 200", " 201"))], statuses  # nothing refused
    task_of = {token: task for members in connections for task, token in members}
    for token, trigger, value in server.log:
        if trigger == "claim":
            assert task_of[token] == value  # a member claims only their connection's task
    verified = [row for row in server.claims.values() if row["state"] == "verified"]
    assert verified and figures["non_2xx"] == 0
    # claims in flight when wrk stopped are at most one per connection
    assert sum(row["state"] != "verified" for row in server.claims.values()) <= 3
