"""Reads of the consent ledger: the current state is derived, never stored.

The state of a person for a channel and purpose is the latest event (by the
time the person acted, then by insertion order) among the events for that
purpose and those for every purpose. A suppression overrides it until an
admin records a grant with a lawful basis after the suppression.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Q

from clozup.lib.addresses import InvalidAddress, address_hash
from clozup.models import Organization

from ..models import ConsentEvent, Suppression
from ..models.consent import Channel, ConsentAction, ConsentSource, Purpose


@dataclass(frozen=True)
class ConsentState:
    channel: str
    purpose: str
    # The deciding event, or None when the ledger holds nothing for it.
    action: str | None = None
    event_id: int | None = None
    occurred_at: datetime | None = None
    source: str = ""
    lawful_basis: str = ""
    suppressed: bool = False

    @property
    def withdrawn(self) -> bool:
        return self.action == ConsentAction.WITHDRAW

    @property
    def granted(self) -> bool:
        return self.action == ConsentAction.GRANT

    @property
    def can_contact(self) -> bool:
        return not self.suppressed and not self.withdrawn


def _purpose_filter(purpose: str) -> Q:
    return Q(purpose__in=sorted({purpose, Purpose.ALL}))


def _person_filter(hashed: str, lead_id=None, contact_id=None) -> Q:
    person = Q(pk__in=[])
    if hashed:
        person |= Q(address_hash=hashed)
    if lead_id is not None:
        person |= Q(lead_id=lead_id)
    if contact_id is not None:
        person |= Q(contact_id=contact_id)
    return person


def latest_event(
    organization: Organization,
    *,
    hashed: str,
    channel: str,
    purpose: str,
    lead_id: int | None = None,
    contact_id: int | None = None,
) -> ConsentEvent | None:
    """The event that decides the state of one person: by hash or record link."""
    return (
        ConsentEvent.objects.filter(
            _person_filter(hashed, lead_id, contact_id),
            _purpose_filter(purpose),
            organization=organization,
            channel=channel,
        )
        .order_by("-occurred_at", "-id")
        .only("id", "action", "occurred_at", "source", "lawful_basis")
        .first()
    )


def _is_suppressed_for(
    organization: Organization,
    *,
    hashed: str,
    channel: str,
    purpose: str,
    lead_id: int | None = None,
    contact_id: int | None = None,
) -> bool:
    if not hashed:
        return False
    last_suppression = Suppression.objects.filter(
        organization=organization, address_hash=hashed
    ).aggregate(at=Max("created_at"))["at"]
    if last_suppression is None:
        return False

    # Only an admin's grant with a basis, recorded after the suppression,
    # brings the person back for this channel and purpose.
    lifted = ConsentEvent.objects.filter(
        _person_filter(hashed, lead_id, contact_id),
        _purpose_filter(purpose),
        organization=organization,
        channel=channel,
        action=ConsentAction.GRANT,
        source=ConsentSource.ADMIN,
        recorded_at__gt=last_suppression,
    ).exists()
    return not lifted


def current_consent_by_hash(
    organization: Organization,
    *,
    hashed: str,
    channel: str,
    purpose: str,
    lead_id: int | None = None,
    contact_id: int | None = None,
) -> ConsentState:
    """The state of a hashed address, and of the records linked to its events.

    `lead_id` / `contact_id` add the events recorded for that record while it
    had no address (a "Do Not Email" flag imported without an email).
    """
    person = {"lead_id": lead_id, "contact_id": contact_id}
    event = latest_event(
        organization, hashed=hashed, channel=channel, purpose=purpose, **person
    )
    suppressed = _is_suppressed_for(
        organization, hashed=hashed, channel=channel, purpose=purpose, **person
    )
    if event is None:
        return ConsentState(channel, purpose, suppressed=suppressed)
    return ConsentState(
        channel,
        purpose,
        action=event.action,
        event_id=event.pk,
        occurred_at=event.occurred_at,
        source=event.source,
        lawful_basis=event.lawful_basis,
        suppressed=suppressed,
    )


def current_consent(
    organization: Organization, *, address: str, channel: str, purpose: str
) -> ConsentState:
    """The person's state for this channel and purpose. Call inside the org."""
    hashed = address_hash(organization, address)
    return current_consent_by_hash(
        organization, hashed=hashed, channel=channel, purpose=purpose
    )


def can_contact(
    organization: Organization, *, address: str, channel: str, purpose: str
) -> bool:
    """False when the latest event withdrew consent or the address is suppressed."""
    state = current_consent(
        organization, address=address, channel=channel, purpose=purpose
    )
    return state.can_contact


def record_address(record, channel: str) -> str:
    """The address of a lead or contact for a channel ("" when it has none)."""
    if channel == Channel.EMAIL:
        return (record.email or "").strip()
    return (record.phone or "").strip()


def current_consent_for_record(
    organization: Organization, record, *, channel: str, purpose: str
) -> ConsentState:
    """The state of the person behind a lead or contact, for outreach to them.

    Counts the events of the record's current address and those linked to
    the record itself; a record without an address for the channel is
    judged on its linked events alone.
    """
    address = record_address(record, channel)
    hashed = ""
    if address:
        try:
            hashed = address_hash(organization, address)
        except InvalidAddress:
            hashed = ""
    links = {"lead_id": None, "contact_id": None}
    links[f"{record._meta.model_name}_id"] = record.pk
    return current_consent_by_hash(
        organization, hashed=hashed, channel=channel, purpose=purpose, **links
    )


def record_consent_summary(organization: Organization, record) -> dict:
    """Email and phone state of a lead or contact, for the purpose campaigns use.

    A state that cannot contact is the record's flag: shown on the record,
    and kept from outreach until an admin records a grant with a basis.
    """
    return {
        channel: current_consent_for_record(
            organization, record, channel=channel, purpose=Purpose.MARKETING
        )
        for channel in (Channel.EMAIL, Channel.PHONE)
    }


def is_suppressed(organization: Organization, address: str) -> bool:
    """Whether the address was ever put on the suppression list.

    A later admin grant lifts the suppression for its channel and purpose
    (see `current_consent`), but the address stays on the list.
    """
    hashed = address_hash(organization, address)
    return Suppression.objects.filter(
        organization=organization, address_hash=hashed
    ).exists()


def list_events(organization: Organization, *, address: str):
    """Every ledger event of one address, newest first."""
    hashed = address_hash(organization, address)
    return ConsentEvent.objects.filter(
        organization=organization, address_hash=hashed
    ).order_by("-occurred_at", "-id")
