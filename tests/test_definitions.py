"""Definitions are data: the loader checks them, the engine shares one machine per version."""
import textwrap

import pytest
import yaml

from workflow.engine import DefinitionRegistry
from workflow.engine.diagram import mermaid
from workflow.engine.loader import DEFINITIONS_DIR, load_definition
from workflow.errors import DefinitionError

V1 = DEFINITIONS_DIR / "dual_reporting" / "v1.yaml"
SHIPPED = DefinitionRegistry.from_directories()


def registry():
    return SHIPPED


def broken(tmp_path, mutate) -> str:
    raw = yaml.safe_load(V1.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_shipped_definitions_load_and_differ_only_where_meant():
    v1 = registry().get("dual_reporting", 1).definition
    v2 = registry().get("dual_reporting", 2).definition
    assert v1.final_states == {"verified", "rejected", "withdrawn", "expired", "cancelled"}
    assert v1.live_states == ("claimed", "visiting", "reported", "returned")
    assert [g.params for g in v1.trigger("submit_report").guards] == [{"count": 1}]
    assert [g.params for g in v2.trigger("submit_report").guards] == [{"count": 2}]
    # evidence is proportionate: the default requires no photo and no location anywhere
    for trig in v1.triggers:
        for spec in trig.fields:
            if spec.name in ("photos", "lat", "lon"):
                assert not spec.required and not spec.required_for_categories


@pytest.mark.parametrize("mutate, problem", [
    (lambda d: d["states"].update(orphan={"label": "孤儿", "label_en": "Orphan"}), "unreachable state(s) from 'new': orphan"),
    (lambda d: d["triggers"]["withdraw"]["from"].append("verified"), "trigger 'withdraw' leaves final state 'verified'"),
    (lambda d: d["triggers"]["approve"].pop("roles"), "trigger 'approve' names no roles"),
    (lambda d: d["triggers"]["approve"].update(roles=["mayor"]), "unknown role 'mayor'"),
    (lambda d: d["triggers"]["approve"].update(roles=["applicant"]), "unknown role 'applicant' (a claim knows"),
    (lambda d: d.pop("subject"), "missing 'subject'"),
    (lambda d: d.update(subject="petition"), "unknown subject 'petition'"),
    (lambda d: d["triggers"]["approve"].pop("label_en"), "trigger 'approve' needs a 'label_en'"),
    (lambda d: d["triggers"]["approve"]["input"]["comment"].pop("label"), "input field 'comment' needs a 'label'"),
    (lambda d: d["states"]["claimed"].pop("label"), "state 'claimed' needs a 'label'"),
    (lambda d: d["triggers"]["approve"].update(style="loud"), "style must be one of primary, secondary, danger"),
    (lambda d: d["triggers"]["withdraw"].pop("confirm_en"), "a confirmation needs both"),
    (lambda d: d["triggers"]["approve"]["input"]["comment"].update(widget="radio"), "widget 'radio' does not fit"),
    (lambda d: d["triggers"]["approve"]["input"].update(mood={"type": "choice", "label": "心情", "label_en": "Mood"}),
     "a choice field lists its choices"),
    (lambda d: d["triggers"]["check_in"]["input"]["time"].update(when="someday"), "'when' is past or future"),
    (lambda d: d["triggers"]["approve"].pop("input"), "trigger 'approve' has no input schema"),
    (lambda d: d["triggers"]["claim"].update(guards=["task_open", "os.system"]), "unknown guard 'os.system'"),
    (lambda d: d["triggers"]["approve"].update(effects=["award_points", "send_sms"]), "unknown effect 'send_sms'"),
    (lambda d: d["triggers"]["approve"].update(to="archived"), "trigger 'approve' leads to 'archived', which is not a state"),
    (lambda d: d["triggers"]["check_in"].update({"from": ["claimed", "limbo"]}), "fires from 'limbo', which is not a state"),
    (lambda d: d["triggers"]["submit_report"].update(guards=[{"min_visits": {"cnt": 2}}]), "takes no parameter 'cnt'"),
    (lambda d: d["triggers"]["approve"]["input"].update(grade={"type": "stars"}), "unknown type 'stars'"),
    (lambda d: d.update(initial="nowhere"), "initial state 'nowhere' is not a state"),
    (lambda d: d.pop("version"), "missing 'version'"),
])
def test_a_broken_definition_is_refused_naming_file_and_problem(tmp_path, mutate, problem):
    path = broken(tmp_path, mutate)
    with pytest.raises(DefinitionError) as exc:
        load_definition(path)
    assert str(exc.value).startswith(path + ": ")
    assert problem in str(exc.value)


def test_invalid_yaml_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(DefinitionError, match="not valid YAML"):
        load_definition(path)


def test_one_shared_machine_per_version_binds_no_model():
    compiled = registry().get("dual_reporting", 1)
    assert registry().get("dual_reporting", 1) is compiled
    assert compiled.machine is not registry().get("dual_reporting", 2).machine
    assert compiled.machine.models == []  # claims are never added: no references kept


def test_a_changed_definition_needs_a_new_version(tmp_path):
    path = broken(tmp_path, lambda d: d["triggers"]["submit_report"].update(guards=[{"min_visits": {"count": 3}}]))
    with pytest.raises(DefinitionError, match="needs a new version number"):
        registry().add(load_definition(path))


def test_mermaid_diagram_names_every_transition():
    text = mermaid(registry().get("dual_reporting", 1).definition)
    assert "stateDiagram-v2" in text
    assert "reported --> verified: approve" in text
    assert "returned --> visiting: check_in" in text


def test_workflow_check_command(app, tmp_path):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["workflow", "check", str(V1)])
    assert ok.exit_code == 0 and "ok: dual_reporting@1" in ok.output
    path = broken(tmp_path, lambda d: d["triggers"]["approve"].update(effects=["send_sms"]))
    bad = runner.invoke(args=["workflow", "check", path])
    assert bad.exit_code == 1
    assert f"error: {path}: trigger 'approve' names unknown effect 'send_sms'" in bad.output


def test_workflow_show_prints_table_and_diagram(app):
    result = app.test_cli_runner().invoke(args=["workflow", "show", "dual_reporting", "--version", "2"])
    assert result.exit_code == 0
    assert "dual_reporting@2" in result.output
    assert textwrap.dedent("submit_report") in result.output and "min_visits" in result.output
    assert "stateDiagram-v2" in result.output
    missing = app.test_cli_runner().invoke(args=["workflow", "show", "nonesuch"])
    assert missing.exit_code == 1 and "no version of this definition is loaded" in missing.output


def test_every_shipped_trigger_and_field_has_chinese_and_english_words():
    for compiled in registry().all():
        d = compiled.definition
        for trig in d.triggers:
            assert trig.label and trig.label_en, (d.label, trig.name)
            assert bool(trig.confirm) == bool(trig.confirm_en)
            for spec in trig.fields:
                assert spec.label and spec.label_en, (d.label, trig.name, spec.name)


def test_the_task_lifecycle_is_a_definition_of_its_own_subject():
    task = registry().get("task", 1).definition
    assert task.subject == "task" and task.initial == "draft"
    assert {t.name for t in task.triggers} == {"publish", "close", "cancel", "fill", "reopen"}
    assert task.trigger("fill").internal and task.trigger("reopen").internal
    assert task.trigger("cancel").style == "danger" and task.trigger("cancel").confirm
    assert task.creating_triggers == ()  # a service creates the draft; publish is an ordinary trigger
    claim = registry().get("dual_reporting", 1).definition
    assert [t.name for t in claim.creating_triggers] == ["claim"]
    # the machine moves the task's own state column
    assert registry().get("task", 1).machine.model_attribute == "status"


def test_one_name_drives_one_subject(tmp_path):
    raw = yaml.safe_load(V1.read_text(encoding="utf-8"))
    raw.update(version=9, subject="registration")
    raw.pop("timers")  # the claim's timers and notifications speak about claims
    for trig in raw["triggers"].values():
        trig["roles"] = [r if r != "claimant" else "applicant" for r in trig["roles"]]
        trig.pop("notify", None)
    path = tmp_path / "v9.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    other = DefinitionRegistry.from_directories()
    with pytest.raises(DefinitionError, match="drives claim in its other versions"):
        other.add(load_definition(path))


def test_workflow_list_shows_every_definition_with_subject_and_active(app):
    result = app.test_cli_runner().invoke(args=["workflow", "list"])
    assert result.exit_code == 0, result.output
    lines = {tuple(line.split()[:4]) for line in result.output.splitlines()}
    assert ("dual_reporting", "1", "claim", "active") in lines
    assert ("dual_reporting", "2", "claim", "-") in lines
    assert ("task", "1", "task", "active") in lines


def test_workflow_show_task_prints_its_table(app):
    result = app.test_cli_runner().invoke(args=["workflow", "show", "task"])
    assert result.exit_code == 0, result.output
    assert "task@1 (task)" in result.output
    for row in ("publish", "close", "cancel", "fill *", "reopen *"):
        assert row in result.output
    assert "draft --> open: publish" in result.output
