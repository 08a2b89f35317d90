"""Does the lead list stay fast as the table grows a hundredfold?

Measures the 95th percentile of full requests (middleware, tenancy, template)
for the lead list's first page and a deep page (keyset cursor near the end)
with 10,000 leads in the organization, then with 1,000,000, and prints the
ratio p95(1M) / p95(10k) for each (aim: at most 1.5). Rows are bulk-loaded:
COPY into a temporary staging table, then one INSERT ... SELECT (COPY cannot
write a table with row-level security directly).

    .venv/bin/python bench/list_scaling.py [SMALL LARGE REQUESTS]
"""

import statistics
import sys
import time
from datetime import timedelta

from common import report, temporary_organization
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from clozup.lib.pagination import encode_cursor
from clozup.models import Membership
from clozup.tenancy import org_context
from crm.models import Lead

SMALL, LARGE, REQUESTS = (
    [int(a) for a in sys.argv[1:4]] if len(sys.argv) > 3 else [10_000, 1_000_000, 60]
)
BATCH = 250_000


def add_leads(organization, start: int, count: int) -> None:
    """Leads numbered start..start+count, one minute apart going back in time."""
    origin = timezone.now()
    for offset in range(start, start + count, BATCH):
        size = min(BATCH, start + count - offset)
        with org_context(organization), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_leads (n integer, created timestamptz)"
                " ON COMMIT DROP"
            )
            with cursor.cursor.copy("COPY bench_leads FROM STDIN") as copy:
                for n in range(offset, offset + size):
                    copy.write_row((n, origin - timedelta(minutes=n)))
            cursor.execute(
                """
                INSERT INTO crm_lead (organization_id, first_name, last_name, email,
                    secondary_email, phone, secondary_phone, title, company_name,
                    country, city, source, origin, status, owner_name, external_id,
                    details, created_at, updated_at)
                SELECT %s, 'Bench', 'Lead ' || n, 'lead' || n || '@bench.invalid',
                    '', '', '', '', 'Bench Co', '', '', 'Import', '', 'new', '', '',
                    '{}'::jsonb, created, created
                FROM bench_leads
                """,
                [organization.pk],
            )
    refresh_statistics()


def refresh_statistics() -> None:
    """Give the planner the table's new size, as autovacuum would soon.

    ANALYZE needs the table's owner: the owner connection when configured,
    else wait for autovacuum's own analyze.
    """
    if "owner" in connections:
        with connections["owner"].cursor() as cursor:
            cursor.execute("ANALYZE crm_lead")
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_autoanalyze FROM pg_stat_user_tables"
            " WHERE relname = 'crm_lead'"
        )
        before = cursor.fetchone()[0]
        for _ in range(180):
            time.sleep(1)
            cursor.execute(
                "SELECT last_autoanalyze FROM pg_stat_user_tables"
                " WHERE relname = 'crm_lead'"
            )
            if cursor.fetchone()[0] != before:
                return
    print("warning: the table was not analyzed; figures may reflect stale plans")


def deep_cursor(organization, depth: int) -> str:
    with org_context(organization):
        row = (
            Lead.objects.live()
            .order_by("-created_at", "-id")
            .values_list("created_at", "id")[depth : depth + 1]
            .get()
        )
    return encode_cursor(list(row))


def p95(client: Client, url: str) -> float:
    client.get(url)  # warm up
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return statistics.quantiles(timings, n=20)[18] * 1000


def measure(client, organization, total: int) -> dict[str, float]:
    deep = deep_cursor(organization, total - 100)
    return {
        "first": p95(client, "/leads/"),
        "deep": p95(client, f"/leads/?cursor={deep}"),
    }


def main() -> None:
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SECURE_SSL_REDIRECT = False
    with temporary_organization() as organization:
        with org_context(organization):
            owner = Membership.objects.select_related("user").get().user
        client = Client()
        client.force_login(owner)
        try:
            add_leads(organization, 0, SMALL)
            small = measure(client, organization, SMALL)
            loading = time.perf_counter()
            add_leads(organization, SMALL, LARGE - SMALL)
            load_seconds = time.perf_counter() - loading
            large = measure(client, organization, LARGE)
        finally:
            with org_context(organization), connection.cursor() as cursor:
                cursor.execute("DELETE FROM crm_lead")  # RLS: this organization only

    rows = [("rows loaded/s", f"{(LARGE - SMALL) / load_seconds:,.0f}")]
    for page in ("first", "deep"):
        rows.append(
            (
                f"{page} page p95",
                f"{small[page]:.1f} ms at {SMALL:,}, {large[page]:.1f} ms at"
                f" {LARGE:,}: ratio {large[page] / small[page]:.2f} (aim <= 1.5)",
            )
        )
    report(f"Lead list p95 over {REQUESTS} requests", rows)


if __name__ == "__main__":
    main()
