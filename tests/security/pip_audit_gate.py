"""`make check`'s pip-audit step: fail on any known vulnerability; fail soft ONLY when the
vulnerability service cannot be reached.

pip-audit asks a vulnerability service over the network about every installed distribution.
Where that service is unreachable it either exits with a connection error, or (behind a
package mirror that has no JSON API) skips every distribution as "not found on PyPI" and
reports "no known vulnerabilities" having audited nothing. Both are network failures: this
gate prints a loud warning and passes. Anything else — a finding, or another error — fails.

Usage: python tests/security/pip_audit_gate.py [pip-audit executable]
"""
import json
import re
import subprocess
import sys

NETWORK_ERRORS = re.compile(r"ConnectionError|Max retries exceeded|Failed to establish a new connection|"
                            r"Temporary failure in name resolution|Name or service not known|timed out|"
                            r"Connection refused|Network is unreachable|ProxyError|SSLError", re.I)


def classify(returncode: int, stdout: str, stderr: str) -> tuple[str, str]:
    """('fail' | 'pass' | 'network', explanation)."""
    try:
        report = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        report = None
    if report is not None:
        deps = report.get("dependencies", [])
        vulnerable = [f"{d['name']} {d.get('version')}: {', '.join(v['id'] for v in d['vulns'])}"
                      for d in deps if d.get("vulns")]
        if vulnerable:
            return "fail", "known vulnerabilities:\n  " + "\n  ".join(vulnerable)
        audited = [d for d in deps if "skip_reason" not in d]
        unreachable = [d for d in deps if "not found on PyPI" in d.get("skip_reason", "")]
        if deps and not audited and unreachable:
            return "network", f"the vulnerability service answered for none of {len(deps)} distributions"
        if returncode == 0:
            return "pass", f"{len(audited)} distributions audited, no known vulnerability"
    if returncode != 0 and NETWORK_ERRORS.search(stderr or ""):
        return "network", (stderr or "").strip().splitlines()[-1][:300]
    return ("pass", "no report") if returncode == 0 else ("fail", (stderr or stdout).strip()[-2000:])


def main() -> int:
    exe = sys.argv[1] if len(sys.argv) > 1 else "pip-audit"
    proc = subprocess.run([exe, "--skip-editable", "--progress-spinner", "off", "-f", "json"],
                          capture_output=True, text=True, timeout=600)
    verdict, why = classify(proc.returncode, proc.stdout, proc.stderr)
    if verdict == "network":
        print(f"pip-audit: WARNING: the vulnerability service cannot be reached ({why}); "
              "dependencies NOT audited (network failure, not a finding)")
        return 0
    print(f"pip-audit: {why}")
    return 0 if verdict == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
