from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from clozup.models import User
from crm.models import Company, Contact, Deal, Lead, Stage
from crm.services.records import record_change


class LeadAlreadyConverted(ValueError):
    pass


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    contact: Contact
    company: Company | None
    deal: Deal | None


@transaction.atomic
def set_lead_status(lead: Lead, status: str, *, actor: User, request=None) -> Lead:
    if status not in Lead.Status.values:
        raise ValueError(f"status: {status!r} is not a lead status")
    if lead.status == status:
        return lead
    lead.status = status
    lead.save(update_fields=["status", "updated_at"])
    record_change(
        Action.RECORD_UPDATED, lead, actor=actor, fields=["status"], request=request
    )
    return lead


@transaction.atomic
def convert_lead(
    lead: Lead,
    *,
    actor: User,
    request=None,
    deal_title: str = "",
    amount: Decimal | None = None,
    currency: str = "USD",
    stage: Stage | None = None,
) -> Conversion:
    """Turn a lead into a contact, its company (found or new) and, if titled, a deal.

    A contact with the lead's email is reused rather than duplicated; the
    company is the lead's linked one, else found by name, else created.
    Each record created and the lead's change are audit events.
    """
    created = []
    if lead.converted_at is not None:
        raise LeadAlreadyConverted(f"lead {lead.pk} was converted already")
    organization = lead.organization

    company = lead.company
    if company is None and lead.company_name:
        company = Company.objects.live().filter(
            name__iexact=lead.company_name
        ).first() or Company.objects.create(
            organization=organization, name=lead.company_name, owner=lead.owner
        )

    contact = None
    if lead.email:
        contact = Contact.objects.live().filter(email__iexact=lead.email).first()
    if contact is None:
        contact = Contact.objects.create(
            organization=organization,
            first_name=lead.first_name,
            last_name=lead.last_name,
            email=lead.email,
            secondary_email=lead.secondary_email,
            phone=lead.phone,
            secondary_phone=lead.secondary_phone,
            title=lead.title,
            company=company,
            country=lead.country,
            city=lead.city,
            owner=lead.owner or actor,
        )
        copied = ["first_name", "last_name", "email", "phone", "title", "company"]
        created.append((contact, [f for f in copied if getattr(contact, f)]))

    deal = None
    if deal_title:
        deal = Deal.objects.create(
            organization=organization,
            title=deal_title,
            amount=amount or Decimal(0),
            currency=currency,
            stage=stage or Stage.objects.order_by("position", "id").first(),
            owner=lead.owner or actor,
            company=company,
            contact=contact,
            lead=lead,
        )
        created.append((deal, ["title", "amount", "currency", "stage", "lead"]))

    lead.status = Lead.Status.CONVERTED
    lead.converted_at = timezone.now()
    lead.contact = contact
    lead.company = company
    lead.save(
        update_fields=["status", "converted_at", "contact", "company", "updated_at"]
    )
    return Conversion(lead=lead, contact=contact, company=company, deal=deal)
