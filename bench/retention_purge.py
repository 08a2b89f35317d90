"""How fast the retention sweep purges, against a raw batched DELETE.

ORGS organizations get ROWS_PER_ORG soft-deleted leads each, deleted long
enough ago to be due. The sweep (`sweep_all_organizations`, the beat job's
service: locks, hold filters, the cascade plan, the backup journal, an audit
event per batch) removes them; the same rows are then written again and
removed by a plain `DELETE ... LIMIT`-style loop with the same batch size,
one transaction per batch inside each organization's context. Prints both
rates, their ratio (aim: at least 0.5) and the longest single SQL statement
of each (aim: under 1 s).

Usage: bench/retention_purge.py [ORGS ROWS_PER_ORG]  (default 100 10000)
"""

import contextlib
import sys
import tempfile
import time
from datetime import timedelta

from common import report, temporary_organization
from django.conf import settings
from django.db import connection
from django.utils import timezone

from clozup.tenancy import org_context
from compliance.services import retention as retention_services
from compliance.services.purge import DEFAULT_BATCH_SIZE

ORGS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
ROWS_PER_ORG = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000


class SlowestStatement:
    """Times every statement the connection runs; keeps the longest."""

    def __init__(self):
        self.seconds = 0.0
        self.sql = ""

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            if elapsed > self.seconds:
                self.seconds, self.sql = elapsed, " ".join(sql.split())[:70]


def insert_deleted_leads(organization, deleted_at) -> None:
    with org_context(organization), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crm_lead (organization_id, first_name, last_name, email,"
            " secondary_email, phone, secondary_phone, title, company_name,"
            " country, city, source, origin, status, owner_name, external_id,"
            " details, created_at, updated_at, deleted_at)"
            " SELECT %s, 'Bench', 'Lead ' || n, 'lead' || n || '@bench.invalid',"
            " '', '', '', '', '', '', '', '', '', 'new', '', '', '{}',"
            " %s, %s, %s FROM generate_series(1, %s) AS n",
            [organization.pk, deleted_at, deleted_at, deleted_at, ROWS_PER_ORG],
        )


def raw_delete(organizations, cutoff) -> int:
    removed = 0
    for organization in organizations:
        while True:
            with org_context(organization), connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM crm_lead WHERE organization_id = %s AND id IN ("
                    " SELECT id FROM crm_lead WHERE organization_id = %s"
                    " AND deleted_at < %s ORDER BY id LIMIT %s)",
                    [organization.pk, organization.pk, cutoff, DEFAULT_BATCH_SIZE],
                )
                batch = cursor.rowcount
            removed += batch
            if batch < DEFAULT_BATCH_SIZE:
                break
    return removed


def timed(work):
    slowest = SlowestStatement()
    with connection.execute_wrapper(slowest):
        started = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - started
    return result, seconds, slowest


def main() -> None:
    # The sweep journals every batch for restores; keep those files out of
    # the real backup location.
    journal_dir = tempfile.TemporaryDirectory(prefix="bench-journal-")
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "clozup.lib.storage.LocalBackupStorage",
            "OPTIONS": {"location": journal_dir.name},
        },
    }
    deleted_at = timezone.now() - timedelta(days=60)
    cutoff = timezone.now() - timedelta(days=28)
    total = ORGS * ROWS_PER_ORG

    with contextlib.ExitStack() as stack:
        organizations = [
            stack.enter_context(temporary_organization()) for _ in range(ORGS)
        ]
        only_ours = {organization.pk for organization in organizations}

        for organization in organizations:
            insert_deleted_leads(organization, deleted_at)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE crm_lead")

        def sweep():
            reports = retention_services.sweep_all_organizations(rules=["records"])
            return sum(
                r.counts().rows.get("crm_lead", 0)
                for r in reports
                if r.organization_id in only_ours
            )

        swept, sweep_seconds, sweep_slowest = timed(sweep)

        for organization in organizations:
            insert_deleted_leads(organization, deleted_at)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE crm_lead")
        deleted, raw_seconds, raw_slowest = timed(
            lambda: raw_delete(organizations, cutoff)
        )
    journal_dir.cleanup()

    sweep_rate = swept / sweep_seconds
    raw_rate = deleted / raw_seconds
    report(
        f"retention purge: {total:,} deleted leads over {ORGS} organizations,"
        f" batches of {DEFAULT_BATCH_SIZE}",
        [
            (
                "sweep",
                f"{sweep_rate:,.0f} rows/s ({swept:,} rows, {sweep_seconds:.1f} s)",
            ),
            (
                "raw DELETE",
                f"{raw_rate:,.0f} rows/s ({deleted:,} rows, {raw_seconds:.1f} s)",
            ),
            ("ratio sweep / raw", f"{sweep_rate / raw_rate:.2f} (aim >= 0.50)"),
            (
                "longest statement, sweep",
                f"{sweep_slowest.seconds * 1000:.0f} ms ({sweep_slowest.sql})",
            ),
            (
                "longest statement, raw",
                f"{raw_slowest.seconds * 1000:.0f} ms ({raw_slowest.sql})",
            ),
        ],
    )


if __name__ == "__main__":
    main()
