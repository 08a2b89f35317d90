"""Erasure: one lead or contact, or one data subject everywhere in an organization.

The rows go through the purge primitives (`compliance.services.purge`),
which delete what hangs off them and their stored files. Erasing a subject
also removes activities of other records that quote the address, the
subject exports made about them (files included) and the address on their
requests (the one-way hash stays, as on the suppression list). The audit log
keeps, with ids and counts only, that an erasure happened; the admin gets an
`ErasureReceipt` without personal data.

Search reads the live tables (there is no separate index to clean), so a row
that is gone is gone from every list and search.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance.models import (
    DataSubjectRequest,
    DataSubjectRequestEvent,
    ErasureReceipt,
    SubjectExport,
)
from compliance.models.consent import ConsentSource
from compliance.selectors.subjects import (
    SubjectRecords,
    find_subject,
    normalise_email,
    subject_hash,
)
from compliance.services import consent, purge
from compliance.services.requests import add_history
from crm.models import Activity, CallRecording, Contact, Lead

logger = logging.getLogger(__name__)


class NothingToErase(LookupError):
    """No row of the organization holds or names the person."""


@dataclass(frozen=True)
class ErasurePlan:
    """What an erasure would remove, as counts (for --dry-run and the admin)."""

    leads: int
    contacts: int
    activities: int
    deals_unlinked: int
    files: int
    exports: int
    requests: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def plan_subject_erasure(
    organization: Organization, *, email: str, phone: str = ""
) -> ErasurePlan:
    """Count what `erase_subject` would remove; changes nothing.

    Call inside the organization's context.
    """
    records = find_subject(email=email, phone=phone)
    hashed = subject_hash(organization, email)
    return ErasurePlan(
        leads=len(records.lead_ids),
        contacts=len(records.contact_ids),
        activities=records.activities().count(),
        deals_unlinked=len(records.deal_ids),
        files=_personal_files(records).count()
        + _attachments_of_people(records).count(),
        exports=SubjectExport.objects.filter(subject_hash=hashed).count(),
        requests=DataSubjectRequest.objects.filter(subject_hash=hashed).count(),
    )


def _attachments_of_people(records: SubjectRecords):
    from crm.models import Attachment

    return Attachment._base_manager.filter(
        lead_id__in=records.lead_ids
    ) | Attachment._base_manager.filter(contact_id__in=records.contact_ids)


def _personal_files(records: SubjectRecords):
    """Recordings of the person's calls, whoever's record they hang off."""
    activities = records.activities().order_by().values("pk")
    return CallRecording._base_manager.filter(activity_id__in=activities) | (
        CallRecording._base_manager.filter(lead_id__in=records.lead_ids)
        | CallRecording._base_manager.filter(contact_id__in=records.contact_ids)
    )


def erase_subject(
    organization: Organization,
    *,
    email: str,
    phone: str = "",
    actor,
    reason: str = "",
    dsr: DataSubjectRequest | None = None,
    request=None,
) -> ErasureReceipt:
    """Erase the person from the organization; returns the receipt.

    Runs in batches, each committed (the purge primitives' own transactions),
    so it can be run again after a crash; call it outside any transaction.
    Suppresses the address first, so no outreach reaches the person while
    the erasure runs. Raises NothingToErase when nothing holds the person
    and no request or export names them.
    """
    email = normalise_email(email)
    hashed = subject_hash(organization, email) if email else ""
    with org_context(organization):
        records = find_subject(email=email, phone=phone)
        activity_ids = list(records.activities().values_list("pk", flat=True))
        recording_ids = list(_personal_files(records).values_list("pk", flat=True))
        export_ids = list(
            SubjectExport.objects.filter(subject_hash=hashed).values_list(
                "pk", flat=True
            )
        )
        has_requests = DataSubjectRequest.objects.filter(subject_hash=hashed).exists()
    if records.is_empty and not export_ids and not has_requests:
        raise NothingToErase("email: no record of this organization holds it")

    _suppress(organization, [email, *records.phones], actor=actor)

    counts = purge.PurgeCounts()
    # Recordings of the person's calls may hang off an activity only; the
    # purge would merely unlink them from it, so they go first by id.
    counts.merge(
        purge.purge_records(organization, CallRecording, recording_ids, actor=actor)
    )
    counts.merge(purge.purge_records(organization, Activity, activity_ids, actor=actor))
    counts.merge(purge.purge_records(organization, Lead, records.lead_ids, actor=actor))
    counts.merge(
        purge.purge_records(organization, Contact, records.contact_ids, actor=actor)
    )
    counts.merge(
        purge.purge_records(organization, SubjectExport, export_ids, actor=actor)
    )

    with org_context(organization):
        return _finish(
            organization,
            counts,
            scope=ErasureReceipt.Scope.SUBJECT,
            hashed=hashed,
            actor=actor,
            reason=reason,
            dsr=dsr,
            request=request,
        )


def erase_record(record: Lead | Contact, *, actor, reason: str = "", request=None):
    """Erase one lead or contact, with its activities and files; returns the receipt.

    The address it held is suppressed, as for a subject erasure. Call
    outside any transaction (the purge commits in batches).
    """
    organization = Organization.objects.get(pk=record.organization_id)
    addresses = [record.email, record.secondary_email, record.phone]
    _suppress(organization, [*addresses, record.secondary_phone], actor=actor)
    counts = purge.purge_records(organization, type(record), [record.pk], actor=actor)
    scope = (
        ErasureReceipt.Scope.LEAD
        if isinstance(record, Lead)
        else ErasureReceipt.Scope.CONTACT
    )
    with org_context(organization):
        return _finish(
            organization,
            counts,
            scope=scope,
            hashed="",
            actor=actor,
            reason=reason,
            dsr=None,
            request=request,
        )


def _suppress(organization: Organization, addresses: list[str], *, actor) -> None:
    """Put the addresses on the suppression list, which keeps only their hashes.

    As an erasure, this also removes the ledger events of each address.
    """
    with org_context(organization):
        for address in dict.fromkeys(a.strip() for a in addresses if a.strip()):
            try:
                consent.suppress_address(
                    organization,
                    address=address,
                    source=ConsentSource.ERASURE,
                    actor=actor,
                )
            except consent.InvalidConsentEvent:
                # A phone field holding something that is not a number.
                logger.warning("erasure skipped an unusable address")


@transaction.atomic
def _finish(
    organization, counts, *, scope, hashed, actor, reason, dsr, request
) -> ErasureReceipt:
    if hashed:
        cleared = DataSubjectRequest.objects.filter(subject_hash=hashed).update(
            email="", phone="", details=""
        )
        counts.add_rows(f"{DataSubjectRequest._meta.db_table} (cleared)", cleared)
    receipt = ErasureReceipt.objects.create(
        organization=organization,
        scope=scope,
        request=dsr,
        rows=dict(sorted(counts.rows.items())),
        files=dict(sorted(counts.files.items())),
        actor=None if isinstance(actor, str) else actor,
        actor_label=actor if isinstance(actor, str) else "",
        reason=reason[:300],
        created_at=timezone.now(),
    )
    if dsr is not None:
        add_history(
            dsr,
            DataSubjectRequestEvent.Kind.ERASED,
            actor=actor,
            metadata={"receipt_id": receipt.pk},
        )
    audit.record_event(
        Action.SUBJECT_ERASED,
        organization=organization,
        actor=actor,
        target=receipt,
        metadata={
            "scope": scope,
            "request_id": dsr.pk if dsr else None,
            "receipt_id": receipt.pk,
            **counts.as_metadata(),
        },
        request=request,
    )
    logger.info(
        "erasure done",
        extra={
            "receipt_id": receipt.pk,
            "rows": counts.total_rows,
            "files": counts.total_files,
        },
    )
    return receipt
