"""Owners and admins edit their organization's sign-in rules in the Admin Panel."""

import pytest
from django.test import Client
from django.urls import reverse

from clozup.models import Organization
from clozup.signin.models import IdentityProvider, SecurityPolicy
from clozup.tenancy import org_context


@pytest.fixture
def admin_client(admin_a):
    client = Client()
    client.force_login(admin_a)
    return client


def policy_page(client):
    return client.get(reverse("admin:signin_securitypolicy_changelist"), follow=True)


def test_an_admin_sets_the_session_limits(admin_client, org_a):
    page = policy_page(admin_client)

    admin_client.post(
        page.request["PATH_INFO"],
        {"idle_timeout_minutes": "20", "session_lifetime_hours": "8"},
    )

    with org_context(org_a):
        policy = SecurityPolicy.objects.get(organization=org_a)
    assert (policy.idle_timeout_minutes, policy.session_lifetime_hours) == (20, 8)


@pytest.mark.parametrize(
    "field, value",
    [
        ("idle_timeout_minutes", "2"),
        ("idle_timeout_minutes", "100000"),
        ("session_lifetime_hours", "0"),
        ("session_lifetime_hours", "999"),
    ],
)
def test_limits_outside_the_platforms_bounds_are_refused(
    admin_client, org_a, field, value
):
    page = policy_page(admin_client)

    response = admin_client.post(page.request["PATH_INFO"], {field: value})

    assert response.status_code == 200
    assert field.encode() in response.content
    with org_context(org_a):
        policy = SecurityPolicy.objects.get(organization=org_a)
    assert getattr(policy, field) is None


def test_requiring_mfa_is_offered_on_the_enterprise_plan_only(admin_client, org_a):
    page = policy_page(admin_client)
    admin_client.post(page.request["PATH_INFO"], {"require_mfa": "on"})
    with org_context(org_a):
        assert not SecurityPolicy.objects.get(organization=org_a).require_mfa
    assert b"Available on the Enterprise plan" in policy_page(admin_client).content

    Organization.objects.filter(pk=org_a.pk).update(plan="enterprise")
    admin_client.post(page.request["PATH_INFO"], {"require_mfa": "on"})

    with org_context(org_a):
        assert SecurityPolicy.objects.get(organization=org_a).require_mfa


def test_single_sign_on_settings_are_hidden_below_enterprise(admin_client, org_a):
    url = reverse("admin:signin_identityprovider_changelist")

    assert admin_client.get(url).status_code == 403
    Organization.objects.filter(pk=org_a.pk).update(plan="enterprise")
    assert admin_client.get(url, follow=True).status_code == 200


def test_a_rep_cannot_change_security_settings(rep_a):
    client = Client()
    client.force_login(rep_a)

    response = client.get(reverse("admin:signin_securitypolicy_changelist"))

    assert response.status_code in (302, 403)


def test_an_oidc_provider_needs_its_client_details(admin_client, org_a):
    Organization.objects.filter(pk=org_a.pk).update(plan="enterprise")
    page = admin_client.get(
        reverse("admin:signin_identityprovider_changelist"), follow=True
    )

    response = admin_client.post(
        page.request["PATH_INFO"],
        {"protocol": "oidc", "default_role": "rep", "oidc_server_url": ""},
    )

    assert b"oidc_client_id: required" in response.content
    assert b"oidc_client_secret: required" in response.content
    with org_context(org_a):
        assert IdentityProvider.objects.get().protocol == "saml"
