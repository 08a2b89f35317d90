"""Row-level security holds organizations apart, in SQL, in requests and in tasks."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from clozup.models import Membership, OrganizationModel
from clozup.tenancy import (
    MissingOrganization,
    current_organization_id,
    org_context,
    user_context,
)
from crm.models import Company, Deal, Lead, Stage


def organization_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, OrganizationModel)
    )


def raw_organization_ids(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT organization_id FROM {table}")
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def two_populated_orgs(org_a, org_b, rep_a, rep_b, make_lead, make_company):
    for org in (org_a, org_b):
        company = make_company(org)
        lead = make_lead(org, company=company)
        with org_context(org):
            Deal.objects.create(
                organization=org,
                title="Renewal",
                stage=Stage.objects.first(),
                company=company,
                lead=lead,
            )
    return org_a, org_b


def test_raw_sql_in_one_organization_sees_none_of_the_other(two_populated_orgs):
    org_a, org_b = two_populated_orgs

    with org_context(org_a):
        seen = {table: raw_organization_ids(table) for table in organization_tables()}

    assert seen["crm_lead"] == {org_a.pk}
    assert seen["crm_deal"] == {org_a.pk}
    assert all(org_b.pk not in ids for ids in seen.values()), seen


def test_without_a_context_no_rows_are_visible_and_inserts_fail(two_populated_orgs):
    org_a, _ = two_populated_orgs

    for table in organization_tables():
        assert raw_organization_ids(table) == set(), table

    with pytest.raises(DatabaseError, match="row-level security"):
        with transaction.atomic():
            Lead.objects.create(organization=org_a, first_name="Nobody")


def test_writing_another_organizations_id_is_refused(org_a, org_b, make_lead):
    lead = make_lead(org_a)

    with org_context(org_a):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic():
                Lead.objects.create(organization=org_b, first_name="Smuggled")
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic():
                Lead.objects.filter(pk=lead.pk).update(organization=org_b)

    with org_context(org_b):
        # B cannot even see A's lead, so an update touches nothing.
        assert Lead.objects.filter(pk=lead.pk).update(first_name="Taken") == 0


def test_a_row_pointing_at_another_organizations_row_is_refused(
    org_a, org_b, make_company
):
    foreign_company = make_company(org_b)

    with org_context(org_a):
        with pytest.raises(DatabaseError, match="same_org"):
            with transaction.atomic():
                connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
                Deal.objects.create(
                    organization=org_a,
                    title="Cross-wired",
                    stage=Stage.objects.first(),
                    company_id=foreign_company.pk,
                )


def test_an_owner_who_is_not_a_member_is_refused(org_a, rep_b):
    with org_context(org_a):
        with pytest.raises(DatabaseError, match="owner_id_same_org"):
            with transaction.atomic():
                connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
                Company.objects.create(organization=org_a, name="X", owner=rep_b)


def test_ending_a_membership_clears_ownership_but_keeps_the_record(org_a, rep_a):
    with org_context(org_a):
        company = Company.objects.create(organization=org_a, name="Kept", owner=rep_a)
        Membership.objects.filter(user=rep_a).delete()
        company.refresh_from_db()

    assert company.owner_id is None


def test_memberships_of_other_users_stay_hidden_in_user_context(rep_a, rep_b, org_b):
    with user_context(rep_a.pk):
        visible = set(Membership.objects.values_list("user_id", flat=True))

    assert visible == {rep_a.pk}


def test_a_savepoint_rolled_back_does_not_change_the_context(org_a):
    with org_context(org_a):
        try:
            with transaction.atomic():
                with org_context(org_a.pk + 1000):
                    raise RuntimeError("inner block fails")
        except RuntimeError:
            pass
        assert current_organization_id() == org_a.pk

    assert current_organization_id() is None


def test_a_task_needs_an_organization_id():
    from tests.clozup.tasks import visible_lead_ids

    with pytest.raises(MissingOrganization):
        visible_lead_ids.apply(args=[None], throw=True)
    with pytest.raises(MissingOrganization):
        visible_lead_ids.apply(args=["1"], throw=True)
    with pytest.raises(TypeError):
        visible_lead_ids.apply(args=[], throw=True)


# Through HTTP ----------------------------------------------------------------


def test_a_rep_gets_404_for_another_organizations_lead(client, rep_a, org_b, make_lead):
    foreign = make_lead(org_b)
    client.force_login(rep_a)

    response = client.get(reverse("crm:lead-detail", args=[foreign.pk]))

    assert response.status_code == 404
    assert foreign.email.encode() not in response.content


def test_a_rep_sees_their_own_organizations_lead(client, rep_a, org_a, make_lead):
    lead = make_lead(org_a, first_name="Ada")
    client.force_login(rep_a)

    response = client.get(reverse("crm:lead-detail", args=[lead.pk]))

    assert response.status_code == 200
    assert b"Ada" in response.content


@pytest.mark.urls("tests.clozup.views")
def test_a_queryset_rendered_after_the_view_returned_is_scoped(
    client, rep_a, org_a, org_b, make_lead
):
    mine = make_lead(org_a, first_name="Mine")
    theirs = make_lead(org_b, first_name="Theirs")
    client.force_login(rep_a)

    body = client.get("/t/lazy/").content.decode()

    assert f"[{mine.pk}:Mine]" in body
    assert "Theirs" not in body and str(theirs.pk) + ":" not in body


@pytest.mark.urls("tests.clozup.views")
def test_a_streamed_body_is_scoped(client, rep_a, org_a, org_b, make_lead):
    mine = make_lead(org_a)
    make_lead(org_b)
    client.force_login(rep_a)

    response = client.get("/t/stream/")

    assert b"".join(response.streaming_content).decode().split() == [str(mine.pk)]


@pytest.mark.urls("tests.clozup.views")
def test_a_savepoint_rolled_back_in_a_request_keeps_the_context(
    client, rep_a, org_a, make_lead
):
    lead = make_lead(org_a)
    client.force_login(rep_a)

    data = client.get("/t/savepoint/").json()

    assert data == {"organization_id": org_a.pk, "lead_ids": [lead.pk]}


def test_switching_organization_needs_a_membership(
    client, rep_a, org_a, org_b, make_lead
):
    make_lead(org_b, first_name="Hidden")
    client.force_login(rep_a)

    response = client.post(reverse("switch-organization"), {"organization": org_b.pk})

    assert response.status_code == 400
    assert client.session.get("organization_id") is None


def test_a_member_of_two_organizations_switches_between_them(
    client, org_a, org_b, make_member, make_lead
):
    person = make_member(org_a, email="two-orgs@example.com")
    with org_context(org_b):
        Membership.objects.create(organization=org_b, user=person, role="rep")
    lead_a, lead_b = make_lead(org_a), make_lead(org_b)
    client.force_login(person)

    assert client.get(reverse("crm:lead-detail", args=[lead_b.pk])).status_code == 404
    client.post(reverse("switch-organization"), {"organization": org_b.pk})

    assert client.get(reverse("crm:lead-detail", args=[lead_b.pk])).status_code == 200
    assert client.get(reverse("crm:lead-detail", args=[lead_a.pk])).status_code == 404
