"""Context never leaks between tasks or requests that share one connection."""

import pytest
from django.db import connection
from django.urls import reverse

from clozup.tenancy import current_organization_id
from tests.clozup.tasks import visible_lead_ids


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def two_orgs_with_leads(committed_db, make_org, make_lead):
    org_a, org_b = make_org(), make_org()
    leads = {org_a.pk: make_lead(org_a).pk, org_b.pk: make_lead(org_b).pk}
    return org_a, org_b, leads


def test_a_task_for_a_after_one_for_b_on_the_same_worker_sees_only_a(
    two_orgs_with_leads,
):
    org_a, org_b, leads = two_orgs_with_leads

    # One process, one connection, tasks one after another: how a worker runs.
    seen_b = visible_lead_ids.apply(args=[org_b.pk], throw=True).get()
    pid = backend_pid()
    seen_a = visible_lead_ids.apply(args=[org_a.pk], throw=True).get()

    assert seen_b == [leads[org_b.pk]]
    assert seen_a == [leads[org_a.pk]]
    assert backend_pid() == pid
    assert current_organization_id() is None


def test_two_requests_on_one_persistent_connection_keep_their_own_context(
    settings, client, two_orgs_with_leads, make_member
):
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 600
    connection.settings_dict["CONN_MAX_AGE"] = 600
    org_a, org_b, leads = two_orgs_with_leads
    rep_a, rep_b = make_member(org_a), make_member(org_b)
    url = "/leads/{}/".format

    client.force_login(rep_b)
    assert client.get(url(leads[org_b.pk])).status_code == 200
    pid = backend_pid()
    assert current_organization_id() is None

    client.force_login(rep_a)
    assert client.get(url(leads[org_b.pk])).status_code == 404
    assert client.get(url(leads[org_a.pk])).status_code == 200
    assert backend_pid() == pid
    assert current_organization_id() is None


def test_an_anonymous_request_after_a_members_request_sees_nothing(
    client, two_orgs_with_leads, make_member
):
    org_a, _, leads = two_orgs_with_leads
    client.force_login(make_member(org_a))
    client.get(reverse("crm:lead-detail", args=[leads[org_a.pk]]))
    client.logout()

    response = client.get(reverse("crm:lead-detail", args=[leads[org_a.pk]]))

    assert response.status_code == 302
    assert current_organization_id() is None
