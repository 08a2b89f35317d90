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


def test_createorg_is_audited_with_the_operator(db):
    import getpass

    from audit.models import AuditEntry

    call_command(
        "createorg", name="Acme", slug="acme", owner_email="o" + chr(64) + "acme.test"
    )

    organization = Organization.objects.get(slug="acme")
    with org_context(organization):
        events = list(AuditEntry.objects.order_by("seq"))
    assert [e.action for e in events] == ["org.created", "member.added"]
    assert {e.actor_label for e in events} == {f"operator:{getpass.getuser()}"}


def test_support_commands_name_an_unknown_organization(db):
    with pytest.raises(CommandError, match="--org: no organization with slug 'nope'"):
        call_command("verify_audit", org="nope")


def test_support_command_runs_are_audited_with_operator_and_reason(db, org_a):
    from audit.models import AuditEntry

    call_command("verify_audit", org=org_a.slug, reason="TICKET-42 integrity check")

    with org_context(org_a):
        event = AuditEntry.objects.get(action="support.command_run")
    assert event.actor_type == "operator"
    assert event.metadata == {
        "command": "verify_audit",
        "reason": "TICKET-42 integrity check",
        "options": [],
    }
