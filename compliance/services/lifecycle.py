"""The end of a cancelled organization: notices to its admins, then the purge.

Cancelling and reactivating are `clozup.services.cancel_organization` and
`reactivate_organization`. These jobs take it from there: admins are emailed
7 days and 1 day before the purge, and once the grace period is over every
row and file of the organization is purged and its registry row deleted. A
legal hold on the organization pauses both.
"""

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from clozup.lib.locks import try_advisory_lock
from clozup.models import Membership, Organization, User
from clozup.tenancy import org_context, user_context
from compliance import selectors as compliance_selectors
from compliance.models import LifecycleNotice
from compliance.services.purge import PurgeCounts, purge_organization_data
from compliance.services.retention import SweepAlreadyRunning

logger = logging.getLogger(__name__)

NOTICE_LEAD_TIMES = {
    LifecycleNotice.Kind.PURGE_IN_7_DAYS: timedelta(days=7),
    LifecycleNotice.Kind.PURGE_IN_1_DAY: timedelta(days=1),
}


def purge_due_at(organization: Organization) -> datetime | None:
    """When the cancelled organization's grace period ends; None if active.

    Call inside the organization's context (it reads the retention settings).
    """
    if organization.cancelled_at is None:
        return None
    terms = compliance_selectors.get_terms(organization)
    return organization.cancelled_at + terms.cancellation_grace


def _cancelled_organizations():
    return Organization.objects.filter(status=Organization.Status.CANCELLED).order_by(
        "cancelled_at", "pk"
    )


def send_purge_notices(*, now: datetime | None = None) -> int:
    """Email the admins of each cancelled organization whose purge is near.

    Each notice is sent once per cancellation: its row is written in the same
    transaction as the send, so a failed send is retried by the next run and a
    sent one never repeats. Returns how many notices were sent.
    """
    now = now or timezone.now()
    sent = 0
    for organization in _cancelled_organizations():
        with org_context(organization):
            if compliance_selectors.is_organization_held(organization):
                continue
            purge_at = purge_due_at(organization)
        due = [
            kind
            for kind, lead in NOTICE_LEAD_TIMES.items()
            if purge_at - lead <= now < purge_at
        ]
        # Only the nearest notice: a job that was down for a week does not
        # send "7 days" and "1 day" together.
        for kind in sorted(due, key=lambda k: NOTICE_LEAD_TIMES[k])[:1]:
            if _send_notice(organization, kind, purge_at):
                sent += 1
    return sent


def _send_notice(organization, kind, purge_at) -> bool:
    try:
        with org_context(organization), transaction.atomic():
            notice = LifecycleNotice.objects.create(
                organization=organization,
                kind=kind,
                cancelled_at=organization.cancelled_at,
            )
            recipients = list(
                Membership.objects.filter(
                    role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
                )
                .select_related("user")
                .values_list("user__email", flat=True)
            )
            notice.recipients = len(recipients)
            notice.save(update_fields=["recipients"])
            _email(organization, recipients, purge_at)
    except IntegrityError:
        return False
    logger.info(
        "purge notice sent", extra={"kind": kind, "recipients": len(recipients)}
    )
    return True


def _email(organization, recipients, purge_at) -> None:
    if not recipients:
        return
    context = {
        "organization": organization,
        "purge_at": purge_at,
        "days_left": max(math.ceil((purge_at - timezone.now()) / timedelta(days=1)), 0),
        "admin_url": settings.SITE_URL.rstrip("/") + "/admin/",
    }
    subject = render_to_string("compliance/email/purge_notice_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("compliance/email/purge_notice_message.txt", context),
        to=recipients,
    )
    message.attach_alternative(
        render_to_string("compliance/email/purge_notice_message.html", context),
        "text/html",
    )
    message.send()


@dataclass(frozen=True)
class PurgedOrganization:
    organization_id: int
    counts: PurgeCounts


def purge_cancelled_organizations(
    *, now: datetime | None = None
) -> list[PurgedOrganization]:
    """Purge every cancelled organization whose grace period is over.

    Skips one under a legal hold or reactivated meanwhile. The counts go to
    the log (the audit log is purged with the organization), and the purge
    to the backup journal. Raises SweepAlreadyRunning when another process
    runs this job.
    """
    now = now or timezone.now()
    purged = []
    with try_advisory_lock("lifecycle:purge") as acquired:
        if not acquired:
            raise SweepAlreadyRunning("lifecycle:purge is running in another process")
        for organization in _cancelled_organizations():
            with org_context(organization):
                if compliance_selectors.is_organization_held(organization):
                    logger.info(
                        "organization purge paused by a legal hold",
                        extra={"organization": organization.pk},
                    )
                    continue
                purge_at = purge_due_at(organization)
            if now < purge_at:
                continue
            purged.append(purge_cancelled_organization(organization))
    return purged


def purge_cancelled_organization(organization: Organization) -> PurgedOrganization:
    """Purge one cancelled organization and delete its registry row.

    Checks again, under a lock on the row, that it is still cancelled: a
    reactivation that won the race keeps everything.
    """
    with transaction.atomic():
        still_cancelled = (
            Organization.objects.select_for_update()
            .filter(pk=organization.pk, status=Organization.Status.CANCELLED)
            .exists()
        )
    if not still_cancelled:
        return PurgedOrganization(organization.pk, PurgeCounts())

    with org_context(organization):
        member_ids = list(Membership.objects.values_list("user_id", flat=True))
    counts = purge_organization_data(organization)
    Organization.objects.filter(
        pk=organization.pk, status=Organization.Status.CANCELLED
    ).delete()
    counts.add_rows(User._meta.db_table, _delete_users_left_alone(member_ids))
    logger.info(
        "cancelled organization purged",
        extra={
            "organization": organization.pk,
            "rows": counts.total_rows,
            "files": counts.total_files,
        },
    )
    return PurgedOrganization(organization.pk, counts)


def _delete_users_left_alone(user_ids: list[int]) -> int:
    """Delete the accounts of former members who belong to no organization now.

    A person in another organization keeps their account; Clozup's staff
    accounts are never touched. An account some other organization's row
    still points at is kept and logged, for a person to look at.
    """
    deleted = 0
    for user_id in user_ids:
        with user_context(user_id):
            if Membership.objects.filter(user_id=user_id).exists():
                continue
        # Its own transaction: foreign keys to users are checked at commit.
        try:
            with transaction.atomic():
                _, by_model = User.objects.filter(pk=user_id, is_staff=False).delete()
        except IntegrityError:
            logger.warning(
                "former member's account kept: still referenced",
                extra={"user_id": user_id},
            )
            continue
        deleted += by_model.get(User._meta.label, 0)
    return deleted
