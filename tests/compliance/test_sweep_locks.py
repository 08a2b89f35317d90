"""Two workers or beats never run the same sweep at once.

These tests commit (another database session must see the lock and the rows),
so they use `committed_db` rather than the wrapping transaction.
"""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import time_machine

from clozup.lib.locks import PREFIX
from clozup.tenancy import org_context
from compliance.services import retention as retention_services
from compliance.tasks import purge_deleted_records_task
from crm.models import Lead
from tests.conftest import database_url

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=29)


@pytest.fixture
def deleted_leads(make_lead):
    def make(org):
        leads = [make_lead(org) for _ in range(5)]
        with org_context(org):
            Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
                deleted_at=T0
            )
        return leads

    return make


class _LockElsewhere:
    """Another session (another worker or beat) holding the named lock."""

    def __init__(self, name):
        self.key = PREFIX + name

    def __enter__(self):
        self.session = psycopg.connect(database_url(), autocommit=True)
        self.session.execute(
            "SELECT pg_advisory_lock(hashtextextended(%s, 0))", [self.key]
        )
        return self

    def __exit__(self, *exc):
        self.session.execute(
            "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [self.key]
        )
        self.session.close()


def test_a_second_sweep_of_the_same_rule_is_refused_while_the_first_runs(
    committed_db, make_org, deleted_leads
):
    org = make_org()
    deleted_leads(org)
    with _LockElsewhere("retention:records"):
        with time_machine.travel(LATER, tick=False):
            with pytest.raises(retention_services.SweepAlreadyRunning):
                retention_services.sweep_all_organizations(rules=["records"])
            assert purge_deleted_records_task() == {"skipped": True}
        with org_context(org):
            assert Lead._base_manager.count() == 5

    with time_machine.travel(LATER, tick=False):
        assert purge_deleted_records_task()["rows"] == 5


def test_an_organization_a_support_operator_is_sweeping_is_skipped(
    committed_db, make_org, deleted_leads
):
    busy, free = make_org(), make_org()
    deleted_leads(busy)
    deleted_leads(free)
    with (
        _LockElsewhere(f"retention:org:{busy.pk}"),
        time_machine.travel(LATER, tick=False),
    ):
        reports = retention_services.sweep_all_organizations(rules=["records"])

    assert [report.organization_id for report in reports] == [free.pk]
    with org_context(busy):
        assert Lead._base_manager.count() == 5
