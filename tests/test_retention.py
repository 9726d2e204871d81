"""The retention run erases exactly what is due, once; the chain still verifies and says how
many fields were erased; pages, API and exports show erased texts without breaking."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from tests.api.api_helpers import ApiClient, make_jpeg
from tests.pages.conftest import Browser
from workflow import audit
from workflow.clock import utcnow
from workflow.engine.definition import TriggerSpec
from workflow.extensions import db
from workflow.models import (AuditErasure, AuditEvent, AuditPersonalValue, Claim, HouseholdNote, IdempotencyKey,
                             Report, RetentionRun, Task, Upload, Visit)
from workflow.models.personal import ERASED, WITHHELD
from workflow.services import claims, erasure, uploads
from workflow.services import tasks as task_service
from workflow.services.event_input import read_inputs
from workflow.services.tx import write_transaction

DAY = timedelta(days=1)
ERASED_WORDS = ("暖气不热", "电暖器", "签字", "属实", "赵阿姨")  # A's note, summaries, reason, comment; a task's


def run(days_from_now: float):
    return erasure.run(now=utcnow() + days_from_now * DAY, node="test")


def verified_claim(world, member, task, *, photo=None, note="王大爷家暖气不热，已联系物业", now=None):
    kw = {"now": now} if now else {}
    claim = claims.start_claim(task.id, member, **kw)
    claims.fire(claim.id, "check_in", member, {"note": note, "lat": 36.21, "lon": 117.67,
                                               "photos": [photo] if photo else []}, **kw)
    claims.fire(claim.id, "submit_report", member, {"summary": "送去电暖器一台，王大爷满意", "hours": 2}, **kw)
    claims.fire(claim.id, "return", world.staff, {"reason": "请补充王大爷的签字照片"}, **kw)
    claims.fire(claim.id, "submit_report", member, {"summary": "已补充签字", "hours": 2.5}, **kw)
    claims.fire(claim.id, "approve", world.staff, {"comment": "属实"}, **kw)
    return claim


def personal_values(session, subject_type, subject_id) -> int:
    return session.scalar(select(func.count()).select_from(AuditPersonalValue).join(
        AuditEvent, AuditEvent.id == AuditPersonalValue.event_id).where(
        AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id))


def snapshot(session) -> dict:
    """Everything the run may touch, to compare before and after a second run."""
    session.rollback()
    return {
        "values": sorted(tuple(r) for r in session.execute(select(AuditPersonalValue.event_id,
                                                                  AuditPersonalValue.field))),
        "erasures": sorted(tuple(r) for r in session.execute(select(AuditErasure.event_id, AuditErasure.field,
                                                                    AuditErasure.kind, AuditErasure.run_id))),
        "visits": sorted(tuple(r) for r in session.execute(select(Visit.id, Visit.note, Visit.lat, Visit.erased_at))),
        "reports": sorted(tuple(r) for r in session.execute(select(Report.id, Report.summary, Report.erased_at))),
        "claims": sorted(tuple(r) for r in session.execute(select(Claim.id, Claim.last_reason, Claim.erased_at,
                                                                  Claim.updated_at, Claim.version))),
        "notes": sorted(tuple(r) for r in session.execute(select(HouseholdNote.task_id, HouseholdNote.note,
                                                                 HouseholdNote.erased_at))),
        "tasks": sorted(tuple(r) for r in session.execute(select(Task.id, Task.erased_at, Task.updated_at))),
        "uploads": sorted(tuple(r) for r in session.execute(select(Upload.id, Upload.erased_at))),
    }


@pytest.fixture
def records(app, world, session):
    """Claim A ended now (verified); claim B is live (reported); claim C ends 400 days from now;
    a task cancelled now with a reason. A's check-in has a photo."""
    photo = uploads.save_upload(world.member, make_jpeg(), app.config["BAODAO_UPLOAD_DIR"])
    task_a = world.task()
    a = verified_claim(world, world.member, task_a, photo=photo.id)
    b = claims.start_claim(task_a.id, world.member2)
    claims.fire(b.id, "check_in", world.member2, {"note": "李奶奶家"})
    claims.fire(b.id, "submit_report", world.member2, {"summary": "陪李奶奶看病", "hours": 3})
    task_c = world.task()
    c = claims.start_claim(task_c.id, world.member)
    claims.fire(c.id, "check_in", world.member, {"note": "张叔叔家"})
    claims.fire(c.id, "withdraw", world.member, {"reason": "张叔叔住院了"}, now=utcnow() + 400 * DAY)
    cancelled = world.task()
    task_service.cancel_task(cancelled.id, world.staff, {"reason": "赵阿姨已搬走"})
    return {"a": a, "b": b, "c": c, "task_a": task_a, "task_c": task_c, "cancelled": cancelled, "photo": photo}


def test_claim_records_are_erased_exactly_when_due_and_once(app, world, session, records):
    a, b, c = records["a"], records["b"], records["c"]
    early = run(1094)  # the household notes of the ended tasks go (90 days), the records stay
    assert (early.claims, early.tasks, early.fields_erased, early.household_notes) == (0, 0, 0, 2)

    result = run(1096)
    assert (result.claims, result.visits, result.reports, result.photos, result.photo_files) == (1, 1, 2, 1, 1)
    # A's events: note, lat, lon; two summaries; the return's reason; the approve's comment
    assert result.fields_erased == 7 + 1  # + the cancelled task's reason (its task ended > 3 years ago)
    assert result.tasks == 1  # the cancelled task (task C ended at its deadline, 10 days from now: not yet)
    session.rollback()
    claim_a = session.get(Claim, a.id)
    assert claim_a.erased_at is not None and claim_a.last_reason is None
    assert claim_a.state == "verified" and claim_a.version == a.version  # not a change of the process
    visit = session.scalars(select(Visit).where(Visit.claim_id == a.id)).one()
    assert (visit.note, visit.lat, visit.lon) == ("", None, None) and visit.erased_at is not None
    assert visit.photo_ids == [records["photo"].id]  # the ids stay; the photo itself is gone
    assert {r.summary for r in session.scalars(select(Report).where(Report.claim_id == a.id))} == {""}
    report = session.scalars(select(Report).where(Report.claim_id == a.id)).first()
    assert (report.hours, report.households) == (2, 0)  # the record of the work stays
    assert personal_values(session, "claim", a.id) == 0
    erasures = session.scalars(select(AuditErasure).join(AuditEvent, AuditEvent.id == AuditErasure.event_id)
                               .where(AuditEvent.subject_id == a.id, AuditEvent.subject_type == "claim")).all()
    assert sorted(e.field for e in erasures) == ["comment", "lat", "lon", "note", "reason", "summary", "summary"]
    assert {(e.kind, e.run_id) for e in erasures} == {(ERASED, result.run_id)}
    assert "1095 days after the claim ended" in erasures[0].reason
    upload = session.get(Upload, records["photo"].id)
    assert upload.erased_at is not None
    assert not uploads.storage_path(app.config["BAODAO_UPLOAD_DIR"], upload.sha256).exists()

    # nothing else: B is live, C ended only 400 days from now
    assert session.get(Claim, b.id).erased_at is None and session.get(Claim, c.id).erased_at is None
    assert personal_values(session, "claim", b.id) == 2 and personal_values(session, "claim", c.id) == 2
    assert session.scalars(select(Visit.note).where(Visit.claim_id == b.id)).one() == "李奶奶家"
    assert session.get(Task, records["task_a"].id).erased_at is None  # B is live on it

    run_row = session.get(RetentionRun, result.run_id)
    assert run_row.settings == {"household_note_days": 90, "record_days": 1095, "idempotency_days": 30}
    assert run_row.counts["claims"] == 1 and run_row.finished_at is not None

    before = snapshot(session)
    again = run(1096)
    assert again.nothing_done and again.run_id != result.run_id
    assert snapshot(session) == before


def test_after_erasure_verify_chain_passes_and_counts_the_erased_fields(app, world, session, records):
    run(1096)
    result = app.test_cli_runner().invoke(args=["verify-chain"])
    assert result.exit_code == 0, result.output
    assert "8 erased under the retention rules" in result.output
    assert "ok: every chain verifies" in result.output
    single = audit.verify(session, subject=f"claim:{records['a'].id}")
    assert single.ok and single.erased == 7 and single.personal == 0


def test_a_value_deleted_beside_an_erasure_elsewhere_is_still_tampering(app, world, session, records):
    """Erasing A must not excuse a missing value of B: the records are per event and field."""
    run(1096)
    target = session.scalar(select(AuditEvent.id).where(AuditEvent.subject_type == "claim",
                                                        AuditEvent.subject_id == records["b"].id,
                                                        AuditEvent.trigger == "check_in"))
    session.rollback()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_personal_values_erase_recorded"))
        conn.execute(text(f"DELETE FROM audit_personal_values WHERE event_id = {target}"))
    result = app.test_cli_runner().invoke(args=["verify-chain"])
    assert result.exit_code == 1
    assert (f"BROKEN claim:{records['b'].id} event {target} (seq 2): personal field 'note' altered: its value is "
            "missing and no erasure is recorded") in result.output


def test_household_notes_are_erased_90_days_after_the_task_ended_unless_a_claim_is_live(app, world, session):
    ended_by_deadline = world.task()  # deadline in 10 days; its one claim withdrawn
    withdrawn = claims.start_claim(ended_by_deadline.id, world.member)
    claims.fire(withdrawn.id, "withdraw", world.member, {})
    live = world.task()  # deadline in 10 days, a live claim
    claims.start_claim(live.id, world.member2)
    cancelled = world.task()
    task_service.cancel_task(cancelled.id, world.staff, {"reason": "不需要了"})  # ended now
    later = world.task(deadline=(utcnow() + 200 * DAY).isoformat())  # ends in 200 days

    assert run(89).household_notes == 0
    assert run(91).household_notes == 1  # the cancelled task: 90 days after it ended
    result = run(101)  # the deadline task too (10 + 90 days); the live one and the later one not
    assert result.household_notes == 1
    session.rollback()
    notes = {n.task_id: n for n in session.scalars(select(HouseholdNote))}
    assert {t for t, n in notes.items() if n.erased_at} == {ended_by_deadline.id, cancelled.id}
    assert notes[ended_by_deadline.id].note == "" and notes[live.id].note.startswith("王大爷")
    assert notes[later.id].erased_at is None
    assert run(101).nothing_done

    api = ApiClient(app)
    body = api.get(f"/api/v1/tasks/{ended_by_deadline.id}", world.staff).get_json()
    assert body["household_note"] is None
    assert body["household_note_erased"]["notice"] == "erased under the retention rules"
    assert api.get(f"/api/v1/tasks/{ended_by_deadline.id}", world.supervisor).get_json()["household_note_erased"] \
        is None  # not for those who may not read the note
    assert api.get(f"/api/v1/tasks/{live.id}", world.staff).get_json()["household_note"].startswith("王大爷")

    # a new note on an erased one (a draft edited later) is a note again
    draft = world.task(publish=False)
    with write_transaction() as s:
        s.get(HouseholdNote, draft.id).erased_at = utcnow()
    task_service.edit_task(draft.id, world.staff, {"household_note": "新住户：孙先生"})
    assert api.get(f"/api/v1/tasks/{draft.id}", world.staff).get_json()["household_note"] == "新住户：孙先生"


def test_stored_idempotent_answers_are_deleted_after_their_period(app, world, session):
    with write_transaction() as s:
        s.add_all([IdempotencyKey(user_id=world.member.id, key="old", fingerprint="x" * 64, status_code=200,
                                  response={"view": {"last_reason": "请补充"}}, created_at=utcnow() - 31 * DAY),
                   IdempotencyKey(user_id=world.member.id, key="new", fingerprint="y" * 64, status_code=200,
                                  response={"view": {}}, created_at=utcnow() - 29 * DAY)])
    assert run(0).idempotency_keys == 1
    assert session.scalars(select(IdempotencyKey.key)).all() == ["new"]


@pytest.mark.app_config(BAODAO_RETENTION_RECORD_DAYS=30, BAODAO_RETENTION_HOUSEHOLD_NOTE_DAYS=5)
def test_the_periods_are_configuration(app, world, session):
    claim = verified_claim(world, world.member, world.task())
    assert run(29).claims == 0
    assert run(31).claims == 1 and session.get(Claim, claim.id).erased_at is not None
    out = app.test_cli_runner().invoke(args=["retention", "show"])
    assert "household notes: 5 days" in out.output and ": 30 days after the claim" in out.output


def test_events_from_before_are_withheld_not_rewritten(app, world, session, monkeypatch):
    """A claim whose events were written before personal fields were kept apart (simulated: no
    field personal): the texts sit in the hashed payloads, so they are withheld, the payloads stay,
    and the chain verifies as before."""
    monkeypatch.setattr(TriggerSpec, "personal_fields", property(lambda self: ()))
    claim = verified_claim(world, world.member, world.task(), note="旧的走访记录")
    monkeypatch.undo()
    assert personal_values(session, "claim", claim.id) == 0

    result = run(1096)
    assert result.claims == 1 and result.fields_erased == 0 and result.fields_withheld == 7
    session.rollback()
    events = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "claim",
                                                      AuditEvent.subject_id == claim.id)).all()
    check_in = next(e for e in events if e.trigger == "check_in")
    assert check_in.payload["note"] == "旧的走访记录"  # history is not rewritten …
    readable = read_inputs(session, [check_in])[check_in.id]
    assert readable.input["note"] is None and set(readable.erased) == {"note", "lat", "lon"}  # … but withheld
    assert {e.kind for e in session.scalars(select(AuditErasure))} == {WITHHELD}
    verified = audit.verify(session)
    assert verified.ok and verified.erased == 0  # withheld fields are not digests: nothing to count


def test_pages_api_and_exports_show_erased_texts(app, world, session, records):
    run(1096)
    a = records["a"]
    api = ApiClient(app)
    for user in (world.member, world.staff, world.supervisor):
        body = api.get(f"/api/v1/claims/{a.id}", user).get_json()
        assert body["visits"][0]["note"] is None and body["visits"][0]["lat"] is None
        assert body["visits"][0]["erased"]["fields"] == ["note", "lat", "lon"]
        assert body["visits"][0]["erased"]["notice"] == "erased under the retention rules"
        assert {r["summary"] for r in body["reports"]} == {None}
        assert body["erased"]["fields"] == ["last_reason"] and body["last_reason"] is None
        events = api.get(f"/api/v1/claims/{a.id}/events", user).get_json()
        check_in = next(e for e in events if e["trigger"] == "check_in")
        assert check_in["input"]["note"] is None and check_in["erased"]["fields"] == ["lat", "lon", "note"]
        shown = str(events) + str(body)  # (the task's household note is still kept: B is live on it)
        assert not any(word in shown for word in ERASED_WORDS)
    missing = api.get(f"/api/v1/uploads/{records['photo'].id}", world.member)
    assert missing.status_code == 404 and "照片已按保存期限删除" in missing.get_json()["message"]
    missing = api.get(f"/api/v1/uploads/{records['photo'].id}", world.member, headers={"Accept-Language": "en"})
    assert missing.status_code == 404 and "erased" in missing.get_json()["message"]
    assert api.get(f"/api/v1/claims/{records['b'].id}", world.member2).get_json()["visits"][0]["note"] == "李奶奶家"

    browser = Browser(app)
    browser.login(world.member.username)
    page = browser.get(f"/claims/{a.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("已按保存期限删除") >= 3 and "照片已按保存期限删除" in html
    assert not any(word in html for word in ERASED_WORDS)
    browser.client.set_cookie("lang", "en")
    english = browser.get(f"/claims/{a.id}").get_data(as_text=True)
    assert "Erased under the retention rules" in english and "Photo erased under the retention rules" in english

    staff = Browser(app)
    staff.login(world.staff.username)
    assert "已按保存期限删除" in staff.get(f"/claims/{a.id}").get_data(as_text=True)
    task_page = staff.get(f"/tasks/{records['cancelled'].id}")
    assert task_page.status_code == 200 and "已按保存期限删除" in task_page.get_data(as_text=True)
    supervisor = Browser(app)
    supervisor.login(world.supervisor.username)
    export = supervisor.get("/supervisor/exports/download?kind=events&fmt=csv").get_data(as_text=True)
    assert "_erased" in export and "李奶奶家" in export and not any(word in export for word in ERASED_WORDS)


def test_two_runs_at_once_erase_each_text_once(app, world, session, records):
    """Two nodes starting the run at the same moment: one works (or both, one after the other,
    on SQLite); every field is erased once and nothing fails."""
    barrier = threading.Barrier(2)
    results, errors = [], []

    def node(name):
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                results.append(erasure.run(now=utcnow() + 1096 * DAY, node=name))
            except Exception as exc:  # noqa: BLE001 — the test reports whatever went wrong
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=node, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(r.fields_erased for r in results) == 8 and sum(r.claims for r in results) == 1
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditErasure)) == 8


def test_a_run_while_another_holds_the_lock_does_nothing(app, world, session, records, backend):
    if backend != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite's writers queue on BEGIN IMMEDIATE")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
        assert other.scalar(text(f"SELECT pg_try_advisory_lock({erasure.RETENTION_LOCK_KEY})"))
        result = erasure.run(now=utcnow() + 1096 * DAY)
        other.execute(text(f"SELECT pg_advisory_unlock({erasure.RETENTION_LOCK_KEY})"))
    assert result.skipped_locked and result.nothing_done
    out = app.test_cli_runner().invoke(args=["retention", "run"])
    assert out.exit_code == 0 and out.output.startswith("retention run ")


def test_an_erased_location_is_not_a_missing_one(app, world, session):
    """Supervisors' anomaly list flags check-ins without the location a community requires;
    a location the retention run erased was recorded, and is not flagged."""
    from workflow.models import Community
    from workflow.services import anomalies

    with write_transaction() as s:
        s.get(Community, world.a.id).requires_location = True
    verified_claim(world, world.member, world.task())  # with a location
    assert anomalies.missing_locations(session, world.supervisor) == []
    run(1096)
    session.rollback()
    assert anomalies.missing_locations(session, world.supervisor) == []
