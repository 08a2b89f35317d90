"""Clerk as the identity provider: session tokens checked locally, webhooks synced.

The signing key is generated here and its JWKS served by a local HTTP server;
webhook signatures are computed here with HMAC, independently of the library
that checks them.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from clozup.models import Membership, Organization, User
from clozup.services import get_or_create_user
from clozup.signin import services as signin_services
from clozup.signin.clerk import tokens
from clozup.signin.models import SecurityPolicy
from clozup.tenancy import org_context
from tests.signin.fake_http import FakeService

APP = "https://app.clozup.example"
SIGN_IN = "https://accounts.clozup.example/sign-in"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def address(name: str) -> str:
    return name + chr(64) + "clerk-users.example"


@dataclass
class ClerkInstance:
    url: str
    key: rsa.RSAPrivateKey
    webhook_secret: str

    def token(self, subject: str, *, key=None, **claims) -> str:
        now = int(time.time())
        payload = {
            "sub": subject,
            "sid": f"sess_{subject}",
            "iss": self.url,
            "azp": APP,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 60,
            "fva": [0, -1],
            "v": 2,
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key or self.key, "RS256", headers={"kid": "ins_1"})

    def webhook(self, client, event: dict, *, at: float | None = None, secret=None):
        body = json.dumps(event).encode()
        message_id = f"msg_{secrets.token_hex(6)}"
        stamp = str(int(at if at is not None else time.time()))
        key = base64.b64decode((secret or self.webhook_secret).removeprefix("whsec_"))
        signed = f"{message_id}.{stamp}.".encode() + body
        signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        return client.post(
            reverse("clerk-webhook"),
            body,
            content_type="application/json",
            HTTP_SVIX_ID=message_id,
            HTTP_SVIX_TIMESTAMP=stamp,
            HTTP_SVIX_SIGNATURE=f"v1,{signature.decode()}",
        )


@pytest.fixture
def clerk(settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid="ins_1", use="sig", alg="RS256")
    with FakeService() as service:
        service.routes = {"/.well-known/jwks.json": lambda m, q: {"keys": [jwk]}}
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        settings.AUTH_PROVIDER = "clerk"
        settings.CLERK_ISSUER = service.url
        settings.CLERK_JWKS_URL = f"{service.url}/.well-known/jwks.json"
        settings.CLERK_AUTHORIZED_PARTIES = [APP]
        settings.CLERK_WEBHOOK_SECRET = secret
        settings.CLERK_SIGN_IN_URL = SIGN_IN
        settings.LOGIN_URL = SIGN_IN
        tokens._jwks_client.cache_clear()
        yield ClerkInstance(service.url, key, secret)
        tokens._jwks_client.cache_clear()


@pytest.fixture
def mirrored(org_a):
    """A Clerk user and organization already synced: a rep of org_a."""
    user = User.objects.create_user(address("rita"), None, clerk_id="user_rita")
    Organization.objects.filter(pk=org_a.pk).update(clerk_id="org_acme")
    with org_context(org_a):
        Membership.objects.create(organization=org_a, user=user, role="rep")
    return user


def get_home(token: str, *, bearer=False):
    client = Client()
    if bearer:
        return client.get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.cookies["__session"] = token
    return client.get("/")


def test_a_valid_session_token_signs_the_request_in(clerk, mirrored, org_a):
    response = get_home(clerk.token("user_rita", o={"id": "org_acme", "rol": "member"}))

    assert response.status_code == 200
    assert response.context["user"] == mirrored
    assert response.context["organization"] == org_a


def test_a_bearer_token_works_as_well_as_the_cookie(clerk, mirrored):
    response = get_home(clerk.token("user_rita"), bearer=True)

    assert response.status_code == 200
    assert response.context["user"] == mirrored


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"key": "forged"}, id="forged"),
        pytest.param({"exp": -30}, id="expired"),
        pytest.param({"iss": "https://other.clerk.example"}, id="wrong-issuer"),
        pytest.param({"azp": "https://evil.example"}, id="unauthorized-party"),
        pytest.param({"sub": "user_unknown"}, id="unknown-user"),
    ],
)
def test_a_bad_token_leaves_the_request_signed_out(clerk, mirrored, claims):
    claims = dict(claims)
    if claims.get("key") == "forged":
        claims["key"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if "exp" in claims:
        claims["exp"] = int(time.time()) + claims["exp"]
    subject = claims.pop("sub", "user_rita")

    response = get_home(clerk.token(subject, **claims))

    assert response.status_code == 302
    assert response.url.startswith(SIGN_IN)


def test_a_token_expired_within_the_leeway_is_accepted(clerk, mirrored):
    response = get_home(clerk.token("user_rita", exp=int(time.time()) - 2))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/login/code/",
        "/accounts/sessions/",
        "/accounts/sso/",
    ],
)
def test_no_password_or_sign_in_form_exists_under_clerk(clerk, db, path):
    assert Client().get(path).status_code == 404


def test_accounts_made_under_clerk_have_no_usable_password(clerk, db):
    user, password = get_or_create_user(address("newbie"))

    assert password is None
    assert not user.has_usable_password()


def test_a_forced_sign_out_refuses_tokens_from_before_it(clerk, mirrored):
    with time_machine.travel(START, tick=False) as clock:
        signin_services.revoke_sessions(mirrored)
        clock.shift(timedelta(minutes=2))

        stale = get_home(clerk.token("user_rita", fva=[10, -1]))
        fresh = get_home(clerk.token("user_rita", fva=[1, -1]))

    assert stale.status_code == 302 and stale.url.startswith(SIGN_IN)
    assert fresh.status_code == 200


def test_the_organizations_session_lifetime_applies_to_clerk_sessions(
    clerk, mirrored, org_a
):
    with org_context(org_a):
        SecurityPolicy.objects.create(organization=org_a, session_lifetime_hours=1)
    token_of = lambda minutes: clerk.token(  # noqa: E731  (one-line helper)
        "user_rita", o={"id": "org_acme"}, fva=[minutes, -1]
    )

    assert get_home(token_of(59)).status_code == 200
    assert get_home(token_of(61)).status_code == 302


def test_an_enterprise_requiring_mfa_needs_a_second_factor_in_the_token(
    clerk, mirrored, org_a
):
    Organization.objects.filter(pk=org_a.pk).update(plan="enterprise")
    with org_context(org_a):
        SecurityPolicy.objects.create(organization=org_a, require_mfa=True)

    without = get_home(clerk.token("user_rita", o={"id": "org_acme"}, fva=[0, -1]))
    with_mfa = get_home(clerk.token("user_rita", o={"id": "org_acme"}, fva=[0, 0]))

    assert without.status_code == 403
    assert b"requires every member to use a second factor" in without.content
    assert with_mfa.status_code == 200


def test_a_role_change_needs_a_recent_first_factor_under_clerk(clerk, org_a, rep_a):
    admin = User.objects.create_user(address("ada"), None, clerk_id="user_ada")
    Organization.objects.filter(pk=org_a.pk).update(clerk_id="org_acme")
    with org_context(org_a):
        Membership.objects.create(organization=org_a, user=admin, role="admin")
        rep = Membership.objects.get(user=rep_a)
    url = reverse("admin:clozup_membership_change", args=[rep.pk])

    def change(minutes):
        client = Client()
        client.cookies["__session"] = clerk.token(
            "user_ada", o={"id": "org_acme"}, fva=[minutes, -1]
        )
        return client.post(url, {"role": "admin"})

    old = change(30)
    assert old.status_code == 302 and old.url.startswith(SIGN_IN)
    with org_context(org_a):
        assert Membership.objects.get(pk=rep.pk).role == "rep"
    change(1)
    with org_context(org_a):
        assert Membership.objects.get(pk=rep.pk).role == "admin"


# Webhooks -------------------------------------------------------------------


def user_event(kind, clerk_id, email=None):
    data = {"id": clerk_id, "object": "user"}
    if email:
        data.update(
            email_addresses=[{"id": "idn_1", "email_address": email}],
            primary_email_address_id="idn_1",
            first_name="Rosa",
            last_name="Parks",
        )
    else:
        data["deleted"] = True
    return {"type": f"user.{kind}", "data": data}


def membership_event(kind, role="org:member"):
    return {
        "type": f"organizationMembership.{kind}",
        "data": {
            "id": "orgmem_1",
            "role": role,
            "organization": {"id": "org_new", "name": "Nimbus Ltd", "slug": "nimbus"},
            "public_user_data": {"user_id": "user_rosa"},
        },
    }


def test_webhooks_keep_users_organizations_and_memberships_in_step(clerk, db):
    client = Client()
    rosa = address("rosa")

    assert (
        clerk.webhook(client, user_event("created", "user_rosa", rosa)).status_code
        == 204
    )
    user = User.objects.get(clerk_id="user_rosa")
    assert user.email == rosa and user.full_name == "Rosa Parks"
    assert not user.has_usable_password()

    clerk.webhook(
        client,
        {
            "type": "organization.created",
            "data": {"id": "org_new", "name": "Nimbus Ltd"},
        },
    )
    clerk.webhook(client, membership_event("created", role="org:admin"))
    organization = Organization.objects.get(clerk_id="org_new")
    with org_context(organization):
        assert Membership.objects.get(user=user).role == Membership.Role.OWNER

    renamed = address("rosa.parks")
    clerk.webhook(client, user_event("updated", "user_rosa", renamed))
    assert User.objects.get(clerk_id="user_rosa").email == renamed

    clerk.webhook(client, user_event("deleted", "user_rosa"))
    assert not User.objects.filter(clerk_id="user_rosa").exists()
    with org_context(organization):
        assert not Membership.objects.exists()


def test_a_membership_event_for_a_member_updates_the_role(clerk, db):
    client = Client()
    clerk.webhook(client, user_event("created", "user_rosa", address("rosa")))
    clerk.webhook(client, user_event("created", "user_owner", address("owner")))
    owner_event = membership_event("created", role="org:admin")
    owner_event["data"]["public_user_data"]["user_id"] = "user_owner"
    clerk.webhook(client, owner_event)
    clerk.webhook(client, membership_event("created"))
    organization = Organization.objects.get(clerk_id="org_new")

    clerk.webhook(client, membership_event("updated", role="org:admin"))
    with org_context(organization):
        assert Membership.objects.get(user__clerk_id="user_rosa").role == "admin"
    clerk.webhook(client, membership_event("deleted"))
    with org_context(organization):
        assert not Membership.objects.filter(user__clerk_id="user_rosa").exists()


def test_a_webhook_with_a_wrong_signature_changes_nothing(clerk, db):
    forged_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()

    response = clerk.webhook(
        Client(),
        user_event("created", "user_mallory", address("mallory")),
        secret=forged_secret,
    )

    assert response.status_code == 400
    assert not User.objects.filter(clerk_id="user_mallory").exists()


def test_a_replayed_old_webhook_is_refused(clerk, db):
    response = clerk.webhook(
        Client(),
        user_event("created", "user_late", address("late")),
        at=time.time() - 3600,
    )

    assert response.status_code == 400
    assert not User.objects.filter(clerk_id="user_late").exists()


def test_the_webhook_endpoint_is_off_without_clerk(db):
    assert (
        Client().post(reverse("clerk-webhook"), b"{}", "application/json").status_code
        == 404
    )
