"""Definitions are data: the loader checks them, the engine shares one machine per version."""
import textwrap

import pytest
import yaml

from workflow.engine import registry
from workflow.engine.diagram import mermaid
from workflow.engine.loader import DEFINITIONS_DIR, load_definition
from workflow.errors import DefinitionError

V1 = DEFINITIONS_DIR / "dual_reporting" / "v1.yaml"


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
    (lambda d: d["states"].update(orphan={"label": "孤儿"}), "unreachable state(s) from 'new': orphan"),
    (lambda d: d["triggers"]["withdraw"]["from"].append("verified"), "trigger 'withdraw' leaves final state 'verified'"),
    (lambda d: d["triggers"]["approve"].pop("roles"), "trigger 'approve' names no roles"),
    (lambda d: d["triggers"]["approve"].update(roles=["mayor"]), "unknown role 'mayor'"),
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
