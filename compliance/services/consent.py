"""Changes to the consent ledger and the suppression list.

Every change takes a transaction-scoped advisory lock on the address's hash.
The campaign sender takes the same lock around its last check and the SMTP
hand-off, so a withdrawal that has committed is always seen by the next
message, and a withdrawal that arrives during a hand-off waits for it.
"""

import logging
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from audit import services as audit_services
from audit.actions import Action
from clozup.lib.addresses import InvalidAddress, address_hash, normalize_address
from clozup.lib.locks import lock_until_commit
from clozup.models import Organization, User

from ..models import ConsentEvent, Suppression
from ..models.consent import (
    ActorType,
    Channel,
    ConsentAction,
    ConsentSource,
    LawfulBasis,
    Purpose,
)
from ..selectors.consent import latest_event

logger = logging.getLogger(__name__)

# The actor of an event the person made themselves (an unsubscribe link).
SUBJECT = "subject"
EVIDENCE_KEYS = frozenset({"occurred_at", "ip", "user_agent", "text_shown"})


class InvalidConsentEvent(ValueError):
    pass


def lock_address(name: str) -> None:
    """Hold a lock on an address hash until the transaction ends."""
    lock_until_commit(f"consent:{name}")


def _actor_fields(actor) -> dict:
    if actor is None:
        return {"actor_type": ActorType.SYSTEM, "actor_id": None, "actor_label": ""}
    if actor == SUBJECT:
        return {"actor_type": ActorType.SUBJECT, "actor_id": None, "actor_label": ""}
    if isinstance(actor, str):
        if not actor.startswith("operator:"):
            raise InvalidConsentEvent("actor: a string actor must be an operator label")
        return {
            "actor_type": ActorType.OPERATOR,
            "actor_id": None,
            "actor_label": actor[:150],
        }
    if isinstance(actor, User):
        return {"actor_type": ActorType.USER, "actor_id": actor.pk, "actor_label": ""}
    raise InvalidConsentEvent(f"actor: {type(actor).__name__} is not a user")


def _audit_actor(actor):
    # The audit log knows users, operators and the system; a person acting
    # through their own link is recorded as the system with `by` = subject.
    return None if actor == SUBJECT else actor


def _check_choice(name: str, value: str, choices) -> None:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise InvalidConsentEvent(f"{name}: {value!r} is not one of {allowed}")


def _check_address_fits_channel(address: str, channel: str) -> None:
    is_email = "@" in normalize_address(address)
    if channel == Channel.EMAIL and not is_email:
        raise InvalidConsentEvent("address: the email channel needs an email address")
    if channel != Channel.EMAIL and is_email:
        raise InvalidConsentEvent(
            f"address: the {channel} channel needs a phone number"
        )


def _hash_for_event(organization, address: str, channel: str, lead, contact) -> str:
    if not (address or "").strip():
        if lead is None and contact is None:
            raise InvalidConsentEvent("address: empty, and no lead or contact given")
        return ""
    try:
        _check_address_fits_channel(address, channel)
        return address_hash(organization, address)
    except InvalidAddress as error:
        raise InvalidConsentEvent(str(error)) from None


def _evidence_fields(evidence: dict) -> dict:
    unknown = set(evidence) - EVIDENCE_KEYS
    if unknown:
        raise InvalidConsentEvent(
            f"evidence: unknown keys {', '.join(sorted(unknown))};"
            f" allowed are {', '.join(sorted(EVIDENCE_KEYS))}"
        )
    occurred_at = evidence.get("occurred_at") or timezone.now()
    if not isinstance(occurred_at, datetime) or timezone.is_naive(occurred_at):
        raise InvalidConsentEvent("evidence.occurred_at: an aware datetime is needed")
    return {
        "occurred_at": occurred_at,
        "ip": str(evidence.get("ip") or "")[:45],
        "user_agent": str(evidence.get("user_agent") or "")[:300],
        "text_shown": str(evidence.get("text_shown") or ""),
    }


@transaction.atomic
def record_consent_event(
    organization: Organization,
    *,
    address: str,
    channel: str,
    purpose: str,
    action: str,
    source: str,
    lawful_basis: str,
    evidence: dict,
    actor,
    lead=None,
    contact=None,
    only_if_changed: bool = False,
) -> ConsentEvent | None:
    """Append one grant or withdrawal to the ledger, with an audit event.

    Call inside the organization's context. `actor` is a User, an operator
    label, `SUBJECT` (the person, through an unsubscribe link) or None (the
    system). `evidence` may hold occurred_at, ip, user_agent and text_shown;
    the IP and user agent are stored encrypted. With `only_if_changed` the
    event is not recorded (None is returned) when the latest event for this
    channel and purpose already has this action: that is how a re-import
    stays idempotent. `address` may be empty when `lead` or `contact` is
    given (a record without an address yet); the event then follows the
    record. Raises InvalidConsentEvent naming the field.
    """
    _check_choice("channel", channel, Channel)
    _check_choice("purpose", purpose, Purpose)
    _check_choice("action", action, ConsentAction)
    _check_choice("source", source, ConsentSource)
    _check_choice("lawful_basis", lawful_basis, LawfulBasis)
    if action == ConsentAction.GRANT and lawful_basis == LawfulBasis.NONE:
        raise InvalidConsentEvent("lawful_basis: a grant needs a lawful basis")
    hashed = _hash_for_event(organization, address, channel, lead, contact)
    return append_event(
        organization,
        hashed=hashed,
        channel=channel,
        purpose=purpose,
        action=action,
        source=source,
        lawful_basis=lawful_basis,
        evidence=evidence,
        actor=actor,
        lead=lead,
        contact=contact,
        only_if_changed=only_if_changed,
    )


@transaction.atomic
def append_event(
    organization: Organization,
    *,
    hashed: str,
    channel: str,
    purpose: str,
    action: str,
    source: str,
    lawful_basis: str,
    evidence: dict,
    actor,
    lead=None,
    contact=None,
    only_if_changed: bool = False,
) -> ConsentEvent | None:
    """`record_consent_event` for a caller that holds only the address's hash.

    The unsubscribe link carries the hash, not the address; the checks on
    the choices are the caller's (record_consent_event) or fixed (the link).
    """
    fields = {**_evidence_fields(evidence), **_actor_fields(actor)}
    lead_id, contact_id = getattr(lead, "pk", None), getattr(contact, "pk", None)

    lock_address(hashed or f"lead:{lead_id}:contact:{contact_id}")
    if only_if_changed:
        latest = latest_event(
            organization,
            hashed=hashed,
            channel=channel,
            purpose=purpose,
            lead_id=lead_id,
            contact_id=contact_id,
        )
        if latest is not None and latest.action == action:
            return None

    event = ConsentEvent.objects.create(
        organization=organization,
        address_hash=hashed,
        lead=lead,
        contact=contact,
        channel=channel,
        purpose=purpose,
        action=action,
        lawful_basis=lawful_basis,
        source=source,
        **fields,
    )

    audit_action = (
        Action.CONSENT_GRANTED
        if action == ConsentAction.GRANT
        else Action.CONSENT_WITHDRAWN
    )
    audit_services.record_event(
        audit_action,
        organization=organization,
        actor=_audit_actor(actor),
        target=event,
        metadata={
            "channel": channel,
            "purpose": purpose,
            "source": source,
            "lawful_basis": lawful_basis,
            "lead_id": lead_id,
            "contact_id": contact_id,
            "by": fields["actor_type"],
        },
    )
    return event


@transaction.atomic
def suppress_address(
    organization: Organization, *, address: str, source: str, actor
) -> Suppression:
    """Put the address's hash on the suppression list: no channel may reach it.

    With `source="erasure"` the ledger events of the address (their evidence
    and links) are removed through the owner's function, so that afterwards
    only the hash on the suppression list remains. Records an audit event.
    """
    _check_choice("source", source, ConsentSource)
    try:
        hashed = address_hash(organization, address)
    except InvalidAddress as error:
        raise InvalidConsentEvent(str(error)) from None
    actor_fields = _actor_fields(actor)

    lock_address(hashed)
    forgotten = 0
    if source == ConsentSource.ERASURE:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT compliance_forget_address(%s, %s)", [organization.pk, hashed]
            )
            forgotten = cursor.fetchone()[0]
    suppression = Suppression.objects.create(
        organization=organization, address_hash=hashed, source=source, **actor_fields
    )

    audit_services.record_event(
        Action.ADDRESS_SUPPRESSED,
        organization=organization,
        actor=_audit_actor(actor),
        target=suppression,
        metadata={"source": source, "events_removed": forgotten},
    )
    return suppression


def purge_organization_consent(organization: Organization | int) -> int:
    """Remove the ledger and suppression list of an organization being purged.

    Call inside that organization's context; returns the rows removed.
    """
    organization_id = getattr(organization, "pk", organization)
    with connection.cursor() as cursor:
        cursor.execute("SELECT compliance_purge_organization(%s)", [organization_id])
        return cursor.fetchone()[0]


def record_import_opt_outs(
    organization: Organization,
    *,
    do_not_email: list[int],
    do_not_call: list[int],
    actor=None,
) -> int:
    """Record the "Do Not Email" / "Do Not Call" flags of imported leads.

    Each flag becomes a withdrawal for every purpose of its channel (source
    import), linked to the lead and keyed by its address when it has one. A
    lead whose latest event already withdrew is skipped, so importing the
    same file again adds nothing. Returns how many events were recorded.
    """
    from crm.models import Lead

    wanted = [(Channel.EMAIL, pk) for pk in do_not_email]
    wanted += [(Channel.PHONE, pk) for pk in do_not_call]
    leads = Lead.objects.only("id", "email", "phone").in_bulk({pk for _, pk in wanted})

    recorded = 0
    for channel, pk in wanted:
        lead = leads.get(pk)
        if lead is None:
            continue
        address = lead.email if channel == Channel.EMAIL else lead.phone
        try:
            event = record_consent_event(
                organization,
                address=address,
                channel=channel,
                purpose=Purpose.ALL,
                action=ConsentAction.WITHDRAW,
                source=ConsentSource.IMPORT,
                lawful_basis=LawfulBasis.NONE,
                evidence={},
                actor=actor,
                lead=lead,
                only_if_changed=True,
            )
        except InvalidConsentEvent:
            # An unusable phone number: the flag still holds for the lead.
            event = record_consent_event(
                organization,
                address="",
                channel=channel,
                purpose=Purpose.ALL,
                action=ConsentAction.WITHDRAW,
                source=ConsentSource.IMPORT,
                lawful_basis=LawfulBasis.NONE,
                evidence={},
                actor=actor,
                lead=lead,
                only_if_changed=True,
            )
        recorded += event is not None
    logger.info("import opt-outs recorded", extra={"events": recorded})
    return recorded
