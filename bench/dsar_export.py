"""How a subject export compares with COPY of the same rows.

A throwaway organization gets one lead with ROWS activities (100,000 by
default). The export is built as the product builds it (`build_subject_export`:
JSON document and CSVs in a deflated zip, encrypted into the private storage),
and in the same run the same activity rows are read with `COPY (SELECT ...) TO
STDOUT` and thrown away. Prints both times and COPY ÷ export (aim: ≥ 0.1).

    .venv/bin/python bench/dsar_export.py [ROWS]
"""

import sys
import time

from common import report, temporary_organization
from django.core.files.storage import storages
from django.db import connection

from clozup.tenancy import org_context
from compliance.models import SubjectExport
from compliance.selectors.subjects import subject_hash
from compliance.services import exports, purge
from crm.models import Lead

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
EMAIL = "subject" + chr(64) + "bench.invalid"


def load(organization) -> Lead:
    with org_context(organization):
        lead = Lead.objects.create(organization=organization, email=EMAIL)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO crm_activity (organization_id, kind, occurred_at,"
                " subject, body, lead_id, created_at)"
                " SELECT %s, 'call', now() - n * interval '1 minute', 'Call ' || n,"
                " 'Talked about seats, prices and the renewal date. ' || n,"
                " %s, now() FROM generate_series(1, %s) n",
                [organization.pk, lead.pk, ROWS],
            )
    return lead


def copy_seconds(organization, lead) -> float:
    with org_context(organization), connection.cursor() as cursor:
        started = time.perf_counter()
        statement = (
            "COPY (SELECT * FROM crm_activity"
            f" WHERE organization_id = {int(organization.pk)}"
            f" AND lead_id = {int(lead.pk)} ORDER BY id)"
            " TO STDOUT WITH (FORMAT csv, HEADER true)"
        )
        size = 0
        with cursor.cursor.copy(statement) as copy:
            for data in copy:
                size += len(data)
        return time.perf_counter() - started


def export_seconds(organization) -> tuple[float, SubjectExport]:
    with org_context(organization):
        export = SubjectExport.objects.create(
            organization=organization,
            email=EMAIL,
            subject_hash=subject_hash(organization, EMAIL),
        )
    started = time.perf_counter()
    with org_context(organization):
        export = exports.build_subject_export(export.pk)
    return time.perf_counter() - started, export


def main() -> None:
    with temporary_organization() as organization:
        try:
            lead = load(organization)
            copy_time = copy_seconds(organization, lead)
            export_time, export = export_seconds(organization)
            with org_context(organization):
                stored = storages["private"].size(export.storage_name)
        finally:
            purge.purge_organization_data(organization)
    assert export.counts["activities"] == ROWS, export.counts
    report(
        f"Subject export of one lead with {ROWS:,} activities",
        [
            ("export (zip, encrypted)", f"{export_time:.2f} s, {stored / 1e6:.1f} MB"),
            ("COPY TO STDOUT", f"{copy_time:.2f} s"),
            ("COPY ÷ export", f"{copy_time / export_time:.2f} (aim ≥ 0.1)"),
        ],
    )


if __name__ == "__main__":
    main()
