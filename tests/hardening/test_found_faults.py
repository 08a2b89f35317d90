"""Faults the URL walk found, each pinned by the smallest request that hit it."""

import pytest
from django.urls import reverse

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
