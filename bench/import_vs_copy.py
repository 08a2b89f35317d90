"""How close the CSV import comes to raw COPY speed.

Builds a 100,000-row lead file by replicating the shipped Datablist sample
(crm/demo_data/leads.csv) with new ids and e-mail addresses, imports it into
a throwaway organization through `crm.services.imports.import_files` (row
checks, staging COPY, matching, company find-or-create, first notes), and in
the same run COPYs the very same file into an unlogged (temporary) table of
text columns. Prints both rates and import / COPY (aim: at least 0.2).

It also measures a floor: the same rows written straight into the lead,
company and note tables (no cleaning, matching or staging) with their
indexes, row-level security and deferred keys, then rolled back. floor / COPY
is the best ratio any import into this schema can reach on that machine.

    .venv/bin/python bench/import_vs_copy.py [ROWS]
"""

import csv
import io
import sys
import tempfile
import time
from pathlib import Path

from common import report, temporary_organization
from django.db import connection

from clozup.tenancy import org_context
from crm.services import imports
from crm.services.demo import DEMO_DATA

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def build_file(target: Path, rows: int) -> list[str]:
    with (DEMO_DATA / "leads.csv").open(newline="") as sample:
        reader = csv.reader(sample)
        header = next(reader)
        template = list(reader)
    ids = header.index("Account Id")
    emails = [header.index("Email 1"), header.index("Email 2")]
    with target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for n in range(rows):
            row = list(template[n % len(template)])
            row[0] = str(n + 1)
            row[ids] = f"B{n:014X}"
            for column in emails:
                local, _, domain = row[column].partition(chr(64))
                row[column] = f"{local}.{n}{chr(64)}{domain}"
            writer.writerow(row)
    return header


def copy_rate(path: Path, header: list[str]) -> float:
    columns = ", ".join(f'"c{i}" text' for i in range(len(header)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_stage")
        # The app role may not create tables in the schema; a temporary table
        # is unlogged as well (no WAL), which is what the baseline needs.
        cursor.execute(f"CREATE TEMP TABLE bench_copy_stage ({columns})")
        started = time.perf_counter()
        with cursor.cursor.copy(
            "COPY bench_copy_stage FROM STDIN WITH (FORMAT csv, HEADER true)"
        ) as copy:
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    copy.write(chunk)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_copy_stage")
        assert cursor.fetchone()[0] == ROWS
        cursor.execute("DROP TABLE bench_copy_stage")
    return ROWS / seconds


def import_rate(organization, path: Path) -> float:
    source = imports.ImportSource(name=path.name, open=lambda: path.open("rb"))
    started = time.perf_counter()
    result = imports.import_files(organization, [source])
    seconds = time.perf_counter() - started
    assert result.committed and result.totals()["created"] == ROWS, result.totals()
    return ROWS / seconds


class Undo(Exception):
    """Raised to roll back the floor measurement."""


def floor_rate(organization, path: Path, header: list[str]) -> float:
    """Rows per second of the writes any import into this schema must make.

    The same file is COPYed as text and written straight into crm_company
    (one row per distinct company), crm_lead and crm_activity (the note),
    with no cleaning, matching or reporting; the deferred keys are checked
    before the transaction rolls back. It bounds what `import_files` can
    reach while the indexes and keys stay as they are.
    """
    col = {name: f'"c{header.index(name)}"' for name in header}
    columns = ", ".join(f'"c{i}" text' for i in range(len(header)))
    text_blanks = "secondary_email, secondary_phone, title, country, city, origin"
    started = time.perf_counter()
    try:
        with org_context(organization) as org, connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE bench_floor ({columns}) ON COMMIT DROP")
            with cursor.cursor.copy(
                "COPY bench_floor FROM STDIN WITH (FORMAT csv, HEADER true)"
            ) as copy:
                with path.open("rb") as stream:
                    while chunk := stream.read(1 << 20):
                        copy.write(chunk)
            cursor.execute(
                f"""
                INSERT INTO crm_company (organization_id, name, website, industry,
                    country, city, description, external_id, created_at, updated_at)
                SELECT DISTINCT %s, {col["Company"]}, {col["Website"]}, '', '', '',
                    '', '', now(), now()
                FROM bench_floor
                """,
                [org],
            )
            cursor.execute(
                f"""
                INSERT INTO crm_lead (id, organization_id, first_name, last_name,
                    email, phone, company_name, source, status, owner_name,
                    external_id, details, created_at, updated_at, company_id,
                    {text_blanks})
                SELECT nextval(pg_get_serial_sequence('crm_lead', 'id')), %s,
                    {col["First Name"]}, {col["Last Name"]}, {col["Email 1"]},
                    {col["Phone 1"]}, f.{col["Company"]}, {col["Source"]}, 'new',
                    {col["Lead Owner"]}, {col["Account Id"]},
                    jsonb_build_object('stage', {col["Deal Stage"]}), now(), now(),
                    c.id, '', '', '', '', '', ''
                FROM bench_floor f JOIN crm_company c
                  ON c.name = f.{col["Company"]} AND c.website = f.{col["Website"]}
                """,
                [org],
            )
            cursor.execute(
                f"""
                INSERT INTO crm_activity (organization_id, kind, occurred_at,
                    subject, body, lead_id, created_at)
                SELECT %s, 'note', now(), 'Imported note', f.{col["Notes"]}, l.id,
                    now()
                FROM bench_floor f JOIN crm_lead l
                  ON l.external_id = f.{col["Account Id"]}
                """,
                [org],
            )
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            seconds = time.perf_counter() - started
            raise Undo
    except Undo:
        pass
    return ROWS / seconds


def clean_up(organization) -> None:
    with org_context(organization), connection.cursor() as cursor:
        for table in ("crm_activity", "crm_lead", "crm_company"):
            cursor.execute(f"DELETE FROM {table}")  # RLS: this organization only


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads-bench.csv"
        header = build_file(path, ROWS)
        size = path.stat().st_size
        # The floor writes under an organization of its own: every index but
        # the primary key starts with the organization, so its rolled-back
        # entries never sit among the keys the import then inserts.
        with (
            temporary_organization() as organization,
            temporary_organization() as floor_organization,
        ):
            copy_first = copy_rate(path, header)
            floor = floor_rate(floor_organization, path, header)
            imported = import_rate(organization, path)
            copy_second = copy_rate(path, header)
            clean_up(organization)

    copied = (copy_first + copy_second) / 2
    report(
        f"CSV import vs COPY, {ROWS:,} leads ({size / 1e6:.1f} MB)",
        [
            ("import rows/s", f"{imported:,.0f}"),
            ("COPY rows/s", f"{copied:,.0f} (mean of a run before and after)"),
            ("import / COPY", f"{imported / copied:.3f} (aim >= 0.2)"),
            ("floor rows/s", f"{floor:,.0f} (bare writes into the same tables)"),
            ("floor / COPY", f"{floor / copied:.3f} (the most an import can reach)"),
            ("import / floor", f"{imported / floor:.2f}"),
        ],
    )


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    main()
