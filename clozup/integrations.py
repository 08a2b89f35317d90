"""Services for integration credentials and outgoing webhooks.

Secrets are stored encrypted (`clozup.lib.encrypted_fields`) and leave the
application only towards the service they belong to. Webhooks go to https
URLs only, signed (`clozup.lib.webhook_signing`), from a Celery task.
"""

import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup.lib import webhook_signing
from clozup.models import IntegrationCredential, User, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

EVENT_NAME_MAX = 100
TEST_EVENT = "webhook.test"
MAX_ATTEMPTS = 5
# Seconds to wait before attempt n + 1 (after attempt n failed).
RETRY_DELAYS = (30, 120, 600, 3600)
TIMEOUT_SECONDS = 10


class InsecureWebhookURL(ValueError):
    """A webhook URL that is not https, or that points inside our network."""


def _record(organization_id, *, actor, target, change: str, request=None, **ids):
    # Ids and field names only: never the secrets, nor the URL's query.
    audit.record_event(
        Action.INTEGRATION_CHANGED,
        organization=organization_id,
        actor=actor,
        target=target,
        metadata={"change": change, **ids},
        request=request,
    )


# Integration credentials -------------------------------------------------------


@transaction.atomic
def add_integration_credential(
    organization_id: int,
    *,
    actor: User | None,
    provider: str,
    secret: str,
    label: str = "",
    kind: str = IntegrationCredential.Kind.API_KEY,
    refresh_token: str = "",
    expires_at=None,
    request=None,
) -> IntegrationCredential:
    """Store a credential, encrypted. Call inside the organization's context.
    Audited (`settings.integration_changed`)."""
    credential = IntegrationCredential(
        organization_id=organization_id,
        provider=provider,
        label=label,
        kind=kind,
        secret=secret,
        refresh_token=refresh_token,
        expires_at=expires_at,
        created_by=actor,
    )
    credential.save(force_insert=True)
    _record(
        organization_id,
        actor=actor,
        target=credential,
        change="credential_added",
        provider=provider,
        request=request,
    )
    return credential


@transaction.atomic
def update_integration_credential(
    credential: IntegrationCredential,
    *,
    actor: User | None,
    label: str | None = None,
    secret: str = "",
    refresh_token: str = "",
    expires_at=None,
    request=None,
) -> IntegrationCredential:
    """Change a credential; audited with the names of the fields changed.

    Empty secrets keep the stored ones (a refreshed OAuth token passes the
    new ones).
    """
    fields = ["updated_at"]
    for name, value in (
        ("label", label),
        ("secret", secret or None),
        ("refresh_token", refresh_token or None),
        ("expires_at", expires_at),
    ):
        if value is not None:
            setattr(credential, name, value)
            fields.append(name)
    credential.save(update_fields=fields)
    _record(
        credential.organization_id,
        actor=actor,
        target=credential,
        change="credential_changed",
        fields=sorted(set(fields) - {"updated_at"}),
        request=request,
    )
    return credential


@transaction.atomic
def remove_integration_credential(
    credential: IntegrationCredential, *, actor: User | None, request=None
) -> None:
    target = ("clozup.integrationcredential", credential.pk)
    credential.delete()
    _record(
        credential.organization_id,
        actor=actor,
        target=target,
        change="credential_removed",
        provider=credential.provider,
        request=request,
    )


# Webhook endpoints -------------------------------------------------------------


def check_webhook_url(url: str) -> str:
    """Refuse anything but https to a public address; returns the URL.

    Private, loopback and link-local addresses (a cloud's metadata service
    among them) are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is on.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InsecureWebhookURL("url: webhooks are sent to https:// URLs only")
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return url
    try:
        addresses = {
            info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)
        }
    except socket.gaierror:
        raise InsecureWebhookURL(f"url: {parts.hostname} does not resolve") from None
    for address in addresses:
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            raise InsecureWebhookURL(
                f"url: {parts.hostname} resolves to a private address ({address})"
            )
    return url


def _new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@transaction.atomic
def create_webhook_endpoint(
    organization_id: int,
    *,
    actor: User | None,
    url: str,
    events: list[str] | tuple[str, ...] = (),
    description: str = "",
    request=None,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint with a new signing secret.

    Returns the endpoint and the secret, for showing once to the admin, who
    configures it at the receiving end. Call inside the organization's context.
    """
    check_webhook_url(url)
    signing_secret = _new_signing_secret()
    endpoint = WebhookEndpoint(
        organization_id=organization_id,
        url=url,
        events=sorted(set(events)),
        description=description,
        signing_secret=signing_secret,
        created_by=actor,
    )
    endpoint.save(force_insert=True)
    _record(
        organization_id,
        actor=actor,
        target=endpoint,
        change="webhook_created",
        request=request,
    )
    return endpoint, signing_secret


@transaction.atomic
def update_webhook_endpoint(
    endpoint: WebhookEndpoint,
    *,
    actor: User | None,
    url: str,
    events: list[str] | tuple[str, ...],
    description: str,
    is_active: bool,
    request=None,
) -> WebhookEndpoint:
    check_webhook_url(url)
    endpoint.url = url
    endpoint.events = sorted(set(events))
    endpoint.description = description
    endpoint.is_active = is_active
    endpoint.save(
        update_fields=["url", "events", "description", "is_active", "updated_at"]
    )
    _record(
        endpoint.organization_id,
        actor=actor,
        target=endpoint,
        change="webhook_changed",
        request=request,
    )
    return endpoint


@transaction.atomic
def delete_webhook_endpoint(
    endpoint: WebhookEndpoint, *, actor: User | None, request=None
) -> None:
    """Delete an endpoint and its deliveries; audited."""
    target = ("clozup.webhookendpoint", endpoint.pk)
    endpoint.delete()
    _record(
        endpoint.organization_id,
        actor=actor,
        target=target,
        change="webhook_deleted",
        request=request,
    )


@transaction.atomic
def rotate_webhook_secret(
    endpoint: WebhookEndpoint, *, actor: User | None, request=None
) -> str:
    """Give the endpoint a new signing secret; returns it for showing once."""
    signing_secret = _new_signing_secret()
    endpoint.signing_secret = signing_secret
    endpoint.save(update_fields=["signing_secret", "updated_at"])
    _record(
        endpoint.organization_id,
        actor=actor,
        target=endpoint,
        change="webhook_secret_rotated",
        request=request,
    )
    return signing_secret


# Sending ---------------------------------------------------------------------------


@transaction.atomic
def send_webhook_event(
    organization_id: int, *, event: str, data: dict
) -> list[WebhookDelivery]:
    """Queue `event` for every active endpoint that receives it.

    Call inside the organization's context, in the transaction of the change
    the event reports: the deliveries are sent by a task once it commits.
    `data` must be JSON-serialisable; keep personal data to what the
    organization's receiver needs.
    """
    from clozup.tasks import deliver_webhook_task

    if not event or len(event) > EVENT_NAME_MAX:
        raise ValueError(f"event: {event!r} is not an event name")
    deliveries = [
        WebhookDelivery.objects.create(
            organization_id=organization_id,
            endpoint=endpoint,
            event=event,
            payload=json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
        )
        for endpoint in WebhookEndpoint.objects.filter(is_active=True).order_by("pk")
        if endpoint.receives(event)
    ]
    for delivery in deliveries:
        transaction.on_commit(
            lambda d=delivery: deliver_webhook_task.delay(organization_id, d.pk)
        )
    return deliveries


def send_test_event(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` event to this endpoint only, whatever it receives."""
    from clozup.tasks import deliver_webhook_task

    delivery = WebhookDelivery.objects.create(
        organization_id=endpoint.organization_id,
        endpoint=endpoint,
        event=TEST_EVENT,
        payload={"endpoint_id": endpoint.pk},
    )
    transaction.on_commit(
        lambda: deliver_webhook_task.delay(endpoint.organization_id, delivery.pk)
    )
    return delivery


def deliver_webhook(delivery: WebhookDelivery) -> bool:
    """Post one delivery, signed. Returns True when the receiver took it (2xx).

    Runs outside any transaction: the caller loads and saves around it.
    Redirects are not followed (they could lead off https or inside); TLS
    older than 1.3 is refused.
    """
    endpoint = delivery.endpoint
    check_webhook_url(endpoint.url)
    timestamp = int(time.time())
    body = json.dumps(
        {
            "id": delivery.pk,
            "event": delivery.event,
            "created_at": delivery.created_at.isoformat(),
            "organization_id": delivery.organization_id,
            "data": delivery.payload,
        },
        separators=(",", ":"),
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Clozup-Webhooks/1",
        "Clozup-Event": delivery.event,
        "Clozup-Delivery": str(delivery.pk),
        webhook_signing.HEADER: webhook_signing.signature(
            endpoint.signing_secret.reveal(), timestamp, body
        ),
    }
    # The security page promises TLS 1.3 for webhook payloads.
    tls = httpx.create_ssl_context()
    tls.minimum_version = ssl.TLSVersion.TLSv1_3
    with httpx.Client(
        timeout=TIMEOUT_SECONDS, follow_redirects=False, verify=tls
    ) as client:
        response = client.post(endpoint.url, content=body, headers=headers)
    delivery.response_status = response.status_code
    return 200 <= response.status_code < 300


@transaction.atomic
def record_webhook_result(
    delivery: WebhookDelivery, *, delivered: bool, error: str = ""
) -> WebhookDelivery:
    """Count an attempt; finish the delivery when it succeeded or ran out.

    A finished delivery drops its payload: it is kept only to be sent.
    """
    delivery.attempts += 1
    delivery.error = error[:200]
    if delivered or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = (
            WebhookDelivery.Status.DELIVERED
            if delivered
            else WebhookDelivery.Status.FAILED
        )
        delivery.finished_at = timezone.now()
        delivery.payload = {}
    delivery.save(
        update_fields=[
            "attempts",
            "error",
            "status",
            "finished_at",
            "payload",
            "response_status",
        ]
    )
    return delivery
