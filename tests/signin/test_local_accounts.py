"""Email and password accounts: sign-up, verification, sign-in, reset."""

from urllib.parse import urlparse

import pytest
from django.urls import reverse

from clozup.models import User
from tests.conftest import PASSWORD
from tests.signin.conftest import find_link, sign_in

NEW_EMAIL = "new.person@example.com"
STRONG = "violet-orbit-tamarind-42"


def sign_up(client, password=STRONG):
    return client.post(
        reverse("account_signup"),
        {"email": NEW_EMAIL, "password1": password, "password2": password},
    )


@pytest.mark.parametrize(
    "password, complaint",
    [
        ("short-1", b"too short"),
        ("password1234", b"too common"),
        ("839201748392017", b"entirely numeric"),
    ],
)
def test_signing_up_refuses_weak_and_breached_passwords(
    client, db, password, complaint
):
    response = sign_up(client, password)

    assert response.status_code == 200
    assert complaint in response.content
    assert not User.objects.filter(email=NEW_EMAIL).exists()


def test_a_new_account_signs_in_only_after_verifying_its_email(client, db, smtp):
    response = sign_up(client)

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email=NEW_EMAIL)
    assert user.password.startswith("argon2")
    assert client.get(reverse("crm:home")).status_code == 302

    refused = sign_in(client, user, STRONG)
    assert refused.request["PATH_INFO"] == reverse("account_email_verification_sent")

    link = find_link(smtp.last_to(NEW_EMAIL), "/accounts/confirm-email/")
    client.post(urlparse(link).path)
    signed_in = sign_in(client, user, STRONG)

    assert signed_in.context["user"] == user


def test_a_member_signs_in_with_email_and_password(client, rep_a, org_a):
    response = sign_in(client, rep_a)

    assert response.status_code == 200
    assert response.context["user"] == rep_a
    assert response.context["organization"] == org_a


def test_a_wrong_password_does_not_sign_in(client, rep_a):
    response = sign_in(client, rep_a, "not-the-password-at-all")

    assert response.status_code == 200
    assert b"not correct" in response.content
    assert not response.context["user"].is_authenticated


def test_a_forgotten_password_is_reset_through_an_emailed_link(client, rep_a, smtp):
    client.post(reverse("account_reset_password"), {"email": rep_a.email})
    link = find_link(smtp.last_to(rep_a.email), "/accounts/password/reset/key/")

    form_page = client.get(urlparse(link).path, follow=True)
    new_password = "quartz-lantern-meadow-77"
    client.post(
        form_page.request["PATH_INFO"],
        {"password1": new_password, "password2": new_password},
    )

    rep_a.refresh_from_db()
    assert rep_a.check_password(new_password)
    assert not rep_a.check_password(PASSWORD)
    assert sign_in(client, rep_a, new_password).context["user"] == rep_a


def test_session_cookies_are_secure_httponly_and_samesite(client, rep_a, settings):
    settings.SESSION_COOKIE_SECURE = True

    response = client.post(
        reverse("account_login"), {"login": rep_a.email, "password": PASSWORD}
    )

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
