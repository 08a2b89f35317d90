"""Bad sign-in settings stop the process at start-up, naming the setting."""

from clozup.signin.checks import check_sign_in_settings


def ids(errors):
    return [error.id for error in errors]


def test_valid_settings_pass(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]

    assert check_sign_in_settings(None) == []


def test_a_trusted_proxy_that_is_not_an_address_is_refused(settings):
    settings.TRUSTED_PROXIES = ["proxy.internal"]

    errors = check_sign_in_settings(None)

    assert ids(errors) == ["signin.E002"]
    assert "TRUSTED_PROXIES" in errors[0].msg


def test_an_unknown_provider_is_refused(settings):
    settings.AUTH_PROVIDER = "okta"

    assert ids(check_sign_in_settings(None)) == ["signin.E001"]


def test_clerk_needs_its_settings(settings):
    settings.AUTH_PROVIDER = "clerk"
    settings.CLERK_ISSUER = "https://clerk.example.com"
    settings.CLERK_JWKS_URL = "https://clerk.example.com/.well-known/jwks.json"
    settings.CLERK_AUTHORIZED_PARTIES = []
    settings.CLERK_WEBHOOK_SECRET = ""
    settings.CLERK_SIGN_IN_URL = "https://accounts.example.com/sign-in"

    errors = check_sign_in_settings(None)

    assert [e.msg.split(" ")[0] for e in errors] == [
        "CLERK_AUTHORIZED_PARTIES",
        "CLERK_WEBHOOK_SECRET",
    ]
