"""Streaming a 1,000,000-row organization export, against COPY of the same rows.

A throwaway organization gets ROWS activities on 1,000 leads. The export is
produced as the Admin Panel and `export_org` produce it
(`stream_organization_export`, CSV, a deflated zip built as it is read) and
its bytes are counted and thrown away; in the same run every exported table of
the organization is read with plain `COPY (SELECT * ...) TO STDOUT`. Prints
rows/s, export ÷ COPY throughput (aim: ≥ 0.25) and the peak memory the export
added to the process.

    .venv/bin/python bench/org_export.py [ROWS]
"""

import os
import sys
import time

from common import report, temporary_organization
from django.db import connection

from clozup.tenancy import org_context
from compliance.services import org_export, purge

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
LEADS = 1_000
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def load(organization) -> None:
    with org_context(organization), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crm_lead (organization_id, first_name, last_name, email,"
            " secondary_email, phone, secondary_phone, title, company_name, country,"
            " city, source, origin, status, owner_name, external_id, details,"
            " created_at, updated_at)"
            " SELECT %s, 'First' || n, 'Last' || n, 'lead' || n || %s, '', '', '',"
            " '', 'Company ' || n, '', '', 'bench', '', 'new', '', '', '{}', now(),"
            " now() FROM generate_series(1, %s) n",
            [organization.pk, chr(64) + "bench.invalid", LEADS],
        )
        cursor.execute(
            "INSERT INTO crm_activity (organization_id, kind, occurred_at, subject,"
            " body, lead_id, created_at)"
            " SELECT %s, 'note', now(), 'Note ' || n,"
            " 'Asked about seats and prices; call back next week. ' || n,"
            " (SELECT min(id) FROM crm_lead WHERE organization_id = %s) + n %% %s,"
            " now() FROM generate_series(1, %s) n",
            [organization.pk, organization.pk, LEADS, ROWS - LEADS],
        )


def copy_seconds(organization) -> tuple[float, int]:
    rows = 0
    with org_context(organization), connection.cursor() as cursor:
        started = time.perf_counter()
        for model in org_export.exported_models():
            table = connection.ops.quote_name(model._meta.db_table)
            statement = (
                f"COPY (SELECT * FROM {table} WHERE organization_id ="
                f" {int(organization.pk)}) TO STDOUT WITH (FORMAT csv)"
            )
            with cursor.cursor.copy(statement) as copy:
                for _data in copy:
                    rows += 1
        return time.perf_counter() - started, rows


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def export_seconds(organization) -> tuple[float, int, int]:
    """Time the export; also the most resident memory grew while it ran
    (sampled at every chunk, since the process's high-water mark was set
    earlier by the loading)."""
    before = peak = resident_bytes()
    size = 0
    with org_context(organization):
        started = time.perf_counter()
        chunks = org_export.stream_organization_export(
            organization, export_format="csv", actor=None, reason="benchmark"
        )
        for chunk in chunks:
            size += len(chunk)
            peak = max(peak, resident_bytes())
        seconds = time.perf_counter() - started
    return seconds, size, peak - before


def main() -> None:
    with temporary_organization() as organization:
        try:
            load(organization)
            copy_time, rows = copy_seconds(organization)
            export_time, size, grown = export_seconds(organization)
        finally:
            purge.purge_organization_data(organization)
    report(
        f"Organization export of {rows:,} rows (CSV zip, streamed)",
        [
            (
                "export",
                f"{rows / export_time:,.0f} rows/s ({export_time:.1f} s,"
                f" {size / 1e6:.0f} MB zipped)",
            ),
            ("COPY TO STDOUT", f"{rows / copy_time:,.0f} rows/s ({copy_time:.1f} s)"),
            ("export ÷ COPY", f"{copy_time / export_time:.2f} (aim ≥ 0.25)"),
            ("peak memory added", f"{grown / 1e6:.1f} MB"),
        ],
    )


if __name__ == "__main__":
    main()
