"""Reads of retention settings, legal holds and what waits to be purged.

Call inside the organization's context.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import CharField, F, Func, Min, Q, QuerySet, Value
from django.db.models.functions import Lower

from clozup.models import Organization
from compliance import retention
from compliance.models import LegalHold, RetentionSettings, SubjectExport
from crm.models import (
    Attachment,
    CallRecording,
    Campaign,
    Company,
    Contact,
    Deal,
    Lead,
)

# The soft-deleted records the 30-day rule covers, in the order they go.
DELETED_RECORD_MODELS = (Deal, Lead, Contact, Company, Campaign, Attachment)
PERSON_MODELS = (Lead, Contact)


def address_hash(email: str) -> str:
    """How a legal hold names a person: SHA-256 of the trimmed, lower-cased
    address, in hex."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _email_hash(column: str) -> Func:
    as_bytes = Func(Lower(column), Value("UTF8"), function="convert_to")
    return Func(
        Func(as_bytes, function="sha256"),
        Value("hex"),
        function="encode",
        output_field=CharField(),
    )


def get_retention_settings(organization: Organization) -> RetentionSettings | None:
    return RetentionSettings.objects.filter(organization=organization).first()


def get_terms(organization: Organization) -> retention.Terms:
    return retention.terms_for(organization, get_retention_settings(organization))


def get_effective_table(organization: Organization) -> list[retention.Row]:
    return retention.effective_table(organization, get_retention_settings(organization))


def list_active_holds(organization: Organization | int) -> QuerySet[LegalHold]:
    organization_id = getattr(organization, "pk", organization)
    return LegalHold.objects.filter(
        organization_id=organization_id, released_at__isnull=True
    ).order_by("placed_at", "id")


@dataclass
class Holds:
    """The active legal holds of one organization, ready to filter querysets."""

    organization: bool = False
    address_hashes: set[str] = field(default_factory=set)
    records: dict[str, set[int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.organization or self.address_hashes or self.records)


def get_holds(organization: Organization | int) -> Holds:
    holds = Holds()
    for hold in list_active_holds(organization):
        if hold.scope == LegalHold.Scope.ORGANIZATION:
            holds.organization = True
        elif hold.scope == LegalHold.Scope.PERSON:
            holds.address_hashes.add(hold.address_hash)
        else:
            holds.records.setdefault(hold.record_type, set()).add(hold.record_id)
    return holds


def is_organization_held(organization: Organization | int) -> bool:
    return (
        list_active_holds(organization)
        .filter(scope=LegalHold.Scope.ORGANIZATION)
        .exists()
    )


def _held_people(model, holds: Holds) -> QuerySet:
    """Ids of the model's rows a record or person hold covers, as a subquery:
    it runs inside whichever organization context evaluates the outer query."""
    covered = Q(pk__in=holds.records.get(model._meta.label_lower, ()))
    if holds.address_hashes:
        covered |= Q(address_hash__in=holds.address_hashes) & ~Q(email="")
    return (
        model._base_manager.alias(address_hash=_email_hash("email"))
        .filter(covered)
        .values("pk")
    )


def exclude_held(queryset: QuerySet, holds: Holds) -> QuerySet:
    """The rows of the queryset that no legal hold covers.

    A record hold covers that row; a person hold covers the leads and contacts
    with that address; both also cover the deals, files and recordings linked
    to a held lead, contact or deal. An organization hold covers everything.
    The result is lazy: evaluate it inside the organization's context.
    """
    model = queryset.model
    if holds.organization:
        return queryset.none()
    if not holds:
        return queryset

    if model in PERSON_MODELS:
        queryset = queryset.exclude(pk__in=_held_people(model, holds))
    else:
        own = holds.records.get(model._meta.label_lower)
        if own:
            queryset = queryset.exclude(pk__in=own)

    links = {f.name for f in model._meta.concrete_fields}
    for name, target in (("lead", Lead), ("contact", Contact)):
        if name in links:
            queryset = queryset.exclude(
                **{f"{name}_id__in": _held_people(target, holds)}
            )
    held_deals = holds.records.get("crm.deal")
    if "deal" in links and held_deals:
        queryset = queryset.exclude(deal_id__in=held_deals)
    return queryset


# What waits to be purged -----------------------------------------------------


def deleted_records_due(model, cutoff: datetime, holds: Holds) -> QuerySet:
    return exclude_held(model._base_manager.filter(deleted_at__lt=cutoff), holds)


def expired_recordings_due(recorded_before: datetime, holds: Holds) -> QuerySet:
    return exclude_held(
        CallRecording._base_manager.filter(recorded_at__lt=recorded_before), holds
    )


def deleted_recordings_due(cutoff: datetime, holds: Holds) -> QuerySet:
    return exclude_held(
        CallRecording._base_manager.filter(deleted_at__lt=cutoff), holds
    )


@dataclass(frozen=True)
class Waiting:
    """The oldest row of one rule still waiting, and the rule's deadline for it."""

    rule: str
    oldest: datetime
    deadline: datetime
    alarm_at: datetime

    def age_days(self, now: datetime) -> float:
        return (now - self.oldest).total_seconds() / 86400

    def is_late(self, now: datetime) -> bool:
        return now >= self.alarm_at


def list_waiting(organization: Organization, *, now: datetime) -> list[Waiting]:
    """For each rule, the oldest row not covered by a hold that it will purge.

    `oldest` is when the row's clock started (deleted, recorded, written,
    cancelled); `deadline` is when the promise runs out; past `alarm_at` the
    jobs log an error. Rows covered by a legal hold wait without a deadline.
    """
    holds = get_holds(organization)
    if holds.organization:
        return []
    terms = get_terms(organization)
    waiting = []

    oldest_deleted = _oldest(
        exclude_held(model._base_manager.filter(deleted_at__isnull=False), holds)
        for model in DELETED_RECORD_MODELS
    )
    if oldest_deleted:
        deadline = oldest_deleted + terms.deleted_records_promise
        waiting.append(
            Waiting(
                "records",
                oldest_deleted,
                deadline,
                deadline - retention.ALARM_BEFORE_DEADLINE,
            )
        )

    recordings = exclude_held(CallRecording._base_manager.all(), holds)
    oldest_deleted_recording = _oldest([recordings.filter(deleted_at__isnull=False)])
    oldest_recorded = recordings.aggregate(oldest=Min("recorded_at"))["oldest"]
    candidates = []
    if oldest_deleted_recording:
        deadline = oldest_deleted_recording + terms.deleted_recordings_promise
        candidates.append(
            Waiting(
                "recordings",
                oldest_deleted_recording,
                deadline,
                deadline - retention.ALARM_BEFORE_DEADLINE,
            )
        )
    if oldest_recorded:
        expires = _months_after(oldest_recorded, terms.recording_months)
        candidates.append(
            Waiting(
                "recordings",
                oldest_recorded,
                expires + terms.deleted_recordings_promise,
                expires + retention.LATE_AFTER_PERIOD,
            )
        )
    if candidates:
        waiting.append(min(candidates, key=lambda w: w.alarm_at))

    from audit.models import AuditEntry

    oldest_entry = AuditEntry.objects.filter(organization_id=organization.pk).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    if oldest_entry:
        expires = oldest_entry + terms.audit_log
        waiting.append(
            Waiting(
                "audit_log",
                oldest_entry,
                expires + retention.LATE_AFTER_PERIOD,
                expires + retention.LATE_AFTER_PERIOD,
            )
        )

    # An export's file goes when its link expires; the sweep runs every 15
    # minutes, so one still there a day later means the job is not running.
    expired_export = (
        SubjectExport.objects.exclude(storage_name="")
        .filter(expires_at__isnull=False)
        .aggregate(oldest=Min("expires_at"))["oldest"]
    )
    if expired_export and expired_export <= now:
        waiting.append(
            Waiting(
                "exports",
                expired_export,
                expired_export + retention.LATE_AFTER_PERIOD,
                expired_export + retention.LATE_AFTER_PERIOD,
            )
        )

    if organization.cancelled_at:
        purge_at = organization.cancelled_at + terms.cancellation_grace
        waiting.append(
            Waiting(
                "cancelled_account",
                organization.cancelled_at,
                purge_at + retention.LATE_AFTER_PERIOD,
                purge_at + retention.LATE_AFTER_PERIOD,
            )
        )
    return waiting


def _oldest(querysets) -> datetime | None:
    found = [
        queryset.aggregate(oldest=Min(F("deleted_at")))["oldest"]
        for queryset in querysets
    ]
    found = [value for value in found if value is not None]
    return min(found) if found else None


def _months_after(moment: datetime, months: int) -> datetime:
    return retention.months_before(moment, -months)
