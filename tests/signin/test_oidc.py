"""OpenID Connect: an organization's own provider, and those set in the environment.

The provider is a local HTTP server (a third party, so faked) whose keys and
ID tokens are made in the test.
"""

import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clozup.models import Membership, Organization, User
from clozup.signin.models import IdentityProvider, SSODomain
from clozup.tenancy import org_context
from tests.signin.fake_http import FakeService

DOMAIN = "bolt-corp.example"
CLIENT_ID = "clozup-client"


def at(name: str, domain: str = DOMAIN) -> str:
    return name + chr(64) + domain


@pytest.fixture
def provider():
    """An OpenID provider: discovery, token endpoint, user info and keys."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid="k1", use="sig", alg="RS256")
    with FakeService() as service:
        service.person = {"sub": "person-1", "email": at("kim"), "email_verified": True}
        service.nonce = None

        def token(method, form):
            claims = {
                **service.person,
                "iss": service.url,
                "aud": form.get("client_id", [CLIENT_ID])[0],
                "iat": int(time.time()),
                "exp": int(time.time()) + 300,
            }
            if service.nonce:
                claims["nonce"] = service.nonce
            id_token = jwt.encode(claims, key, "RS256", headers={"kid": "k1"})
            return {
                "access_token": "at-1",
                "token_type": "Bearer",
                "id_token": id_token,
            }

        service.routes = {
            "/.well-known/openid-configuration": lambda m, q: {
                "issuer": service.url,
                "authorization_endpoint": f"{service.url}/authorize",
                "token_endpoint": f"{service.url}/token",
                "userinfo_endpoint": f"{service.url}/userinfo",
                "jwks_uri": f"{service.url}/jwks",
            },
            "/token": token,
            "/userinfo": lambda m, q: service.person,
            "/jwks": lambda m, q: {"keys": [jwk]},
        }
        yield service


@pytest.fixture
def enterprise(org_b, provider):
    Organization.objects.filter(pk=org_b.pk).update(plan=Organization.Plan.ENTERPRISE)
    org_b.refresh_from_db()
    with org_context(org_b):
        IdentityProvider.objects.create(
            organization=org_b,
            protocol=IdentityProvider.Protocol.OIDC,
            is_active=True,
            oidc_server_url=provider.url,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret="s3cret-value-of-the-client",
        )
        SSODomain.objects.create(
            organization=org_b, domain=DOMAIN, verified_at=timezone.now()
        )
    return org_b


def sign_in_with(client, provider, provider_id):
    login_url = reverse("openid_connect_login", args=[provider_id])
    to_provider = client.post(login_url)
    assert to_provider.url.startswith(f"{provider.url}/authorize")
    query = parse_qs(urlparse(to_provider.url).query)
    provider.nonce = query.get("nonce", [None])[0]
    callback = reverse("openid_connect_callback", args=[provider_id])
    return client.get(
        callback, {"code": "code-1", "state": query["state"][0]}, follow=True
    )


def test_a_person_of_the_domain_signs_in_with_the_organizations_provider(
    enterprise, provider
):
    response = sign_in_with(Client(), provider, f"oidc-{enterprise.slug}")

    user = User.objects.get(email=at("kim"))
    assert response.context["user"] == user
    with org_context(enterprise):
        assert Membership.objects.get(user=user).role == Membership.Role.REP
    assert [path for _, path, _ in provider.requests].count("/token") == 1


def test_the_client_secret_is_stored_encrypted(enterprise):
    from django.db import connection

    with org_context(enterprise), connection.cursor() as cursor:
        cursor.execute("SELECT oidc_client_secret FROM signin_identityprovider")
        (stored,) = cursor.fetchone()

    assert stored and "s3cret-value-of-the-client" not in stored


def test_the_organizations_provider_cannot_sign_in_another_domain(
    enterprise, provider, rep_a
):
    provider.person = {"sub": "person-2", "email": rep_a.email, "email_verified": True}

    response = sign_in_with(Client(), provider, f"oidc-{enterprise.slug}")

    assert response.status_code == 403
    assert not response.context["user"].is_authenticated


def test_a_provider_from_the_environment_signs_in_any_verified_address(
    db, provider, settings
):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "oidc",
                    "name": "Company login",
                    "client_id": CLIENT_ID,
                    "secret": "env-secret",
                    "settings": {"server_url": provider.url},
                }
            ]
        }
    }
    provider.person = {
        "sub": "p-3",
        "email": at("lee", "independent.example"),
        "email_verified": True,
    }

    response = sign_in_with(Client(), provider, "oidc")

    assert response.context["user"].email == at("lee", "independent.example")
    assert b"Company login" in Client().get(reverse("account_login")).content


def test_a_provider_from_the_environment_may_not_bypass_an_organizations_sso(
    enterprise, provider, settings
):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "oidc",
                    "name": "Company login",
                    "client_id": CLIENT_ID,
                    "secret": "env-secret",
                    "settings": {"server_url": provider.url},
                }
            ]
        }
    }

    response = sign_in_with(Client(), provider, "oidc")

    assert response.status_code == 403
    assert b"signs its people in through its own identity provider" in response.content
    assert not User.objects.filter(email=at("kim")).exists()


@pytest.mark.parametrize(
    "name, authorize_host",
    [("google", "accounts.google.com"), ("microsoft", "login.microsoftonline.com")],
)
def test_google_and_microsoft_sign_in_start_at_their_provider(
    db, settings, name, authorize_host
):
    settings.SOCIALACCOUNT_PROVIDERS = {
        name: {"APPS": [{"client_id": f"{name}-client", "secret": "x"}]}
    }

    page = Client().get(reverse("account_login"))
    response = Client().post(reverse(f"{name}_login"))

    assert reverse(f"{name}_login").encode() in page.content
    assert urlparse(response.url).hostname == authorize_host
    assert parse_qs(urlparse(response.url).query)["client_id"] == [f"{name}-client"]
