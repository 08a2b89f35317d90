"""No CSV that Clozup writes can carry a formula into a spreadsheet.

Three guards: the safe writer's property over any text, every export the
product has today fed cells that begin with each formula trigger, and a scan
of the source that fails when code writes CSV without `clozup.lib.csv`.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from audit import services as audit
from audit.actions import Action
from clozup.lib.csv import FORMULA_TRIGGERS, csv_rows
from clozup.tenancy import org_context

# Product code: every top-level package except tests, benchmarks and the venv.
NOT_PRODUCT = {"tests", "bench", ".venv", ".data", "node_modules"}
RAW_WRITERS = re.compile(r"\bcsv\.(writer|DictWriter)\s*\(|\bDictWriter\s*\(")
SAFE_WRITER = Path("clozup/lib/csv.py")


def _read_back(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


@hypothesis_settings(deadline=None)
@given(st.lists(st.lists(st.text(), min_size=1, max_size=4), min_size=1, max_size=5))
def test_no_cell_written_starts_with_a_formula_trigger(rows):
    for written, given_row in zip(_read_back(csv_rows(rows)), rows, strict=True):
        for cell, original in zip(written, given_row, strict=True):
            assert not cell.startswith(FORMULA_TRIGGERS)
            # The text stays readable: at most one quote is added in front.
            assert cell in (original, "'" + original)


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_the_audit_export_neutralises_every_trigger(client, org_a, admin_a, trigger):
    hostile = f'{trigger}HYPERLINK("https://evil.example")'
    with org_context(org_a):
        audit.record_event(
            Action.RECORD_UPDATED, organization=org_a, target=(hostile, hostile)
        )
    client.force_login(admin_a)

    response = client.get(reverse("admin:audit_auditentry_export"))
    rows = _read_back([b"".join(response.streaming_content).decode()])

    cells = [cell for row in rows for cell in row]
    assert "'" + hostile in cells
    assert not [cell for cell in cells if cell.startswith(FORMULA_TRIGGERS)]


def _product_sources() -> list[Path]:
    base = Path(settings.BASE_DIR)
    return [
        path
        for path in base.rglob("*.py")
        if path.relative_to(base).parts[0] not in NOT_PRODUCT
        and path.relative_to(base) != SAFE_WRITER
    ]


def test_all_csv_is_written_through_the_safe_writer():
    sources = _product_sources()
    offenders = [
        str(path)
        for path in sources
        if RAW_WRITERS.search(path.read_text(encoding="utf-8"))
    ]

    assert len(sources) > 50
    assert offenders == [], "write CSV with clozup.lib.csv.csv_rows instead"
