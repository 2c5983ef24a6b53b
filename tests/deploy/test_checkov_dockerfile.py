"""checkov on deploy/Dockerfile, offline: every finding is fixed, or accepted with its reason in
docs/security.md ("Accepted checkov findings"). The tool lives in .venv-checks
(``scripts/install.sh --test``, deploy/requirements-checks.txt)."""

from __future__ import annotations

import json
import os
import re
import subprocess

from tests.deploy import compose_model as cm

CHECKOV = cm.ROOT / ".venv-checks" / "bin" / "checkov"
SECURITY_DOC = cm.ROOT / "docs" / "security.md"


def accepted_findings() -> set[str]:
    text = SECURITY_DOC.read_text()
    section = text.split("## Accepted checkov findings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`(CKV\w*_\d+)`", section))


def test_checkov_passes_the_dockerfile_or_each_finding_is_accepted() -> None:
    assert CHECKOV.exists(), "run scripts/install.sh --test (installs checkov into .venv-checks)"
    out = subprocess.run(
        [str(CHECKOV), "-d", "deploy", "--framework", "dockerfile", "--skip-download", "--compact", "--quiet",
         "-o", "json"],
        cwd=cm.ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "LOG_LEVEL": "ERROR"},
    )  # fmt: skip
    reports = json.loads(out.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0 and summary["passed"] > 100, summary
    failed = {f["check_id"] for r in reports for f in r["results"].get("failed_checks", [])}
    assert failed <= accepted_findings(), (
        f"fix or accept in docs/security.md: {sorted(failed - accepted_findings())}"
    )
