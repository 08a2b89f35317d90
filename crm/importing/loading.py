"""Writing cleaned rows in bulk: COPY into a staging table, then set-based SQL.

Each file's records go into a temporary table with `COPY`; matching against
existing records (external id first, then email), creating, and updating
happen in a handful of statements whatever the row count. An update only
touches a record whose values differ, and an empty cell never erases a
stored value, so importing the same file twice changes nothing the second
time. Everything runs inside the caller's transaction and organization
context; row-level security applies to every statement.
"""

import itertools
from dataclasses import dataclass, field

from django.db import connection

from clozup.models import Organization
from compliance.services import consent as consent_services
from crm.importing.layouts import Kind
from crm.importing.rows import Rejection

# How a stored website compares: no scheme, no "www.", no trailing slash.
WEBSITE_KEY = (
    "lower(regexp_replace(regexp_replace({0}, '^[a-zA-Z]+://(www[.])?', ''),"
    " '/+$', ''))"
)

_names = itertools.count(1)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_deleted: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped_deleted": self.skipped_deleted,
            **self.extra,
        }


# Stage column types; a record field not listed here is not staged.
COLUMN_TYPES = {
    "line": "integer",
    "external_id": "text",
    "first_name": "text",
    "last_name": "text",
    "email": "text",
    "secondary_email": "text",
    "phone": "text",
    "secondary_phone": "text",
    "title": "text",
    "company_name": "text",
    "website": "text",
    "country": "text",
    "city": "text",
    "source": "text",
    "origin": "text",
    "status": "text",
    "score": "smallint",
    "owner_id": "bigint",
    "owner_name": "text",
    "details": "jsonb",
    "note": "text",
    "do_not_email": "boolean",
    "do_not_call": "boolean",
    "subscribed_on": "date",
    "name": "text",
    "industry": "text",
    "founded_year": "integer",
    "employee_count": "integer",
    "annual_revenue": "numeric",
    "description": "text",
    "parent_name": "text",
    "family": "text",
    "list_price": "numeric",
    "currency": "text",
    "agent_name": "text",
    "manager_name": "text",
    "region": "text",
    "amount": "numeric",
    "stage_id": "bigint",
    "product_id": "bigint",
    "engaged_on": "date",
    "closed_at": "date",
    "expected_close_date": "date",
    "stage_entered_at": "date",
}

# Stage columns that are not columns of the target table.
NOT_STORED = {
    "line",
    "website_for_company",
    "note",
    "do_not_email",
    "do_not_call",
    "subscribed_on",
    "parent_name",
    "agent_name",
    "manager_name",
}

TEXT_TYPES = {"text"}
# Opt-out flags of a leads file that become consent ledger events.
FLAG_COLUMNS = ("do_not_email", "do_not_call")

# Columns the SQL below reads whether or not the file had them (NULL if not).
ALWAYS_STAGED = {
    Kind.COMPANIES: {"external_id", "website"},
    Kind.CONTACTS: {"external_id", "email", "website", "company_name"},
    Kind.LEADS: {"external_id", "email", "website", "company_name"},
    Kind.DEALS: {"external_id", "company_name"},
    Kind.PRODUCTS: {"family", "list_price", "currency"},
    Kind.TEAMS: {"manager_name", "region"},
}


class Loader:
    def __init__(self, organization_id: int, *, filename: str):
        self.organization_id = organization_id
        self.filename = filename
        self.rejections: list[Rejection] = []
        self.cursor = connection.cursor()

    # Staging ------------------------------------------------------------------

    def stage(self, records: list[dict], columns: list[str]) -> str:
        table = f"import_stage_{next(_names)}"
        definition = ", ".join(f"{c} {COLUMN_TYPES[c]}" for c in columns)
        self.cursor.execute(
            f"CREATE TEMP TABLE {table} ({definition}, company_id bigint,"
            " target_id bigint, is_new boolean NOT NULL DEFAULT false)"
            " ON COMMIT DROP"
        )
        raw = self.cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for record in records:
                copy.write_row([record.get(c) for c in columns])
        self.cursor.execute(f"ANALYZE {table}")
        return table

    def drop(self, table: str) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def _reject_where(self, table: str, condition: str, column: str, reason_sql: str):
        self.cursor.execute(
            f"DELETE FROM {table} WHERE {condition} RETURNING line, {reason_sql}"
        )
        for line, reason in sorted(self.cursor.fetchall()):
            self.rejections.append(Rejection(self.filename, line, column, reason))

    # Matching and writing -------------------------------------------------------

    def _match(self, table: str, target: str, *, by_email: bool) -> None:
        self.cursor.execute(
            f"""
            UPDATE {table} s SET target_id = t.id
            FROM {target} t
            WHERE s.external_id <> '' AND t.external_id = s.external_id
            """
        )
        if by_email:
            self.cursor.execute(
                f"""
                UPDATE {table} s SET target_id = t.id
                FROM (
                    SELECT DISTINCT ON (lower(email)) id, lower(email) AS email,
                           external_id
                    FROM {target} WHERE email <> ''
                    ORDER BY lower(email), deleted_at NULLS FIRST, id
                ) t
                WHERE s.target_id IS NULL AND s.email <> '' AND t.email = s.email
                  AND (s.external_id = '' OR t.external_id = '')
                """
            )

    def _upsert(
        self,
        table: str,
        target: str,
        columns: list[str],
        *,
        insert_only: dict[str, str] | None = None,
    ) -> Counts:
        """Create unmatched rows, update matched ones whose values differ."""
        counts = Counts()
        org = self.organization_id
        insert_only = insert_only or {}
        stored = [c for c in columns if c not in NOT_STORED]

        self.cursor.execute(
            f"UPDATE {table} SET target_id = nextval(pg_get_serial_sequence(%s, 'id')),"
            " is_new = true WHERE target_id IS NULL",
            [target],
        )
        insert_columns = ["id", "organization_id", *stored, *insert_only]
        select = [
            "target_id",
            "%s",
            *[self._insert_value(c) for c in stored],
            *insert_only.values(),
        ]
        self.cursor.execute(
            f"INSERT INTO {target} ({', '.join(insert_columns)})"
            f" SELECT {', '.join(select)} FROM {table} s WHERE s.is_new",
            [org],
        )
        counts.created = self.cursor.rowcount

        self.cursor.execute(
            f"""SELECT count(*) FROM {table} s JOIN {target} t ON t.id = s.target_id
            WHERE NOT s.is_new AND t.deleted_at IS NOT NULL"""
        )
        counts.skipped_deleted = self.cursor.fetchone()[0]

        new_values = {c: self._merged_value(c) for c in stored}
        if new_values:
            assignments = ", ".join(f"{c} = {v}" for c, v in new_values.items())
            old_row = ", ".join(f"t.{c}" for c in new_values)
            new_row = ", ".join(new_values.values())
            self.cursor.execute(
                f"""
                UPDATE {target} t SET {assignments}, updated_at = now()
                FROM {table} s
                WHERE t.id = s.target_id AND NOT s.is_new AND t.deleted_at IS NULL
                  AND ROW({old_row}) IS DISTINCT FROM ROW({new_row})
                """
            )
            counts.updated = self.cursor.rowcount
        self.cursor.execute(f"SELECT count(*) FROM {table} WHERE NOT is_new")
        matched = self.cursor.fetchone()[0]
        counts.unchanged = matched - counts.updated - counts.skipped_deleted
        return counts

    @staticmethod
    def _insert_value(column: str) -> str:
        if column == "currency":
            return "coalesce(nullif(s.currency, ''), 'USD')"
        if column == "status":
            return "coalesce(nullif(s.status, ''), 'new')"
        if COLUMN_TYPES[column] in TEXT_TYPES:
            return f"coalesce(s.{column}, '')"
        if column == "details":
            return "coalesce(s.details, '{}'::jsonb)"
        return f"s.{column}"

    @staticmethod
    def _merged_value(column: str) -> str:
        # An empty cell keeps what is stored.
        if COLUMN_TYPES[column] in TEXT_TYPES:
            return f"coalesce(nullif(s.{column}, ''), t.{column})"
        if column == "details":
            return "t.details || coalesce(s.details, '{}'::jsonb)"
        return f"coalesce(s.{column}, t.{column})"

    def _link_companies(self, table: str) -> int:
        """Find or create each row's company by name and web site."""
        org = self.organization_id
        stored_key = WEBSITE_KEY.format("c.website")
        staged_key = WEBSITE_KEY.format("coalesce(n.website, '')")
        row_key = WEBSITE_KEY.format("coalesce(website, '')")
        self.cursor.execute(
            f"""
            INSERT INTO crm_company
                (organization_id, name, website, industry, country, city,
                 description, external_id, created_at, updated_at)
            SELECT %s, n.company_name, coalesce(n.website, ''), '', '', '', '', '',
                   now(), now()
            FROM (
                SELECT DISTINCT ON (lower(company_name), {row_key})
                       company_name, website
                FROM {table} WHERE company_name <> ''
                ORDER BY lower(company_name), {row_key}, line
            ) n
            WHERE NOT EXISTS (
                SELECT 1 FROM crm_company c
                WHERE c.deleted_at IS NULL AND lower(c.name) = lower(n.company_name)
                  AND {stored_key} = {staged_key}
            )
            """,
            [org],
        )
        created = self.cursor.rowcount
        self.cursor.execute(
            f"""
            UPDATE {table} s SET company_id = c.id
            FROM (
                SELECT DISTINCT ON (lower(name), {WEBSITE_KEY.format("website")})
                       id, lower(name) AS name, {WEBSITE_KEY.format("website")} AS site
                FROM crm_company WHERE deleted_at IS NULL
                ORDER BY lower(name), {WEBSITE_KEY.format("website")}, id
            ) c
            WHERE s.company_name <> '' AND c.name = lower(s.company_name)
              AND c.site = {WEBSITE_KEY.format("coalesce(s.website, '')")}
            """
        )
        return created

    # One function per kind --------------------------------------------------------

    def load(self, kind: Kind, records: list[dict]) -> Counts:
        if not records:
            return Counts()
        present = {c for r in records for c in r} | ALWAYS_STAGED.get(kind, set())
        columns = sorted(present & set(COLUMN_TYPES))
        table = self.stage(records, columns)
        counts = getattr(self, f"_load_{kind.value}")(table, columns)
        self.drop(table)
        return counts

    def _load_companies(self, table, columns) -> Counts:
        if "external_id" in columns:
            self._match(table, "crm_company", by_email=False)
        # Without a known id, a company is the same one when its name and web
        # site are: names alone repeat across different companies.
        site = WEBSITE_KEY.format("website")
        self.cursor.execute(
            f"""
            UPDATE {table} s SET target_id = t.id FROM (
                SELECT DISTINCT ON (lower(name), {site})
                       id, lower(name) AS name, {site} AS site
                FROM crm_company WHERE external_id = ''
                ORDER BY lower(name), {site}, deleted_at NULLS FIRST, id
            ) t
            WHERE s.target_id IS NULL AND t.name = lower(s.name)
              AND t.site = {WEBSITE_KEY.format("coalesce(s.website, '')")}
            """
        )
        if "parent_name" in columns:
            # A parent may be another row of the same file.
            self._reject_where(
                table,
                "parent_name <> '' AND NOT EXISTS (SELECT 1 FROM crm_company p"
                f" WHERE lower(p.name) = lower({table}.parent_name)"
                " AND p.deleted_at IS NULL) AND NOT EXISTS (SELECT 1 FROM"
                f" {table} o WHERE lower(o.name) = lower({table}.parent_name))",
                "parent",
                "format('no company named %%L', parent_name)",
            )
        defaults = self._blank_defaults("crm_company", columns)
        counts = self._upsert(table, "crm_company", columns, insert_only=defaults)
        if "parent_name" in columns:
            self.cursor.execute(
                f"""
                UPDATE crm_company c SET parent_id = p.id, updated_at = now()
                FROM {table} s
                JOIN LATERAL (
                    SELECT id FROM crm_company
                    WHERE lower(name) = lower(s.parent_name) AND deleted_at IS NULL
                    ORDER BY id LIMIT 1
                ) p ON true
                WHERE c.id = s.target_id AND s.parent_name <> ''
                  AND c.parent_id IS DISTINCT FROM p.id
                """
            )
            counts.extra["parents_linked"] = self.cursor.rowcount
        return counts

    def _load_products(self, table, columns) -> Counts:
        self.cursor.execute(
            f"""
            INSERT INTO crm_product
                (organization_id, name, family, list_price, currency)
            SELECT %s, name, coalesce(family, ''), list_price,
                   coalesce(nullif(currency, ''), 'USD')
            FROM {table}
            ON CONFLICT (organization_id, name) DO UPDATE
              SET family = coalesce(nullif(EXCLUDED.family, ''), crm_product.family),
                  list_price = coalesce(EXCLUDED.list_price, crm_product.list_price),
                  currency = EXCLUDED.currency
              WHERE (crm_product.family, crm_product.list_price, crm_product.currency)
                IS DISTINCT FROM (
                  coalesce(nullif(EXCLUDED.family, ''), crm_product.family),
                  coalesce(EXCLUDED.list_price, crm_product.list_price),
                  EXCLUDED.currency)
            RETURNING (xmax = 0)
            """,
            [self.organization_id],
        )
        return self._conflict_counts(table)

    def _conflict_counts(self, table) -> Counts:
        flags = [row[0] for row in self.cursor.fetchall()]
        self.cursor.execute(f"SELECT count(*) FROM {table}")
        total = self.cursor.fetchone()[0]
        created = sum(flags)
        updated = len(flags) - created
        return Counts(created=created, updated=updated, unchanged=total - len(flags))

    def _load_teams(self, table, columns) -> Counts:
        org = self.organization_id
        has = set(columns)
        manager = "manager_name" if "manager_name" in has else "NULL::text"
        region = "region" if "region" in has else "NULL::text"
        self.cursor.execute(
            f"""
            INSERT INTO crm_salesteam (organization_id, name, region, manager_name)
            SELECT DISTINCT ON (lower(m)) %s, m, coalesce(r, ''), m
            FROM (SELECT {manager} AS m, {region} AS r, line FROM {table}) x
            WHERE coalesce(m, '') <> ''
            ORDER BY lower(m), line
            ON CONFLICT (organization_id, lower(name)) DO UPDATE
              SET region = EXCLUDED.region
              WHERE crm_salesteam.region IS DISTINCT FROM EXCLUDED.region
            """,
            [org],
        )
        teams_written = self.cursor.rowcount
        self.cursor.execute(
            f"""
            INSERT INTO crm_salesagent (organization_id, name, team_id, user_id)
            SELECT %s, s.agent_name, t.id, m.user_id
            FROM (SELECT agent_name, {manager} AS manager FROM {table}) s
            LEFT JOIN crm_salesteam t ON lower(t.name) = lower(s.manager)
            LEFT JOIN LATERAL (
                SELECT mm.user_id FROM clozup_membership mm
                JOIN clozup_user u ON u.id = mm.user_id
                WHERE lower(u.full_name) = lower(s.agent_name)
                ORDER BY mm.user_id LIMIT 1
            ) m ON true
            ON CONFLICT (organization_id, lower(name)) DO UPDATE
              SET team_id = EXCLUDED.team_id,
                  user_id = coalesce(crm_salesagent.user_id, EXCLUDED.user_id)
              WHERE (crm_salesagent.team_id, crm_salesagent.user_id)
                IS DISTINCT FROM (
                  EXCLUDED.team_id,
                  coalesce(crm_salesagent.user_id, EXCLUDED.user_id))
            RETURNING (xmax = 0)
            """,
            [org],
        )
        counts = self._conflict_counts(table)
        counts.extra["teams_written"] = teams_written
        return counts

    def _load_contacts(self, table, columns) -> Counts:
        companies = self._link_companies(table) if "company_name" in columns else 0
        self._match(table, "crm_contact", by_email="email" in columns)
        stage_columns = [c for c in columns if c not in ("company_name", "website")]
        defaults = self._blank_defaults("crm_contact", stage_columns)
        counts = self._upsert_with_company(
            table, "crm_contact", stage_columns, defaults
        )
        counts.extra["companies_created"] = companies
        return counts

    def _upsert_with_company(self, table, target, columns, defaults) -> Counts:
        insert_only = {**defaults, "company_id": "s.company_id"}
        counts = self._upsert(table, target, columns, insert_only=insert_only)
        self.cursor.execute(
            f"""
            UPDATE {target} t SET company_id = s.company_id, updated_at = now()
            FROM {table} s
            WHERE t.id = s.target_id AND NOT s.is_new AND t.deleted_at IS NULL
              AND s.company_id IS NOT NULL
              AND t.company_id IS DISTINCT FROM s.company_id
            """
        )
        linked = self.cursor.rowcount
        if linked:
            counts.extra["company_links_changed"] = linked
        return counts

    def _load_leads(self, table, columns) -> Counts:
        companies = self._link_companies(table) if "company_name" in columns else 0
        self._match(table, "crm_lead", by_email="email" in columns)
        stage_columns = [c for c in columns if c != "website"]
        defaults = self._blank_defaults("crm_lead", stage_columns)
        counts = self._upsert_with_company(table, "crm_lead", stage_columns, defaults)
        counts.extra["companies_created"] = companies
        counts.extra.update(self._after_leads_loaded(table, columns))
        return counts

    def _after_leads_loaded(self, table: str, columns: list[str]) -> dict[str, int]:
        """Records that hang off newly imported leads, in the same transaction.

        This is the extension point for import-time side records: today the
        lead's first note and the consent ledger's opt-outs, read from the
        staging table's `do_not_email` and `do_not_call` (booleans per row,
        `target_id` the lead's id, `is_new` telling a new lead from a matched
        one).
        """
        written = {}
        if "note" in columns:
            self.cursor.execute(
                f"""
                INSERT INTO crm_activity
                    (organization_id, kind, occurred_at, subject, body, lead_id,
                     created_at)
                SELECT %s, 'note', now(), 'Imported note', s.note, s.target_id, now()
                FROM {table} s WHERE s.is_new AND coalesce(s.note, '') <> ''
                """,
                [self.organization_id],
            )
            written["notes_created"] = self.cursor.rowcount
        if "do_not_email" in columns or "do_not_call" in columns:
            written["consent_opt_outs_recorded"] = self._record_opt_outs(table, columns)
        return written

    def _record_opt_outs(self, table: str, columns: list[str]) -> int:
        flags = {c: f"s.{c}" if c in columns else "false" for c in FLAG_COLUMNS}
        self.cursor.execute(
            f"""
            SELECT s.target_id, coalesce({flags["do_not_email"]}, false),
                   coalesce({flags["do_not_call"]}, false)
            FROM {table} s
            WHERE s.target_id IS NOT NULL
              AND ({flags["do_not_email"]} OR {flags["do_not_call"]})
            """
        )
        rows = self.cursor.fetchall()
        organization = Organization.objects.get(pk=self.organization_id)
        return consent_services.record_import_opt_outs(
            organization,
            do_not_email=[lead_id for lead_id, email, _ in rows if email],
            do_not_call=[lead_id for lead_id, _, call in rows if call],
        )

    def _load_deals(self, table, columns) -> Counts:
        if "company_name" in columns:
            self.cursor.execute(
                f"""
                UPDATE {table} s SET company_id = c.id
                FROM (
                    SELECT DISTINCT ON (lower(name)) id, lower(name) AS name
                    FROM crm_company WHERE deleted_at IS NULL
                    ORDER BY lower(name), id
                ) c
                WHERE s.company_name <> '' AND c.name = lower(s.company_name)
                """
            )
            self._reject_where(
                table,
                "coalesce(company_name, '') <> '' AND company_id IS NULL",
                "account",
                "format('no company named %%L', company_name)",
            )
        self._match(table, "crm_deal", by_email=False)
        stage_columns = [
            c for c in columns if c not in ("company_name", "stage_entered_at")
        ]
        defaults = self._blank_defaults("crm_deal", stage_columns)
        defaults["stage_entered_at"] = (
            "coalesce(s.stage_entered_at::timestamptz, now())"
        )
        if "amount" in stage_columns:
            stage_columns.remove("amount")
            defaults["amount"] = "coalesce(s.amount, 0)"
        counts = self._upsert_with_company(table, "crm_deal", stage_columns, defaults)
        if "amount" in columns:
            self.cursor.execute(
                f"""
                UPDATE crm_deal t SET amount = s.amount, updated_at = now()
                FROM {table} s
                WHERE t.id = s.target_id AND NOT s.is_new AND t.deleted_at IS NULL
                  AND s.amount IS NOT NULL AND t.amount <> s.amount
                """
            )
            counts.updated += self.cursor.rowcount
            counts.unchanged -= self.cursor.rowcount
        return counts

    # Columns the table requires that this file did not bring -----------------------

    REQUIRED_TEXT = {
        "crm_company": (
            "website industry country city description external_id".split()
        ),
        "crm_contact": (
            "first_name last_name email secondary_email phone secondary_phone"
            " title country city external_id"
        ).split(),
        "crm_lead": (
            "first_name last_name email secondary_email phone secondary_phone title"
            " company_name country city source origin owner_name external_id"
        ).split(),
        "crm_deal": ["owner_name", "external_id", "currency"],
    }

    def _blank_defaults(self, target: str, columns: list[str]) -> dict[str, str]:
        defaults = {
            c: "''" for c in self.REQUIRED_TEXT.get(target, []) if c not in columns
        }
        if target == "crm_deal":
            if "currency" not in columns:
                defaults["currency"] = "'USD'"
        if target == "crm_lead":
            if "status" not in columns:
                defaults["status"] = "'new'"
            if "details" not in columns:
                defaults["details"] = "'{}'::jsonb"
        defaults["created_at"] = "now()"
        defaults["updated_at"] = "now()"
        return defaults
