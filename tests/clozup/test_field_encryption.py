"""Encrypted fields: what the database holds, and what it takes to read it."""

import pytest
from django.core import checks
from django.db import connection, models
from django.test.utils import isolate_apps

from clozup.lib import keyring
from clozup.lib.encrypted_fields import EncryptedTextField, Secret
from clozup.models import IntegrationCredential
from clozup.tenancy import org_context

API_KEY = "sk_live_51HxQ2eLkN0tAReal1yS3cretValue9"
OLD = keyring.generate_key_entry("old")
NEW = keyring.generate_key_entry("new")


@pytest.fixture
def ring(settings):
    def use(*entries):
        settings.ENCRYPTION_KEYS = list(entries)

    use(OLD)
    return use


def make_credential(organization, **fields):
    fields.setdefault("provider", "hubspot")
    fields.setdefault("secret", API_KEY)
    with org_context(organization):
        return IntegrationCredential.objects.create(organization=organization, **fields)


def raw_column(credential, column="secret") -> str:
    with org_context(credential.organization_id), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM clozup_integrationcredential WHERE id = %s",
            [credential.pk],
        )
        return cursor.fetchone()[0]


def write_raw_column(credential, value, column="secret") -> None:
    with org_context(credential.organization_id), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE clozup_integrationcredential SET {column} = %s WHERE id = %s",
            [value, credential.pk],
        )


def reload(credential) -> IntegrationCredential:
    with org_context(credential.organization_id):
        return IntegrationCredential.objects.get(pk=credential.pk)


def test_a_secret_round_trips_and_the_column_holds_no_plaintext(org_a, ring):
    credential = make_credential(org_a)

    stored = raw_column(credential)

    assert API_KEY not in stored
    assert stored.startswith("v1:old:")
    assert reload(credential).secret.reveal() == API_KEY


def test_a_secret_prints_masked_everywhere_but_reveal(org_a, ring):
    secret = reload(make_credential(org_a)).secret

    assert isinstance(secret, Secret)
    assert API_KEY not in f"{secret} {secret!r}"
    assert secret.masked() == "\u2022" * 8 + API_KEY[-4:]


def test_a_short_secret_shows_none_of_its_characters(org_a, ring):
    secret = reload(make_credential(org_a, secret="abc123")).secret

    assert secret.masked() == "\u2022" * 8


def test_a_value_copied_into_another_row_fails_to_decrypt(org_a, ring):
    first = make_credential(org_a, label="first")
    second = make_credential(org_a, label="second", secret="another-secret-value")

    write_raw_column(second, raw_column(first))

    with pytest.raises(keyring.DecryptionFailed, match="another row"):
        reload(second).secret.reveal()


def test_a_value_copied_into_another_column_fails_to_decrypt(org_a, ring):
    credential = make_credential(
        org_a, kind=IntegrationCredential.Kind.OAUTH, refresh_token="refresh-me"
    )

    write_raw_column(credential, raw_column(credential), column="refresh_token")

    with pytest.raises(keyring.DecryptionFailed):
        reload(credential).refresh_token.reveal()


def test_a_tampered_ciphertext_fails_to_decrypt(org_a, ring):
    credential = make_credential(org_a)
    stored = raw_column(credential)
    flipped = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]

    write_raw_column(credential, flipped)

    with pytest.raises(keyring.DecryptionFailed, match="does not authenticate"):
        reload(credential).secret.reveal()


def test_a_value_relabelled_with_another_key_id_fails_to_decrypt(org_a, ring):
    credential = make_credential(org_a)
    ring(NEW, OLD)

    write_raw_column(credential, raw_column(credential).replace("v1:old:", "v1:new:"))

    with pytest.raises(keyring.DecryptionFailed):
        reload(credential).secret.reveal()


def test_without_its_key_on_the_ring_a_value_cannot_be_read(org_a, ring):
    credential = make_credential(org_a)
    ring(NEW)

    with pytest.raises(keyring.DecryptionFailed, match="not on the key ring"):
        reload(credential).secret.reveal()


def test_the_newest_key_encrypts_and_older_keys_still_decrypt(org_a, ring):
    before = make_credential(org_a, label="before")
    ring(NEW, OLD)

    after = make_credential(org_a, label="after")

    assert reload(before).secret.key_id == "old"
    assert reload(after).secret.key_id == "new"
    assert reload(before).secret.reveal() == API_KEY


def test_saving_an_unchanged_secret_keeps_its_ciphertext(org_a, ring):
    credential = make_credential(org_a)
    stored = raw_column(credential)

    loaded = reload(credential)
    loaded.label = "renamed"
    with org_context(org_a):
        loaded.save()

    assert raw_column(credential) == stored


def test_a_secret_assigned_from_another_row_is_sealed_for_its_new_row(org_a, ring):
    source = reload(make_credential(org_a, label="source"))
    target = make_credential(org_a, label="target", secret="to-be-replaced")

    target.secret = source.secret
    with org_context(org_a):
        target.save()

    assert reload(target).secret.reveal() == API_KEY
    assert raw_column(target) != raw_column(source)


def test_a_cloned_row_gets_its_own_ciphertext(org_a, ring):
    clone = reload(make_credential(org_a, label="original"))

    clone.pk = None
    clone.label = "copy"
    with org_context(org_a):
        clone.save()

    assert reload(clone).secret.reveal() == API_KEY


def test_the_row_id_is_known_before_the_insert(org_a, ring):
    credential = IntegrationCredential(organization=org_a, provider="x", secret="s")

    with org_context(org_a):
        credential.save()

    assert reload(credential).secret.reveal() == "s"


def test_update_with_plain_text_is_refused(org_a, ring):
    make_credential(org_a)

    with org_context(org_a), pytest.raises(TypeError, match="saving the model"):
        IntegrationCredential.objects.update(secret="plain text")


def test_an_empty_optional_secret_stays_empty(org_a, ring):
    credential = make_credential(org_a)

    assert raw_column(credential, "refresh_token") == ""
    assert reload(credential).refresh_token == ""


def test_an_encrypted_field_on_a_model_without_a_preallocated_id_fails_checks():
    with isolate_apps("tests"):

        class Careless(models.Model):
            token = EncryptedTextField()

            class Meta:
                app_label = "tests"

            def __str__(self):
                return "careless"

        errors = Careless._meta.get_field("token").check()

    assert [error.id for error in errors] == ["clozup.E010"]
    assert all(isinstance(error, checks.Error) for error in errors)


@pytest.mark.parametrize(
    "entries, message",
    [
        ([], "empty"),
        (["no-separator"], "entry 1"),
        (["k1:dG9vLXNob3J0"], "32 bytes"),
        ([OLD, OLD], "appears twice"),
        (["bad id!:" + "A" * 43], "entry 1"),
    ],
)
def test_a_bad_key_ring_is_refused_naming_the_entry(entries, message):
    with pytest.raises(keyring.InvalidKeyRing, match=message):
        keyring.parse_key_ring(entries)


def test_a_bad_key_ring_fails_the_system_check_naming_the_setting(settings):
    from clozup.checks import check_encryption_keys

    settings.ENCRYPTION_KEYS = ["k1:short"]

    errors = check_encryption_keys(None)

    assert [error.id for error in errors] == ["clozup.E001"]
    assert "ENCRYPTION_KEYS" in errors[0].msg


def test_the_key_ring_is_never_printed(settings):
    ring = keyring.parse_key_ring([OLD])

    assert OLD.split(":")[1] not in repr(ring)
