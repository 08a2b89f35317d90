from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.utils import IntegrityError, ProgrammingError
from django.utils import timezone

from audit.models import AuditEntry
from clozup.lib.addresses import address_hash, normalize_address
from clozup.tenancy import org_context
from compliance.models import ConsentEvent, Suppression
from compliance.selectors.consent import (
    can_contact,
    current_consent,
    is_suppressed,
    list_events,
)
from compliance.services.consent import (
    SUBJECT,
    InvalidConsentEvent,
    record_consent_event,
    suppress_address,
)

pytestmark = pytest.mark.django_db

ADDRESS = "Ada.Lovelace@Example.org"


def _record(org, *, action="withdraw", basis="none", actor=None, **extra):
    fields = {
        "address": ADDRESS,
        "channel": "email",
        "purpose": "marketing",
        "action": action,
        "source": "form",
        "lawful_basis": basis,
        "evidence": {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
        "actor": actor,
    }
    fields.update(extra)
    with org_context(org):
        return record_consent_event(org, **fields)


def test_the_hash_ignores_case_and_spaces_but_differs_between_organizations(
    org_a, org_b
):
    assert address_hash(org_a, " ada.lovelace@example.org ") == address_hash(
        org_a, ADDRESS
    )
    assert address_hash(org_a, ADDRESS) != address_hash(org_b, ADDRESS)
    assert len(address_hash(org_a, ADDRESS)) == 64


def test_phone_numbers_are_normalised_to_digits():
    assert normalize_address("+44 (0)20 7946-0958") == "+440207946 0958".replace(
        " ", ""
    )
    assert normalize_address("0044 20 7946 0958") == "+442079460958"


def test_recording_a_withdrawal_stores_the_hash_and_an_audit_event(org_a, admin_a):
    event = _record(org_a, actor=admin_a)

    with org_context(org_a):
        stored = ConsentEvent.objects.get(pk=event.pk)
        entry = AuditEntry.objects.get(
            target_type="compliance.consentevent", target_id=str(event.pk)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ip, user_agent FROM compliance_consentevent WHERE id = %s",
                [event.pk],
            )
            raw_ip, raw_agent = cursor.fetchone()
    assert stored.address_hash == address_hash(org_a, ADDRESS)
    assert stored.ip.reveal() == "203.0.113.9"
    assert "203.0.113.9" not in raw_ip and "Mozilla" not in raw_agent
    assert entry.action == "consent.withdrawn"
    assert entry.actor_id == admin_a.pk
    assert entry.metadata["channel"] == "email"
    assert "lovelace" not in str(entry.metadata).lower()


def test_the_current_state_is_the_latest_event_and_decides_contact(org_a):
    now = timezone.now()
    _record(org_a, action="grant", basis="consent", evidence={"occurred_at": now})
    with org_context(org_a):
        assert can_contact(org_a, address=ADDRESS, channel="email", purpose="marketing")

    _record(org_a, evidence={"occurred_at": now + timedelta(seconds=1)})
    with org_context(org_a):
        state = current_consent(
            org_a, address=ADDRESS, channel="email", purpose="marketing"
        )
        other_purpose = can_contact(
            org_a, address=ADDRESS, channel="email", purpose="sales_outreach"
        )
    assert state.withdrawn and not state.can_contact
    assert other_purpose is True


def test_a_withdrawal_for_all_purposes_covers_each_purpose(org_a):
    _record(org_a, purpose="all", source="import")
    with org_context(org_a):
        for purpose in ("marketing", "sales_outreach", "ai_processing"):
            assert not can_contact(
                org_a, address=ADDRESS, channel="email", purpose=purpose
            )
        assert can_contact(org_a, address=ADDRESS, channel="phone", purpose="all") is (
            True
        )


def test_a_grant_without_a_lawful_basis_is_refused_naming_the_field(org_a):
    with pytest.raises(InvalidConsentEvent, match="lawful_basis"):
        _record(org_a, action="grant", basis="none")
    with pytest.raises(InvalidConsentEvent, match="channel"):
        _record(org_a, channel="fax")
    with pytest.raises(InvalidConsentEvent, match="address"):
        _record(org_a, channel="phone")
    with pytest.raises(InvalidConsentEvent, match="evidence"):
        _record(org_a, evidence={"name": "Ada"})
    with org_context(org_a):
        assert not ConsentEvent.objects.exists()


def test_only_if_changed_skips_an_event_that_repeats_the_state(org_a):
    first = _record(org_a, source="import", only_if_changed=True)
    second = _record(org_a, source="import", only_if_changed=True)

    assert first is not None and second is None
    with org_context(org_a):
        assert ConsentEvent.objects.count() == 1


def test_the_ledger_refuses_updates_and_deletes_from_the_app_role(org_a):
    event = _record(org_a)

    for statement in (
        "UPDATE compliance_consentevent SET action = 'grant' WHERE id = %s",
        "DELETE FROM compliance_consentevent WHERE id = %s",
    ):
        with pytest.raises(ProgrammingError), org_context(org_a):
            with connection.cursor() as cursor:
                cursor.execute(statement, [event.pk])


def test_deleting_the_lead_clears_the_link_and_keeps_the_event(org_a, make_lead):
    lead = make_lead(org_a, email=ADDRESS)
    event = _record(org_a, lead=lead)

    with org_context(org_a):
        lead.delete()
        stored = ConsentEvent.objects.get(pk=event.pk)
    assert stored.lead_id is None
    assert stored.action == "withdraw"


def test_another_organization_cannot_see_or_write_the_ledger(org_a, org_b):
    event = _record(org_a)

    with org_context(org_b):
        assert not ConsentEvent.objects.filter(pk=event.pk).exists()
        assert can_contact(org_b, address=ADDRESS, channel="email", purpose="marketing")
    with pytest.raises(ProgrammingError), org_context(org_b):
        ConsentEvent.objects.create(
            organization=org_a,
            address_hash="0" * 64,
            channel="email",
            purpose="all",
            action="withdraw",
            lawful_basis="none",
            source="form",
            actor_type="system",
        )


def test_a_suppressed_address_cannot_be_contacted_until_an_admin_grant(org_a, admin_a):
    _record(org_a, action="grant", basis="consent")
    with org_context(org_a):
        suppress_address(org_a, address=ADDRESS, source="complaint", actor=admin_a)
        assert is_suppressed(org_a, ADDRESS)
        assert not can_contact(
            org_a, address=ADDRESS, channel="email", purpose="marketing"
        )

    # A grant from the person's web form does not lift a suppression.
    _record(org_a, action="grant", basis="consent", source="form")
    with org_context(org_a):
        assert not can_contact(
            org_a, address=ADDRESS, channel="email", purpose="marketing"
        )

    _record(org_a, action="grant", basis="contract", source="admin", actor=admin_a)
    with org_context(org_a):
        assert can_contact(org_a, address=ADDRESS, channel="email", purpose="marketing")
        assert not can_contact(
            org_a, address=ADDRESS, channel="phone", purpose="marketing"
        ) or not is_suppressed(org_a, ADDRESS)
        entry = AuditEntry.objects.get(action="consent.suppressed")
    assert entry.metadata == {"source": "complaint", "events_removed": 0}


def test_suppressing_for_erasure_leaves_only_the_hash(org_a, admin_a, make_lead):
    lead = make_lead(org_a, email=ADDRESS)
    _record(org_a, action="grant", basis="consent", lead=lead)
    _record(org_a, lead=lead)

    with org_context(org_a):
        suppress_address(org_a, address=ADDRESS, source="erasure", actor=admin_a)
        assert not list_events(org_a, address=ADDRESS).exists()
        suppression = Suppression.objects.get()
        entry = AuditEntry.objects.get(action="consent.suppressed")
    assert suppression.address_hash == address_hash(org_a, ADDRESS)
    assert entry.metadata["events_removed"] == 2


def test_the_erasure_function_refuses_another_organizations_context(org_a, org_b):
    _record(org_a)
    with pytest.raises(Exception, match="own context"), org_context(org_b):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT compliance_forget_address(%s, %s)",
                [org_a.pk, address_hash(org_a, ADDRESS)],
            )


def test_an_unsubscribe_by_the_person_is_audited_without_a_user(org_a):
    event = _record(org_a, actor=SUBJECT, source="unsubscribe_link")

    with org_context(org_a):
        entry = AuditEntry.objects.get(
            target_type="compliance.consentevent", target_id=str(event.pk)
        )
    assert event.actor_type == "subject"
    assert entry.actor_type == "system"
    assert entry.metadata["by"] == "subject"


def test_hashes_must_be_hex(org_a):
    with pytest.raises(IntegrityError), org_context(org_a), transaction.atomic():
        Suppression.objects.create(
            organization=org_a, address_hash="not-a-hash", source="admin"
        )
