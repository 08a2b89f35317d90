import pytest
from django.urls import reverse

from clozup.models import Membership, User
from clozup.tenancy import org_context


def test_an_admin_sees_only_their_organizations_members(client, admin_a, rep_a, rep_b):
    client.force_login(admin_a)

    response = client.get(reverse("admin:clozup_membership_changelist"))

    assert response.status_code == 200
    assert rep_a.email.encode() in response.content
    assert rep_b.email.encode() not in response.content


def test_a_rep_cannot_enter_the_admin_panel(client, rep_a):
    client.force_login(rep_a)

    response = client.get(reverse("admin:clozup_membership_changelist"), follow=True)

    assert response.status_code == 403
    assert b"for owners and admins" in response.content


def test_clozup_staff_get_no_access_to_organization_data(client, db, rep_a):
    staff = User.objects.create_superuser("staff@clozup.example", "x" * 20)
    client.force_login(staff)

    for name in ("admin:index", "admin:clozup_membership_changelist"):
        assert client.get(reverse(name), follow=True).status_code == 403


def test_the_admin_panel_signs_in_through_the_regular_flow(client, db):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_an_admin_opening_another_organizations_membership_gets_nothing(
    client, admin_a, rep_b, org_b
):
    with org_context(org_b):
        foreign = Membership.objects.get(user=rep_b)
    client.force_login(admin_a)

    response = client.get(reverse("admin:clozup_membership_change", args=[foreign.pk]))

    assert response.status_code in (302, 404)
    assert rep_b.email.encode() not in response.content


def test_an_admin_adds_a_member_by_email(client, admin_a, org_a):
    client.force_login(admin_a)

    response = client.post(
        reverse("admin:clozup_membership_add"),
        {"email": "new.rep@example.com", "role": "rep"},
    )

    assert response.status_code == 302
    with org_context(org_a):
        assert Membership.objects.filter(user__email="new.rep@example.com").exists()


@pytest.mark.parametrize("role", ["rep", "admin"])
def test_adding_an_existing_member_twice_names_the_email_field(
    client, admin_a, rep_a, role
):
    client.force_login(admin_a)

    response = client.post(
        reverse("admin:clozup_membership_add"), {"email": rep_a.email, "role": role}
    )

    assert response.status_code == 200
    assert b"already a member" in response.content


def _events(org, action):
    from audit.models import AuditEntry

    with org_context(org):
        return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def test_adding_a_member_is_audited_with_the_admin_as_actor(client, admin_a, org_a):
    client.force_login(admin_a)

    client.post(
        reverse("admin:clozup_membership_add"),
        {"email": "added.rep" + chr(64) + "example.com", "role": "rep"},
    )

    event = _events(org_a, "member.added")[-1]
    assert event.actor_id == admin_a.pk
    assert event.metadata["role"] == "rep"
    assert "added.rep" not in repr(event.metadata)


def test_changing_a_role_is_audited_with_before_and_after(
    client, admin_a, rep_a, org_a
):
    with org_context(org_a):
        membership = Membership.objects.get(user=rep_a)
    client.force_login(admin_a)

    response = client.post(
        reverse("admin:clozup_membership_change", args=[membership.pk]),
        {"role": "admin"},
    )

    assert response.status_code == 302
    event = _events(org_a, "member.role_changed")[-1]
    assert event.metadata == {"user_id": rep_a.pk, "from": "rep", "to": "admin"}


def test_removing_a_member_is_audited_and_keeps_their_records(
    client, admin_a, rep_a, org_a, make_company
):
    company = make_company(org_a, owner=rep_a)
    with org_context(org_a):
        membership = Membership.objects.get(user=rep_a)
    client.force_login(admin_a)

    client.post(
        reverse("admin:clozup_membership_delete", args=[membership.pk]), {"post": "yes"}
    )

    assert _events(org_a, "member.removed")[-1].metadata["user_id"] == rep_a.pk
    with org_context(org_a):
        company.refresh_from_db()
        assert not Membership.objects.filter(user=rep_a).exists()
    assert company.owner_id is None


def _owner_of(org):
    with org_context(org):
        return Membership.objects.select_related("user").get(role="owner")


def test_the_last_owner_can_be_neither_demoted_nor_removed(client, org_a):
    owner = _owner_of(org_a)
    client.force_login(owner.user)
    change_url = reverse("admin:clozup_membership_change", args=[owner.pk])

    demote = client.post(change_url, {"role": "admin"})
    remove = client.post(
        reverse("admin:clozup_membership_delete", args=[owner.pk]), {"post": "yes"}
    )

    assert b"keep at least one owner" in demote.content
    assert remove.status_code == 403
    with org_context(org_a):
        assert Membership.objects.get(pk=owner.pk).role == "owner"


def test_an_admin_cannot_make_themselves_owner(client, admin_a, org_a):
    with org_context(org_a):
        own = Membership.objects.get(user=admin_a)
    client.force_login(admin_a)

    response = client.post(
        reverse("admin:clozup_membership_change", args=[own.pk]), {"role": "owner"}
    )

    assert response.status_code == 200
    assert b"only an owner may grant the owner role" in response.content
    with org_context(org_a):
        assert Membership.objects.get(pk=own.pk).role == "admin"
    assert _events(org_a, "member.role_changed") == []


def test_an_admin_cannot_demote_or_remove_an_owner(client, admin_a, org_a):
    owner = _owner_of(org_a)
    client.force_login(admin_a)

    demote = client.post(
        reverse("admin:clozup_membership_change", args=[owner.pk]), {"role": "rep"}
    )
    remove = client.post(
        reverse("admin:clozup_membership_delete", args=[owner.pk]), {"post": "yes"}
    )

    assert b"only an owner may grant the owner role" in demote.content
    assert remove.status_code == 403
    with org_context(org_a):
        assert Membership.objects.get(pk=owner.pk).role == "owner"


def test_an_admin_removing_owners_in_bulk_removes_nobody(client, admin_a, rep_a, org_a):
    owner = _owner_of(org_a)
    with org_context(org_a):
        rep = Membership.objects.get(user=rep_a)
    client.force_login(admin_a)

    response = client.post(
        reverse("admin:clozup_membership_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [owner.pk, rep.pk],
            "post": "yes",
        },
    )

    assert response.status_code == 403
    with org_context(org_a):
        assert Membership.objects.filter(pk__in=[owner.pk, rep.pk]).count() == 2


def test_an_admin_cannot_add_a_new_member_as_owner(client, admin_a, org_a):
    client.force_login(admin_a)

    response = client.post(
        reverse("admin:clozup_membership_add"),
        {"email": "would.be.owner" + chr(64) + "example.com", "role": "owner"},
    )

    assert response.status_code == 200
    assert b"only an owner may grant the owner role" in response.content
    assert not User.objects.filter(email__startswith="would.be.owner").exists()


def test_an_owner_hands_ownership_to_an_admin_and_steps_down(client, admin_a, org_a):
    owner = _owner_of(org_a)
    with org_context(org_a):
        successor = Membership.objects.get(user=admin_a)
    client.force_login(owner.user)

    promote = client.post(
        reverse("admin:clozup_membership_change", args=[successor.pk]),
        {"role": "owner"},
    )
    step_down = client.post(
        reverse("admin:clozup_membership_change", args=[owner.pk]), {"role": "admin"}
    )

    assert (promote.status_code, step_down.status_code) == (302, 302)
    with org_context(org_a):
        assert Membership.objects.get(pk=successor.pk).role == "owner"
        assert Membership.objects.get(pk=owner.pk).role == "admin"
