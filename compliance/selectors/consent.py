"""Reads of the consent ledger: the current state is derived, never stored.

The state of a person for a channel and purpose is the latest event (by the
time the person acted, then by insertion order) among the events for that
purpose and those for every purpose. A suppression overrides it until an
admin records a grant with a lawful basis after the suppression.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Q

from clozup.lib.addresses import address_hash
from clozup.models import Organization

from ..models import ConsentEvent, Suppression
from ..models.consent import ConsentAction, ConsentSource, Purpose


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


def latest_event(
    organization: Organization, *, hashed: str, channel: str, purpose: str
) -> ConsentEvent | None:
    """The event that decides the state of one hashed address."""
    return (
        ConsentEvent.objects.filter(
            _purpose_filter(purpose),
            organization=organization,
            address_hash=hashed,
            channel=channel,
        )
        .order_by("-occurred_at", "-id")
        .only("id", "action", "occurred_at", "source", "lawful_basis")
        .first()
    )


def _is_suppressed_for(
    organization: Organization, *, hashed: str, channel: str, purpose: str
) -> bool:
    last_suppression = Suppression.objects.filter(
        organization=organization, address_hash=hashed
    ).aggregate(at=Max("created_at"))["at"]
    if last_suppression is None:
        return False

    # Only an admin's grant with a basis, recorded after the suppression,
    # brings the person back for this channel and purpose.
    lifted = ConsentEvent.objects.filter(
        _purpose_filter(purpose),
        organization=organization,
        address_hash=hashed,
        channel=channel,
        action=ConsentAction.GRANT,
        source=ConsentSource.ADMIN,
        recorded_at__gt=last_suppression,
    ).exists()
    return not lifted


def current_consent_by_hash(
    organization: Organization, *, hashed: str, channel: str, purpose: str
) -> ConsentState:
    event = latest_event(organization, hashed=hashed, channel=channel, purpose=purpose)
    suppressed = _is_suppressed_for(
        organization, hashed=hashed, channel=channel, purpose=purpose
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
