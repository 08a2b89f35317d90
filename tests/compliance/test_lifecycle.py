"""A cancelled organization: read-only, reactivatable, noticed, then purged."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from audit.actions import Action
from audit.models import AuditEntry
from clozup import services as clozup_services
from clozup.models import Membership, Organization
from clozup.tenancy import org_context
from compliance.models import LegalHold, LifecycleNotice
from compliance.services import lifecycle
from compliance.services import retention as retention_services
from crm.models import Lead

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def _at(days: float):
    return time_machine.travel(T0 + timedelta(days=days), tick=False)


@pytest.fixture
def cancelled(org_a, admin_a, make_lead):
    lead = make_lead(org_a)
    with time_machine.travel(T0, tick=False), org_context(org_a):
        clozup_services.cancel_organization(org_a, actor=admin_a)
    return org_a, lead


def test_cancelling_makes_the_organization_read_only_and_is_audited(cancelled):
    org, _ = cancelled

    with org_context(org):
        event = AuditEntry.objects.get(action=Action.ORGANIZATION_CANCELLED)
        with pytest.raises(clozup_services.OrganizationReadOnly, match="read-only"):
            clozup_services.ensure_writable(org)
    org.refresh_from_db()
    assert org.status == Organization.Status.CANCELLED and org.cancelled_at == T0
    assert event.actor_type == "user"


def test_a_cancelled_organization_is_purged_on_day_91_not_day_89(cancelled, org_b):
    org, lead = cancelled

    with _at(89):
        assert lifecycle.purge_cancelled_organizations() == []
    assert Organization.objects.filter(pk=org.pk).exists()
    with org_context(org):
        assert Lead.objects.filter(pk=lead.pk).exists()

    with _at(91):
        purged = lifecycle.purge_cancelled_organizations()

    assert [p.organization_id for p in purged] == [org.pk]
    assert purged[0].counts.rows["crm_lead"] == 1
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert Organization.objects.filter(pk=org_b.pk).exists()


def test_reactivation_on_day_60_stops_the_purge(cancelled, admin_a):
    org, lead = cancelled

    with _at(60), org_context(org):
        clozup_services.reactivate_organization(org, actor=admin_a)
        event = AuditEntry.objects.get(action=Action.ORGANIZATION_REACTIVATED)
    with _at(91):
        assert lifecycle.purge_cancelled_organizations() == []

    assert event.metadata == {"cancelled_days": 60}
    org.refresh_from_db()
    assert org.is_active
    with org_context(org):
        assert Lead.objects.filter(pk=lead.pk).exists()
        clozup_services.ensure_writable(org)


def test_reactivation_is_refused_once_the_grace_period_is_over(cancelled, admin_a):
    org, _ = cancelled

    with _at(90.1), org_context(org), pytest.raises(clozup_services.GracePeriodOver):
        clozup_services.reactivate_organization(org, actor=admin_a)


def test_an_organization_hold_pauses_the_purge(cancelled, admin_a):
    org, lead = cancelled
    with org_context(org):
        hold = retention_services.place_legal_hold(
            org, scope=LegalHold.Scope.ORGANIZATION, reason="CASE-7", actor=admin_a
        )

    with _at(120):
        assert lifecycle.purge_cancelled_organizations() == []
    with org_context(org):
        retention_services.release_legal_hold(hold, actor=admin_a)
    with _at(121):
        assert len(lifecycle.purge_cancelled_organizations()) == 1


def test_admins_are_emailed_7_days_and_1_day_before_once_each(cancelled, rep_a):
    org, _ = cancelled

    with _at(82):
        assert lifecycle.send_purge_notices() == 0
    with _at(83.5):
        assert lifecycle.send_purge_notices() == 1
        assert lifecycle.send_purge_notices() == 0
    with _at(89.2):
        assert lifecycle.send_purge_notices() == 1
        assert lifecycle.send_purge_notices() == 0

    assert len(mail.outbox) == 2
    recipients = set(mail.outbox[0].to)
    # The owner and the admin; not the rep.
    assert len(recipients) == 2 and rep_a.email not in recipients
    assert "will be deleted on 2 May 2026" in mail.outbox[0].subject
    assert "(7 days from now)" in mail.outbox[0].body
    assert "(1 day from now)" in mail.outbox[1].body
    with org_context(org):
        kinds = set(LifecycleNotice.objects.values_list("kind", flat=True))
    assert kinds == {"purge_in_7_days", "purge_in_1_day"}


def test_a_late_job_sends_only_the_nearest_notice(cancelled):
    with _at(89.5):
        assert lifecycle.send_purge_notices() == 1

    assert len(mail.outbox) == 1
    assert "(1 day from now)" in mail.outbox[0].body


def test_a_new_cancellation_gets_new_notices(cancelled, admin_a):
    org, _ = cancelled
    with _at(84):
        lifecycle.send_purge_notices()
    with _at(85), org_context(org):
        clozup_services.reactivate_organization(org, actor=admin_a)
    with _at(86), org_context(org):
        clozup_services.cancel_organization(org, actor=admin_a)

    with _at(86 + 84):
        assert lifecycle.send_purge_notices() == 1

    assert len(mail.outbox) == 2


def test_cancelling_twice_is_refused(cancelled, admin_a):
    org, _ = cancelled

    with org_context(org), pytest.raises(clozup_services.OrganizationAlreadyCancelled):
        clozup_services.cancel_organization(org, actor=admin_a)


def test_an_enterprise_grace_period_applies(make_org, make_member):
    org = make_org(plan=Organization.Plan.ENTERPRISE)
    admin = make_member(org, role="admin")
    with org_context(org):
        retention_services.save_retention_settings(
            org, changes={"cancellation_grace_days": 30}, actor=admin
        )
    with time_machine.travel(T0, tick=False), org_context(org):
        clozup_services.cancel_organization(org, actor=admin)

    with _at(29.9):
        assert lifecycle.purge_cancelled_organizations() == []
    with _at(30.1):
        assert len(lifecycle.purge_cancelled_organizations()) == 1


def test_the_record_services_refuse_changes_while_cancelled(cancelled, admin_a):
    from crm.services.records import delete_record

    org, lead = cancelled

    with org_context(org), pytest.raises(clozup_services.OrganizationReadOnly):
        delete_record(lead, actor=admin_a)

    with org_context(org):
        assert Lead.objects.get(pk=lead.pk).deleted_at is None


def test_the_purge_deletes_accounts_that_belong_to_no_other_organization(
    cancelled, rep_a, org_b, make_member
):
    from clozup.models import User

    org, _ = cancelled
    with org_context(org):
        members = list(Membership.objects.values_list("user_id", flat=True))
    # One member of org_a also works for org_b.
    elsewhere = make_member(org_b, email="both@example.com")
    make_member(org, email="both@example.com")

    with _at(91):
        (purged,) = lifecycle.purge_cancelled_organizations()

    assert not User.objects.filter(pk__in=members).exists()
    assert User.objects.filter(pk=elsewhere.pk).exists()
    assert purged.counts.rows["clozup_user"] == len(members)
