"""Property: the derived consent state is the latest event, however inserted."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clozup.tenancy import org_context
from compliance.selectors.consent import current_consent
from compliance.services.consent import record_consent_event

pytestmark = pytest.mark.django_db

ADDRESS = "prop@example.org"
BASE = timezone.now().replace(microsecond=0)

events = st.lists(
    st.tuples(
        st.sampled_from(["grant", "withdraw"]),
        st.sampled_from(["marketing", "all", "sales_outreach"]),
        # Few distinct times, so that equal times are common.
        st.integers(min_value=0, max_value=4),
    ),
    min_size=0,
    max_size=10,
)


def _expected(inserted, purpose: str):
    # Latest by the time the person acted; among equal times, the later insert.
    relevant = [
        (offset, position, action)
        for position, (action, event_purpose, offset) in enumerate(inserted)
        if event_purpose in (purpose, "all")
    ]
    return max(relevant)[2] if relevant else None


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(events=events, data=st.data())
def test_the_derived_state_is_the_last_event_whatever_the_insert_order(
    org_a, events, data
):
    inserted = data.draw(st.permutations(events))

    with org_context(org_a):
        for action, purpose, offset in inserted:
            record_consent_event(
                org_a,
                address=ADDRESS,
                channel="email",
                purpose=purpose,
                action=action,
                source="form",
                lawful_basis="consent" if action == "grant" else "none",
                evidence={"occurred_at": BASE + timedelta(seconds=offset)},
                actor=None,
            )
        for purpose in ("marketing", "sales_outreach", "ai_processing"):
            state = current_consent(
                org_a, address=ADDRESS, channel="email", purpose=purpose
            )
            expected = _expected(inserted, purpose)
            assert state.action == expected
            assert state.can_contact is (expected != "withdraw")
        # Each example starts from an empty ledger.
        transaction.set_rollback(True)
