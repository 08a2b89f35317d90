"""The provider's address rules and the start-up check of the default one."""

import pytest
from django.urls import reverse

from assist.checks import check_default_provider
from assist.placeholders import Placeholders
from assist.provider import InsecureProviderURL, check_base_url


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com/v1",
        "http://10.0.0.5/v1",
        "ftp://api.example.com/v1",
        "https:///v1",
    ],
)
def test_anything_but_https_is_refused(settings, url):
    settings.AI_ALLOW_LOOPBACK_HTTP = True

    with pytest.raises(InsecureProviderURL, match="base URL"):
        check_base_url(url)


def test_loopback_http_is_refused_unless_allowed(settings):
    settings.AI_ALLOW_LOOPBACK_HTTP = False
    with pytest.raises(InsecureProviderURL):
        check_base_url("http://127.0.0.1:8080/v1")

    settings.AI_ALLOW_LOOPBACK_HTTP = True
    assert check_base_url("http://127.0.0.1:8080/v1")
    assert check_base_url("https://api.example.com/v1")


def test_start_up_fails_on_an_http_default_provider(settings):
    settings.AI_ALLOW_LOOPBACK_HTTP = False
    settings.AI_BASE_URL = "http://127.0.0.1:8080/v1"

    errors = check_default_provider(None)

    assert [error.id for error in errors] == ["assist.E001"]
    assert "AI_BASE_URL" in errors[0].msg


def test_start_up_names_a_missing_model_or_key(settings):
    settings.AI_BASE_URL = "https://api.example.com/v1"
    settings.AI_MODEL = ""
    settings.AI_API_KEY = ""

    errors = check_default_provider(None)

    assert [error.id for error in errors] == ["assist.E002"]
    assert "AI_MODEL and AI_API_KEY" in errors[0].msg


def test_no_default_provider_is_a_valid_configuration(settings):
    settings.AI_BASE_URL = ""

    assert check_default_provider(None) == []


def test_placeholders_leave_dates_and_short_numbers_alone():
    placeholders = Placeholders()
    text = "On 2026-11-03 we agreed 12 seats; call +1 (555) 010-0199 or 555 0100."
    placeholders.hide("555 0100", kind="PHONE")

    masked = placeholders.mask(text)

    assert masked == "On 2026-11-03 we agreed 12 seats; call [PHONE_2] or [PHONE_1]."
    assert placeholders.restore(masked) == text


def test_restoring_leaves_unknown_tokens_as_they_are():
    placeholders = Placeholders()
    masked = placeholders.mask("Write to ann@example.com")

    assert placeholders.restore(masked + " and [EMAIL_9]") == (
        "Write to ann@example.com and [EMAIL_9]"
    )


def test_the_ai_provider_is_on_the_public_sub_processor_list(client, db):
    page = client.get(reverse("compliance:sub-processors"))

    assert page.status_code == 200
    text = page.content.decode()
    assert "OpenAI" in text
    assert "AI assist" in text
