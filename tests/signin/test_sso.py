"""Single sign-on with SAML for Enterprise organizations, end to end.

The identity provider's certificate is generated in the test and its
responses are signed with xmlsec; Clozup checks them with python3-saml.
"""

from unittest import mock

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEntry
from clozup.models import Membership, Organization, User
from clozup.signin.models import IdentityProvider, SSODomain
from clozup.tenancy import org_context
from tests.conftest import PASSWORD
from tests.signin.fake_http import FakeService
from tests.signin.saml_idp import FakeIdentityProvider, read_authn_request

HOST = "clozup.example.com"
DOMAIN = "acme-corp.example"


def at(name: str, domain: str = DOMAIN) -> str:
    return name + chr(64) + domain


@pytest.fixture(scope="module")
def idp():
    return FakeIdentityProvider.generate()


@pytest.fixture
def enterprise(org_a, idp, settings):
    settings.ALLOWED_HOSTS = [HOST]
    Organization.objects.filter(pk=org_a.pk).update(plan=Organization.Plan.ENTERPRISE)
    org_a.refresh_from_db()
    with org_context(org_a):
        IdentityProvider.objects.create(
            organization=org_a,
            protocol=IdentityProvider.Protocol.SAML,
            is_active=True,
            saml_entity_id=idp.entity_id,
            saml_sso_url=idp.sso_url,
            saml_certificate=idp.certificate_body,
        )
        SSODomain.objects.create(
            organization=org_a, domain=DOMAIN, verified_at=timezone.now()
        )
    return org_a


def browser() -> Client:
    return Client(HTTP_HOST=HOST)


def sign_in_with_sso(client, organization, idp, email, *, signed_by=None):
    """The browser's round trip: Clozup -> identity provider -> Clozup."""
    login_url = reverse("saml_login", args=[organization.slug])
    assert client.get(login_url).status_code == 200
    to_idp = client.post(login_url)
    assert to_idp.url.startswith(idp.sso_url)
    request_id, relay_state = read_authn_request(to_idp.url)

    acs_path = reverse("saml_acs", args=[organization.slug])
    metadata = reverse("saml_metadata", args=[organization.slug])
    saml_response = idp.response(
        email=email,
        in_response_to=request_id,
        acs_url=f"http://{HOST}{acs_path}",
        audience=f"http://{HOST}{metadata}",
        signed_by=signed_by,
    )
    posted = client.post(
        acs_path, {"SAMLResponse": saml_response, "RelayState": relay_state}
    )
    return client.get(posted.url, follow=True)


def members(organization):
    with org_context(organization):
        return {m.user.email: m.role for m in Membership.objects.select_related("user")}


def test_a_new_person_of_the_domain_signs_in_and_joins_with_the_default_role(
    enterprise, idp
):
    email = at("jane")
    client = browser()

    response = sign_in_with_sso(client, enterprise, idp, email)

    assert response.context["user"].email == email
    assert response.context["organization"] == enterprise
    assert members(enterprise)[email] == Membership.Role.REP
    user = User.objects.get(email=email)
    assert not user.has_usable_password()
    assert SocialAccount.objects.get(user=user).provider == f"saml-{enterprise.slug}"
    with org_context(enterprise):
        added = AuditEntry.objects.get(
            action=Action.MEMBER_ADDED, metadata__user_id=user.pk
        )
        assert added.metadata == {"user_id": user.pk, "role": "rep"}
        assert added.actor_label == "system"
        sign_in = AuditEntry.objects.get(action=Action.SIGN_IN, actor_id=user.pk)
        assert sign_in.metadata["provider"] == f"saml-{enterprise.slug}"


def test_signing_in_again_changes_no_membership(enterprise, idp):
    email = at("jane")
    sign_in_with_sso(browser(), enterprise, idp, email)
    with org_context(enterprise):
        Membership.objects.filter(user__email=email).update(role="admin")

    response = sign_in_with_sso(browser(), enterprise, idp, email)

    assert response.context["user"].email == email
    assert members(enterprise)[email] == "admin"


def test_an_existing_account_of_the_domain_is_signed_in_through_sso(
    enterprise, idp, make_member
):
    existing = make_member(enterprise, email=at("sam"))

    response = sign_in_with_sso(browser(), enterprise, idp, existing.email)

    assert response.context["user"] == existing


def test_a_response_signed_by_another_key_is_refused(enterprise, idp):
    impostor = FakeIdentityProvider.generate(entity_id=idp.entity_id)

    response = sign_in_with_sso(
        browser(), enterprise, idp, at("jane"), signed_by=impostor
    )

    assert not response.context["user"].is_authenticated
    assert not User.objects.filter(email=at("jane")).exists()


def test_the_provider_cannot_speak_for_an_address_outside_its_domains(
    enterprise, idp, rep_b
):
    response = sign_in_with_sso(browser(), enterprise, idp, rep_b.email)

    assert response.status_code == 403
    assert not response.context["user"].is_authenticated
    assert rep_b.email not in members(enterprise)


def test_a_password_sign_in_for_the_domain_is_sent_to_sso(enterprise, make_member):
    existing = make_member(enterprise, email=at("sam"))

    response = browser().post(
        reverse("account_login"), {"login": existing.email, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("saml_login", args=[enterprise.slug])


def test_a_sign_in_code_for_the_domain_is_sent_to_sso(enterprise):
    response = browser().post(
        reverse("account_request_login_code"), {"email": at("sam")}
    )

    assert response.url == reverse("saml_login", args=[enterprise.slug])


def test_the_sso_page_finds_the_organization_from_the_email(enterprise):
    client = browser()

    found = client.post(reverse("signin:sso-start"), {"email": at("jane")})
    unknown = client.post(
        reverse("signin:sso-start"), {"email": at("jane", "elsewhere.example")}
    )

    assert found.url == reverse("saml_login", args=[enterprise.slug])
    assert b"no single sign-on is set up" in unknown.content


def test_sso_does_nothing_below_the_enterprise_plan(enterprise, make_member):
    Organization.objects.filter(pk=enterprise.pk).update(plan=Organization.Plan.PRO)
    existing = make_member(enterprise, email=at("sam"))
    client = browser()

    signed_in = client.post(
        reverse("account_login"), {"login": existing.email, "password": PASSWORD}
    )

    assert signed_in.url == reverse("crm:home")
    assert client.get(reverse("saml_login", args=[enterprise.slug])).status_code == 404


def test_an_unverified_domain_routes_nobody(enterprise, make_member):
    with org_context(enterprise):
        SSODomain.objects.filter(domain=DOMAIN).update(verified_at=None)
    existing = make_member(enterprise, email=at("sam"))

    response = browser().post(
        reverse("account_login"), {"login": existing.email, "password": PASSWORD}
    )

    assert response.url == reverse("crm:home")


def test_an_admin_claims_and_verifies_a_domain_by_dns(admin_a, enterprise):
    client = browser()
    client.force_login(admin_a)
    client.post(reverse("admin:signin_ssodomain_add"), {"domain": "Sales.Acme.example"})
    with org_context(enterprise):
        claimed = SSODomain.objects.get(domain="sales.acme.example")
    assert claimed.verified_at is None

    changelist = reverse("admin:signin_ssodomain_changelist")
    action = {"action": "verify_domains", "_selected_action": [claimed.pk]}
    with mock.patch("clozup.lib.dns.txt_values", return_value={"something else"}):
        client.post(changelist, action)
    with org_context(enterprise):
        assert SSODomain.objects.get(pk=claimed.pk).verified_at is None
    with mock.patch(
        "clozup.lib.dns.txt_values", return_value={claimed.dns_record_value}
    ) as lookup:
        client.post(changelist, action)

    lookup.assert_called_with("_clozup-verification.sales.acme.example")
    with org_context(enterprise):
        assert SSODomain.objects.get(pk=claimed.pk).verified_at is not None


def test_a_domain_another_organization_claimed_cannot_be_claimed(
    enterprise, org_b, make_member
):
    Organization.objects.filter(pk=org_b.pk).update(plan=Organization.Plan.ENTERPRISE)
    admin_b = make_member(org_b, role="admin")
    client = browser()
    client.force_login(admin_b)

    response = client.post(reverse("admin:signin_ssodomain_add"), {"domain": DOMAIN})

    assert b"already claimed" in response.content
    with org_context(org_b):
        assert not SSODomain.objects.exists()


def test_an_admin_registers_the_provider_from_its_metadata_xml(
    admin_a, enterprise, idp
):
    with org_context(enterprise):
        IdentityProvider.objects.all().delete()
    client = browser()
    client.force_login(admin_a)
    page = client.get(reverse("admin:signin_identityprovider_changelist"), follow=True)

    client.post(
        page.request["PATH_INFO"],
        {
            "protocol": "saml",
            "is_active": "on",
            "default_role": "rep",
            "saml_metadata_xml": idp.metadata_xml(),
        },
    )

    with org_context(enterprise):
        provider = IdentityProvider.objects.get()
    assert provider.saml_entity_id == idp.entity_id
    assert provider.saml_sso_url == idp.sso_url
    assert provider.saml_certificate == idp.certificate_body
    assert provider.is_active


def test_a_provider_given_by_its_metadata_url_signs_people_in(enterprise, idp):
    with FakeService() as published:
        published.routes = {"/metadata": lambda method, query: idp.metadata_xml()}
        with org_context(enterprise):
            IdentityProvider.objects.filter(organization=enterprise).update(
                saml_sso_url="",
                saml_certificate="",
                saml_metadata_url=f"{published.url}/metadata",
            )

        response = sign_in_with_sso(browser(), enterprise, idp, at("mia"))

    assert response.context["user"].email == at("mia")
