"""Crash mid-transition: kill -9 a gunicorn worker while transitions are paused in flight.

gunicorn serves tests.faults.crash_wsgi:app with BAODAO_TEST_PAUSE=<s>: every transition flushes
its state change, slot recount and audit event, then sleeps before COMMIT (tests/faults/pause_hook.py),
printing which pid paused for which request. Concurrent clients claim, check in, report and
withdraw through the JSON API; a killer thread SIGKILLs the worker of two paused
transitions. Afterwards: every claim's state is its last event's to_state, every task's
slots_taken is its live claims, every chain verifies, each killed request left nothing,
and every client saw an error or a success — never a success whose change is missing. A
client cut off retries once with the same Idempotency-Key: the change then happens once.
Bounded: 0.4 s pauses, 6 clients x 4 steps, 20 s per request, the server stopped in finally.
"""
import os
import re
import signal
import threading
import time

import pytest

from .conftest import assert_consistent, make_members, request_ids_recorded, tokens_for
from .servers import Gunicorn, call

PAUSE = 0.4
CLIENTS = 6
KILL_AT = (3, 9)  # kill the workers of the 3rd and the 9th paused transition
PAUSED = re.compile(r"baodao-fault-hook: pid (\d+) paused in transition \(request ([^)]*)\)")


def _script(i, task_ids):
    """Client i's transitions: (request id, method, path-template, body)."""
    task = task_ids[i % len(task_ids)]
    steps = [("claim", "POST", f"/api/v1/tasks/{task}/claims", None),
             ("check_in", "POST", "/api/v1/claims/{claim}/check_in", {"note": f"入户 {i}"}),
             ("submit_report", "POST", "/api/v1/claims/{claim}/submit_report",
              {"summary": f"完成 {i}", "hours": 1}) if i % 3 else
             ("withdraw", "POST", "/api/v1/claims/{claim}/withdraw", {"reason": "有事"})]
    steps.append(("check_in", "POST", "/api/v1/claims/{claim}/check_in", {"note": "again"})
                 if i % 3 == 0 else ("noop", "GET", "/api/v1/claims/{claim}", None))
    return steps


@pytest.mark.slow
def test_kill_9_mid_transition_leaves_no_half_state(app, backend, world, tmp_path):
    tasks = [world.task(capacity=2), world.task(capacity=3)]
    members = make_members(world, CLIENTS + 1, prefix="crash")
    tokens = tokens_for(members)
    server = Gunicorn(tmp_path, "crash", app.config["SQLALCHEMY_DATABASE_URI"], workers=3,
                      extra_env={"BAODAO_TEST_PAUSE": str(PAUSE)}, app_module="tests.faults.crash_wsgi:app")
    server.start()
    results: list[tuple[str, str, object]] = []  # (request id, trigger, Reply)
    killed: dict[int, str] = {}  # pid -> the request ids its paused transaction carried
    lock = threading.Lock()
    stop = threading.Event()

    def client(i):
        claim_id = None
        for n, (trigger, method, path, body) in enumerate(_script(i, [t.id for t in tasks])):
            if "{claim}" in path and claim_id is None:
                return
            rid = f"crash-{backend}-{i}-{n}-{trigger}"
            headers = {"X-Request-ID": rid, **({"Idempotency-Key": rid} if method == "POST" else {})}
            reply = call(server.base, method, path.format(claim=claim_id), token=tokens[i], body=body,
                         headers=headers, timeout=20)
            with lock:
                results.append((rid, trigger, reply))
            if reply.error:  # cut off: retry once with the same Idempotency-Key (another request id)
                rid = headers["X-Request-ID"] = rid + "-retry"
                reply = call(server.base, method, path.format(claim=claim_id), token=tokens[i], body=body,
                             headers=headers, timeout=20)
                with lock:
                    results.append((rid, trigger, reply))
            if trigger == "claim":
                if not reply.ok:
                    return
                claim_id = reply.json()["id"]

    def killer():
        seen = 0
        targets = list(KILL_AT)
        while not stop.is_set() and targets:
            lines = PAUSED.findall(server.log())
            while seen < len(lines) and targets:
                seen += 1
                pid, rids = int(lines[seen - 1][0]), lines[seen - 1][1]
                # the first paused transition at or after the target whose worker is still there;
                # never a retry (a sync worker carries one request: killing it would cut the retry off)
                retry = any(r.endswith("-retry") for r in rids.split(","))
                if seen >= targets[0] and not retry and pid in server.worker_pids() and pid not in killed:
                    os.kill(pid, signal.SIGKILL)
                    killed[pid] = rids
                    targets.pop(0)
            time.sleep(0.02)

    try:
        started = time.monotonic()
        kill_thread = threading.Thread(target=killer, daemon=True)
        kill_thread.start()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        assert not any(t.is_alive() for t in threads), "a client hung"
        stop.set()
        kill_thread.join(timeout=5)
        elapsed = time.monotonic() - started

        # The master replaced the killed workers: a fresh transition goes through.
        after = call(server.base, "POST", f"/api/v1/tasks/{tasks[1].id}/claims", token=tokens[CLIENTS],
                     headers={"X-Request-ID": f"crash-{backend}-after"}, timeout=20)
        assert after.status in (201, 409), after
        results.append((f"crash-{backend}-after", "claim", after))
    finally:
        stop.set()
        server.stop()

    assert len(killed) == len(KILL_AT), f"paused transitions seen: {PAUSED.findall(server.log())}"
    recorded = request_ids_recorded()
    cut_off = {rid for rids in killed.values() for rid in rids.split(",") if rid and rid != "-"}
    assert cut_off, killed
    # Each killed transaction was rolled back: none of its events exist.
    assert not cut_off & recorded, f"a killed transition was committed: {cut_off & recorded}"
    by_id = {rid: (trigger, reply) for rid, trigger, reply in results}
    for rid in cut_off:
        if rid in by_id:  # the client whose worker died got an error, not a success
            assert not by_id[rid][1].ok, (rid, by_id[rid][1])
    # Every success is in the database; errors are transport errors or clean statuses.
    successes = errors = 0
    for rid, trigger, reply in results:
        if trigger == "noop":
            continue
        if reply.ok:
            successes += 1
            assert rid in recorded, f"{rid} ({trigger}) answered {reply.status} but its change is missing"
        else:
            errors += 1
            assert reply.error or reply.status in (409, 412, 422, 503), (rid, reply)
    retried = [(rid, reply) for rid, _, reply in results if rid.endswith("-retry")]
    assert retried and all(reply.status is not None for _, reply in retried), retried
    summary = assert_consistent()
    assert successes >= 6 and errors >= len(KILL_AT)
    print(f"\n[{backend}] {len(results)} requests in {elapsed:.1f} s: {successes} succeeded, {errors} failed "
          f"(killed workers {sorted(killed)} cutting off {sorted(cut_off)}; retries "
          f"{[(rid, r.status) for rid, r in retried]}); after: {summary}")
