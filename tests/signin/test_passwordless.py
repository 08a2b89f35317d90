"""Passwordless sign-in: an emailed one-time code, or the same code as a link."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.signin.conftest import find_link

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def ask_for_code(client, email):
    return client.post(reverse("account_request_login_code"), {"email": email})


def code_in(body: str) -> str:
    return re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})\r?$", body, re.MULTILINE).group(1)


def test_a_member_signs_in_with_an_emailed_code(client, rep_a, smtp):
    response = ask_for_code(client, rep_a.email)
    assert response.url == reverse("account_confirm_login_code")

    code = code_in(smtp.last_to(rep_a.email))
    signed_in = client.post(
        reverse("account_confirm_login_code"), {"code": code}, follow=True
    )

    assert signed_in.context["user"] == rep_a


def test_an_unknown_email_gets_the_same_answer_and_no_code(client, db, smtp):
    email = "stranger@example.com"

    response = ask_for_code(client, email)

    assert response.url == reverse("account_confirm_login_code")
    body = smtp.last_to(email)
    assert "/accounts/login/link/" not in body


def test_the_link_in_the_email_signs_in_the_browser_that_asked(client, rep_a, smtp):
    ask_for_code(client, rep_a.email)
    link = urlparse(find_link(smtp.last_to(rep_a.email), "/accounts/login/link/"))

    page = client.get(link.path)
    assert page.status_code == 200
    assert not page.context["user"].is_authenticated
    form = re.search(rb'<form method="post" action="([^"]+)"', page.content)
    code = re.search(rb'name="code" value="([^"]+)"', page.content).group(1)
    signed_in = client.post(
        form.group(1).decode(), {"code": code.decode(), "via": "link"}, follow=True
    )

    assert signed_in.context["user"] == rep_a


def test_the_link_signs_in_nowhere_else(client, rep_a, smtp):
    ask_for_code(client, rep_a.email)
    link = urlparse(find_link(smtp.last_to(rep_a.email), "/accounts/login/link/"))
    code = link.path.rstrip("/").rsplit("/", 1)[1]
    elsewhere = Client()

    page = elsewhere.get(link.path)
    posted = elsewhere.post(
        reverse("account_confirm_login_code"), {"code": code}, follow=True
    )

    assert page.status_code == 400
    assert b"only in the browser that asked" in page.content
    assert not posted.context["user"].is_authenticated


def test_the_link_works_once(client, rep_a, smtp):
    ask_for_code(client, rep_a.email)
    link = urlparse(find_link(smtp.last_to(rep_a.email), "/accounts/login/link/"))
    code = link.path.rstrip("/").rsplit("/", 1)[1]
    client.post(reverse("account_confirm_login_code"), {"code": code})
    client.post(reverse("account_logout"))

    again = client.get(link.path)
    posted = client.post(
        reverse("account_confirm_login_code"), {"code": code}, follow=True
    )

    assert again.status_code == 400
    assert not posted.context["user"].is_authenticated


def test_the_link_expires_after_a_few_minutes(client, rep_a, smtp, clock, settings):
    ask_for_code(client, rep_a.email)
    link = urlparse(find_link(smtp.last_to(rep_a.email), "/accounts/login/link/"))
    code = link.path.rstrip("/").rsplit("/", 1)[1]

    clock.shift(timedelta(seconds=settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT + 1))
    posted = client.post(
        reverse("account_confirm_login_code"), {"code": code}, follow=True
    )

    assert not posted.context["user"].is_authenticated
