"""Integration credentials in the Admin Panel, and signed outgoing webhooks."""

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.db import IntegrityError, connection
from django.urls import reverse

from clozup import integrations
from clozup.lib import webhook_signing
from clozup.models import IntegrationCredential, WebhookDelivery, WebhookEndpoint
from clozup.tasks import deliver_webhook_task
from clozup.tenancy import org_context
from tests.tls import self_signed_certificate

API_KEY = "pat-eu1-0d6a1b2c-3e4f-5a6b-7c8d-9e0f1a2b3c4d"


def admin_url(name, *args):
    return reverse(f"admin:clozup_{name}", args=args)


# Credentials in the Admin Panel -------------------------------------------------


def add_credential(client, **fields):
    data = {"provider": "hubspot", "label": "", "kind": "api_key", "secret": API_KEY}
    data.update(fields)
    return client.post(admin_url("integrationcredential_add"), data, follow=True)


def test_an_admin_adds_a_credential_that_is_stored_encrypted(client, admin_a, org_a):
    client.force_login(admin_a)

    response = add_credential(client)

    assert response.status_code == 200
    assert API_KEY.encode() not in response.content
    assert API_KEY[-4:].encode() in response.content
    with org_context(org_a):
        credential = IntegrationCredential.objects.get()
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret FROM clozup_integrationcredential")
            (stored,) = cursor.fetchone()
    assert credential.secret.reveal() == API_KEY
    assert credential.created_by == admin_a
    assert API_KEY not in stored


def test_the_change_form_never_sends_the_secret_back(client, admin_a, org_a):
    client.force_login(admin_a)
    add_credential(client)
    with org_context(org_a):
        credential = IntegrationCredential.objects.get()
        stored = IntegrationCredential.objects.values_list("secret", flat=True).get()

    response = client.get(admin_url("integrationcredential_change", credential.pk))

    assert response.status_code == 200
    assert API_KEY.encode() not in response.content
    assert stored.encode() not in response.content
    assert b"Leave empty to keep it" in response.content


def test_a_form_that_fails_validation_does_not_echo_the_secret(client, admin_a):
    client.force_login(admin_a)

    response = add_credential(client, provider="not a slug!")

    assert response.status_code == 200
    assert b"errornote" in response.content
    assert API_KEY.encode() not in response.content


def test_an_empty_secret_on_change_keeps_the_stored_one(client, admin_a, org_a):
    client.force_login(admin_a)
    add_credential(client)
    with org_context(org_a):
        credential = IntegrationCredential.objects.get()
    url = admin_url("integrationcredential_change", credential.pk)

    client.post(url, {"label": "prod", "secret": "", "refresh_token": ""})
    with org_context(org_a):
        kept = IntegrationCredential.objects.get()
    client.post(url, {"label": "prod", "secret": "new-key-value"})
    with org_context(org_a):
        replaced = IntegrationCredential.objects.get()

    assert (kept.label, kept.secret.reveal()) == ("prod", API_KEY)
    assert replaced.secret.reveal() == "new-key-value"


def test_an_admin_removes_a_credential(client, admin_a, org_a):
    client.force_login(admin_a)
    add_credential(client)
    with org_context(org_a):
        credential = IntegrationCredential.objects.get()

    client.post(
        admin_url("integrationcredential_delete", credential.pk), {"post": "yes"}
    )

    with org_context(org_a):
        assert not IntegrationCredential.objects.exists()


def test_another_organizations_admin_sees_no_credential(
    client, admin_a, org_b, make_member
):
    client.force_login(admin_a)
    add_credential(client)
    client.force_login(make_member(org_b, role="admin"))

    response = client.get(admin_url("integrationcredential_changelist"))

    assert response.status_code == 200
    assert b"hubspot" not in response.content


def test_a_rep_cannot_open_the_credentials(client, rep_a):
    client.force_login(rep_a)

    response = client.get(admin_url("integrationcredential_changelist"), follow=True)

    assert response.status_code == 403


# Webhook endpoints -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/clozup",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
    ],
)
def test_webhooks_go_only_to_https_urls_on_public_addresses(org_a, url):
    refused = pytest.raises(integrations.InsecureWebhookURL, match="url")

    with org_context(org_a), refused:
        integrations.create_webhook_endpoint(org_a.pk, actor=None, url=url)


def test_the_database_refuses_a_plain_http_endpoint(org_a):
    endpoint = WebhookEndpoint(
        organization=org_a, url="http://hooks.example.com", signing_secret="s"
    )

    with org_context(org_a), pytest.raises(IntegrityError):
        endpoint.save(force_insert=True)


def test_an_admin_sees_the_signing_secret_once(client, admin_a, org_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    client.force_login(admin_a)

    created = client.post(
        admin_url("webhookendpoint_add"),
        {"url": "https://hooks.example.com/c", "events": "deal.won", "is_active": "on"},
        follow=True,
    )
    with org_context(org_a):
        endpoint = WebhookEndpoint.objects.get()
    secret = endpoint.signing_secret.reveal()
    later = client.get(admin_url("webhookendpoint_change", endpoint.pk))

    assert secret.encode() in created.content
    assert secret.encode() not in later.content
    assert endpoint.events == ["deal.won"]


def test_the_admin_form_names_the_url_field_when_refusing(client, admin_a):
    client.force_login(admin_a)

    response = client.post(
        admin_url("webhookendpoint_add"),
        {"url": "http://hooks.example.com/c", "events": "", "is_active": "on"},
    )

    assert response.status_code == 200
    assert b"url: webhooks are sent to https:// URLs only" in response.content


def test_rotating_the_secret_replaces_it(org_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    with org_context(org_a):
        endpoint, first = integrations.create_webhook_endpoint(
            org_a.pk, actor=None, url="https://hooks.example.com"
        )
        second = integrations.rotate_webhook_secret(endpoint, actor=None)
        stored = WebhookEndpoint.objects.get().signing_secret.reveal()

    assert first != second == stored


# Sending ---------------------------------------------------------------------------


@pytest.fixture
def endpoints(org_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    def make(url="https://hooks.example.com/clozup", events=()):
        with org_context(org_a):
            endpoint, _ = integrations.create_webhook_endpoint(
                org_a.pk, actor=None, url=url, events=events
            )
        return endpoint

    return make


def test_an_event_is_queued_for_endpoints_that_receive_it_once_committed(
    org_a, endpoints, django_capture_on_commit_callbacks
):
    everything = endpoints()
    deals = endpoints(events=["deal.won"])
    endpoints(events=["lead.created"])

    with mock.patch.object(deliver_webhook_task, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with org_context(org_a):
                deliveries = integrations.send_webhook_event(
                    org_a.pk, event="deal.won", data={"deal_id": 7}
                )
            assert delay.call_count == 0

    assert {d.endpoint_id for d in deliveries} == {everything.pk, deals.pk}
    assert len(callbacks) == 2
    assert sorted(c.args for c in delay.call_args_list) == sorted(
        (org_a.pk, d.pk) for d in deliveries
    )


class Receiver(BaseHTTPRequestHandler):
    """A customer's webhook endpoint: records requests, answers `status`."""

    received: list
    status = 204

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(self.status)
        if self.status in (301, 302):
            self.send_header("Location", "http://127.0.0.1/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        return None


@pytest.fixture
def tls_versions():
    return ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.MAXIMUM_SUPPORTED


@pytest.fixture
def receiver(tmp_path, monkeypatch, tls_versions):
    """A real HTTPS server on loopback, trusted through SSL_CERT_FILE."""
    cert_path, key_path = self_signed_certificate(tmp_path)
    handler = type("Handler", (Receiver,), {"received": [], "status": 204})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version, context.maximum_version = tls_versions
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    handler.url = f"https://127.0.0.1:{server.server_address[1]}/hook"
    yield handler
    server.shutdown()
    server.server_close()


def _queue(org, event="deal.won", data=None):
    with mock.patch.object(deliver_webhook_task, "delay"):
        with org_context(org):
            (delivery,) = integrations.send_webhook_event(
                org.pk, event=event, data=data or {"deal_id": 7}
            )
    return delivery


def _reload(org, delivery):
    with org_context(org):
        return WebhookDelivery.objects.get(pk=delivery.pk)


def test_a_delivery_is_posted_over_tls_and_signed(org_a, endpoints, receiver):
    endpoint = endpoints(url=receiver.url)
    delivery = _queue(org_a)

    status = deliver_webhook_task(org_a.pk, delivery.pk)

    headers, body = receiver.received[0]
    secret = endpoint.signing_secret.reveal()
    timestamp = int(headers["Clozup-Signature"].split(",")[0][2:])
    assert status == "delivered"
    assert webhook_signing.is_valid_signature(
        secret, headers["Clozup-Signature"], body, now=timestamp
    )
    assert json.loads(body)["data"] == {"deal_id": 7}
    assert headers["Clozup-Event"] == "deal.won"
    finished = _reload(org_a, delivery)
    assert (finished.status, finished.attempts, finished.payload) == (
        "delivered",
        1,
        {},
    )


def test_running_a_finished_delivery_again_sends_nothing(org_a, endpoints, receiver):
    endpoints(url=receiver.url)
    delivery = _queue(org_a)
    deliver_webhook_task(org_a.pk, delivery.pk)

    assert deliver_webhook_task(org_a.pk, delivery.pk) == "finished"
    assert len(receiver.received) == 1


def test_a_failing_receiver_is_retried_then_given_up(org_a, endpoints, receiver):
    receiver.status = 500
    endpoints(url=receiver.url)
    delivery = _queue(org_a)

    with mock.patch.object(deliver_webhook_task, "apply_async") as retry:
        for _ in range(integrations.MAX_ATTEMPTS):
            deliver_webhook_task(org_a.pk, delivery.pk)

    given_up = _reload(org_a, delivery)
    assert retry.call_count == integrations.MAX_ATTEMPTS - 1
    assert [c.kwargs["countdown"] for c in retry.call_args_list] == list(
        integrations.RETRY_DELAYS
    )
    assert (given_up.status, given_up.attempts, given_up.error) == (
        "failed",
        integrations.MAX_ATTEMPTS,
        "HTTP 500",
    )
    assert given_up.payload == {}


def test_a_redirect_is_not_followed(org_a, endpoints, receiver):
    receiver.status = 302
    endpoints(url=receiver.url)
    delivery = _queue(org_a)

    with mock.patch.object(deliver_webhook_task, "apply_async"):
        deliver_webhook_task(org_a.pk, delivery.pk)

    assert len(receiver.received) == 1
    assert _reload(org_a, delivery).response_status == 302


def test_an_untrusted_certificate_is_a_failed_attempt(
    org_a, endpoints, receiver, monkeypatch
):
    monkeypatch.delenv("SSL_CERT_FILE")
    endpoints(url=receiver.url)
    delivery = _queue(org_a)

    with mock.patch.object(deliver_webhook_task, "apply_async"):
        deliver_webhook_task(org_a.pk, delivery.pk)

    assert receiver.received == []
    assert _reload(org_a, delivery).error == "ConnectError"


@pytest.mark.parametrize(
    "tls_versions", [(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)]
)
def test_a_receiver_without_tls_1_3_gets_nothing(org_a, endpoints, receiver):
    endpoints(url=receiver.url)
    delivery = _queue(org_a)

    with mock.patch.object(deliver_webhook_task, "apply_async"):
        deliver_webhook_task(org_a.pk, delivery.pk)

    assert receiver.received == []
    assert _reload(org_a, delivery).error == "ConnectError"


@pytest.mark.parametrize(
    "change",
    ["old-timestamp", "wrong-secret", "altered-body", "garbage-header"],
)
def test_a_receiver_rejects_signatures_that_do_not_hold(change):
    secret, body, now = "whsec_abc", b'{"event":"deal.won"}', 1_800_000_000
    header = webhook_signing.signature(secret, now, body)
    if change == "old-timestamp":
        header = webhook_signing.signature(secret, now - 600, body)
    elif change == "wrong-secret":
        secret = "whsec_other"
    elif change == "altered-body":
        body = body.replace(b"won", b"lost")
    else:
        header = "v1=deadbeef"

    assert webhook_signing.is_valid_signature(secret, header, body, now=now) is False
    assert webhook_signing.is_valid_signature(
        "whsec_abc",
        webhook_signing.signature("whsec_abc", now, b"x"),
        b"x",
        now=now,
    )


def test_every_credential_and_webhook_change_is_audited_without_secrets(
    client, admin_a, org_a, settings
):
    from audit.models import AuditEntry

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    client.force_login(admin_a)
    add_credential(client)
    with org_context(org_a):
        credential = IntegrationCredential.objects.get()
    client.post(
        admin_url("integrationcredential_change", credential.pk),
        {"label": "prod", "secret": "rotated-key-value"},
    )
    client.post(
        admin_url("integrationcredential_delete", credential.pk), {"post": "yes"}
    )
    with org_context(org_a):
        endpoint, _ = integrations.create_webhook_endpoint(
            org_a.pk, actor=admin_a, url="https://hooks.example.com"
        )
        integrations.rotate_webhook_secret(endpoint, actor=admin_a)
        entries = list(
            AuditEntry.objects.filter(action="settings.integration_changed")
            .order_by("seq")
            .values_list("actor_id", "metadata")
        )

    assert [metadata["change"] for _, metadata in entries] == [
        "credential_added",
        "credential_changed",
        "credential_removed",
        "webhook_created",
        "webhook_secret_rotated",
    ]
    assert {actor for actor, _ in entries} == {admin_a.pk}
    assert entries[1][1]["fields"] == ["label", "secret"]
    assert API_KEY not in str(entries) and "rotated-key-value" not in str(entries)
