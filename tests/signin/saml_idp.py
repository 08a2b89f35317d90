"""A SAML identity provider for tests: a key pair, and signed responses.

The certificate is generated here, and each response is signed with xmlsec
exactly as an identity provider signs its assertions (enveloped signature,
exclusive canonicalisation, RSA-SHA256).
"""

import base64
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
EMAIL_ATTRIBUTE = "urn:oid:0.9.2342.19200300.100.1.3"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
PASSWORD_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


@dataclass
class FakeIdentityProvider:
    entity_id: str
    sso_url: str
    key_pem: bytes
    certificate_pem: bytes

    @classmethod
    def generate(cls, entity_id="https://idp.example.net/saml/metadata"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test IdP")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        return cls(
            entity_id=entity_id,
            sso_url="https://idp.example.net/saml/sso",
            key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
        )

    @property
    def certificate_body(self) -> str:
        """The certificate as an admin pastes it: PEM without the armour."""
        lines = self.certificate_pem.decode().strip().splitlines()
        return "".join(lines[1:-1])

    def metadata_xml(self) -> str:
        return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    entityID="{self.entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="{SAMLP}">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{self.certificate_body}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService
        Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{self.sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""

    def response(
        self,
        *,
        email: str,
        in_response_to: str,
        acs_url: str,
        audience: str,
        signed_by: "FakeIdentityProvider | None" = None,
    ) -> str:
        """A base64 SAMLResponse whose assertion is signed (by `signed_by`)."""
        now = datetime.now(UTC)
        stamp = _stamp(now)
        later = _stamp(now + timedelta(minutes=5))
        earlier = _stamp(now - timedelta(minutes=1))
        assertion_id = f"_a{uuid.uuid4().hex}"
        xml = f"""<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}"
    ID="_r{uuid.uuid4().hex}" Version="2.0" IssueInstant="{stamp}"
    Destination="{acs_url}" InResponseTo="{in_response_to}">
  <saml:Issuer>{self.entity_id}</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="{SUCCESS}"/></samlp:Status>
  <saml:Assertion ID="{assertion_id}" Version="2.0" IssueInstant="{stamp}">
    <saml:Issuer>{self.entity_id}</saml:Issuer>
    <saml:Subject>
      <saml:NameID Format="{EMAIL_FORMAT}">{email}</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData InResponseTo="{in_response_to}"
            Recipient="{acs_url}" NotOnOrAfter="{later}"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{earlier}" NotOnOrAfter="{later}">
      <saml:AudienceRestriction>
        <saml:Audience>{audience}</saml:Audience>
      </saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AuthnStatement AuthnInstant="{stamp}" SessionIndex="_s{uuid.uuid4().hex}">
      <saml:AuthnContext>
        <saml:AuthnContextClassRef>{PASSWORD_CONTEXT}</saml:AuthnContextClassRef>
      </saml:AuthnContext>
    </saml:AuthnStatement>
    <saml:AttributeStatement>
      <saml:Attribute Name="{EMAIL_ATTRIBUTE}">
        <saml:AttributeValue>{email}</saml:AttributeValue>
      </saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"""
        root = etree.fromstring(xml.encode())
        assertion = root.find(f"{{{SAML}}}Assertion")
        (signed_by or self)._sign(assertion, assertion_id)
        return base64.b64encode(etree.tostring(root)).decode()

    def _sign(self, element, element_id: str) -> None:
        signature = xmlsec.template.create(
            element, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256
        )
        # The signature goes right after the assertion's Issuer.
        element.insert(1, signature)
        reference = xmlsec.template.add_reference(
            signature, xmlsec.Transform.SHA256, uri=f"#{element_id}"
        )
        xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
        xmlsec.template.add_transform(reference, xmlsec.Transform.EXCL_C14N)
        key_info = xmlsec.template.ensure_key_info(signature)
        xmlsec.template.add_x509_data(key_info)
        key = xmlsec.Key.from_memory(self.key_pem, xmlsec.KeyFormat.PEM)
        key.load_cert_from_memory(self.certificate_pem, xmlsec.KeyFormat.PEM)
        context = xmlsec.SignatureContext()
        context.key = key
        context.register_id(element, "ID")
        context.sign(signature)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_authn_request(redirect_url: str) -> tuple[str, str]:
    """(request id, relay state) of an HTTP-Redirect binding AuthnRequest."""
    query = parse_qs(urlparse(redirect_url).query)
    xml = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)
    request = etree.fromstring(xml)
    return request.get("ID"), query.get("RelayState", [""])[0]
