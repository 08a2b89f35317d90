"""The sub-processor list, its change notices, and DPA requests."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from audit import services as audit_services
from audit.actions import Action
from clozup.models import Membership, Organization
from clozup.tenancy import org_context

from ..models import (
    DpaRequest,
    SubProcessor,
    SubProcessorChange,
    SubProcessorNoticeSubscription,
)

logger = logging.getLogger(__name__)

PAID_PLANS = (Organization.Plan.PRO, Organization.Plan.ENTERPRISE)


class DpaNeedsPaidPlan(PermissionError):
    pass


class UnknownSubProcessor(LookupError):
    pass


def _notify_on_commit(change: SubProcessorChange) -> None:
    from ..tasks import notify_sub_processor_change_task

    change_id = change.pk
    transaction.on_commit(lambda: notify_sub_processor_change_task.delay(change_id))


@transaction.atomic
def save_sub_processor(
    *,
    name: str,
    purpose: str,
    data_processed: str,
    location: str,
    website: str = "",
    summary: str,
) -> SubProcessorChange:
    """Add a sub-processor, or change one (bringing back a removed one).

    Writes the public change log entry and, on commit, enqueues the notice
    to organizations that asked for one.
    """
    fields = {
        "purpose": purpose,
        "data_processed": data_processed,
        "location": location,
        "website": website,
    }
    sub_processor = SubProcessor.objects.filter(name=name).first()
    if sub_processor is None or sub_processor.removed_at is not None:
        kind = SubProcessorChange.Kind.ADDED
    else:
        kind = SubProcessorChange.Kind.CHANGED
    if sub_processor is None:
        sub_processor = SubProcessor.objects.create(name=name, **fields)
    else:
        for field, value in fields.items():
            setattr(sub_processor, field, value)
        if kind == SubProcessorChange.Kind.ADDED:
            sub_processor.added_at = timezone.now()
        sub_processor.removed_at = None
        sub_processor.save(update_fields=[*fields, "added_at", "removed_at"])

    change = SubProcessorChange.objects.create(
        sub_processor=sub_processor, kind=kind, summary=summary
    )
    _notify_on_commit(change)
    return change


@transaction.atomic
def remove_sub_processor(name: str, *, summary: str) -> SubProcessorChange:
    sub_processor = SubProcessor.objects.filter(name=name, removed_at=None).first()
    if sub_processor is None:
        raise UnknownSubProcessor(f"name: no current sub-processor is called {name!r}")
    sub_processor.removed_at = timezone.now()
    sub_processor.save(update_fields=["removed_at"])

    change = SubProcessorChange.objects.create(
        sub_processor=sub_processor,
        kind=SubProcessorChange.Kind.REMOVED,
        summary=summary,
    )
    _notify_on_commit(change)
    return change


def notify_sub_processor_change(change_id: int) -> int:
    """Email the admins of each organization that asked about changes.

    One organization at a time, each in its own context. Does nothing when
    the change was already announced. Returns how many emails were sent.
    """
    change = SubProcessorChange.objects.select_related("sub_processor").get(
        pk=change_id
    )
    if change.notified_at is not None:
        return 0

    sent = 0
    context = {"change": change, "site_url": settings.SITE_URL.rstrip("/")}
    subject = f"Clozup sub-processor change: {change.sub_processor.name}"
    text = render_to_string("compliance/email/sub_processor_change.txt", context)
    for organization_id in Organization.objects.order_by("pk").values_list(
        "pk", flat=True
    ):
        with org_context(organization_id):
            if not SubProcessorNoticeSubscription.objects.exists():
                continue
            admins = Membership.objects.filter(
                role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
                user__is_active=True,
            ).values_list("user__email", flat=True)
            recipients = sorted(admins)
        if recipients:
            EmailMultiAlternatives(subject=subject, body=text, bcc=recipients).send()
            sent += 1

    change.notified_at = timezone.now()
    change.save(update_fields=["notified_at"])
    logger.info(
        "sub-processor change announced",
        extra={"change_id": change_id, "organizations": sent},
    )
    return sent


@transaction.atomic
def set_sub_processor_notices(
    organization: Organization, *, subscribed: bool, actor
) -> bool:
    """Opt the organization's admins in or out of change notices."""
    existing = SubProcessorNoticeSubscription.objects.filter(organization=organization)
    if subscribed and not existing.exists():
        SubProcessorNoticeSubscription.objects.create(
            organization=organization, created_by=actor
        )
    elif not subscribed:
        existing.delete()
    audit_services.record_event(
        Action.SUBPROCESSOR_NOTICES_CHANGED,
        organization=organization,
        actor=actor,
        metadata={"subscribed": subscribed},
    )
    return subscribed


@transaction.atomic
def request_dpa(organization: Organization, *, actor, **fields) -> DpaRequest:
    """Record a DPA request of a paid organization and tell Clozup's privacy team.

    Raises DpaNeedsPaidPlan on the free plan. The notice names the request
    and organization ids only; the signatory's details stay in the request.
    """
    if organization.plan not in PAID_PLANS:
        raise DpaNeedsPaidPlan(
            "plan: a DPA is available on the Pro and Enterprise plans"
        )
    dpa = DpaRequest.objects.create(
        organization=organization, requested_by=actor, **fields
    )
    audit_services.record_event(
        Action.DPA_REQUESTED,
        organization=organization,
        actor=actor,
        target=dpa,
        metadata={"plan": organization.plan},
    )
    message = (
        f"Organization {organization.pk} ({organization.slug}) requested a DPA:"
        f" request {dpa.pk}. The details are in its Admin Panel record."
    )
    transaction.on_commit(
        lambda: send_mail(
            f"DPA request {dpa.pk}",
            message,
            None,
            [settings.PRIVACY_CONTACT_EMAIL],
        )
    )
    return dpa
