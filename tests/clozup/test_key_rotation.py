"""rotate_keys: every encrypted value moves to the newest key, resumably."""

from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from clozup import encryption, integrations
from clozup.lib import keyring
from clozup.models import IntegrationCredential, WebhookEndpoint
from clozup.tenancy import org_context

OLD = keyring.generate_key_entry("old")
NEW = keyring.generate_key_entry("new")
RECORDING = b"a call recording that must survive the rotation " * 2000


@pytest.fixture
def estate(committed_db, settings, local_storages, make_org):
    """Two organizations with credentials, a webhook, data keys and a file,
    all sealed under the old key; then the new key is put first."""
    settings.ENCRYPTION_KEYS = [OLD]
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    org_a, org_b = make_org(), make_org()
    secrets = {}
    for organization, count in ((org_a, 4), (org_b, 2)):
        with org_context(organization):
            for n in range(count):
                credential = integrations.add_integration_credential(
                    organization.pk,
                    actor=None,
                    provider="hubspot",
                    label=f"key {n}",
                    secret=f"secret-{organization.pk}-{n}",
                )
                secrets[credential.pk] = f"secret-{organization.pk}-{n}"
    with org_context(org_a):
        integrations.create_webhook_endpoint(
            org_a.pk, actor=None, url="https://hooks.example.com"
        )
        file_name = storages["private"].save("call.wav", ContentFile(RECORDING))
    with org_context(org_b):
        encryption.get_organization_data_key()
    settings.ENCRYPTION_KEYS = [NEW, OLD]
    return {"orgs": (org_a, org_b), "secrets": secrets, "file": file_name}


def read_everything(estate) -> dict:
    org_a, org_b = estate["orgs"]
    values = {}
    for organization in (org_a, org_b):
        with org_context(organization):
            for credential in IntegrationCredential.objects.all():
                values[credential.pk] = credential.secret.reveal()
            for endpoint in WebhookEndpoint.objects.all():
                assert endpoint.signing_secret.reveal().startswith("whsec_")
            encryption.get_organization_data_key()
    with org_context(org_a), storages["private"].open(estate["file"]) as handle:
        assert handle.read() == RECORDING
    return values


# 6 credentials + 1 webhook secret + 2 organization data keys.
SEALED_VALUES = 9


def test_a_rotation_interrupted_halfway_resumes_and_loses_nothing(
    estate, settings, capsys
):
    assert encryption.count_values_on_older_keys() == SEALED_VALUES
    real_seal = keyring.seal
    calls = []

    def power_cut_after_four(*args, **kwargs):
        calls.append(1)
        if len(calls) > 4:
            raise RuntimeError("power cut")
        return real_seal(*args, **kwargs)

    with mock.patch.object(keyring, "seal", power_cut_after_four):
        with pytest.raises(RuntimeError, match="power cut"):
            call_command("rotate_keys", reason="ticket-9", batch_size=2)

    halfway = encryption.count_values_on_older_keys()
    assert 0 < halfway < SEALED_VALUES
    assert read_everything(estate) == estate["secrets"]

    call_command("rotate_keys", reason="ticket-9", batch_size=2)
    out = capsys.readouterr().out
    call_command("rotate_keys", reason="ticket-9", batch_size=2)
    rerun = capsys.readouterr().out

    assert f"values on older keys: {halfway} -> 0" in out
    assert "0 values moved" in rerun
    settings.ENCRYPTION_KEYS = [NEW]
    assert read_everything(estate) == estate["secrets"]


def test_after_rotation_nothing_is_readable_without_the_key_ring(estate, settings):
    call_command("rotate_keys", reason="ticket-9")

    settings.ENCRYPTION_KEYS = [OLD]
    org_a, _ = estate["orgs"]
    with org_context(org_a):
        credential = IntegrationCredential.objects.first()
        with pytest.raises(keyring.DecryptionFailed):
            credential.secret.reveal()
        with pytest.raises(keyring.DecryptionFailed):
            storages["private"].open(estate["file"])


def test_each_organizations_log_records_the_rotation(estate):
    org_a, org_b = estate["orgs"]

    call_command("rotate_keys", reason="ticket-9")

    for organization, expected in ((org_a, 6), (org_b, 3)):
        with org_context(organization):
            events = AuditEntry.objects.filter(action="keys.rotated")
            assert sum(e.metadata["values"] for e in events) == expected
            assert {e.metadata["reason"] for e in events} == {"ticket-9"}
            assert {e.metadata["to_key"] for e in events} == {"new"}


def test_a_dry_run_counts_and_changes_nothing(estate, capsys):
    call_command("rotate_keys", reason="ticket-9", dry_run=True)

    assert f"dry run: {SEALED_VALUES} values would move" in capsys.readouterr().out
    assert encryption.count_values_on_older_keys() == SEALED_VALUES


def test_a_value_no_key_opens_stops_the_rotation_naming_it(estate, settings):
    settings.ENCRYPTION_KEYS = [NEW]

    with pytest.raises(CommandError, match="'old' is not on the key ring"):
        call_command("rotate_keys", reason="ticket-9")


def test_rotate_keys_needs_a_reason(estate):
    with pytest.raises(CommandError, match="--reason"):
        call_command("rotate_keys", reason=" ")
