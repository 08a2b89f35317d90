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
