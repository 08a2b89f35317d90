"""Data-subject requests: recording them, verifying identity, moving status.

Each change appends a `DataSubjectRequestEvent` (the request's history) and
records an audit event, in one transaction. Requests sent through the public
form are created only once the person opened the link mailed to the address
they gave (`send_confirmation_link`, then `confirm_public_request`).
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance.models import (
    RESPONSE_DAYS,
    DataSubjectRequest,
    DataSubjectRequestEvent,
)
from compliance.selectors.subjects import normalise_email, subject_hash

logger = logging.getLogger(__name__)

CONFIRMATION_SALT = "compliance.dsr-confirmation"
CONFIRMATION_MAX_AGE = 48 * 3600
PENDING_KEY = "dsr-pending:{organization_id}:{nonce}"


class RequestClosed(ValueError):
    """The request is fulfilled or refused; it no longer changes."""


class ConfirmationInvalid(ValueError):
    """The confirmation link is forged, altered, expired or already used up."""


def _actor_fields(actor) -> dict:
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor}
    return {"actor": actor, "actor_label": ""}


def add_history(
    dsr: DataSubjectRequest,
    kind: str,
    *,
    actor=None,
    from_status: str = "",
    to_status: str = "",
    metadata: dict | None = None,
) -> DataSubjectRequestEvent:
    """Append a step to the request's history (ids and counts in metadata)."""
    return DataSubjectRequestEvent.objects.create(
        organization_id=dsr.organization_id,
        request=dsr,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        metadata=metadata or {},
        **_actor_fields(actor),
    )


@transaction.atomic
def record_request(
    organization: Organization,
    *,
    kind: str,
    email: str,
    phone: str = "",
    details: str = "",
    channel: str = DataSubjectRequest.Channel.ADMIN,
    received_at=None,
    verification_method: str = "",
    confirmation_nonce: str = "",
    actor=None,
    request=None,
) -> DataSubjectRequest:
    """Record a request received now (or at `received_at`); due 30 days later.

    With a verification method the identity counts as verified at once.
    """
    received_at = received_at or timezone.now()
    now = timezone.now()
    member = None if isinstance(actor, str) else actor
    dsr = DataSubjectRequest.objects.create(
        organization=organization,
        kind=kind,
        channel=channel,
        email=normalise_email(email),
        phone=phone.strip(),
        details=details.strip(),
        subject_hash=subject_hash(organization, email) if email else "",
        received_at=received_at,
        due_at=received_at + timedelta(days=RESPONSE_DAYS),
        verification_method=verification_method,
        verified_at=now if verification_method else None,
        verified_by=member if verification_method else None,
        created_by=member,
        confirmation_nonce=confirmation_nonce,
    )
    add_history(
        dsr, DataSubjectRequestEvent.Kind.RECEIVED, actor=actor, to_status=dsr.status
    )
    if verification_method:
        add_history(
            dsr,
            DataSubjectRequestEvent.Kind.VERIFIED,
            actor=actor,
            metadata={"method": verification_method},
        )
    audit.record_event(
        Action.DSR_RECEIVED,
        organization=organization,
        actor=actor,
        target=dsr,
        metadata={
            "kind": kind,
            "channel": channel,
            "verification": verification_method,
        },
        request=request,
    )
    return dsr


@transaction.atomic
def verify_identity(
    dsr: DataSubjectRequest, *, method: str, actor, request=None
) -> DataSubjectRequest:
    """Record how the requester's identity was checked, when and by whom."""
    if not method:
        raise ValueError("verification_method: say how the identity was checked")
    if not dsr.is_open:
        raise RequestClosed(f"request {dsr.pk} is {dsr.status}")
    dsr.verification_method = method
    dsr.verified_at = timezone.now()
    dsr.verified_by = None if isinstance(actor, str) else actor
    dsr.save(update_fields=["verification_method", "verified_at", "verified_by"])

    add_history(
        dsr,
        DataSubjectRequestEvent.Kind.VERIFIED,
        actor=actor,
        metadata={"method": method},
    )
    audit.record_event(
        Action.DSR_UPDATED,
        organization=dsr.organization_id,
        actor=actor,
        target=dsr,
        metadata={"verification": method},
        request=request,
    )
    return dsr


@transaction.atomic
def change_status(
    dsr: DataSubjectRequest, *, status: str, actor, request=None
) -> DataSubjectRequest:
    """Move a request along; fulfilling or refusing it closes it for good."""
    if status == dsr.status:
        return dsr
    if not dsr.is_open:
        raise RequestClosed(f"request {dsr.pk} is {dsr.status}")
    closing = status in (
        DataSubjectRequest.Status.FULFILLED,
        DataSubjectRequest.Status.REFUSED,
    )
    if status == DataSubjectRequest.Status.FULFILLED and not dsr.is_verified:
        raise ValueError("status: verify the requester's identity before fulfilling")

    previous = dsr.status
    dsr.status = status
    dsr.closed_at = timezone.now() if closing else None
    dsr.save(update_fields=["status", "closed_at"])

    add_history(
        dsr,
        DataSubjectRequestEvent.Kind.STATUS_CHANGED,
        actor=actor,
        from_status=previous,
        to_status=status,
    )
    fulfilled = status == DataSubjectRequest.Status.FULFILLED
    audit.record_event(
        Action.DSR_FULFILLED if fulfilled else Action.DSR_UPDATED,
        organization=dsr.organization_id,
        actor=actor,
        target=dsr,
        metadata={"from": previous, "to": status},
        request=request,
    )
    return dsr


# The public form ------------------------------------------------------------------


def send_confirmation_link(
    organization: Organization,
    *,
    kind: str,
    email: str,
    details: str,
    build_url,
) -> None:
    """Mail the address a link that, once opened, records the request.

    Nothing is stored in the database before that: the submission waits in
    the cache for 48 hours under a random nonce, and the link carries only
    the organization and that nonce, signed. `build_url(path)` makes the
    absolute URL.
    """
    nonce = secrets.token_urlsafe(24)
    pending = {"kind": kind, "email": normalise_email(email), "details": details}
    key = PENDING_KEY.format(organization_id=organization.pk, nonce=nonce)
    cache.set(key, pending, CONFIRMATION_MAX_AGE)

    token = signing.dumps(
        {"o": organization.pk, "n": nonce}, salt=CONFIRMATION_SALT, compress=True
    )
    path = reverse("compliance:request-confirm", args=[organization.slug, token])
    context = {
        "organization": organization,
        "kind": DataSubjectRequest.Kind(kind).label,
        "url": build_url(path),
        "hours": CONFIRMATION_MAX_AGE // 3600,
    }
    subject = render_to_string(
        "compliance/email/confirm_request_subject.txt", context
    ).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("compliance/email/confirm_request_message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[pending["email"]],
    )
    message.attach_alternative(
        render_to_string("compliance/email/confirm_request_message.html", context),
        "text/html",
    )
    message.send()
    logger.info("request confirmation link sent", extra={"kind": kind})


def read_confirmation(organization: Organization, token: str) -> dict:
    """The pending submission the link stands for; raises ConfirmationInvalid."""
    try:
        payload = signing.loads(
            token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE
        )
    except signing.BadSignature:
        raise ConfirmationInvalid("the link is invalid or has expired") from None
    if payload.get("o") != organization.pk:
        raise ConfirmationInvalid("the link is for another organization")
    key = PENDING_KEY.format(organization_id=organization.pk, nonce=payload["n"])
    pending = cache.get(key)
    if pending is None:
        with org_context(organization):
            done = DataSubjectRequest.objects.filter(
                confirmation_nonce=payload["n"]
            ).first()
        if done is None:
            raise ConfirmationInvalid("the link is invalid or has expired")
        return {"nonce": payload["n"], "request": done}
    return {"nonce": payload["n"], "request": None, **pending}


def confirm_public_request(organization: Organization, token: str):
    """Record the request the link stands for; opening it again changes nothing.

    The person's IP address and browser are not put in the audit log: they
    would be personal data kept after an erasure.
    """
    pending = read_confirmation(organization, token)
    if pending["request"] is not None:
        return pending["request"]

    try:
        with org_context(organization):
            dsr = record_request(
                organization,
                kind=pending["kind"],
                email=pending["email"],
                details=pending["details"],
                channel=DataSubjectRequest.Channel.PUBLIC_FORM,
                verification_method=DataSubjectRequest.Verification.EMAIL_LINK,
                confirmation_nonce=pending["nonce"],
            )
    except IntegrityError:
        # Confirmed twice at once: the other confirmation recorded it.
        with org_context(organization):
            return DataSubjectRequest.objects.get(confirmation_nonce=pending["nonce"])
    key = PENDING_KEY.format(organization_id=organization.pk, nonce=pending["nonce"])
    cache.delete(key)
    return dsr
