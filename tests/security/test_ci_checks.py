"""The `make check` gates: the pip-audit gate fails on findings and passes soft only on a
network failure; bandit finds nothing of high severity in the package."""
import json
import subprocess
import sys
from pathlib import Path

from tests.security.pip_audit_gate import classify

ROOT = Path(__file__).resolve().parents[2]


def test_pip_audit_gate_fails_on_findings_and_only_network_errors_pass_soft():
    found = {"dependencies": [{"name": "flask", "version": "0.1", "vulns": [{"id": "PYSEC-1", "fix_versions": []}]},
                              {"name": "x", "version": "1", "skip_reason": "Dependency not found on PyPI"}]}
    assert classify(1, json.dumps(found), "")[0] == "fail"
    clean = {"dependencies": [{"name": "flask", "version": "3.1", "vulns": []}]}
    assert classify(0, json.dumps(clean), "")[0] == "pass"
    nothing_audited = {"dependencies": [{"name": "flask", "version": "3.1",
                                         "skip_reason": "Dependency not found on PyPI and could not be audited"}]}
    assert classify(0, json.dumps(nothing_audited), "")[0] == "network"
    assert classify(1, "", "requests.exceptions.ConnectionError: Max retries exceeded")[0] == "network"
    assert classify(1, "", "pip_audit: error: unrecognized arguments")[0] == "fail"


def test_bandit_finds_no_high_severity_issue():
    bandit = Path(sys.executable).with_name("bandit")
    result = subprocess.run([str(bandit), "-q", "-r", "workflow", "api", "-lll", "-f", "json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout)
    assert not report["results"], report["results"]
