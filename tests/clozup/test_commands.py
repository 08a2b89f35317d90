import pytest
from django.core.management import CommandError, call_command

from clozup.models import Membership, Organization
from clozup.tenancy import org_context
from crm.models import Stage


def test_createorg_creates_the_organization_owner_and_pipeline(db, capsys):
    call_command(
        "createorg",
        name="Acme",
        slug="acme",
        plan="enterprise",
        owner_email="owner@acme.test",
    )

    out = capsys.readouterr().out
    organization = Organization.objects.get(slug="acme")
    assert organization.plan == "enterprise"
    assert "owner@acme.test" in out and "password: " in out
    with org_context(organization):
        owner = Membership.objects.get()
        assert owner.role == "owner" and owner.user.email == "owner@acme.test"
        assert Stage.objects.filter(is_won=True).count() == 1


def test_createorg_refuses_a_taken_slug_naming_the_argument(db, org_a):
    with pytest.raises(CommandError, match="--slug"):
        call_command(
            "createorg", name="X", slug=org_a.slug, owner_email="someone@acme.test"
        )


def test_createorg_refuses_a_bad_email(db):
    with pytest.raises(CommandError, match="--owner-email"):
        call_command("createorg", name="X", slug="x", owner_email="not-an-email")
