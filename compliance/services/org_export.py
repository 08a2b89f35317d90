"""The export of a whole organization, streamed with memory flat.

The result is a zip with one member per organization table: CSV (a header,
text cells neutralised against spreadsheet formulas) or JSON lines (one
object per row), and `manifest.json` last with the row count of each table.
Each table is read by `COPY (SELECT ...) TO STDOUT` inside the organization's
context, so row-level security decides what is read and PostgreSQL formats
the rows; Python only compresses. Encrypted columns (keys, credentials,
signing secrets) are left out: they are secrets, not the organization's data.
"""

import json
import logging
from collections.abc import Iterator

from django.db import connection
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup.lib.csv import neutralise_sql
from clozup.lib.encrypted_fields import encrypted_fields
from clozup.lib.streams import zip_stream
from clozup.models import Organization, OrganizationKey
from clozup.tenancy import current_organization_id
from compliance.services.purge import organization_models

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
CHUNK_BYTES = 256 * 1024
FORMATS = ("csv", "json")
TEXT_TYPES = {"CharField", "TextField", "EmailField", "SlugField", "URLField"}
# Tables whose every useful column is a secret.
SKIPPED_MODELS = {OrganizationKey}


class UnknownFormat(ValueError):
    pass


def exported_models() -> list:
    """The organization tables an export holds, parents before children."""
    skipped = SKIPPED_MODELS
    return [model for model in reversed(organization_models()) if model not in skipped]


def _select(model, organization_id: int, *, neutralise: bool) -> str:
    quote = connection.ops.quote_name
    secret = {field.attname for field in encrypted_fields(model)}
    columns = []
    for field in model._meta.concrete_fields:
        if field.attname in secret:
            continue
        column = quote(field.column)
        if neutralise and field.get_internal_type() in TEXT_TYPES:
            column = f"{neutralise_sql(column)} AS {column}"
        columns.append(column)
    table = quote(model._meta.db_table)
    return (
        f"SELECT {', '.join(columns)} FROM {table}"
        f" WHERE organization_id = {int(organization_id)}"
        f" ORDER BY {quote(model._meta.pk.column)}"
    )


def copy_statement(model, organization_id: int, export_format: str) -> str:
    """The COPY statement producing one table's member of the export."""
    if export_format == "csv":
        select = _select(model, organization_id, neutralise=True)
        return f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    select = _select(model, organization_id, neutralise=False)
    return f"COPY (SELECT row_to_json(t) FROM ({select}) t) TO STDOUT"


def _table_chunks(statement: str, export_format: str, counts: dict, table: str):
    # Rows arrive one COPY message each; handing the zip one block of about
    # CHUNK_BYTES instead keeps the per-row Python work to an append.
    rows = 0
    block = bytearray()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(statement) as copy:
            for data in copy:
                rows += 1
                block += data
                if len(block) >= CHUNK_BYTES:
                    yield _finish_block(block, export_format)
                    block = bytearray()
    if block:
        yield _finish_block(block, export_format)
    counts[table] = rows - 1 if export_format == "csv" and rows else rows


def _finish_block(block: bytearray, export_format: str) -> bytes:
    if export_format == "json":
        # COPY's text format doubles backslashes; JSON from row_to_json has
        # no other character it escapes. A block always ends with a whole row.
        return bytes(block).replace(b"\\\\", b"\\")
    return bytes(block)


def organization_export_members(organization_id: int, export_format: str):
    """(name, chunks) of each zip member; call inside the organization's context."""
    if export_format not in FORMATS:
        raise UnknownFormat(f"format: {export_format!r} is not one of {FORMATS}")
    if current_organization_id() != organization_id:
        raise RuntimeError("an organization export runs in its organization's context")
    suffix = "csv" if export_format == "csv" else "ndjson"
    counts: dict[str, int] = {}
    for model in exported_models():
        table = model._meta.db_table
        statement = copy_statement(model, organization_id, export_format)
        yield (
            f"{table}.{suffix}",
            _table_chunks(statement, export_format, counts, table),
        )
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "organization_id": organization_id,
        "format": export_format,
        "generated_at": timezone.now().isoformat(),
        "rows": counts,
    }
    yield "manifest.json", [json.dumps(manifest, indent=2)]
    logger.info(
        "organization export streamed",
        extra={"tables": len(counts), "rows": sum(counts.values())},
    )


def stream_organization_export(
    organization: Organization, *, export_format: str, actor, reason: str, request=None
) -> Iterator[bytes]:
    """Record the export in the audit log and return the zip's bytes, lazily.

    The audit event is written at once (in the caller's transaction); the
    bytes are produced as they are read, inside the organization's context
    the caller provides (a streamed response gets it from the middleware).
    """
    if export_format not in FORMATS:
        raise UnknownFormat(f"format: {export_format!r} is not one of {FORMATS}")
    audit.record_event(
        Action.EXPORT_REQUESTED,
        organization=organization,
        actor=actor,
        metadata={"kind": "organization", "format": export_format, "reason": reason},
        request=request,
    )
    return zip_stream(organization_export_members(organization.pk, export_format))
