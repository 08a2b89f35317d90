"""Sweeps are safe to kill, to rerun, to run twice at once; holds pause them."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from clozup.tenancy import org_context
from compliance.models import LegalHold
from compliance.services import purge
from compliance.services import retention as retention_services
from crm.models import Activity, Attachment, Deal, Lead

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=29)


@pytest.fixture
def deleted_leads(make_lead, make_activity, attach, make_member):
    """Five deleted leads with an activity and a file each, deleted at T0."""

    def make(org, *, emails=()):
        author = make_member(org)
        leads = []
        for n in range(5):
            email = emails[n] if n < len(emails) else f"person{n}@example.net"
            lead = make_lead(org, email=email)
            make_activity(org, lead=lead)
            attach(lead, author)
            leads.append(lead)
        with org_context(org):
            Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
                deleted_at=T0
            )
        return leads

    return make


def _state(org, private_storage):
    with org_context(org):
        rows = (
            Lead._base_manager.count(),
            Activity.objects.count(),
            Attachment._base_manager.count(),
        )
    files = [p for p in (private_storage / f"org-{org.pk}").rglob("*") if p.is_file()]
    return rows, len(files)


def test_a_sweep_killed_after_its_first_batch_and_rerun_ends_as_an_uninterrupted_one(
    make_org, deleted_leads, monkeypatch, private_storage
):
    killed, whole = make_org(), make_org()
    deleted_leads(killed)
    deleted_leads(whole)
    before = _state(killed, private_storage)

    real_batch = purge._purge_batch
    calls = []

    def dies_on_second_batch(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(purge, "_purge_batch", dies_on_second_batch)
    with time_machine.travel(LATER, tick=False), pytest.raises(RuntimeError):
        retention_services.sweep_organization(killed, batch_size=2)
    monkeypatch.setattr(purge, "_purge_batch", real_batch)
    # The first batch is committed, the second rolled back whole.
    assert _state(killed, private_storage) == ((3, 3, 3), 3)

    with time_machine.travel(LATER, tick=False):
        retention_services.sweep_organization(killed, batch_size=2)
        retention_services.sweep_organization(whole, batch_size=2)

    assert before == ((5, 5, 5), 5)
    assert _state(killed, private_storage) == _state(whole, private_storage)
    assert _state(whole, private_storage) == ((0, 0, 0), 0)


def test_an_organization_hold_pauses_every_rule(org_a, admin_a, deleted_leads):
    deleted_leads(org_a)
    with org_context(org_a):
        retention_services.place_legal_hold(
            org_a, scope=LegalHold.Scope.ORGANIZATION, reason="CASE-1", actor=admin_a
        )

    with time_machine.travel(LATER, tick=False):
        report = retention_services.sweep_organization(org_a)

    assert report.held and not report.counts()
    with org_context(org_a):
        assert Lead._base_manager.count() == 5


def test_a_person_hold_keeps_their_records_and_linked_deals_only(
    org_a, admin_a, deleted_leads, make_deal
):
    leads = deleted_leads(org_a, emails=["Held.Person@Example.com"])
    deal = make_deal(org_a, lead=leads[0])
    with org_context(org_a):
        Deal.objects.filter(pk=deal.pk).update(deleted_at=T0)
        hold = retention_services.place_legal_hold(
            org_a,
            scope=LegalHold.Scope.PERSON,
            email="held.person@example.com ",
            reason="CASE-2",
            actor=admin_a,
        )
    assert "@" not in hold.address_hash and len(hold.address_hash) == 64

    with time_machine.travel(LATER, tick=False):
        retention_services.sweep_organization(org_a)

    with org_context(org_a):
        assert list(Lead._base_manager.values_list("pk", flat=True)) == [leads[0].pk]
        assert Deal._base_manager.filter(pk=deal.pk).exists()
        assert Activity.objects.filter(lead=leads[0]).exists()


def test_a_record_hold_keeps_that_record_and_releasing_it_resumes_the_purge(
    org_a, admin_a, deleted_leads
):
    leads = deleted_leads(org_a)
    with org_context(org_a):
        hold = retention_services.place_legal_hold(
            org_a,
            scope=LegalHold.Scope.RECORD,
            record_type="crm.lead",
            record_id=leads[2].pk,
            reason="CASE-3",
            actor=admin_a,
        )
    with time_machine.travel(LATER, tick=False):
        retention_services.sweep_organization(org_a)
    with org_context(org_a):
        assert list(Lead._base_manager.values_list("pk", flat=True)) == [leads[2].pk]
        retention_services.release_legal_hold(hold, actor=admin_a)

    with time_machine.travel(LATER, tick=False):
        retention_services.sweep_organization(org_a)

    with org_context(org_a):
        assert not Lead._base_manager.exists()


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"scope": "person", "email": "nobody"}, "email"),
        (
            {"scope": "record", "record_type": "clozup.user", "record_id": 1},
            "record_type",
        ),
        ({"scope": "organization", "reason": " "}, "reason"),
        ({"scope": "galaxy"}, "scope"),
    ],
)
def test_a_hold_that_names_nothing_properly_is_refused(org_a, admin_a, fields, message):
    fields = {"reason": "CASE-4", **fields}
    with (
        org_context(org_a),
        pytest.raises(retention_services.LegalHoldInvalid, match=message),
    ):
        retention_services.place_legal_hold(org_a, actor=admin_a, **fields)


def test_a_rule_falling_behind_logs_an_error_a_day_before_its_deadline(
    org_a, deleted_leads, caplog
):
    deleted_leads(org_a)
    caplog.set_level(logging.ERROR, logger="compliance.services.retention")
    caplog.clear()

    with time_machine.travel(T0 + timedelta(days=28, hours=23), tick=False):
        assert retention_services.check_deadlines(org_a) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    with time_machine.travel(T0 + timedelta(days=29, hours=1), tick=False):
        late = retention_services.check_deadlines(org_a)

    assert [item.rule for item in late] == ["records"]
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage() == "retention deadline at risk"
    assert record.rule == "records" and record.hours_to_deadline == 23
