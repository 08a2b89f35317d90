"""The one way into the audit log, and the checks and removals around it."""

import getpass
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, models
from django.utils import timezone
from psycopg.types.json import Jsonb

from clozup.lib.http import client_ip
from clozup.lib.logging import request_id_var
from clozup.models import Organization, User

from .actions import Action
from .models import GENESIS_HASH, AuditChainHead, AuditCheckpoint, AuditEntry

logger = logging.getLogger(__name__)

SYSTEM = "system"
KNOWN_ACTIONS = frozenset(Action.values)
ALLOWED_METADATA_TYPES = (str, int, bool, type(None))


class InvalidAuditEvent(ValueError):
    pass


def operator_label(name: str | None = None) -> str:
    """How a support operator appears as an actor: their OS account name."""
    return f"operator:{name or getpass.getuser()}"


def record_event(
    action: str,
    *,
    organization: Organization | int,
    actor: User | str | None = None,
    target: models.Model | tuple[str, object] | None = None,
    metadata: dict | None = None,
    request=None,
) -> AuditEntry:
    """Append an event to the organization's audit chain.

    Call it inside the organization's context and in the same transaction as
    the change it records, so that both commit or neither does. `actor` is a
    User, an operator label (see `operator_label`) or None for the system.
    `metadata` holds ids, counts and field names only: strings, integers,
    booleans and lists or dicts of them. The database function audit_append
    links the entry into the chain; its lock on the chain head orders
    concurrent writers of one organization until the transaction ends, so
    record events late in a transaction.
    """
    if action not in KNOWN_ACTIONS:
        raise InvalidAuditEvent(f"action: {action!r} is not in audit.actions.Action")
    metadata = metadata or {}
    _check_metadata(metadata)

    organization_id = getattr(organization, "pk", organization)
    actor_type, actor_id, actor_label = _actor(actor)
    target_type, target_id = _target(target)

    entry = AuditEntry(
        organization_id=organization_id,
        created_at=timezone.now(),
        actor_type=actor_type,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        metadata=metadata,
        request_id=request_id_var.get(),
        **_request_details(request),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s)",
            [
                organization_id,
                entry.created_at,
                entry.actor_type,
                entry.actor_id,
                entry.actor_label,
                entry.ip,
                entry.user_agent,
                entry.request_id,
                entry.action,
                entry.target_type,
                entry.target_id,
                Jsonb(entry.metadata),
                content_digest(entry),
            ],
        )
        entry.pk, entry.seq, entry.hash = cursor.fetchone()
    return entry


def _check_metadata(value, path: str = "metadata") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidAuditEvent(f"{path}: keys must be strings")
            _check_metadata(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_metadata(item, f"{path}[{index}]")
    elif not isinstance(value, ALLOWED_METADATA_TYPES):
        raise InvalidAuditEvent(
            f"{path}: {type(value).__name__} is not allowed (ids, counts, names only)"
        )


def _actor(actor) -> tuple[str, int | None, str]:
    if actor is None:
        return AuditEntry.ActorType.SYSTEM, None, SYSTEM
    if isinstance(actor, str):
        if not actor.startswith("operator:"):
            raise InvalidAuditEvent("actor: a string actor must be an operator label")
        return AuditEntry.ActorType.OPERATOR, None, actor[:150]
    if getattr(actor, "is_authenticated", False):
        return AuditEntry.ActorType.USER, actor.pk, ""
    raise InvalidAuditEvent(f"actor: {type(actor).__name__} is not a signed-in user")


def _target(target) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        kind, key = target
        return str(kind), str(key)
    return target._meta.label_lower, str(target.pk)


def _request_details(request) -> dict:
    if request is None:
        return {}
    user_agent = request.META.get("HTTP_USER_AGENT", "").replace("\x00", "")
    return {
        "ip": client_ip(request) or "",
        "user_agent": user_agent[:300],
    }


# The chain -------------------------------------------------------------------


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_encoding(entry: AuditEntry) -> bytes:
    """An entry's contents in one exact form: all fields but its place in the chain."""
    fields = {
        "organization_id": entry.organization_id,
        "created_at": _timestamp(entry.created_at),
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "metadata": entry.metadata,
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def content_digest(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical_encoding(entry)).hexdigest()


def entry_hash(entry: AuditEntry, previous_hash: str) -> str:
    """What the entry's hash must be: its contents linked to the previous entry.

    The database computes the same when it appends (audit_append).
    """
    link = f"{previous_hash}:{entry.seq}:{content_digest(entry)}"
    return hashlib.sha256(link.encode()).hexdigest()


@dataclass(frozen=True)
class ChainVerification:
    verified: int
    first_bad_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None


def verify_chain(organization: Organization | int, *, batch_size: int = 5000):
    """Walk the organization's chain from its last checkpoint (or the start).

    Reports the first entry whose hash, link or sequence number does not match.
    Call inside the organization's context.
    """
    organization_id = getattr(organization, "pk", organization)
    checkpoint = (
        AuditCheckpoint.objects.filter(organization_id=organization_id)
        .order_by("-seq")
        .first()
    )
    expected_seq = checkpoint.seq + 1 if checkpoint else 1
    expected_prev = checkpoint.hash if checkpoint else GENESIS_HASH
    verified = 0

    entries = AuditEntry.objects.filter(organization_id=organization_id).order_by("seq")
    for entry in entries.iterator(chunk_size=batch_size):
        problem = ""
        if entry.seq != expected_seq:
            problem = f"expected entry #{expected_seq}, found #{entry.seq}"
        elif entry_hash(entry, expected_prev) != entry.hash:
            problem = "its contents or its link to the previous entry do not match"
        if problem:
            return ChainVerification(verified, entry.seq, problem)
        verified += 1
        expected_seq, expected_prev = entry.seq + 1, entry.hash

    head = AuditChainHead.objects.filter(organization_id=organization_id).first()
    if head is not None and head.last_seq != expected_seq - 1:
        return ChainVerification(
            verified, expected_seq, f"the chain ends before entry #{head.last_seq}"
        )
    return ChainVerification(verified)


# Removal, only through the owner's functions ------------------------------


def remove_entries_before(
    organization: Organization | int, cutoff: datetime, *, batch_size: int = 5000
) -> int:
    """Remove one batch of entries older than `cutoff`; returns how many went.

    Runs the owner's retention function, which leaves a checkpoint so the
    remaining chain still verifies. Call repeatedly until it returns 0.
    """
    organization_id = getattr(organization, "pk", organization)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT audit_remove_entries_before(%s, %s, %s)",
            [organization_id, cutoff, batch_size],
        )
        return cursor.fetchone()[0]


def purge_organization_log(organization: Organization | int) -> int:
    """Remove the whole audit log of an organization that is being purged."""
    organization_id = getattr(organization, "pk", organization)
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_purge_organization(%s)", [organization_id])
        return cursor.fetchone()[0]
