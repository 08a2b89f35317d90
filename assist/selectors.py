"""Reads for AI assist: the organization's settings, its token use, and the
conversation sent to the provider.

Everything here runs inside the current organization's context, so RLS
decides which rows exist; the prompt is then built from a fixed list of plain
fields (never an encrypted one, never `Lead.details`), leaves out people who
withdrew consent to AI processing or were erased (the consent ledger of
`compliance`), and replaces email addresses and phone numbers by
placeholders.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from assist.models import AssistSettings, AssistUsage, Feature
from assist.placeholders import Placeholders
from assist.provider import Provider
from clozup.lib.addresses import InvalidAddress
from clozup.models import Organization, User
from compliance.models.consent import Channel, Purpose
from compliance.selectors import consent as consent_selectors
from crm.models import Activity, Contact, Deal, Lead
from crm.selectors import records as crm_selectors

TIMELINE_LIMIT = 40
BODY_LIMIT = 1500
KEEP_TOKENS = (
    "Tokens such as [EMAIL_1], [PHONE_1] or [PERSON_1] stand for details kept "
    "private; copy them exactly where needed and never guess what they hide."
)
INSTRUCTIONS = {
    Feature.SUMMARY: (
        "You help a B2B sales rep. Summarise the record and its timeline below "
        "in three to six short bullet points: where things stand, what was "
        "promised, and the sensible next step. Use only the facts given. " + KEEP_TOKENS
    ),
    Feature.FOLLOW_UP: (
        "You help a B2B sales rep. Draft a short, friendly follow-up email from "
        "the rep about the record below, building on the latest exchanges in "
        "its timeline. Plain text, no subject line, at most 150 words; invent no "
        "prices, dates or promises. " + KEEP_TOKENS
    ),
}


class SubjectExcluded(Exception):
    """The record is about a person whose data may not go to the AI."""


@dataclass
class Prompt:
    messages: list[dict]
    placeholders: Placeholders

    @property
    def size(self) -> int:
        return sum(len(message["content"]) for message in self.messages)


def get_settings() -> AssistSettings | None:
    """The current organization's AI settings; None until an admin saves them."""
    return AssistSettings.objects.first()


def get_provider(assist_settings: AssistSettings) -> Provider | None:
    """The organization's own provider, else Clozup's default; None if neither."""
    if assist_settings.base_url:
        api_key = assist_settings.api_key_text
        if not api_key:
            return None
        return Provider(
            base_url=assist_settings.base_url,
            model=assist_settings.model or settings.AI_MODEL,
            api_key=api_key,
        )
    if settings.AI_BASE_URL:
        return Provider(
            base_url=settings.AI_BASE_URL,
            model=assist_settings.model or settings.AI_MODEL,
            api_key=settings.AI_API_KEY,
        )
    return None


def _month_start() -> datetime:
    return timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def tokens_used_this_month(*, user: User | None = None) -> int:
    """Tokens the organization (or one of its members) used since the 1st, UTC."""
    usage = AssistUsage.objects.filter(created_at__gte=_month_start())
    if user is not None:
        usage = usage.filter(user=user)
    totals = usage.aggregate(tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"))
    return (totals["tokens_in"] or 0) + (totals["tokens_out"] or 0)


# Who may be in a prompt ---------------------------------------------------------


def _addresses(person: Lead | Contact) -> list[tuple[str, str]]:
    pairs = [
        (person.email, Channel.EMAIL),
        (person.secondary_email, Channel.EMAIL),
        (person.phone, Channel.PHONE),
        (person.secondary_phone, Channel.PHONE),
    ]
    return [(address, channel) for address, channel in pairs if address]


def is_excluded_from_ai(person: Lead | Contact) -> bool:
    """True when the person's data must stay out of prompts.

    That is a deleted record, or any of the person's addresses for which the
    consent ledger refuses AI processing: a withdrawal for `ai_processing` or
    for all purposes of the channel, or a suppression (an erased person's
    addresses are suppressed). Call inside the person's organization context.
    """
    if person.deleted_at is not None:
        return True
    organization = Organization.objects.get(pk=person.organization_id)
    for address, channel in _addresses(person):
        try:
            allowed = consent_selectors.can_contact(
                organization,
                address=address,
                channel=channel,
                purpose=Purpose.AI_PROCESSING,
            )
        except InvalidAddress:
            # Not an address the ledger can know (free text in a phone field).
            continue
        if not allowed:
            return True
    return False


# The prompt ------------------------------------------------------------------------


def _line(label: str, value) -> str | None:
    if value in (None, ""):
        return None
    return f"{label}: {value}"


def _place(record) -> str:
    return ", ".join(part for part in (record.city, record.country) if part)


def _hide_contact_details(placeholders: Placeholders, person) -> None:
    for name in ("email", "secondary_email"):
        placeholders.hide(getattr(person, name), kind="EMAIL")
    for name in ("phone", "secondary_phone"):
        placeholders.hide(getattr(person, name), kind="PHONE")


def _person_name(placeholders: Placeholders, person) -> str:
    """The person's name, or a placeholder if they are excluded from AI."""
    if person is None:
        return ""
    _hide_contact_details(placeholders, person)
    if not is_excluded_from_ai(person):
        return person.full_name
    for name in (person.full_name, person.first_name, person.last_name):
        placeholders.hide(name, kind="PERSON")
    return ""


def _facts(record, placeholders: Placeholders) -> list[str | None]:
    if isinstance(record, Lead):
        return [
            "Kind: lead",
            _line("Name", _person_name(placeholders, record)),
            _line("Title", record.title),
            _line("Company", record.company.name if record.company else None)
            or _line("Company", record.company_name),
            _line("Status", record.get_status_display()),
            _line("Source", record.source),
            _line("Location", _place(record)),
            _line("Since", f"{record.created_at:%Y-%m-%d}"),
        ]
    if isinstance(record, Contact):
        return [
            "Kind: contact",
            _line("Name", _person_name(placeholders, record)),
            _line("Title", record.title),
            _line("Company", record.company.name if record.company else None),
            _line("Location", _place(record)),
        ]
    if isinstance(record, Deal):
        _person_name(placeholders, record.lead)
        return [
            "Kind: deal",
            _line("Title", record.title),
            _line("Stage", record.stage.name if record.stage else None),
            _line("Amount", f"{record.amount:,} {record.currency}"),
            _line("Expected close", record.expected_close_date),
            _line("Company", record.company.name if record.company else None),
            _line("Contact", _person_name(placeholders, record.contact)),
            _line("Since", f"{record.created_at:%Y-%m-%d}"),
        ]
    raise TypeError(f"record: AI assist serves leads, contacts and deals, not {record}")


def _activity_line(activity: Activity) -> str:
    body = " ".join(activity.body.split())
    if len(body) > BODY_LIMIT:
        body = body[:BODY_LIMIT] + "…"
    parts = [f"{activity.occurred_at:%Y-%m-%d}", activity.get_kind_display()]
    if activity.ai_generated:
        parts.append("(AI-generated)")
    text = " — ".join(part for part in (activity.subject, body) if part)
    return "- " + " ".join(parts) + (f": {text}" if text else "")


def build_prompt(record: Lead | Contact | Deal, feature: str) -> Prompt:
    """The conversation for `feature` about `record`, masked, ready to send.

    Raises SubjectExcluded when the record is itself a person excluded from
    AI processing. Call inside the record's organization context.
    """
    if isinstance(record, Lead | Contact) and is_excluded_from_ai(record):
        raise SubjectExcluded(f"{record._meta.model_name} {record.pk}")

    placeholders = Placeholders()
    facts = [fact for fact in _facts(record, placeholders) if fact]
    timeline = [
        _activity_line(activity)
        for activity in crm_selectors.list_timeline(record, limit=TIMELINE_LIMIT)
    ]

    content = "Record:\n" + "\n".join(facts) + "\n\nTimeline, newest first:\n"
    content += "\n".join(timeline) if timeline else "(no activity yet)"
    return Prompt(
        messages=[
            {"role": "system", "content": INSTRUCTIONS[feature]},
            {"role": "user", "content": placeholders.mask(content)},
        ],
        placeholders=placeholders,
    )
