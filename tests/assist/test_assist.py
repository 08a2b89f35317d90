"""AI assist from a rep's pages, against a recording provider on loopback."""

import json

import pytest
from django.urls import reverse

from assist.models import AssistUsage
from audit.actions import Action
from audit.models import AuditEntry
from clozup import integrations
from clozup.tenancy import org_context
from compliance.services.consent import record_consent_event, suppress_address
from crm.models import Activity, Contact, Deal, Stage
from crm.services.activities import log_activity
from tests.assist.conftest import DEFAULT_KEY, MODEL

ALICE_EMAIL = "alice.archer@acme-a.example"
ALICE_PRIVATE_EMAIL = "a.archer@private-a.example"
ALICE_PHONE = "+44 20 7946 0958"
INTEGRATION_SECRET = "sk-org-a-integration-secret-7a8b9c0d1e2f"
ORG_B_WORDS = ["Bartholomew", "Zebedee", "ORG-B-CONFIDENTIAL", "zebedee@bolt-b.example"]


@pytest.fixture
def alice(org_a, rep_a, make_lead):
    lead = make_lead(
        org_a,
        first_name="Alice",
        last_name="Archer",
        email=ALICE_EMAIL,
        phone=ALICE_PHONE,
        company_name="Acme Widgets",
        details={"notes": "SENSITIVE-DETAILS-A"},
    )
    with org_context(org_a):
        log_activity(
            lead,
            actor=rep_a,
            kind=Activity.Kind.CALL,
            subject="Discovery call",
            body=(
                f"Called Alice on {ALICE_PHONE}; write to {ALICE_EMAIL} or "
                f"{ALICE_PRIVATE_EMAIL}, or call 020 7946 0000. "
                "Budget approved for Q3."
            ),
        )
        integrations.add_integration_credential(
            org_a.pk, actor=rep_a, provider="hubspot", secret=INTEGRATION_SECRET
        )
    return lead


@pytest.fixture
def org_b_data(org_b, rep_b, make_lead, turn_on_ai):
    turn_on_ai(org_b)
    lead = make_lead(
        org_b,
        first_name="Bartholomew",
        last_name="Zebedee",
        email="zebedee@bolt-b.example",
    )
    with org_context(org_b):
        log_activity(
            lead,
            actor=rep_b,
            kind=Activity.Kind.NOTE,
            body="ORG-B-CONFIDENTIAL pricing of 999 per seat",
        )
    return lead


def ask(client, record, feature="summary"):
    url = reverse("assist:ask", args=[record._meta.model_name + "s", record.pk])
    return client.post(url, {"feature": feature}, headers={"HX-Request": "true"})


def test_a_summary_in_one_organization_holds_nothing_of_another(
    client, rep_a, org_a, alice, org_b_data, provider, turn_on_ai
):
    turn_on_ai(org_a)
    client.force_login(rep_a)

    response = ask(client, alice)

    assert response.status_code == 200
    assert len(provider.received) == 1
    sent = provider.all_bytes()
    page = response.content.decode()
    for word in ORG_B_WORDS:
        assert word.encode() not in sent
        assert word not in page
    assert b"Budget approved for Q3" in sent
    assert b"Acme Widgets" in sent


def test_contact_details_and_secrets_never_reach_the_provider_in_clear(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a)
    client.force_login(rep_a)

    response = ask(client, alice)

    sent = provider.all_bytes()
    for value in (
        ALICE_EMAIL,
        ALICE_PRIVATE_EMAIL,
        ALICE_PHONE,
        "7946",
        "SENSITIVE-DETAILS-A",
        INTEGRATION_SECRET,
    ):
        assert value.encode() not in sent, value
    prompt = provider.received[0].prompt
    assert "[EMAIL_1]" in prompt and "[EMAIL_2]" in prompt
    assert "[PHONE_1]" in prompt and "[PHONE_2]" in prompt
    # The echoed answer comes back with the originals put back.
    page = response.content.decode()
    assert ALICE_EMAIL in page and ALICE_PRIVATE_EMAIL in page
    assert ALICE_PHONE in page and "020 7946 0000" in page
    assert "[EMAIL_1]" not in page


def test_the_request_asks_the_provider_not_to_store_it(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a)
    client.force_login(rep_a)

    ask(client, alice)

    received = provider.received[0]
    assert received.path == "/v1/chat/completions"
    assert received.json["store"] is False
    assert received.json["model"] == MODEL
    assert "user" not in received.json and "metadata" not in received.json
    assert received.headers["Authorization"] == f"Bearer {DEFAULT_KEY}"


def test_an_organizations_own_provider_gets_its_encrypted_key_in_the_header_only(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    own_key = "sk-own-provider-key-0123456789abcdef"
    turn_on_ai(org_a, base_url=provider.base_url, model="own-model", api_key=own_key)
    client.force_login(rep_a)

    ask(client, alice)

    received = provider.received[0]
    assert received.headers["Authorization"] == f"Bearer {own_key}"
    assert received.json["model"] == "own-model"
    assert own_key.encode() not in received.body


def test_a_follow_up_draft_uses_its_own_instructions(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a)
    client.force_login(rep_a)

    response = ask(client, alice, feature="follow_up")

    assert response.status_code == 200
    assert "follow-up email" in provider.received[0].json["messages"][0]["content"]
    assert b"Use as email draft" in response.content


def test_a_deleted_contact_on_a_deal_stays_out_of_the_prompt(
    client, rep_a, org_a, provider, turn_on_ai
):
    turn_on_ai(org_a)
    with org_context(org_a):
        contact = Contact.objects.create(
            organization=org_a,
            first_name="Dora",
            last_name="Departed",
            email="dora@gone.example",
        )
        contact.deleted_at = contact.created_at
        contact.save(update_fields=["deleted_at"])
        stage = Stage.objects.order_by("position").first()
        deal = Deal.objects.create(
            organization=org_a, title="Widgets renewal", stage=stage, contact=contact
        )
        log_activity(
            deal, actor=rep_a, kind="note", body="Dora Departed wants a discount."
        )
    client.force_login(rep_a)

    response = ask(client, deal)

    prompt = provider.received[0].prompt
    assert "Dora" not in prompt and "Departed" not in prompt
    assert "[PERSON_1] wants a discount" in prompt
    assert "Widgets renewal" in prompt
    assert "Dora Departed wants a discount" in response.content.decode()


def test_a_deleted_lead_gets_no_ai_and_nothing_is_sent(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a)
    client.force_login(rep_a)
    with org_context(org_a):
        alice.deleted_at = alice.created_at
        alice.save(update_fields=["deleted_at"])

    response = ask(client, alice)

    assert response.status_code == 404
    assert provider.received == []


def _withdraw(org, address, *, purpose="ai_processing", channel="email"):
    with org_context(org):
        record_consent_event(
            org,
            address=address,
            channel=channel,
            purpose=purpose,
            action="withdraw",
            source="admin",
            lawful_basis="none",
            evidence={},
            actor=None,
        )


def test_a_person_who_withdrew_consent_to_ai_gets_no_ai_and_nothing_is_sent(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a)
    _withdraw(org_a, ALICE_EMAIL)
    client.force_login(rep_a)

    response = ask(client, alice)

    assert b"not available for this person" in response.content
    assert provider.received == []
    with org_context(org_a):
        assert not AssistUsage.objects.exists()


def test_a_withdrawal_for_marketing_alone_does_not_stop_ai(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a)
    _withdraw(org_a, ALICE_EMAIL, purpose="marketing")
    client.force_login(rep_a)

    ask(client, alice)

    assert len(provider.received) == 1


def test_an_erased_persons_suppressed_address_keeps_them_out(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a)
    with org_context(org_a):
        suppress_address(org_a, address=ALICE_PHONE, source="erasure", actor=None)
    client.force_login(rep_a)

    response = ask(client, alice)

    assert b"not available for this person" in response.content
    assert provider.received == []


def test_a_deal_leaves_out_a_contact_who_withdrew_consent_to_ai(
    client, rep_a, org_a, provider, turn_on_ai
):
    turn_on_ai(org_a)
    with org_context(org_a):
        contact = Contact.objects.create(
            organization=org_a,
            first_name="Walter",
            last_name="Withdrawn",
            email="walter@optout.example",
        )
        deal = Deal.objects.create(
            organization=org_a,
            title="Walter's renewal",
            stage=Stage.objects.order_by("position").first(),
            contact=contact,
        )
        log_activity(deal, actor=rep_a, kind="note", body="Met Walter Withdrawn.")
    _withdraw(org_a, "walter@optout.example")
    client.force_login(rep_a)

    ask(client, deal)

    prompt = provider.received[0].prompt
    assert "Walter" not in prompt and "Withdrawn" not in prompt
    assert "optout" not in prompt


# Off, over budget ------------------------------------------------------------------


def test_with_ai_never_turned_on_no_request_leaves(client, rep_a, alice, provider):
    client.force_login(rep_a)

    response = ask(client, alice)

    assert b"This AI feature is off" in response.content
    assert provider.received == []


def test_with_the_feature_off_no_request_leaves(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a, summary_enabled=False)
    client.force_login(rep_a)

    response = ask(client, alice, feature="summary")

    assert b"This AI feature is off" in response.content
    assert provider.received == []
    with org_context(org_a):
        assert not AssistUsage.objects.exists()


def test_the_panel_shows_only_features_that_are_on(
    client, rep_a, org_a, alice, turn_on_ai
):
    client.force_login(rep_a)
    url = reverse("assist:panel", args=["leads", alice.pk])

    assert client.get(url).content == b""

    turn_on_ai(org_a, summary_enabled=False)
    page = client.get(url).content.decode()
    assert "Draft a follow-up email" in page
    assert "Summarise the timeline" not in page


def test_over_the_organizations_budget_no_request_leaves(
    client, rep_a, admin_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a, monthly_token_budget=1000, user_monthly_token_cap=100_000)
    with org_context(org_a):
        AssistUsage.objects.create(
            organization=org_a,
            user=admin_a,
            feature="summary",
            model=MODEL,
            tokens_in=900,
            tokens_out=50,
            outcome="answered",
        )
    client.force_login(rep_a)

    response = ask(client, alice)

    assert b"organization has used its AI budget" in response.content
    assert provider.received == []


def test_over_a_members_own_cap_no_request_leaves(
    client, rep_a, admin_a, org_a, alice, provider, turn_on_ai
):
    turn_on_ai(org_a, monthly_token_budget=1_000_000, user_monthly_token_cap=2000)
    with org_context(org_a):
        AssistUsage.objects.create(
            organization=org_a,
            user=rep_a,
            feature="summary",
            model=MODEL,
            tokens_in=1500,
            tokens_out=400,
            outcome="answered",
        )
    client.force_login(rep_a)

    response = ask(client, alice)

    assert b"You have used your AI allowance" in response.content
    assert provider.received == []

    # The same request from a colleague with room left goes out.
    client.force_login(admin_a)
    ask(client, alice)
    assert len(provider.received) == 1


# Failing providers ------------------------------------------------------------------


def _nothing_saved(org, lead):
    with org_context(org):
        assert Activity.objects.filter(lead=lead, ai_generated=True).count() == 0
        assert Activity.objects.filter(lead=lead).count() == 1


def test_a_slow_provider_gives_a_clear_message_and_nothing_is_saved(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    provider.script = [("sleep", 3)]
    turn_on_ai(org_a)
    client.force_login(rep_a)

    response = ask(client, alice)

    assert response.status_code == 200
    assert b"did not answer in time. Nothing was saved" in response.content
    _nothing_saved(org_a, alice)
    with org_context(org_a):
        usage = AssistUsage.objects.get()
        assert (usage.outcome, usage.tokens) == ("failed", 0)


def test_an_answer_trickling_in_past_the_total_budget_is_abandoned(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    # Each byte comes well within the read timeout; only the budget stops it.
    provider.script = [("drip", 0.1)]
    turn_on_ai(org_a)
    client.force_login(rep_a)

    response = ask(client, alice)

    assert b"did not answer in time. Nothing was saved" in response.content
    _nothing_saved(org_a, alice)


def test_a_failing_provider_is_retried_within_bounds_then_reported(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    provider.script = [500]
    turn_on_ai(org_a)
    client.force_login(rep_a)

    response = ask(client, alice)

    assert b"The AI provider is unavailable. Nothing was saved" in response.content
    assert len(provider.received) == 3
    _nothing_saved(org_a, alice)
    with org_context(org_a):
        event = AuditEntry.objects.get(action=Action.AI_REQUESTED)
    assert event.metadata["outcome"] == "failed"
    assert event.metadata["error"] == "unavailable"


def test_a_rate_limited_request_is_retried_and_answered(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    provider.script = [429, "ok"]
    turn_on_ai(org_a)
    client.force_login(rep_a)

    response = ask(client, alice)

    assert len(provider.received) == 2
    assert b"Budget approved for Q3" in response.content


def test_a_refusal_such_as_a_wrong_key_is_not_retried(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    provider.script = [401]
    turn_on_ai(org_a)
    client.force_login(rep_a)

    response = ask(client, alice)

    assert len(provider.received) == 1
    assert b"refused the request" in response.content


# What stays behind ------------------------------------------------------------------


def test_usage_and_audit_events_hold_no_prompt_or_answer_text(
    client, rep_a, org_a, alice, provider, turn_on_ai
):
    provider.answer = lambda received: "Alice is keen; Budget approved for Q3."
    turn_on_ai(org_a)
    client.force_login(rep_a)

    ask(client, alice)

    with org_context(org_a):
        usage = AssistUsage.objects.get()
        event = AuditEntry.objects.get(action=Action.AI_REQUESTED)
    assert (usage.user, usage.feature, usage.model) == (rep_a, "summary", MODEL)
    assert (usage.tokens_in, usage.tokens_out, usage.outcome) == (120, 40, "answered")
    assert event.actor_id == rep_a.pk
    assert (event.target_type, event.target_id) == ("crm.lead", str(alice.pk))
    assert event.metadata == {
        "feature": "summary",
        "model": MODEL,
        "outcome": "answered",
        "tokens_in": 120,
        "tokens_out": 40,
        "usage_id": usage.pk,
    }
    stored = json.dumps(event.metadata) + json.dumps(
        {f.name: str(getattr(usage, f.name)) for f in usage._meta.fields}
    )
    for text in ("Alice", "Budget", "Q3", "Discovery", "keen"):
        assert text not in stored


def test_answers_are_not_cached(client, rep_a, org_a, alice, provider, turn_on_ai):
    turn_on_ai(org_a)
    client.force_login(rep_a)

    first = ask(client, alice)
    second = ask(client, alice)

    assert len(provider.received) == 2
    assert "no-store" in first["Cache-Control"]
    assert "no-store" in second["Cache-Control"]


# Keeping the answer ----------------------------------------------------------------


def test_the_rep_saves_an_edited_answer_as_a_labelled_note(
    client, rep_a, org_a, alice, turn_on_ai
):
    client.force_login(rep_a)
    url = reverse("assist:save", args=["leads", alice.pk])

    response = client.post(
        url,
        {"kind": "note", "subject": "Timeline summary", "body": "Edited by the rep."},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert b"AI-generated" in response.content
    with org_context(org_a):
        note = Activity.objects.get(lead=alice, ai_generated=True)
        event = AuditEntry.objects.get(
            action=Action.RECORD_CREATED, target_id=str(note.pk)
        )
    assert (note.kind, note.body, note.author) == ("note", "Edited by the rep.", rep_a)
    assert "ai_generated" in event.metadata["fields"]
    detail = client.get(reverse("crm:lead-detail", args=[alice.pk]))
    assert b'<span class="badge">AI-generated</span>' in detail.content


def test_an_empty_answer_is_refused_with_the_field_named(client, rep_a, org_a, alice):
    client.force_login(rep_a)
    url = reverse("assist:save", args=["leads", alice.pk])

    response = client.post(url, {"kind": "note", "body": "  "})

    assert b"text: there is nothing to keep." in response.content
    _nothing_saved(org_a, alice)


def test_an_email_draft_saves_nothing_and_offers_the_mail_app(
    client, rep_a, org_a, alice
):
    client.force_login(rep_a)
    url = reverse("assist:email-draft", args=["leads", alice.pk])

    response = client.post(
        url,
        {"kind": "email", "subject": "Follow-up", "body": "Hello Alice, thanks!"},
        headers={"HX-Request": "true"},
    )

    page = response.content.decode()
    assert f"mailto:{ALICE_EMAIL}?subject=Follow-up&amp;body=Hello%20Alice" in page
    assert 'name="kind" value="email"' in page
    _nothing_saved(org_a, alice)


def test_another_organizations_record_cannot_be_asked_about(
    client, rep_a, org_a, org_b_data, provider, turn_on_ai
):
    turn_on_ai(org_a)
    client.force_login(rep_a)

    response = ask(client, org_b_data)

    assert response.status_code == 404
    assert provider.received == []


def test_no_log_line_holds_prompt_answer_or_key_even_at_debug_level(
    client, rep_a, org_a, alice, provider, turn_on_ai, caplog
):
    provider.answer = lambda received: "Alice is keen; Budget approved for Q3."
    turn_on_ai(org_a)
    client.force_login(rep_a)

    with caplog.at_level("DEBUG"):
        ask(client, alice)

    assert any(r.message == "ai request answered" for r in caplog.records)
    logged = "\n".join(
        f"{record.getMessage()} {record.__dict__}" for record in caplog.records
    )
    for text in ("Alice", "Budget", "Discovery", "keen", ALICE_EMAIL, DEFAULT_KEY):
        assert text not in logged, text
