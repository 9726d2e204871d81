"""Timers and notifications are part of a definition, checked by the loader like everything else."""
from datetime import timedelta

import pytest

from workflow.engine.definition import NotifySpec
from workflow.engine.loader import load_definition
from workflow.engine.notification_kinds import NOTIFICATION_KINDS
from workflow.errors import DefinitionError

from tests.test_definitions import broken, registry

TASK_V1 = "workflow/definitions/task/v1.yaml"


def test_the_shipped_claim_definitions_declare_expiry_reminder_and_escalation():
    for version in (1, 2):
        d = registry().get("dual_reporting", version).definition
        timers = {t.name: t for t in d.timers}
        assert [t.name for t in d.timers] == ["expire", "deadline_near", "report_waiting", "report_escalated"]
        assert (timers["expire"].anchor, timers["expire"].offset, timers["expire"].fire) == ("deadline",
                                                                                             timedelta(0), "expire")
        assert timers["expire"].states == ("claimed", "visiting", "returned")
        near = timers["deadline_near"]
        assert (near.anchor, near.offset, near.notify) == ("deadline", -timedelta(hours=24),
                                                           (NotifySpec("claim_deadline_near", ("claimant",)),))
        assert near.states == ("claimed", "visiting", "returned")
        assert (timers["report_waiting"].states, timers["report_waiting"].offset) == (("reported",), timedelta(days=3))
        assert timers["report_waiting"].notify == (NotifySpec("claim_report_waiting", ("community_staff",)),)
        assert timers["report_escalated"].offset == timedelta(days=7)
        assert timers["report_escalated"].notify == (NotifySpec("claim_report_escalated", ("supervisors",)),)
        assert {t.name: t.notify for t in d.triggers if t.notify} == {
            "submit_report": (NotifySpec("claim_reported", ("community_staff",)),),
            "approve": (NotifySpec("claim_approved", ("claimant",)),),
            "return": (NotifySpec("claim_returned", ("claimant",)),),
            "reject": (NotifySpec("claim_rejected", ("claimant",)),),
            "expire": (NotifySpec("claim_expired", ("claimant",)),),
            "cancel": (NotifySpec("claim_cancelled", ("claimant",)),),
        }
    task = load_definition(TASK_V1)
    assert [(t.name, t.states, t.anchor, t.fire) for t in task.timers] == [
        ("close_at_deadline", ("open", "full"), "deadline", "close")]


def test_every_notification_kind_has_its_words_in_chinese(app):
    from workflow.i18n import gettext

    for kind in NOTIFICATION_KINDS.values():
        assert gettext(kind.text, locale="zh_CN") != kind.text, kind.name
        assert gettext(kind.title, locale="zh_CN") != kind.title, kind.name


def _timer(**spec):
    return lambda d: d.setdefault("timers", {}).update(t=spec)


@pytest.mark.parametrize("mutate, problem", [
    (_timer(states=["claimed"], due="deadline", fire="approve"),
     "fires 'approve', which is neither internal nor fired by the system"),
    (_timer(states=["claimed"], due="deadline", fire="vanish"), "fires 'vanish', which is not a trigger"),
    (_timer(states=["limbo"], due="deadline", fire="expire"), "watches 'limbo', which is not a state"),
    (_timer(states=["new"], due="deadline", fire="expire"), "watches the initial state 'new'"),
    (_timer(states=["reported"], due="deadline", fire="expire"), "fires 'expire' in 'reported', from which"),
    (_timer(states=["claimed"], due="deadline", fire="cancel"), "needs input (reason) a timer cannot give"),
    (_timer(states=["claimed"], due="end - 30d", fire="expire"), "a claim has no 'end' to count from"),
    (_timer(states=["claimed"], due="deadline minus a day", fire="expire"), "'due' is an anchor with an optional"),
    (_timer(states=["claimed"], due="deadline - 3w", fire="expire"), "'due' is an anchor with an optional"),
    (_timer(states=["claimed"], due="deadline"), "does nothing"),
    (_timer(states=["claimed"], due="deadline", notify=[{"kind": "claim_gossip", "to": ["claimant"]}]),
     "unknown notification kind 'claim_gossip'"),
    (_timer(states=["claimed"], due="deadline", notify=[{"kind": "claim_expired", "to": ["neighbours"]}]),
     "to unknown recipients 'neighbours'"),
    (_timer(states=["claimed"], due="deadline", notify=[{"kind": "claim_expired"}]), "each notify entry is"),
    (_timer(states=["claimed"], due="deadline", fire="expire", every="1h"), "unknown keys: every"),
    (lambda d: d.update(timers=["expire"]), "'timers' must map"),
    (lambda d: d.setdefault("timers", {}).update({"Bad Name": {"states": ["claimed"], "due": "deadline",
                                                              "fire": "expire"}}), "a timer's name is"),
    (lambda d: d["triggers"]["approve"].update(notify=[{"kind": "claim_gossip", "to": ["claimant"]}]),
     "trigger 'approve' names unknown notification kind 'claim_gossip'"),
    (lambda d: d["triggers"]["approve"].update(notify=[{"kind": "claim_approved", "to": ["mayor"]}]),
     "notify 'claim_approved' to unknown recipients 'mayor'"),
    (lambda d: d["triggers"]["approve"].update(notify={"kind": "claim_approved", "to": ["claimant"]}),
     "'notify' is a list"),
])
def test_a_broken_timer_or_notify_is_refused(tmp_path, mutate, problem):
    path = broken(tmp_path, mutate)
    with pytest.raises(DefinitionError) as exc:
        load_definition(path)
    assert str(exc.value).startswith(path + ": ")
    assert problem in str(exc.value)


def test_a_kind_about_another_subject_is_refused(tmp_path):
    import yaml

    raw = yaml.safe_load(open(TASK_V1, encoding="utf-8"))
    raw["triggers"]["close"]["notify"] = [{"kind": "claim_approved", "to": ["community_staff"]}]
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DefinitionError, match="speaks about a claim, not a task"):
        load_definition(path)


def test_workflow_check_accepts_a_definition_with_timers(app, tmp_path):
    path = broken(tmp_path, _timer(states=["reported"], due="entered + 90m",
                                   notify=[{"kind": "claim_report_waiting", "to": ["community_staff"]}]))
    result = app.test_cli_runner().invoke(args=["workflow", "check", path])
    assert result.exit_code == 0, result.output
    timer = load_definition(path).timer("t")
    assert (timer.anchor, timer.offset, timer.due_text) == ("entered", timedelta(minutes=90), "entered + 90m")


def test_timers_and_notify_are_shown_by_the_api_the_cli_and_the_admin_page(app, world):
    from workflow.services.auth import issue_token_for

    from tests.pages.conftest import Browser

    client = app.test_client()
    token = issue_token_for(world.member).token
    body = client.get("/api/v1/workflows/dual_reporting/1", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["timers"][1] == {"name": "deadline_near", "states": ["claimed", "visiting", "returned"],
                                 "due": "deadline - 24h", "fire": None,
                                 "notify": [{"kind": "claim_deadline_near", "to": ["claimant"]}]}
    assert {t["name"]: t["notify"] for t in body["triggers"]}["return"] == [{"kind": "claim_returned",
                                                                             "to": ["claimant"]}]
    shown = app.test_cli_runner().invoke(args=["workflow", "show", "task"]).output
    assert "timer: close_at_deadline — in open, full, due deadline: fires close" in shown
    admin = Browser(app)
    admin.login("admin")
    page = admin.get("/admin/workflow").get_data(as_text=True)
    assert "定时与通知" in page and "<code>entered + 7d</code> (report_escalated)" in page
