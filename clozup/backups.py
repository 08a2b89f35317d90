"""Services for database backups, restores and the replay journal.

A backup is `pg_dump --format=custom` streamed through the key-ring
encryption into `storages["backups"]` (another bucket, in another region) as
`db/clozup-<UTC time>.dump`. A restore streams it back through `pg_restore`
into an empty database, then replays the journal.

The journal lists every erasure and purge, by id only (no personal data), as
one small encrypted file each under `journal/` in the backup location: never
in the database, so that a restore of an older backup can still read what
happened after it. Replaying an entry is idempotent, so the restore replays
every entry recorded since shortly before the backup started.
"""

import contextlib
import json
import logging
import re
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import storages
from django.db import connections
from django.utils import timezone

from clozup.lib import filecrypto
from clozup.lib.postgres_tools import find_tool, libpq_environment
from clozup.models import Organization
from clozup.tenancy import grant_app_role, org_context

logger = logging.getLogger(__name__)

BACKUP_DIR = "db"
JOURNAL_DIR = "journal"
STAMP = "%Y%m%dT%H%M%SZ"
BACKUP_NAME = re.compile(r"^clozup-(\d{8}T\d{6}Z)")
JOURNAL_NAME = re.compile(r"^(\d{8}T\d{6}\d{6}Z)-")
# Replay starts this long before the backup began: clocks differ a little,
# and a transaction may commit after pg_dump took its snapshot.
REPLAY_MARGIN = timedelta(hours=1)
# The database where restores run: the owner role, which the restore needs
# anyway and which may delete what the app role may not (the audit log).
RESTORE_DATABASE = "owner"


class BackupFailed(RuntimeError):
    pass


class RestoreRefused(RuntimeError):
    """The restore would overwrite data, or cannot read its backup."""


class InvalidJournalEntry(ValueError):
    pass


@dataclass(frozen=True)
class Backup:
    name: str
    taken_at: datetime
    size: int


@dataclass(frozen=True)
class JournalEntry:
    kind: str
    organization_id: int
    recorded_at: datetime
    model: str = ""
    ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class RestoreResult:
    backup: str
    taken_at: datetime
    tables: int
    replayed: int
    rows_removed: int


# Backups ----------------------------------------------------------------------


def _backup_role() -> dict:
    if not settings.BACKUP_DATABASE_URL:
        raise BackupFailed(
            "BACKUP_DATABASE_URL is not set: it names the role pg_dump runs as,"
            " one that reads every row (a superuser, or a role with BYPASSRLS)"
        )
    role = environ.Env.db_url_config(settings.BACKUP_DATABASE_URL)
    # Always the application's database, whatever the URL names. A socket
    # directory may be percent-encoded in the host, as in DATABASE_URL, or
    # given as `?host=`, as the embedded PostgreSQL's own URL does.
    host = role.get("HOST") or role.get("OPTIONS", {}).get("host") or ""
    return {
        **role,
        "HOST": unquote(host),
        "NAME": settings.DATABASES["default"]["NAME"],
    }


def _server_major(using: str) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def _taken_at(name: str) -> datetime:
    match = BACKUP_NAME.match(Path(name).name)
    if not match:
        raise RestoreRefused(f"{name}: not a backup name (clozup-<time>.dump)")
    return datetime.strptime(match.group(1), STAMP).replace(tzinfo=UTC)


def take_backup() -> Backup:
    """Dump the database, encrypted on the way, into the backup location."""
    role = _backup_role()
    pg_dump, version = find_tool("pg_dump", server_major=_server_major("default"))
    started_at = timezone.now().replace(microsecond=0)
    name = f"{BACKUP_DIR}/clozup-{started_at.strftime(STAMP)}.dump"
    storage = storages["backups"]

    logger.info("backup started", extra={"pg_dump_version": version})
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603  (a program we located, no shell)
            [str(pg_dump), "--format=custom", "--no-password"],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=libpq_environment(role),
        )
        try:
            stored = storage.save(name, File(process.stdout, name))
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            process.stdout.close()
        code = process.wait()
        if code != 0:
            storage.delete(stored)
            errors.seek(0)
            detail = errors.read()[-2000:].decode(errors="replace").strip()
            raise BackupFailed(f"pg_dump exited with status {code}: {detail}")

    backup = Backup(stored, started_at, storage.size(stored))
    logger.info("backup written", extra={"backup": stored, "bytes": backup.size})
    return backup


def list_backups() -> list[Backup]:
    """The backups in the backup location, oldest first."""
    storage = storages["backups"]
    try:
        _, files = storage.listdir(BACKUP_DIR)
    except FileNotFoundError:
        return []
    backups = []
    for filename in files:
        if BACKUP_NAME.match(filename):
            name = f"{BACKUP_DIR}/{filename}"
            backups.append(Backup(name, _taken_at(name), storage.size(name)))
    return sorted(backups, key=lambda backup: (backup.taken_at, backup.name))


@dataclass(frozen=True)
class Pruned:
    backups: list[str]
    journal_entries: int


def prune_backups(*, now: datetime | None = None, dry_run: bool = False) -> Pruned:
    """Remove backups older than BACKUP_RETENTION_DAYS, and journal entries
    older than every backup kept (less the replay margin). Rerunnable."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.BACKUP_RETENTION_DAYS)
    storage = storages["backups"]

    expired = [b.name for b in list_backups() if b.taken_at < cutoff]
    old_entries = [
        name
        for name, recorded_at in _journal_names()
        if recorded_at < cutoff - REPLAY_MARGIN
    ]
    if not dry_run:
        for name in expired + old_entries:
            storage.delete(name)
        logger.info(
            "backups pruned",
            extra={"backups": len(expired), "journal_entries": len(old_entries)},
        )
    return Pruned(expired, len(old_entries))


# Restore ----------------------------------------------------------------------


def _open_backup(source: str) -> tuple[File, str]:
    path = Path(source)
    if path.is_file():
        return storages["backups"].open_local_file(path), path.name
    try:
        return storages["backups"].open(source), source
    except FileNotFoundError:
        raise RestoreRefused(
            f"{source}: no such backup in the backup location, nor a local file"
        ) from None


def _table_count(using: str) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )
        return cursor.fetchone()[0]


def check_restorable(source: str) -> tuple[str, datetime, int]:
    """Name, time and pending journal entries of a backup; changes nothing."""
    handle, name = _open_backup(source)
    handle.close()
    taken_at = _taken_at(name)
    pending = len(_journal_names(since=taken_at - REPLAY_MARGIN))
    return name, taken_at, pending


def restore_backup(source: str) -> RestoreResult:
    """Restore a backup into the configured, empty database, then replay.

    `source` is a name in the backup location or the path of a local copy.
    Refuses a database that has tables. pg_restore runs in one transaction:
    a backup that fails to decrypt half-way (altered, truncated) leaves the
    database empty. Journal entries recorded since the backup are replayed
    at the end, so no erased person or purged organization comes back.
    """
    owner = settings.DATABASES.get(RESTORE_DATABASE)
    if owner is None:
        raise RestoreRefused("MIGRATION_DATABASE_URL is not set: restores run as it")
    if _table_count(RESTORE_DATABASE):
        raise RestoreRefused(
            f"database {owner['NAME']!r} is not empty: restore into an empty one"
            " (see docs/operations.md, restoring a backup)"
        )
    handle, name = _open_backup(source)
    taken_at = _taken_at(name)
    pg_restore, _ = find_tool(
        "pg_restore", server_major=_server_major(RESTORE_DATABASE)
    )

    logger.info("restore started", extra={"backup": name})
    with handle, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603  (a program we located, no shell)
            [
                str(pg_restore),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--no-password",
                f"--dbname={owner['NAME']}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=libpq_environment(owner),
        )
        try:
            while chunk := handle.read(filecrypto.CHUNK):
                process.stdin.write(chunk)
        except BrokenPipeError:
            pass  # pg_restore stopped early: its status and errors say why
        except BaseException:
            # Killed before its transaction commits: nothing is restored.
            process.kill()
            process.wait()
            raise
        finally:
            with contextlib.suppress(OSError):
                process.stdin.close()
        code = process.wait()
        if code != 0:
            errors.seek(0)
            detail = errors.read()[-2000:].decode(errors="replace").strip()
            raise RestoreRefused(f"pg_restore exited with status {code}: {detail}")

    connections[RESTORE_DATABASE].close()
    grant_app_role(using=RESTORE_DATABASE)
    replayed, removed = replay_journal(since=taken_at - REPLAY_MARGIN)
    logger.info(
        "restore finished",
        extra={"backup": name, "replayed": replayed, "rows_removed": removed},
    )
    return RestoreResult(
        name, taken_at, _table_count(RESTORE_DATABASE), replayed, removed
    )


# The replay journal -----------------------------------------------------------


def _replay_organization_purge(entry: JournalEntry) -> int:
    # Deleting the organization cascades to every table of it, its data key
    # included: its files stay unreadable wherever a copy lies.
    found = Organization.objects.using(RESTORE_DATABASE).filter(
        pk=entry.organization_id
    )
    if not found.exists():
        return 0
    with org_context(entry.organization_id, using=RESTORE_DATABASE):
        # The audit log refuses deletes; its owner function removes it whole.
        with connections[RESTORE_DATABASE].cursor() as cursor:
            cursor.execute(
                "SELECT audit_purge_organization(%s)", [entry.organization_id]
            )
            removed = cursor.fetchone()[0]
        deleted, _ = found.delete()
    return removed + deleted


def _replay_records_purge(entry: JournalEntry) -> int:
    model = apps.get_model(entry.model)
    with org_context(entry.organization_id, using=RESTORE_DATABASE):
        deleted, _ = (
            model._base_manager.using(RESTORE_DATABASE)
            .filter(pk__in=entry.ids)
            .delete()
        )
    return deleted


REPLAY_HANDLERS: dict[str, Callable[[JournalEntry], int]] = {
    "organization.purge": _replay_organization_purge,
    "records.purge": _replay_records_purge,
}


def register_replay_handler(kind: str, handler: Callable[[JournalEntry], int]):
    """Teach the restore to replay another kind of entry (call from ready()).

    The handler runs against RESTORE_DATABASE, must be idempotent and returns
    the number of rows it removed.
    """
    REPLAY_HANDLERS[kind] = handler


def record_replay_entry(
    kind: str,
    *,
    organization_id: int,
    model: str = "",
    ids: list[int] | tuple[int, ...] = (),
) -> str:
    """Write an erasure or purge to the journal, before it commits.

    Holds ids only: the organization, a model label and primary keys. Write it
    before the change commits: should the change then roll back, a restore
    only repeats an erasure that was asked for, while an entry written after
    the commit could be lost to a crash and bring the person back.
    """
    if kind not in REPLAY_HANDLERS:
        raise InvalidJournalEntry(f"kind: {kind!r} has no replay handler")
    if isinstance(organization_id, bool) or not isinstance(organization_id, int):
        raise InvalidJournalEntry("organization_id: an integer id is required")
    if model:
        try:
            model = apps.get_model(model)._meta.label_lower
        except (LookupError, ValueError):
            raise InvalidJournalEntry(f"model: {model!r} is not a model") from None
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise InvalidJournalEntry("ids: integer primary keys only")

    recorded_at = timezone.now()
    entry = {
        "kind": kind,
        "organization_id": organization_id,
        "model": model,
        "ids": sorted(ids),
        "recorded_at": recorded_at.isoformat(),
    }
    stamp = recorded_at.strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{JOURNAL_DIR}/{stamp}-{uuid.uuid4().hex[:12]}.json"
    content = ContentFile(json.dumps(entry, sort_keys=True).encode())
    return storages["backups"].save(name, content)


def _journal_names(since: datetime | None = None) -> list[tuple[str, datetime]]:
    try:
        _, files = storages["backups"].listdir(JOURNAL_DIR)
    except FileNotFoundError:
        return []
    names = []
    for filename in files:
        match = JOURNAL_NAME.match(filename)
        if not match:
            continue
        recorded_at = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%fZ").replace(
            tzinfo=UTC
        )
        if since is None or recorded_at >= since:
            names.append((f"{JOURNAL_DIR}/{filename}", recorded_at))
    return sorted(names)


def read_journal(since: datetime | None = None) -> list[JournalEntry]:
    entries = []
    for name, _ in _journal_names(since):
        with storages["backups"].open(name) as handle:
            raw = json.loads(handle.read())
        entries.append(
            JournalEntry(
                kind=raw["kind"],
                organization_id=raw["organization_id"],
                recorded_at=datetime.fromisoformat(raw["recorded_at"]),
                model=raw.get("model", ""),
                ids=tuple(raw.get("ids", ())),
            )
        )
    return entries


def replay_journal(*, since: datetime) -> tuple[int, int]:
    """Replay every entry recorded since `since`, oldest first.

    Returns (entries replayed, rows removed). Safe to run again.
    """
    replayed = removed = 0
    for entry in read_journal(since):
        handler = REPLAY_HANDLERS.get(entry.kind)
        if handler is None:
            raise InvalidJournalEntry(
                f"journal entry of {entry.recorded_at.isoformat()}: no handler for"
                f" kind {entry.kind!r}; the restore is incomplete"
            )
        removed += handler(entry)
        replayed += 1
    return replayed, removed
