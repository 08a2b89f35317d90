"""Each organization's data key: created once, sealed by the ring, destroyable."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from clozup import encryption
from clozup.lib import keyring
from clozup.models import OrganizationKey
from clozup.tenancy import MissingOrganization, org_context


def test_the_data_key_is_made_on_first_use_and_then_reused(org_a):
    with org_context(org_a):
        first = encryption.get_organization_data_key()
        second = encryption.get_organization_data_key(org_a.pk)

    assert len(first) == 32
    assert first == second


def test_organizations_get_different_keys(org_a, org_b):
    with org_context(org_a):
        key_a = encryption.get_organization_data_key()
    with org_context(org_b):
        key_b = encryption.get_organization_data_key()

    assert key_a != key_b


def test_the_stored_data_key_is_sealed_by_the_key_ring(org_a):
    with org_context(org_a):
        key = encryption.get_organization_data_key()
        with connection.cursor() as cursor:
            cursor.execute("SELECT key FROM clozup_organizationkey")
            (stored,) = cursor.fetchone()

    assert stored.startswith("v1:")
    assert key.hex() not in stored


def test_the_data_key_needs_its_organizations_context(org_a, org_b):
    with pytest.raises(MissingOrganization):
        encryption.get_organization_data_key()
    with org_context(org_a), pytest.raises(MissingOrganization):
        encryption.get_organization_data_key(org_b.pk)


def test_a_destroyed_key_cannot_be_used_again(org_a):
    with org_context(org_a):
        encryption.get_organization_data_key()

        assert encryption.destroy_organization_key(org_a.pk) is True
        assert encryption.destroy_organization_key(org_a.pk) is False
        with pytest.raises(encryption.OrganizationKeyDestroyed):
            encryption.get_organization_data_key()
        assert OrganizationKey.objects.get().key == ""


def test_destroying_a_key_never_made_still_stops_new_files(org_a):
    with org_context(org_a):
        assert encryption.destroy_organization_key(org_a.pk) is False

        with pytest.raises(encryption.OrganizationKeyDestroyed):
            encryption.get_organization_data_key()


def test_destroying_needs_the_organizations_context(org_a, org_b):
    with org_context(org_b), pytest.raises(MissingOrganization):
        encryption.destroy_organization_key(org_a.pk)


def test_two_processes_creating_the_first_key_at_once_agree(committed_db, make_org):
    organization = make_org()
    barrier = threading.Barrier(2)
    keys = []

    def first_use():
        try:
            with org_context(organization):
                barrier.wait(timeout=10)
                keys.append(encryption.get_organization_data_key())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(keys) == 2 and keys[0] == keys[1]


def test_generate_encryption_key_prints_a_usable_entry(capsys):
    call_command("generate_encryption_key", "2025a")

    entry = capsys.readouterr().out.strip()
    assert keyring.parse_key_ring([entry]).current.id == "2025a"


def test_generate_encryption_key_refuses_a_bad_id():
    with pytest.raises(CommandError, match="key_id"):
        call_command("generate_encryption_key", "not valid!")
