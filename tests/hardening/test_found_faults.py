"""Faults the URL walk found, each pinned by the smallest request that hit it."""

import pytest
from django.urls import reverse

from clozup.tenancy import org_context

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name", ["google_login", "google_callback", "microsoft_login", "microsoft_callback"]
)
def test_a_sign_in_provider_without_configuration_is_not_found(client, name, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    response = client.get(reverse(name))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["mfa_list_webauthn", "usersessions_list"])
def test_allauths_pages_that_format_dates_render(client, org_a, rep_a, name):
    client.force_login(rep_a)

    response = client.get(reverse(name), follow=True)

    assert response.status_code == 200


@pytest.mark.parametrize("raw", ["1e999999999", "Infinity", "-NaN", "1e16"])
def test_a_huge_or_endless_number_cell_is_refused_at_once(raw):
    from crm.importing import values

    with pytest.raises(values.Invalid, match="not a whole number"):
        values.integer(raw, maximum=10**20)


def test_a_choice_of_person_in_the_admin_panel_offers_own_members_only(
    client, org_a, admin_a, org_b, rep_b
):
    client.force_login(admin_a)

    # The form had no fields listed, so Django showed every field, and its
    # user choice listed the people of every organization.
    response = client.get(
        reverse("admin:compliance_subprocessornoticesubscription_add")
    )

    assert response.status_code == 200
    assert rep_b.email.encode() not in response.content


def test_the_admin_panels_user_choices_are_the_organizations_members(
    rf, org_a, admin_a, rep_a, org_b, rep_b
):
    from django.contrib import admin

    from crm.models import Lead

    request = rf.get("/")
    request.user, request.organization = admin_a, org_a
    with org_context(org_a):
        field = admin.site._registry[Lead].formfield_for_foreignkey(
            Lead._meta.get_field("owner"), request
        )
        offered = set(field.queryset)

    assert {admin_a, rep_a} <= offered and rep_b not in offered


@pytest.mark.parametrize(
    "url",
    [
        "/leads/?q=%00",
        "/contacts/?q=%00",
        "/companies/?q=%00",
        "/deals/?q=%00",
        "/leads/?source=%00",
        "/leads/?status=a%00b",
        "/leads/?q%00=x",
    ],
)
def test_a_nul_character_in_a_filter_is_a_clear_400(client, org_a, rep_a, url):
    client.force_login(rep_a)

    # PostgreSQL refused the text deep in the list query: a server error.
    response = client.get(url)

    assert response.status_code == 400
    assert b"NUL characters are not allowed" in response.content
