"""Where one data subject appears in the current organization.

A person is found by email address (either address field of a lead or a
contact, any case) and, when given, by phone number (digits compared, so
"+44 20 7946 0000" and "442079460000" match). From those leads and contacts
come their activities, the deals that name them, and the files kept on any of
these; activities of other records whose subject or body quote the address
are found too. Everything runs inside the organization's context, so RLS
keeps the search to one organization.
"""

import re
from dataclasses import dataclass

from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast

from audit.models import AuditEntry
from clozup.lib.addresses import InvalidAddress, address_hash
from clozup.models import Organization
from clozup.tenancy import current_organization_id
from crm.models import Activity, Attachment, CallRecording, Contact, Deal, Lead

MIN_PHONE_DIGITS = 6


def normalise_email(email: str) -> str:
    return email.strip().lower()


def phone_digits(phone: str) -> str:
    return re.sub(r"\D", "", phone or "")


def subject_hash(organization: Organization, email: str) -> str:
    """The one-way hash under which the organization remembers the person.

    The same keyed hash as the consent ledger's and the suppression list's.
    """
    return address_hash(organization, normalise_email(email))


class _Digits(Func):
    function = "regexp_replace"

    def __init__(self, expression):
        super().__init__(expression, Value(r"\D"), Value(""), Value("g"))


def _person_condition(email: str, phone: str) -> Q:
    condition = Q(pk__in=[])
    if email:
        condition |= Q(email__iexact=email) | Q(secondary_email__iexact=email)
    digits = phone_digits(phone)
    if len(digits) >= MIN_PHONE_DIGITS:
        condition |= Q(phone_digits=digits) | Q(secondary_phone_digits=digits)
    return condition


def _people(model, email: str, phone: str) -> QuerySet:
    queryset = model._base_manager.all()
    if len(phone_digits(phone)) >= MIN_PHONE_DIGITS:
        queryset = queryset.annotate(
            phone_digits=_Digits(F("phone")),
            secondary_phone_digits=_Digits(F("secondary_phone")),
        )
    return queryset.filter(_person_condition(email, phone))


@dataclass
class SubjectRecords:
    """The rows that hold or name the person.

    Leads, contacts and deals are few and kept as ids; activities (which may
    be many) and what hangs off them are queries built on those ids.
    """

    email: str
    # Keyed hashes of the person's address and phone numbers, as the consent
    # ledger knows them.
    address_hashes: list[str]
    phones: list[str]
    lead_ids: list[int]
    contact_ids: list[int]
    deal_ids: list[int]

    @property
    def is_empty(self) -> bool:
        return not (self.lead_ids or self.contact_ids or self.activities().exists())

    def leads(self) -> QuerySet:
        return Lead._base_manager.filter(pk__in=self.lead_ids).order_by("pk")

    def contacts(self) -> QuerySet:
        return Contact._base_manager.filter(pk__in=self.contact_ids).order_by("pk")

    def deals(self) -> QuerySet:
        return Deal._base_manager.filter(pk__in=self.deal_ids).order_by("pk")

    def activities(self) -> QuerySet:
        condition = Q(lead_id__in=self.lead_ids) | Q(contact_id__in=self.contact_ids)
        if self.email:
            condition |= Q(subject__icontains=self.email)
            condition |= Q(body__icontains=self.email)
        return Activity._base_manager.filter(condition).order_by("pk")

    def _linked(self) -> Q:
        return (
            Q(lead_id__in=self.lead_ids)
            | Q(contact_id__in=self.contact_ids)
            | Q(deal_id__in=self.deal_ids)
        )

    def attachments(self) -> QuerySet:
        return Attachment._base_manager.filter(self._linked()).order_by("pk")

    def recordings(self) -> QuerySet:
        activities = self.activities().order_by().values("pk")
        condition = self._linked() | Q(activity_id__in=activities)
        return CallRecording._base_manager.filter(condition).order_by("pk")

    def consent_events(self) -> QuerySet:
        from compliance.models import ConsentEvent

        condition = (
            Q(address_hash__in=self.address_hashes)
            | Q(lead_id__in=self.lead_ids)
            | Q(contact_id__in=self.contact_ids)
        )
        return ConsentEvent.objects.filter(condition).order_by("occurred_at", "pk")

    def campaign_sends(self) -> QuerySet:
        from compliance.models import CampaignSend

        return CampaignSend.objects.filter(lead_id__in=self.lead_ids).order_by("pk")

    def audit_entries(self) -> QuerySet:
        """Audit entries whose target is one of these rows (they hold ids only)."""
        targets = Q(pk__in=[])
        for label, rows in (
            ("crm.lead", self.leads()),
            ("crm.contact", self.contacts()),
            ("crm.deal", self.deals()),
            ("crm.activity", self.activities()),
            ("crm.attachment", self.attachments()),
            ("crm.callrecording", self.recordings()),
        ):
            as_text = rows.order_by().annotate(key=Cast("pk", TextField()))
            targets |= Q(target_type=label, target_id__in=as_text.values("key"))
        return AuditEntry.objects.filter(targets).order_by("seq")


def _ids(queryset: QuerySet) -> list[int]:
    return list(queryset.order_by("pk").values_list("pk", flat=True))


def find_subject(*, email: str = "", phone: str = "") -> SubjectRecords:
    """Every row of the current organization about the person; deleted ones too."""
    email = normalise_email(email)
    contact_ids = _ids(_people(Contact, email, phone))
    leads = _people(Lead, email, phone)
    if contact_ids:
        leads = Lead._base_manager.filter(
            Q(pk__in=leads.values("pk")) | Q(contact_id__in=contact_ids)
        )
    lead_ids = _ids(leads)
    organization = Organization.objects.get(pk=current_organization_id())
    phones = {phone} if phone else set()
    for model, ids in ((Lead, lead_ids), (Contact, contact_ids)):
        rows = model._base_manager.filter(pk__in=ids)
        for numbers in rows.values_list("phone", "secondary_phone"):
            phones.update(number for number in numbers if number)
    hashes = [address_hash(organization, email)] if email else []
    for number in sorted(phones):
        try:
            hashes.append(address_hash(organization, number))
        except InvalidAddress:
            continue
    deal_ids = _ids(
        Deal._base_manager.filter(
            Q(lead_id__in=lead_ids) | Q(contact_id__in=contact_ids)
        )
    )
    return SubjectRecords(
        email=email,
        address_hashes=hashes,
        phones=sorted(phones),
        lead_ids=lead_ids,
        contact_ids=contact_ids,
        deal_ids=deal_ids,
    )
