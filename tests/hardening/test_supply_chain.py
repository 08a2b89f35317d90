"""The dependency audit: pinned hashes, and three outcomes that never blur.

`.ci/audit.py` is run as `make audit` and by CI; here it reads prepared
pip-audit reports, so the outcomes are checked without the network.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

AUDIT = Path(settings.BASE_DIR) / ".ci" / "audit.py"
LOCK = Path(settings.BASE_DIR) / "requirements" / "lock.txt"

REPORTS = {
    "clean": {"dependencies": [{"name": "django", "version": "5.2.9", "vulns": []}]},
    "vulnerable": {
        "dependencies": [
            {"name": "django", "version": "5.2.9", "vulns": []},
            {
                "name": "idna",
                "version": "2.0",
                "vulns": [{"id": "PYSEC-2024-60", "fix_versions": ["3.7"]}],
            },
        ]
    },
    "unreachable": {
        "dependencies": [
            {
                "name": "django",
                "skip_reason": "Dependency not found on PyPI and could not be audited",
            }
        ]
    },
    "empty": {"dependencies": []},
}


def _audit(tmp_path, report: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    return subprocess.run(
        [sys.executable, str(AUDIT), "--report", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("report", "status", "words"),
    [
        ("clean", 0, "no known vulnerability"),
        ("vulnerable", 1, "idna 2.0: PYSEC-2024-60 (fixed in 3.7)"),
        ("unreachable", 2, "audit NOT done: 1 of 1 locked packages"),
        ("empty", 2, "audit NOT done"),
    ],
)
def test_the_audit_outcome_is_distinct_for_each_case(tmp_path, report, status, words):
    done = _audit(tmp_path, REPORTS[report])

    assert done.returncode == status
    assert words in done.stdout + done.stderr


def test_every_locked_package_is_pinned_with_a_hash():
    text = LOCK.read_text()
    pins = re.findall(r"^([A-Za-z0-9_.\-\[\],]+)==\S+", text, flags=re.M)
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)

    assert len(pins) > 50
    unhashed = [b.split()[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
    assert unhashed == []
