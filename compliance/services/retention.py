"""The retention sweeps, retention settings and legal holds.

A sweep applies rules of `compliance.retention` to one organization: purge
deleted records, expired and deleted call recordings, trim the audit log.
Each works in batches through `compliance.services.purge`, skips what a
legal hold covers, records its counts in the organization's audit log and
ends by checking the organization's deadlines, logging an error for a rule
about to break its promise. `sweep_all_organizations` loops over
organizations one context at a time, under a lock that keeps a second
worker or beat from running the same sweep meanwhile.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from audit.models import AuditEntry
from clozup.lib.locks import try_advisory_lock
from clozup.models import Organization, User
from clozup.tenancy import org_context
from compliance import retention
from compliance import selectors as compliance_selectors
from compliance.models import LegalHold, RetentionSettings
from compliance.services.purge import (
    DEFAULT_BATCH_SIZE,
    PurgeCounts,
    preview_records,
    purge_records,
)
from crm.models import CallRecording

logger = logging.getLogger(__name__)

RULES = ("records", "recordings", "audit_log")
ENTERPRISE_TERMS = (
    "deleted_records_days",
    "audit_log_days",
    "cancellation_grace_days",
)


class CustomTermsNeedEnterprise(ValueError):
    """Custom retention terms other than the recording period are Enterprise only."""


class LegalHoldInvalid(ValueError):
    """The hold does not name what it covers properly; the message says which field."""


class LegalHoldAlreadyReleased(ValueError):
    pass


class SweepAlreadyRunning(RuntimeError):
    """Another process holds this sweep's lock."""


# Settings and holds ----------------------------------------------------------


@transaction.atomic
def save_retention_settings(
    organization: Organization,
    *,
    changes: dict,
    actor: User | str | None,
    request=None,
) -> RetentionSettings:
    """Set the organization's overrides (None restores a default); audited.

    Raises CustomTermsNeedEnterprise for an Enterprise term on another plan.
    """
    if organization.plan != Organization.Plan.ENTERPRISE:
        for name in ENTERPRISE_TERMS:
            if changes.get(name) is not None:
                raise CustomTermsNeedEnterprise(
                    f"{name}: custom retention terms are part of the Enterprise plan"
                )

    row, _ = RetentionSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    changed = [name for name, value in changes.items() if getattr(row, name) != value]
    if not changed:
        return row
    for name in changed:
        setattr(row, name, changes[name])
    row.save(update_fields=[*changed, "updated_at"])

    audit.record_event(
        Action.RETENTION_SETTINGS_CHANGED,
        organization=organization,
        actor=actor,
        target=row,
        metadata={
            "fields": sorted(changed),
            **{name: getattr(row, name) for name in sorted(changed)},
        },
        request=request,
    )
    return row


@transaction.atomic
def place_legal_hold(
    organization: Organization,
    *,
    scope: str,
    reason: str,
    actor: User | str | None,
    email: str = "",
    record_type: str = "",
    record_id: int | None = None,
    request=None,
) -> LegalHold:
    """Pause the purges of the organization, a person or one record; audited.

    A person is named by email address, of which only the hash is kept.
    """
    reason = reason.strip()
    if not reason:
        raise LegalHoldInvalid("reason: give a case or ticket reference")
    hold = LegalHold(
        organization=organization,
        scope=scope,
        reason=reason[:200],
        placed_by=_actor_label(actor),
    )
    if scope == LegalHold.Scope.PERSON:
        if "@" not in email:
            raise LegalHoldInvalid("email: a person is held by their email address")
        hold.address_hash = compliance_selectors.address_hash(email)
    elif scope == LegalHold.Scope.RECORD:
        if record_type not in _HOLDABLE_RECORDS or not record_id:
            raise LegalHoldInvalid(
                "record_type: one of "
                + ", ".join(sorted(_HOLDABLE_RECORDS))
                + ", with record_id"
            )
        hold.record_type, hold.record_id = record_type, int(record_id)
    elif scope != LegalHold.Scope.ORGANIZATION:
        raise LegalHoldInvalid(f"scope: {scope!r} is not a hold scope")
    hold.save()

    audit.record_event(
        Action.LEGAL_HOLD_CHANGED,
        organization=organization,
        actor=actor,
        target=hold,
        metadata={"state": "placed", "scope": scope, "reason": hold.reason},
        request=request,
    )
    return hold


_HOLDABLE_RECORDS = {
    "crm.lead",
    "crm.contact",
    "crm.company",
    "crm.deal",
    "crm.campaign",
    "crm.attachment",
    "crm.callrecording",
}


@transaction.atomic
def release_legal_hold(
    hold: LegalHold, *, actor: User | str | None, request=None
) -> LegalHold:
    """End the hold; the purges it paused resume at the next sweep. Audited."""
    locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if locked.released_at is not None:
        raise LegalHoldAlreadyReleased(f"legal hold {hold.pk} is already released")

    hold.released_at = timezone.now()
    hold.released_by = _actor_label(actor)
    hold.save(update_fields=["released_at", "released_by"])

    audit.record_event(
        Action.LEGAL_HOLD_CHANGED,
        organization=hold.organization_id,
        actor=actor,
        target=hold,
        metadata={"state": "released", "scope": hold.scope},
        request=request,
    )
    return hold


def _actor_label(actor) -> str:
    if actor is None:
        return audit.SYSTEM
    if isinstance(actor, str):
        return actor[:150]
    return f"user:{actor.pk}"


# Sweeps ---------------------------------------------------------------------


@dataclass
class SweepReport:
    """What a sweep of one organization removed (or would, in a dry run)."""

    organization_id: int
    dry_run: bool = False
    held: bool = False
    by_rule: dict[str, PurgeCounts] = field(default_factory=dict)
    late: list = field(default_factory=list)

    def counts(self) -> PurgeCounts:
        total = PurgeCounts()
        for counts in self.by_rule.values():
            total.merge(counts)
        return total


def sweep_organization(
    organization: Organization,
    *,
    rules: Iterable[str] = RULES,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SweepReport:
    """Apply the retention rules to one organization. Rerunnable.

    Not inside a transaction: each batch commits on its own. A dry run counts
    what would go, per table, and changes nothing.
    """
    now = now or timezone.now()
    rules = [rule for rule in RULES if rule in set(rules)]
    report = SweepReport(organization.pk, dry_run=dry_run)
    with org_context(organization):
        terms = compliance_selectors.get_terms(organization)
        holds = compliance_selectors.get_holds(organization)
    if holds.organization:
        report.held = True
        logger.info("retention sweep paused by a legal hold")
        return report

    for rule in rules:
        sweep = _SWEEPS[rule]
        report.by_rule[rule] = sweep(
            organization, terms, holds, now=now, dry_run=dry_run, batch_size=batch_size
        )

    counts = report.counts()
    if counts and not dry_run:
        with org_context(organization):
            audit.record_event(
                Action.RETENTION_SWEEP,
                organization=organization,
                metadata={"rules": rules, **counts.as_metadata()},
            )
    report.late = check_deadlines(organization, rules=rules, now=now)
    logger.info(
        "retention sweep finished",
        extra={
            "dry_run": dry_run,
            "rows": counts.total_rows,
            "files": counts.total_files,
            "late": len(report.late),
        },
    )
    return report


def _sweep_deleted_records(organization, terms, holds, *, now, dry_run, batch_size):
    cutoff = now - terms.deleted_records_purge_after
    counts = PurgeCounts()
    for model in compliance_selectors.DELETED_RECORD_MODELS:
        due = compliance_selectors.deleted_records_due(model, cutoff, holds)
        counts.merge(_apply(organization, model, due, dry_run, batch_size))
    return counts


def _sweep_recordings(organization, terms, holds, *, now, dry_run, batch_size):
    recorded_before = retention.months_before(now, terms.recording_months)
    deleted_before = now - terms.deleted_recordings_purge_after
    expired = compliance_selectors.expired_recordings_due(recorded_before, holds)
    deleted = compliance_selectors.deleted_recordings_due(deleted_before, holds)
    counts = _apply(organization, CallRecording, expired, dry_run, batch_size)
    return counts.merge(
        _apply(organization, CallRecording, deleted, dry_run, batch_size)
    )


def _sweep_audit_log(organization, terms, holds, *, now, dry_run, batch_size):
    cutoff = now - terms.audit_log
    counts = PurgeCounts()
    table = AuditEntry._meta.db_table
    if dry_run:
        with org_context(organization):
            old = AuditEntry.objects.filter(created_at__lt=cutoff).count()
        counts.add_rows(table, old)
        return counts

    while True:
        with org_context(organization):
            removed = audit.remove_entries_before(
                organization, cutoff, batch_size=batch_size
            )
            if removed:
                audit.record_event(
                    Action.AUDIT_ENTRIES_REMOVED,
                    organization=organization,
                    metadata={"entries": removed, "before": cutoff.isoformat()},
                )
        counts.add_rows(table, removed)
        if not removed:
            return counts


def _apply(organization, model, queryset, dry_run, batch_size) -> PurgeCounts:
    if dry_run:
        return preview_records(organization, queryset, batch_size=batch_size)
    return purge_records(organization, model, queryset, batch_size=batch_size)


_SWEEPS = {
    "records": _sweep_deleted_records,
    "recordings": _sweep_recordings,
    "audit_log": _sweep_audit_log,
}


def check_deadlines(
    organization: Organization,
    *,
    rules: Iterable[str] = (*RULES, "exports", "cancelled_account"),
    now: datetime | None = None,
) -> list:
    """The rules whose oldest waiting row is past its alarm time; each is
    logged as an error, for the person on call, with ages in hours only."""
    now = now or timezone.now()
    rules = set(rules)
    with org_context(organization):
        waiting = compliance_selectors.list_waiting(organization, now=now)
    late = [item for item in waiting if item.rule in rules and item.is_late(now)]
    for item in late:
        logger.error(
            "retention deadline at risk",
            extra={
                "rule": item.rule,
                "oldest_age_hours": int((now - item.oldest).total_seconds() // 3600),
                "hours_to_deadline": int((item.deadline - now).total_seconds() // 3600),
            },
        )
    return late


def sweep_all_organizations(
    *,
    rules: Iterable[str] = RULES,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[SweepReport]:
    """Sweep every organization, one context at a time, oldest first.

    Raises SweepAlreadyRunning when another process runs the same rules; an
    organization that a support operator is sweeping right now is skipped
    (the next run takes it). One organization failing is logged and the loop
    goes on; the failure is raised at the end so the task shows it.
    """
    rules = [rule for rule in RULES if rule in set(rules)]
    lock_name = "retention:" + "+".join(rules)
    reports, failed = [], 0
    with try_advisory_lock(lock_name) as acquired:
        if not acquired:
            raise SweepAlreadyRunning(f"{lock_name} is running in another process")
        for organization in Organization.objects.order_by("pk"):
            with organization_sweep_lock(organization) as mine:
                if not mine:
                    logger.warning(
                        "organization sweep skipped: running elsewhere",
                        extra={"organization": organization.pk},
                    )
                    continue
                try:
                    reports.append(
                        sweep_organization(
                            organization,
                            rules=rules,
                            now=now,
                            dry_run=dry_run,
                            batch_size=batch_size,
                        )
                    )
                except Exception:
                    failed += 1
                    logger.exception(
                        "retention sweep failed",
                        extra={"organization": organization.pk},
                    )
    if failed:
        raise RuntimeError(f"retention sweep failed for {failed} organization(s)")
    return reports


def organization_sweep_lock(organization: Organization):
    """The lock one organization's sweep holds (see `try_advisory_lock`)."""
    return try_advisory_lock(f"retention:org:{organization.pk}")
