"""Backups: pg_dump encrypted into the backup location, restored and compared."""

import contextlib
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.db import connections
from psycopg import sql

from clozup import backups
from clozup.lib import postgres_tools
from clozup.models import IntegrationCredential, Organization
from clozup.tenancy import org_context
from crm.models import Lead

API_KEY = "sk_live_backup_test_value_1234567890"


@pytest.fixture
def admin_url():
    url = os.environ.get("DATABASE_ADMIN_URL")
    if not url:
        pytest.fail("DATABASE_ADMIN_URL must name a superuser for the backup tests")
    return url


@pytest.fixture
def backup_settings(settings, local_storages, admin_url):
    settings.BACKUP_DATABASE_URL = admin_url
    return local_storages


@pytest.fixture
def fresh_database(admin_url):
    """An empty database owned by the owner role, dropped afterwards."""
    database = django_settings.DATABASES["default"]["NAME"]
    name = f"{database}_restore_{uuid.uuid4().hex[:6]}"
    owner = django_settings.DATABASES["owner"]["USER"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )
    yield name
    connections.close_all()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


@contextlib.contextmanager
def pointed_at(name: str):
    """The app and owner connections use another database for the block."""
    previous = {}
    connections.close_all()
    for alias in ("default", "owner"):
        previous[alias] = connections[alias].settings_dict["NAME"]
        connections[alias].settings_dict["NAME"] = name
        django_settings.DATABASES[alias]["NAME"] = name
    try:
        yield
    finally:
        connections.close_all()
        for alias, old in previous.items():
            connections[alias].settings_dict["NAME"] = old
            django_settings.DATABASES[alias]["NAME"] = old


def table_checksums(admin_url: str, database: str) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every row, for every table (RLS bypassed)."""
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=database)
    result = {}
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ]
        for table in tables:
            query = sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(t::text, '|'"
                " ORDER BY t::text), '')) FROM {} t"
            ).format(sql.Identifier(table))
            result[table] = tuple(conn.execute(query).fetchone())
    return result


@pytest.fixture
def populated(committed_db, make_org, make_member, make_lead, make_company):
    organization = make_org(name="Acme Sales")
    make_member(organization)
    company = make_company(organization, name="Initech")
    leads = [make_lead(organization, company=company) for _ in range(3)]
    with org_context(organization):
        IntegrationCredential.objects.create(
            organization=organization, provider="hubspot", secret=API_KEY
        )
    other = make_org(name="Bolt Trading")
    make_lead(other)
    return organization, other, leads


def test_a_backup_restored_into_a_fresh_database_matches_every_table(
    populated, backup_settings, fresh_database, admin_url
):
    backup = backups.take_backup()

    with pointed_at(fresh_database):
        backups.restore_backup(backup.name)

    original = table_checksums(admin_url, django_settings.DATABASES["owner"]["NAME"])
    restored = table_checksums(admin_url, fresh_database)
    assert len(original) > 10
    assert restored == original


def test_backup_and_restore_are_recorded_in_every_organizations_audit_log(
    populated, backup_settings, fresh_database, capsys
):
    from audit.models import AuditEntry

    organization, other, _ = populated
    call_command("backup", reason="ticket-1")
    name = backups.list_backups()[-1].name
    with pointed_at(fresh_database):
        call_command("restore", name, reason="ticket-2")
        with org_context(other):
            restored = list(AuditEntry.objects.values_list("action", "metadata"))
    with org_context(organization):
        taken = AuditEntry.objects.filter(action="backup.taken").get()
    out = capsys.readouterr().out

    assert "written" in out and "empty database ->" in out
    assert taken.actor_label.startswith("operator:")
    assert taken.metadata == {"command": "backup", "reason": "ticket-1", "backup": name}
    # The dump was made before its own event was recorded.
    last_two = [action for action, _ in restored][-2:]
    assert last_two == ["member.added", "backup.restored"]
    assert restored[-1][1]["reason"] == "ticket-2"


def test_the_stored_backup_is_encrypted(populated, backup_settings):
    backup = backups.take_backup()

    stored = (backup_settings / "backups" / backup.name).read_bytes()

    assert stored.startswith(b"CLZF")
    assert b"PGDMP" not in stored
    assert API_KEY.encode() not in stored
    with storages["backups"].open(backup.name) as handle:
        assert handle.read(5) == b"PGDMP"


def test_a_restore_never_brings_back_what_was_purged_after_the_backup(
    populated, backup_settings, fresh_database
):
    organization, other, leads = populated
    backup = backups.take_backup()

    purged = leads[0]
    backups.record_replay_entry(
        "records.purge",
        organization_id=organization.pk,
        model="crm.lead",
        ids=[purged.pk],
    )
    with org_context(organization):
        Lead.objects.filter(pk=purged.pk).delete()
    backups.record_replay_entry("organization.purge", organization_id=other.pk)

    with pointed_at(fresh_database):
        result = backups.restore_backup(backup.name)
        with org_context(organization):
            remaining = set(Lead.objects.values_list("pk", flat=True))
        other_exists = Organization.objects.filter(pk=other.pk).exists()

    assert result.replayed == 2
    assert remaining == {lead.pk for lead in leads[1:]}
    assert not other_exists


def test_a_restore_refuses_a_database_that_has_tables(populated, backup_settings):
    backup = backups.take_backup()

    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", backup.name, reason="ticket-1")


def test_a_truncated_backup_leaves_the_database_empty(
    populated, backup_settings, fresh_database
):
    backup = backups.take_backup()
    path = backup_settings / "backups" / backup.name
    path.write_bytes(path.read_bytes()[: -(70 * 1024)])

    with pointed_at(fresh_database):
        with pytest.raises(CommandError, match="file:"):
            call_command("restore", backup.name, reason="ticket-1")
        assert backups._table_count("owner") == 0


def test_a_backup_copied_out_of_storage_restores_from_its_path(
    populated, backup_settings, fresh_database, tmp_path
):
    backup = backups.take_backup()
    copy = tmp_path / Path(backup.name).name
    copy.write_bytes((backup_settings / "backups" / backup.name).read_bytes())

    with pointed_at(fresh_database):
        result = backups.restore_backup(str(copy))

    assert result.tables > 10


def test_a_dry_run_restore_changes_nothing(
    populated, backup_settings, fresh_database, capsys
):
    backup = backups.take_backup()

    with pointed_at(fresh_database):
        call_command("restore", backup.name, reason="ticket-1", dry_run=True)
        tables = backups._table_count("owner")

    assert tables == 0
    assert "dry run" in capsys.readouterr().out


def test_backup_needs_a_role_that_reads_every_row(settings, local_storages, db):
    settings.BACKUP_DATABASE_URL = ""

    with pytest.raises(CommandError, match="BACKUP_DATABASE_URL"):
        call_command("backup", reason="ticket-1")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:@/postgres?host=/srv/pg/socket",
        "postgres://postgres@%2Fsrv%2Fpg%2Fsocket/postgres",
    ],
)
def test_a_backup_role_on_a_unix_socket_names_its_folder(settings, url):
    # The embedded PostgreSQL (make test without DATABASE_URL) gives `?host=`.
    settings.BACKUP_DATABASE_URL = url

    role = backups._backup_role()

    assert role["HOST"] == "/srv/pg/socket"
    assert postgres_tools.libpq_environment(role)["PGHOST"] == "/srv/pg/socket"


def test_backup_and_restore_need_a_reason(backup_settings, db):
    with pytest.raises(CommandError, match="--reason"):
        call_command("backup", reason="  ")


def _put(name: str, content: bytes = b"x") -> None:
    storages["backups"].save(name, ContentFile(content))


def test_backups_past_the_retention_are_removed_and_newer_ones_kept(
    backup_settings, settings
):
    settings.BACKUP_RETENTION_DAYS = 30
    now = datetime(2026, 6, 30, 3, 0, tzinfo=UTC)
    _put("db/clozup-20260520T020000Z.dump")
    _put("db/clozup-20260601T020000Z.dump")
    _put("db/clozup-20260629T020000Z.dump")
    _put("journal/20260515T100000000000Z-aaaa.json")
    _put("journal/20260610T100000000000Z-bbbb.json")

    dry = backups.prune_backups(now=now, dry_run=True)
    assert len(backups.list_backups()) == 3
    pruned = backups.prune_backups(now=now)
    again = backups.prune_backups(now=now)

    assert dry == pruned
    assert pruned.backups == ["db/clozup-20260520T020000Z.dump"]
    assert pruned.journal_entries == 1
    assert [b.name for b in backups.list_backups()] == [
        "db/clozup-20260601T020000Z.dump",
        "db/clozup-20260629T020000Z.dump",
    ]
    assert again.backups == [] and again.journal_entries == 0


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"kind": "person.forget"}, "kind"),
        ({"organization_id": "acme"}, "organization_id"),
        ({"model": "crm.nothing"}, "model"),
        ({"ids": ["ada@example.org"]}, "ids"),
    ],
)
def test_the_journal_holds_ids_only(backup_settings, fields, message):
    entry = {"kind": "records.purge", "organization_id": 1, "model": "crm.lead"}
    entry.update(fields)
    kind = entry.pop("kind")

    with pytest.raises(backups.InvalidJournalEntry, match=message):
        backups.record_replay_entry(kind, **entry)


def test_journal_entries_are_stored_encrypted(backup_settings):
    name = backups.record_replay_entry(
        "records.purge", organization_id=7, model="crm.lead", ids=[3, 1]
    )

    stored = (backup_settings / "backups" / name).read_bytes()
    (entry,) = backups.read_journal()

    assert b"crm.lead" not in stored
    assert (entry.kind, entry.organization_id) == ("records.purge", 7)
    assert entry.ids == (1, 3)
    assert entry.recorded_at > datetime.now(UTC) - timedelta(minutes=1)


def test_no_client_tool_recent_enough_is_reported_with_the_fix():
    with pytest.raises(postgres_tools.PostgresToolMissing, match="PG_BIN_DIR"):
        postgres_tools.find_tool("pg_dump", server_major=99)


def test_the_newest_client_tool_at_least_the_servers_version_is_chosen():
    path, version = postgres_tools.find_tool("pg_dump", server_major=15)

    assert version >= 15
    assert postgres_tools.tool_major_version(path) == version


def test_the_nightly_jobs_back_up_and_prune(populated, backup_settings, settings):
    from clozup.celery import app
    from clozup.tasks import prune_backups_task, take_backup_task

    _put("db/clozup-20200101T020000Z.dump")

    name = take_backup_task()
    removed = prune_backups_task()

    assert removed == 1
    assert [b.name for b in backups.list_backups()] == [name]
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"clozup.take_backup", "clozup.prune_backups"} <= scheduled
    # As a worker does on start: every app's tasks module, not only those
    # this test run happened to import.
    app.loader.import_default_modules()
    assert scheduled <= set(app.tasks)


def test_replay_journal_removes_again_what_a_snapshot_brought_back(
    populated, backup_settings, capsys
):
    organization, _, leads = populated
    before = datetime.now(UTC) - timedelta(minutes=5)
    # The entry was written; the database then came back from a snapshot
    # taken before the purge, so the lead is still there.
    backups.record_replay_entry(
        "records.purge",
        organization_id=organization.pk,
        model="crm.lead",
        ids=[leads[0].pk],
    )

    call_command("replay_journal", since=before.isoformat(), reason="t", dry_run=True)
    with org_context(organization):
        still_there = Lead.objects.filter(pk=leads[0].pk).exists()
    call_command("replay_journal", since=before.isoformat(), reason="t")
    with org_context(organization):
        gone = not Lead.objects.filter(pk=leads[0].pk).exists()
    out = capsys.readouterr().out

    assert still_there and gone
    assert "dry run: 1 journal entries" in out
    assert "1 journal entries replayed" in out


def test_replay_journal_needs_a_time_with_its_zone(backup_settings, db):
    with pytest.raises(CommandError, match="--since"):
        call_command("replay_journal", since="2026-06-01T02:00", reason="t")


@pytest.fixture
def s3_backups(settings, make_bucket, admin_url):
    options = make_bucket(region="eu-central-1")
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {
            "BACKEND": "clozup.lib.storage.S3BackupStorage",
            "OPTIONS": options,
        },
    }
    settings.BACKUP_DATABASE_URL = admin_url
    return options["bucket_name"]


def test_on_s3_backups_and_journal_go_to_their_own_bucket_and_restore(
    populated, s3_backups, s3_client, fresh_database
):
    organization, _, leads = populated
    backup = backups.take_backup()
    backups.record_replay_entry(
        "records.purge",
        organization_id=organization.pk,
        model="crm.lead",
        ids=[leads[0].pk],
    )

    stored = s3_client.get_object(Bucket=s3_backups, Key=backup.name)
    with pointed_at(fresh_database):
        result = backups.restore_backup(backup.name)

    assert stored["ServerSideEncryption"] == "AES256"
    assert stored["Body"].read(4) == b"CLZF"
    assert result.replayed == 1 and result.rows_removed >= 1
    assert [b.name for b in backups.list_backups()] == [backup.name]
