"""The owner role is held by the trigger too; only the erasure functions pass."""

import pytest
from django.db import connections
from django.db.utils import ProgrammingError

from clozup.tenancy import org_context
from compliance.services.consent import record_consent_event


def _withdrawal(org):
    with org_context(org):
        return record_consent_event(
            org,
            address="grace@example.org",
            channel="email",
            purpose="all",
            action="withdraw",
            source="admin",
            lawful_basis="none",
            evidence={},
            actor=None,
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE compliance_consentevent SET action = 'grant' WHERE id = %s",
        "UPDATE compliance_consentevent SET occurred_at = now() WHERE id = %s",
        "DELETE FROM compliance_consentevent WHERE id = %s",
    ],
)
def test_even_the_owner_cannot_change_an_event(committed_db, make_org, statement):
    org = make_org()
    event = _withdrawal(org)
    owner = connections["owner"]

    with pytest.raises(ProgrammingError, match="append-only"):
        with org_context(org, using="owner"), owner.cursor() as cursor:
            cursor.execute(statement, [event.pk])


def test_even_the_owner_cannot_truncate_the_suppression_list(committed_db, make_org):
    owner = connections["owner"]

    with pytest.raises(ProgrammingError, match="append-only"):
        with org_context(make_org(), using="owner"), owner.cursor() as cursor:
            cursor.execute("TRUNCATE compliance_suppression")
