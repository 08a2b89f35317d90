"""Exports for one data subject (rights of access and portability).

An export is a zip: `subject.json` (every record, machine-readable, with a
`schema_version`), one CSV per record type, and the person's files decrypted
under `files/`. Admins ask for one (`request_subject_export`); a Celery task
builds it into the encrypted private storage (`build_subject_export`); the
admin who asked downloads it once before it expires (`claim_download`). The
support command writes the same zip to a file (`write_subject_export`).
"""

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import EmptyResultSet
from django.core.files.base import File
from django.core.files.storage import storages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup.lib.csv import csv_rows, neutralise_sql
from clozup.lib.encrypted_fields import encrypted_fields
from clozup.lib.storage import OrganizationKeys, encrypted_file_response
from clozup.lib.streams import IteratorReader, zip_stream
from clozup.models import Organization
from compliance.models import (
    EXPORT_LINK_DAYS,
    DataSubjectRequest,
    DataSubjectRequestEvent,
    SubjectExport,
)
from compliance.selectors.subjects import (
    SubjectRecords,
    find_subject,
    normalise_email,
    subject_hash,
)
from compliance.services.requests import add_history
from crm.services.files import display_name

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ROWS_PER_CHUNK = 500
TEXT_TYPES = {"CharField", "TextField", "EmailField", "SlugField", "URLField"}
EXPORT_FOLDER = "subject-exports"
# A download still streaming keeps its file this long after the claim.
DOWNLOAD_GRACE = timedelta(hours=1)
STALLED_AFTER = timedelta(minutes=10)
# Internal columns that say nothing about the person.
HIDDEN_COLUMNS = {"storage_name"}
AUDIT_COLUMNS = [
    "id",
    "seq",
    "created_at",
    "action",
    "actor_type",
    "actor_id",
    "target_type",
    "target_id",
]


class ExportUnavailable(LookupError):
    """The export is not ready, was downloaded already, expired or is not yours."""


@dataclass(frozen=True)
class RecordType:
    """One kind of row in the export: its name in the zip and how to read it."""

    name: str
    rows: Callable[[SubjectRecords], QuerySet]
    columns: list[str] | None = None


def _columns(queryset: QuerySet) -> list[str]:
    # Encrypted columns (the IP address and browser kept as consent
    # evidence) are left out: they are sealed tokens in the database.
    sealed = {field.attname for field in encrypted_fields(queryset.model)}
    return [
        field.attname
        for field in queryset.model._meta.concrete_fields
        if field.attname not in HIDDEN_COLUMNS and field.attname not in sealed
    ]


def record_types() -> list[RecordType]:
    """What a subject export holds, in order."""
    return [
        RecordType("leads", SubjectRecords.leads),
        RecordType("contacts", SubjectRecords.contacts),
        RecordType("activities", SubjectRecords.activities),
        RecordType("deals", SubjectRecords.deals),
        RecordType("attachments", SubjectRecords.attachments),
        RecordType("recordings", SubjectRecords.recordings),
        RecordType("consent_events", SubjectRecords.consent_events),
        RecordType("campaign_sends", SubjectRecords.campaign_sends),
        RecordType("audit_entries", SubjectRecords.audit_entries, AUDIT_COLUMNS),
    ]


def _select_sql(queryset: QuerySet, columns: list[str]) -> str | None:
    """The queryset's SELECT of these columns, with its parameters inlined;
    None when it can match nothing (an empty list of ids).

    COPY takes no parameters; Django's own quoting inlines them.
    """
    try:
        sql, params = queryset.values_list(*columns).query.sql_with_params()
    except EmptyResultSet:
        return None
    return connection.ops.compose_sql(sql, params)


def _copy(statement: str) -> Iterator[bytes]:
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for data in copy:
            yield bytes(data)


def _json_rows(queryset: QuerySet, columns: list[str]) -> Iterator[bytes]:
    """One JSON object per row, made by PostgreSQL (row_to_json)."""
    select = _select_sql(queryset, columns)
    if select is None:
        return
    statement = f"COPY (SELECT row_to_json(q) FROM ({select}) q) TO STDOUT"
    for data in _copy(statement):
        # COPY's text format doubles backslashes and ends rows with a newline;
        # row_to_json leaves no other character that COPY would escape.
        yield data.rstrip(b"\n").replace(b"\\\\", b"\\")


def _json_chunks(
    organization: Organization,
    records: SubjectRecords,
    *,
    phone: str,
    counts: dict[str, int],
) -> Iterator[bytes]:
    encode = DjangoJSONEncoder(ensure_ascii=False).encode
    head = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": timezone.now(),
        "organization": {"id": organization.pk, "name": organization.name},
        "subject": {"email": records.email, "phone": phone},
    }
    yield (encode(head)[:-1] + ', "records": {').encode()
    for index, kind in enumerate(record_types()):
        queryset = kind.rows(records)
        columns = kind.columns or _columns(queryset)
        yield (("" if index == 0 else ", ") + encode(kind.name) + ": [").encode()
        written, batch = 0, []
        for row in _json_rows(queryset, columns):
            batch.append(row)
            if len(batch) == ROWS_PER_CHUNK:
                yield (b"," if written else b"") + b",".join(batch)
                written += len(batch)
                batch = []
        if batch:
            yield (b"," if written else b"") + b",".join(batch)
            written += len(batch)
        counts[kind.name] = written
        yield b"]"
    files = [
        {"type": kind, "id": pk, "path": path, "sha256": sha256, "size": size}
        for kind, pk, path, _name, sha256, size in _files(records)
    ]
    yield ('}, "files": ' + encode(files) + "}").encode()


def _csv_chunks(queryset: QuerySet, columns: list[str]) -> Iterator[bytes]:
    """The rows as CSV made by COPY, text cells neutralised as csv_rows does."""
    fields = {field.attname: field for field in queryset.model._meta.concrete_fields}
    quote = connection.ops.quote_name
    outer = []
    for name in columns:
        column = f"q.{quote(fields[name].column if name in fields else name)}"
        internal = fields[name].get_internal_type() if name in fields else ""
        if internal in TEXT_TYPES:
            column = f"{neutralise_sql(column)} AS {quote(name)}"
        outer.append(column)
    select = _select_sql(queryset, columns)
    if select is None:
        yield "".join(csv_rows([columns])).encode()
        return
    yield from _copy(
        f"COPY (SELECT {', '.join(outer)} FROM ({select}) q)"
        " TO STDOUT WITH (FORMAT csv, HEADER true)"
    )


def _files(records: SubjectRecords) -> Iterator[tuple]:
    """(type, id, path in the zip, storage name, sha256, size) of each file."""
    for kind, queryset in (
        ("attachment", records.attachments()),
        ("recording", records.recordings()),
    ):
        rows = queryset.values_list("pk", "filename", "storage_name", "sha256", "size")
        for pk, filename, storage_name, sha256, size in rows:
            path = f"files/{kind}-{pk}-{display_name(filename)}"
            yield kind, pk, path, storage_name, sha256, size


def _file_chunks(storage_name: str) -> Iterator[bytes]:
    with storages["private"].open(storage_name) as handle:
        yield from handle.chunks()


def subject_export_members(
    organization: Organization,
    records: SubjectRecords,
    *,
    phone: str = "",
    counts: dict[str, int],
) -> Iterator[tuple[str, Iterable]]:
    """The zip's members, produced lazily; `counts` fills in as they stream.

    Call inside the organization's context (files decrypt only there).
    """
    yield (
        "subject.json",
        _json_chunks(organization, records, phone=phone, counts=counts),
    )
    for kind in record_types():
        queryset = kind.rows(records)
        columns = kind.columns or _columns(queryset)
        yield f"{kind.name}.csv", _csv_chunks(queryset, columns)
    files = 0
    for _kind, _pk, path, storage_name, _sha256, _size in _files(records):
        files += 1
        yield path, _file_chunks(storage_name)
    counts["files"] = files


# Through the Admin Panel: a task builds it, the requester downloads it once -------


@transaction.atomic
def request_subject_export(
    organization: Organization,
    *,
    email: str,
    phone: str = "",
    actor,
    dsr: DataSubjectRequest | None = None,
    request=None,
) -> SubjectExport:
    """Queue an export of everything about the person; audited.

    The Celery task `build_subject_export_task` is sent when this commits.
    """
    from compliance.tasks import build_subject_export_task

    if not email:
        raise ValueError("email: the person's address is needed to find them")
    export = SubjectExport.objects.create(
        organization=organization,
        request=dsr,
        requested_by=None if isinstance(actor, str) else actor,
        email=normalise_email(email),
        phone=phone.strip(),
        subject_hash=subject_hash(organization, email),
    )
    if dsr is not None:
        add_history(
            dsr,
            DataSubjectRequestEvent.Kind.EXPORT_STARTED,
            actor=actor,
            metadata={"export_id": export.pk},
        )
    audit.record_event(
        Action.EXPORT_REQUESTED,
        organization=organization,
        actor=actor,
        target=export,
        metadata={"kind": "subject", "request_id": dsr.pk if dsr else None},
        request=request,
    )
    transaction.on_commit(
        lambda: build_subject_export_task.delay(organization.pk, export.pk)
    )
    return export


def export_storage_name(export: SubjectExport) -> str:
    prefix = OrganizationKeys.organization_prefix(export.organization_id)
    return f"{prefix}{EXPORT_FOLDER}/{export.public_id}.zip"


@transaction.atomic
def build_subject_export(export_id: int) -> SubjectExport | None:
    """Build a queued export into the private storage; safe to run again.

    The export's row stays locked while the zip is written, so a second
    worker skips it; a worker that dies mid-way leaves the row queued (its
    transaction never commits) and the next run writes the file again under
    the same name. Returns None when another worker holds the export.
    """
    export = (
        SubjectExport.objects.select_for_update(skip_locked=True)
        .filter(pk=export_id)
        .first()
    )
    if export is None or export.status != SubjectExport.Status.QUEUED:
        return export
    logger.info("subject export started", extra={"export_id": export.pk})

    storage = storages["private"]
    name = export_storage_name(export)
    if storage.exists(name):
        storage.delete(name)
    organization = Organization.objects.get(pk=export.organization_id)
    records = find_subject(email=export.email, phone=export.phone)
    counts: dict[str, int] = {}
    members = subject_export_members(
        organization, records, phone=export.phone, counts=counts
    )
    stored = storage.save(name, File(IteratorReader(zip_stream(members)), name))

    now = timezone.now()
    export.status = SubjectExport.Status.READY
    export.storage_name = stored
    export.size = storage.size(stored)
    export.counts = counts
    export.finished_at = now
    export.expires_at = now + timedelta(days=EXPORT_LINK_DAYS)
    export.save(
        update_fields=[
            "status",
            "storage_name",
            "size",
            "counts",
            "finished_at",
            "expires_at",
        ]
    )
    if export.request_id:
        add_history(
            export.request,
            DataSubjectRequestEvent.Kind.EXPORT_READY,
            metadata={"export_id": export.pk, **counts},
        )
    audit.record_event(
        Action.EXPORT_COMPLETED,
        organization=export.organization_id,
        target=export,
        metadata={"kind": "subject", "counts": counts},
    )
    logger.info("subject export ready", extra={"export_id": export.pk, **counts})
    return export


@transaction.atomic
def claim_download(public_id, *, user, request=None):
    """The decrypting response for the export, which then never opens again.

    Only the admin who asked, only once, only before it expires: the claim is
    one conditional update, so two clicks at once give one download.
    """
    now = timezone.now()
    claimed = SubjectExport.objects.filter(
        public_id=public_id,
        requested_by=user,
        status=SubjectExport.Status.READY,
        expires_at__gt=now,
    ).update(status=SubjectExport.Status.DOWNLOADED, downloaded_at=now)
    if not claimed:
        raise ExportUnavailable(str(public_id))
    export = SubjectExport.objects.select_related("request").get(public_id=public_id)

    if export.request_id:
        add_history(
            export.request,
            DataSubjectRequestEvent.Kind.EXPORT_DOWNLOADED,
            actor=user,
            metadata={"export_id": export.pk},
        )
    audit.record_event(
        Action.EXPORT_DOWNLOADED,
        organization=export.organization_id,
        actor=user,
        target=export,
        metadata={"kind": "subject"},
        request=request,
    )
    return encrypted_file_response(
        export.storage_name,
        filename=f"subject-export-{export.pk}.zip",
        content_type="application/zip",
    )


@transaction.atomic
def remove_spent_exports(*, now=None) -> int:
    """Delete the files of exports downloaded over an hour ago or expired.

    The rows stay, without the file or the address, as the record that an
    export was made. Returns how many files went.
    """
    now = now or timezone.now()
    storage = storages["private"]
    downloaded = Q(
        status=SubjectExport.Status.DOWNLOADED,
        downloaded_at__lte=now - DOWNLOAD_GRACE,
    )
    expired = Q(status=SubjectExport.Status.READY, expires_at__lte=now)
    spent = SubjectExport.objects.filter(downloaded | expired).exclude(storage_name="")
    removed = 0
    for export in spent.select_for_update(skip_locked=True):
        storage.delete(export.storage_name)
        if export.status == SubjectExport.Status.READY:
            export.status = SubjectExport.Status.EXPIRED
        export.storage_name = ""
        export.email = ""
        export.phone = ""
        export.save(update_fields=["storage_name", "email", "phone", "status"])
        removed += 1
    if removed:
        logger.info("spent subject exports removed", extra={"files": removed})
    return removed


def stalled_before():
    """Exports queued before this have lost their worker (see the sweep task)."""
    return timezone.now() - STALLED_AFTER


# From the support command: the same zip, written to a file -----------------------


def write_subject_export(
    organization: Organization, *, email: str, phone: str = "", out, actor
) -> dict[str, int]:
    """Write the zip to `out` (a path, created with mode 0600); audited.

    Call inside the organization's context. Returns the counts.
    """
    records = find_subject(email=email, phone=phone)
    counts: dict[str, int] = {}
    members = subject_export_members(organization, records, phone=phone, counts=counts)
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        for chunk in zip_stream(members):
            target.write(chunk)
    audit.record_event(
        Action.EXPORT_COMPLETED,
        organization=organization,
        actor=actor,
        target=("compliance.subjectexport", "file"),
        metadata={"kind": "subject", "counts": counts},
    )
    return counts
