"""Links between records are kept by the composite keys alone."""

import pytest
from django.db import DatabaseError, connection, transaction

from clozup.tenancy import org_context
from crm.models import Activity, Lead
from crm.selectors import records

pytestmark = pytest.mark.django_db


def test_deleting_a_lead_through_the_orm_takes_its_activities(org_a, rep_a, make_lead):
    lead = make_lead(org_a)
    with org_context(org_a):
        Activity.objects.create(
            organization=org_a, kind="note", lead=lead, author=rep_a
        )

        Lead.objects.filter(pk=lead.pk).delete()

        assert not Activity.objects.exists()


def test_a_raw_delete_of_a_referenced_lead_is_refused_by_the_composite_key(
    org_a, rep_a, make_lead
):
    lead = make_lead(org_a)
    with org_context(org_a):
        Activity.objects.create(
            organization=org_a, kind="note", lead=lead, author=rep_a
        )
        with pytest.raises(DatabaseError, match="same_org"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("DELETE FROM crm_lead WHERE id = %s", [lead.pk])


def test_lead_sources_are_listed_once_each_in_order(org_a, make_lead):
    from django.utils import timezone

    for source in ("Web", "Referral", "Web", "", "Ads"):
        make_lead(org_a, source=source)
    make_lead(org_a, source="Gone", deleted_at=timezone.now())

    with org_context(org_a):
        assert records.list_lead_sources() == ["Ads", "Referral", "Web"]
