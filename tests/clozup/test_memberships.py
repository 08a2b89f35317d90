"""The rules on members' roles, as the services enforce them for every caller."""

import pytest

from audit.models import AuditEntry
from clozup import services
from clozup.models import Membership, User
from clozup.tenancy import org_context

OPERATOR = "operator:support"


def _membership(org, user=None, *, role=None) -> Membership:
    with org_context(org):
        found = Membership.objects.select_related("user", "organization")
        return found.get(user=user) if user else found.get(role=role)


def test_an_admin_may_not_demote_an_owner(org_a, admin_a):
    owner = _membership(org_a, role="owner")

    with org_context(org_a), pytest.raises(services.OwnerRoleRequired):
        services.change_member_role(owner, role="rep", actor=admin_a)

    assert _membership(org_a, role="owner").pk == owner.pk


def test_an_admin_may_not_promote_anyone_to_owner(org_a, admin_a, rep_a):
    for person in (admin_a, rep_a):
        membership = _membership(org_a, person)
        with org_context(org_a), pytest.raises(services.OwnerRoleRequired):
            services.change_member_role(membership, role="owner", actor=admin_a)


def test_an_admin_may_not_remove_an_owner(org_a, admin_a, make_member):
    second_owner = _membership(org_a, make_member(org_a, role="owner"))

    with org_context(org_a), pytest.raises(services.OwnerRoleRequired):
        services.remove_member(second_owner, actor=admin_a)

    with org_context(org_a):
        assert Membership.objects.filter(role="owner").count() == 2


def test_an_admin_may_not_add_an_owner(org_a, admin_a, rep_b):
    with org_context(org_a), pytest.raises(services.OwnerRoleRequired):
        services.add_member(org_a, rep_b, role="owner", actor=admin_a)


def test_a_rep_may_not_change_anyones_role(org_a, rep_a, make_member):
    other = _membership(org_a, make_member(org_a))

    with org_context(org_a), pytest.raises(services.MemberManagementRequired):
        services.change_member_role(other, role="admin", actor=rep_a)


def test_an_admin_of_another_organization_may_not_add_members(org_a, org_b, rep_b):
    stranger = User.objects.get(pk=rep_b.pk)
    with org_context(org_b):
        Membership.objects.filter(user=stranger).update(role="owner")

    with org_context(org_a), pytest.raises(services.MemberManagementRequired):
        services.add_member(org_a, stranger, role="owner", actor=stranger)


def test_an_owner_grants_the_owner_role_and_it_is_audited(org_a, admin_a):
    owner = _membership(org_a, role="owner")
    membership = _membership(org_a, admin_a)

    with org_context(org_a):
        services.change_member_role(membership, role="owner", actor=owner.user)
        event = AuditEntry.objects.filter(action="member.role_changed").get()

    assert event.actor_id == owner.user.pk
    assert event.metadata == {"user_id": admin_a.pk, "from": "admin", "to": "owner"}


def test_the_last_owner_stays_even_for_an_operator(org_a):
    owner = _membership(org_a, role="owner")

    with org_context(org_a), pytest.raises(services.LastOwnerError):
        services.change_member_role(owner, role="rep", actor=OPERATOR)
    with org_context(org_a), pytest.raises(services.LastOwnerError):
        services.remove_member(owner, actor=OPERATOR)
    with org_context(org_a), pytest.raises(services.LastOwnerError):
        services.change_member_role(owner, role="admin", actor=owner.user)

    assert _membership(org_a, role="owner").pk == owner.pk
