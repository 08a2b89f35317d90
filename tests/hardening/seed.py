"""Records of every kind, with chosen text in every field a person can type.

The walk seeds the other organization with a marker string and looks for it
in the first organization's responses; the cross-site scripting tests seed
markup and look for it unescaped.
"""

import io
import wave
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from clozup.models import Organization, User
from clozup.tenancy import org_context
from compliance.models import LegalHold, SubjectExport
from compliance.models.consent import (
    Channel,
    ConsentAction,
    ConsentSource,
    LawfulBasis,
    Purpose,
)
from compliance.selectors.subjects import subject_hash
from compliance.services import consent, requests, retention
from crm.models import (
    Activity,
    Campaign,
    Company,
    Contact,
    Deal,
    ImportJob,
    Lead,
    Product,
    SalesAgent,
    SalesTeam,
    Stage,
)
from crm.services import files


@dataclass
class Seeded:
    lead: Lead
    contact: Contact
    company: Company
    deal: Deal


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 100)
    return buffer.getvalue()


def seed_records(
    organization: Organization, member: User, *, text: str, email: str
) -> Seeded:
    """One record of every kind whose free-text fields all hold `text`."""
    with org_context(organization):
        company = Company.objects.create(
            organization=organization,
            name=f"{text} company",
            industry=text[:120],
            city=text[:120],
            description=text,
            owner=member,
        )
        contact = Contact.objects.create(
            organization=organization,
            first_name=text[:120],
            last_name=text[:120],
            email=email,
            title=text[:200],
            company=company,
        )
        lead = Lead.objects.create(
            organization=organization,
            first_name=text[:120],
            last_name=text[:120],
            email=email,
            company_name=text,
            title=text[:200],
            source=text[:120],
            owner=member,
            owner_name=text[:200],
        )
        product = Product.objects.create(
            organization=organization, name=f"{text} product", family=text[:120]
        )
        deal = Deal.objects.create(
            organization=organization,
            title=f"{text} deal",
            stage=Stage.objects.order_by("position").first(),
            company=company,
            contact=contact,
            lead=lead,
            product=product,
            owner=member,
        )
        for kind in (Activity.Kind.NOTE, Activity.Kind.EMAIL):
            Activity.objects.create(
                organization=organization,
                kind=kind,
                lead=lead,
                author=member,
                subject=text[:255],
                body=f"{text}\n\n{text} body",
            )
        team = SalesTeam.objects.create(
            organization=organization, name=f"{text} team", manager_name=text[:200]
        )
        SalesAgent.objects.create(
            organization=organization, name=f"{text} agent", team=team
        )
        Campaign.objects.create(
            organization=organization,
            name=f"{text} campaign",
            subject=text[:255],
            body=text,
            created_by=member,
        )
        ImportJob.objects.create(
            organization=organization,
            created_by=member,
            files=[
                {
                    "name": f"{text}.csv",
                    "storage_name": "imports/missing.csv",
                    "size": 10,
                    "headers": [text, "Email"],
                    "kind": "leads",
                    "layout": "",
                    "mapping": {text: "details", "Email": "email"},
                }
            ],
        )
        for record in (lead, deal):
            files.store_attachment(
                record,
                SimpleUploadedFile(f"{text}.txt", f"{text} inside".encode()),
                actor=member,
            )
            files.store_recording(
                record, SimpleUploadedFile(f"{text}.wav", wav_bytes()), actor=member
            )
        _seed_privacy_records(organization, member, text=text, email=email, lead=lead)
    return Seeded(lead=lead, contact=contact, company=company, deal=deal)


def _seed_privacy_records(organization, member, *, text, email, lead) -> None:
    """A request, an export, a hold and a ledger event, for the compliance pages."""
    dsr = requests.record_request(
        organization, kind="access", email=email, details=text, actor=member
    )
    SubjectExport.objects.create(
        organization=organization,
        email=email,
        subject_hash=subject_hash(organization, email),
        request=dsr,
        requested_by=member,
    )
    retention.place_legal_hold(
        organization,
        scope=LegalHold.Scope.RECORD,
        reason=text,
        actor=member,
        record_type="crm.lead",
        record_id=lead.pk,
    )
    consent.record_consent_event(
        organization,
        address=email,
        channel=Channel.EMAIL,
        purpose=Purpose.MARKETING,
        action=ConsentAction.GRANT,
        source=ConsentSource.FORM,
        lawful_basis=LawfulBasis.CONSENT,
        evidence={"text_shown": text},
        actor=member,
        lead=lead,
    )
