"""Importing CSV files into an organization: one transaction, bulk SQL only.

`import_files` reads each file, cleans every row (crm.importing.rows), stages
the clean rows with COPY and writes them set-based (crm.importing.loading).
Files are loaded companies first, deals last, so a pipeline export can point
at the accounts and products uploaded beside it. By default one rejected row
means nothing is written; `allow_partial` writes the rest. A dry run always
rolls back. The import job used by the upload page wraps the same function.
"""

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import storages
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup.models import Membership, Organization, User
from clozup.tenancy import org_context
from crm.importing import layouts
from crm.importing.layouts import Kind, Layout
from crm.importing.loading import Loader
from crm.importing.rows import (
    Directory,
    RowCleaner,
    UnreadableFile,
    open_table,
    product_key,
)
from crm.models import ImportJob, Product, SalesAgent, Stage
from crm.services.files import display_name

logger = logging.getLogger(__name__)

Progress = Callable[[str, int], None]


@dataclass
class ImportSource:
    """A file to import: the name the user knows it by and how to open it."""

    name: str
    open: Callable[[], BinaryIO]
    layout: Layout | None = None


@dataclass
class ImportReport:
    files: list[dict] = field(default_factory=list)
    rejections: list[dict] = field(default_factory=list)
    rejected_count: int = 0
    warnings: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    committed: bool = False
    dry_run: bool = False
    # Set when a file could not be read to its end: nothing was imported.
    unreadable: str = ""

    @property
    def rows_read(self) -> int:
        return sum(f["rows"] for f in self.files)

    def totals(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for entry in self.files:
            for name in ("created", "updated", "unchanged"):
                total[name] = total.get(name, 0) + entry["counts"].get(name, 0)
        return total

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "rejections": self.rejections,
            "rejected_count": self.rejected_count,
            "warnings": self.warnings,
            "decisions": self.decisions,
            "committed": self.committed,
            "dry_run": self.dry_run,
            "unreadable": self.unreadable,
        }


class ImportRejected(Exception):
    """Raised inside the transaction to undo an all-or-nothing run."""


def distinct_names(names: list[str]) -> list[str]:
    """The file names, a repeated one followed by its place: "a.csv (file 2)".

    Messages name files; two uploads called "a.csv" must not read alike.
    """
    repeats = Counter(names)
    return [
        f"{name} (file {place})" if repeats[name] > 1 else name
        for place, name in enumerate(names, start=1)
    ]


def inspect_file(stream: BinaryIO, *, filename: str) -> tuple[list[str], Layout]:
    """The header of a CSV file and the layout it most likely has."""
    table = open_table(stream, filename=filename)
    table.release()
    headers = [h for h in table.headers if h]
    return headers, layouts.detect(headers, filename=filename)


def build_directory() -> Directory:
    """Members, roster sellers, stages and products of the current organization."""
    directory = Directory()
    members = Membership.objects.values_list(
        "user_id", "user__full_name", "user__email"
    )
    for user_id, full_name, email in members:
        directory.owners[email.lower()] = user_id
        if full_name:
            directory.owners.setdefault(full_name.lower(), user_id)
    agents = SalesAgent.objects.filter(user__isnull=False)
    for name, user_id in agents.values_list("name", "user_id"):
        directory.owners.setdefault(name.lower(), user_id)

    for stage in Stage.objects.all():
        directory.stages[stage.name.lower()] = stage.pk
        directory.stage_closed[stage.pk] = stage.is_closed
        if stage.is_won:
            directory.stages.setdefault("won", stage.pk)
        if stage.is_lost:
            directory.stages.setdefault("lost", stage.pk)
    _refresh_products(directory)
    return directory


def _refresh_products(directory: Directory) -> None:
    directory.products.clear()
    loose: dict[str, list[int]] = {}
    for pk, name in Product.objects.values_list("pk", "name"):
        directory.products[name.lower()] = pk
        directory.product_names[pk] = name
        loose.setdefault(product_key(name), []).append(pk)
    # A spelling-insensitive key counts only when it points at one product.
    for key, pks in loose.items():
        if len(pks) == 1:
            directory.products[key] = pks[0]


def import_files(
    organization: Organization | int,
    sources: list[ImportSource],
    *,
    actor: User | str | None = None,
    allow_partial: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    before_commit: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import the files into the organization and report what happened.

    Opens its own organization context. Nothing is written when any row is
    rejected, unless `allow_partial`, nor when a file cannot be read to its
    end (`report.unreadable` names file and line); a dry run writes nothing.
    `before_commit(report)` runs in the transaction that writes the records
    (or the failure event), so a caller's own bookkeeping commits with them.
    The audit log gets `import.completed` with the counts in the import's own
    transaction, or `import.failed` when rejected rows stopped it.
    """
    report = ImportReport(dry_run=dry_run)
    organization_id = getattr(organization, "pk", organization)
    names = distinct_names([source.name for source in sources])
    sources = [replace(s, name=n) for s, n in zip(sources, names, strict=True)]

    try:
        for source in sources:
            if source.layout is None:
                with source.open() as stream:
                    _, source.layout = inspect_file(stream, filename=source.name)
        ordered = sorted(sources, key=lambda s: layouts.LOAD_ORDER.index(s.layout.kind))
        logger.info("import started", extra={"files": len(ordered)})
        with org_context(organization_id):
            directory = build_directory()
            for source in ordered:
                _import_one(organization_id, source, directory, report, progress)
            stop = dry_run or (report.rejected_count and not allow_partial)
            if stop:
                raise ImportRejected
            report.committed = True
            _record_import(Action.IMPORT_COMPLETED, organization_id, report, actor)
            if before_commit:
                before_commit(report)
    except (ImportRejected, UnreadableFile) as error:
        if isinstance(error, UnreadableFile):
            # A file read only in part is never imported in part: the
            # exception left the organization's transaction and undid it.
            _reject_file(report, error)
        report.committed = False
        if not dry_run:
            with org_context(organization_id):
                _record_import(Action.IMPORT_FAILED, organization_id, report, actor)
                if before_commit:
                    before_commit(report)

    logger.info(
        "import finished",
        extra={
            "rows": report.rows_read,
            "rejected": report.rejected_count,
            "committed": report.committed,
        },
    )
    return report


def _reject_file(report: ImportReport, error: UnreadableFile) -> None:
    report.rejections.insert(
        0,
        {"file": error.file, "line": error.line, "column": "", "reason": error.reason},
    )
    report.rejected_count += 1
    report.unreadable = str(error)


def _record_import(action, organization_id, report, actor) -> None:
    audit.record_event(
        action,
        organization=organization_id,
        actor=actor,
        metadata={
            "files": len(report.files),
            "kinds": sorted({entry["kind"] for entry in report.files}),
            "rows": report.rows_read,
            "rejected": report.rejected_count,
            **report.totals(),
        },
    )


SEPARATOR_NAMES = {";": "semicolons", "\t": "tabs"}


def _import_one(organization_id, source, directory, report, progress) -> None:
    layout = source.layout
    if layout.kind is Kind.DEALS:
        _refresh_products(directory)
    cleaner = RowCleaner(layout, directory, filename=source.name)
    with source.open() as stream:
        table = open_table(
            stream, filename=source.name, max_rows=settings.IMPORT_MAX_ROWS
        )

        def tick(rows):
            if progress:
                progress(source.name, rows)

        cleaned = cleaner.clean(table, tick)
        table.release()
    if table.delimiter != ",":
        separators = SEPARATOR_NAMES[table.delimiter]
        report.decisions.append(
            {
                "file": source.name,
                "message": f"columns separated by {separators}, not commas",
                "rows": cleaned.rows_read,
            }
        )

    loader = Loader(organization_id, filename=source.name)
    with transaction.atomic():
        counts = loader.load(layout.kind, cleaned.records)
    if progress:
        progress(source.name, cleaned.rows_read)

    rejections = [r.as_dict() for r in cleaned.rejections + loader.rejections]
    rejected = cleaned.rejected_count + len(loader.rejections)
    report.rejections.extend(rejections[: max(0, 1000 - len(report.rejections))])
    report.rejected_count += rejected
    report.warnings += [
        {"file": source.name, "message": m, "rows": n}
        for m, n in cleaned.warnings.items()
    ]
    report.decisions += [
        {"file": source.name, "message": m, "rows": n}
        for m, n in cleaned.decisions.items()
    ]
    report.files.append(
        {
            "name": source.name,
            "kind": layout.kind.value,
            "layout": layout.name or "columns matched by name",
            "rows": cleaned.rows_read,
            "rejected": rejected,
            "unmapped": layout.unmapped,
            "counts": counts.as_dict(),
        }
    )


# Import jobs: the upload page's path through a Celery worker -----------------

PROGRESS_TTL = 24 * 3600


class ImportFileRejected(ValueError):
    """An uploaded file cannot be imported; the message names it."""


def progress_key(organization_id: int, job_id: int) -> str:
    return f"import-progress:{organization_id}:{job_id}"


def read_progress(job: ImportJob) -> dict:
    return cache.get(progress_key(job.organization_id, job.pk)) or {}


@transaction.atomic
def create_import_job(
    organization: Organization,
    uploads: list[UploadedFile],
    *,
    actor: User,
    allow_partial: bool = False,
) -> ImportJob:
    """Keep the uploaded files privately and guess each one's layout.

    The job waits for the user to confirm or change the column mapping.
    """
    entries = []
    storage = storages["private"]
    names = distinct_names([display_name(upload.name) for upload in uploads])
    try:
        for upload, shown in zip(uploads, names, strict=True):
            if upload.size > settings.IMPORT_MAX_BYTES:
                limit = filesizeformat(settings.IMPORT_MAX_BYTES)
                raise ImportFileRejected(f"{shown}: larger than the {limit} limit")
            _check_row_count(upload, shown)
            upload.seek(0)
            try:
                headers, layout = inspect_file(upload, filename=upload.name)
            except UnreadableFile as error:
                raise ImportFileRejected(
                    f"{shown}, line {error.line}: {error.reason}"
                ) from None
            if not headers:
                raise ImportFileRejected(f"{shown}: no header row")
            upload.seek(0)
            name = storage.save(f"imports/{uuid.uuid4().hex}.csv", upload)
            entries.append(
                {
                    "name": shown,
                    "storage_name": name,
                    "size": upload.size,
                    "headers": headers,
                    "kind": layout.kind.value,
                    "layout": layout.name,
                    "mapping": layout.mapping,
                }
            )
        return ImportJob.objects.create(
            organization=organization,
            files=entries,
            allow_partial=allow_partial,
            created_by=actor,
        )
    except Exception:
        for entry in entries:
            storage.delete(entry["storage_name"])
        raise


def _check_row_count(upload: UploadedFile, shown: str) -> None:
    """Refuse a file with more lines than a job may import, before storing it."""
    upload.seek(0)
    lines = sum(chunk.count(b"\n") for chunk in upload.chunks())
    # One line is the header; a last line without a newline is not counted.
    if lines - 1 > settings.IMPORT_MAX_ROWS:
        raise ImportFileRejected(
            f"{shown}: about {lines - 1:,} rows; the limit is"
            f" {settings.IMPORT_MAX_ROWS:,} per file, so split the file"
        )


def remap_files(files: list[dict], choices) -> list[dict]:
    """The job's files with each one's columns mapped for the kind chosen."""
    remapped = []
    for index, entry in enumerate(files):
        try:
            kind = Kind(choices.get(f"kind_{index}") or entry["kind"])
        except ValueError:
            kind = Kind(entry["kind"])
        layout = layouts.map_columns(kind, entry["headers"])
        remapped.append({**entry, "kind": kind.value, "mapping": layout.mapping})
    return remapped


@transaction.atomic
def start_import_job(job: ImportJob, chosen: list[dict], *, actor: User) -> ImportJob:
    """Record the mapping the user chose and queue the job for a worker."""
    from crm.tasks import run_import_task

    if job.status != ImportJob.Status.PENDING:
        return job
    for entry, choice in zip(job.files, chosen, strict=True):
        entry["kind"] = choice["kind"]
        entry["mapping"] = choice["mapping"]
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["files", "status"])
    organization_id, job_id = job.organization_id, job.pk
    transaction.on_commit(lambda: run_import_task.delay(organization_id, job_id))
    return job


# Session-level advisory locks in this namespace mark a job a worker is running.
IMPORT_LOCK_NAMESPACE = 7301


def run_import_job(organization_id: int, job_id: int) -> ImportJob | None:
    """Run a queued job exactly once, even across a worker that died in it.

    A worker holds an advisory lock on the job while it runs; PostgreSQL
    drops the lock when the worker's connection dies, so a redelivered task
    may take over a job left "running" (its import had written nothing: the
    records, the audit event and the job's result commit together). A job
    another live worker holds, or one already finished, is left alone.
    """
    if not _lock_job(job_id):
        logger.info("import job already running elsewhere", extra={"job_id": job_id})
        return None
    try:
        return _run_locked_job(organization_id, job_id)
    finally:
        _unlock_job(job_id)


def _lock_job(job_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, %s)",
            [IMPORT_LOCK_NAMESPACE, job_id & 0x7FFFFFFF],
        )
        return cursor.fetchone()[0]


def _unlock_job(job_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_unlock(%s, %s)",
            [IMPORT_LOCK_NAMESPACE, job_id & 0x7FFFFFFF],
        )


def _run_locked_job(organization_id: int, job_id: int) -> ImportJob | None:
    with org_context(organization_id):
        job = (
            ImportJob.objects.select_for_update()
            .filter(
                pk=job_id,
                status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING],
            )
            .first()
        )
        if job is None:
            return None
        if job.status == ImportJob.Status.RUNNING:
            logger.warning(
                "import job resumed after a lost worker", extra={"job_id": job_id}
            )
        job.status = ImportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])

    storage = storages["private"]
    key = progress_key(organization_id, job_id)
    # File names were told apart when the job was created.
    totals = {entry["name"]: 0 for entry in job.files}
    # The private storage decrypts only inside the organization's context.
    with org_context(organization_id):
        for entry in job.files:
            with storage.open(entry["storage_name"], "rb") as stream:
                totals[entry["name"]] = max(sum(1 for _ in stream) - 1, 0)
    done = dict.fromkeys(totals, 0)
    cache.set(key, {"rows": 0, "total": sum(totals.values())}, PROGRESS_TTL)

    def progress(name, rows):
        done[name] = rows
        cache.set(
            key,
            {"rows": sum(done.values()), "total": sum(totals.values())},
            PROGRESS_TTL,
        )

    def record_result(report: ImportReport) -> None:
        status = (
            ImportJob.Status.SUCCEEDED
            if report.committed
            else ImportJob.Status.REJECTED
        )
        _save_result(job, status, report.as_dict())

    sources = [
        ImportSource(
            name=entry["name"],
            open=lambda n=entry["storage_name"]: storage.open(n, "rb"),
            layout=Layout(
                kind=Kind(entry["kind"]),
                mapping=entry["mapping"],
                name=entry.get("layout", ""),
                unmapped=[
                    h for h, t in entry["mapping"].items() if t == layouts.IGNORE
                ],
            ),
        )
        for entry in job.files
    ]
    try:
        import_files(
            organization_id,
            sources,
            actor=job.created_by,
            allow_partial=job.allow_partial,
            progress=progress,
            before_commit=record_result,
        )
    except Exception:
        logger.exception("import job failed", extra={"job_id": job_id})
        with org_context(organization_id):
            _save_result(job, ImportJob.Status.FAILED, {"error": "unexpected"})

    _delete_uploads(job)
    return job


def _save_result(job: ImportJob, status: str, report: dict) -> None:
    job.status = status
    job.report = report
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "report", "finished_at"])


def _delete_uploads(job: ImportJob) -> None:
    # The uploads are not kept once read: the records hold what was imported.
    with org_context(job.organization_id):
        for entry in job.files:
            storages["private"].delete(entry["storage_name"])
