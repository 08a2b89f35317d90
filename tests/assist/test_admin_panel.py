"""AI switches, limits and the usage log in the Admin Panel."""

from django.urls import reverse

from assist.models import AssistSettings, AssistUsage
from audit.actions import Action
from audit.models import AuditEntry
from clozup.tenancy import org_context

SETTINGS_FORM = {
    "summary_enabled": "on",
    "monthly_token_budget": "100000",
    "user_monthly_token_cap": "20000",
    "base_url": "",
    "model": "",
    "api_key": "",
}


def test_an_admin_turns_a_feature_on_and_the_change_is_audited(client, admin_a, org_a):
    client.force_login(admin_a)

    response = client.post(
        reverse("admin:assist_assistsettings_add"), SETTINGS_FORM, follow=True
    )

    assert response.status_code == 200
    with org_context(org_a):
        saved = AssistSettings.objects.get()
        event = AuditEntry.objects.get(action=Action.AI_SETTINGS_CHANGED)
    assert (saved.summary_enabled, saved.follow_up_enabled) == (True, False)
    assert saved.monthly_token_budget == 100_000
    assert "summary_enabled" in event.metadata["fields"]
    assert event.metadata["created"] is True


def test_an_organizations_own_key_is_stored_encrypted_and_never_shown(
    client, admin_a, org_a, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    key = "sk-admin-typed-key-000111222333444"
    client.force_login(admin_a)
    form = {
        **SETTINGS_FORM,
        "base_url": "https://llm.example.com/v1",
        "model": "m",
        "api_key": key,
    }

    client.post(reverse("admin:assist_assistsettings_add"), form)

    with org_context(org_a):
        saved = AssistSettings.objects.get()
        event = AuditEntry.objects.get(action=Action.AI_SETTINGS_CHANGED)
    assert saved.api_key.reveal() == key
    assert key not in str(event.metadata)
    page = client.get(reverse("admin:assist_assistsettings_change", args=[saved.pk]))
    assert key.encode() not in page.content
    assert key[-4:].encode() in page.content

    # An empty key on change keeps the stored one.
    client.post(
        reverse("admin:assist_assistsettings_change", args=[saved.pk]),
        {**form, "api_key": "", "follow_up_enabled": "on"},
    )
    with org_context(org_a):
        saved.refresh_from_db()
    assert saved.api_key.reveal() == key
    assert saved.follow_up_enabled is True


def test_an_own_provider_without_https_or_key_is_refused_with_the_field_named(
    client, admin_a, org_a
):
    client.force_login(admin_a)

    response = client.post(
        reverse("admin:assist_assistsettings_add"),
        {**SETTINGS_FORM, "base_url": "http://llm.example.com/v1", "model": "m"},
    )

    assert b"base URL: the AI provider is reached over https only" in response.content
    with org_context(org_a):
        assert not AssistSettings.objects.exists()


def test_admins_see_the_usage_log_and_reps_do_not(
    client, admin_a, rep_a, org_a, rep_b, org_b
):
    with org_context(org_a):
        AssistUsage.objects.create(
            organization=org_a,
            user=rep_a,
            feature="follow_up",
            model="model-a",
            tokens_in=321,
            tokens_out=45,
            outcome="answered",
        )
    with org_context(org_b):
        AssistUsage.objects.create(
            organization=org_b,
            user=rep_b,
            feature="summary",
            model="model-b",
            tokens_in=1,
            tokens_out=1,
            outcome="answered",
        )
    url = reverse("admin:assist_assistusage_changelist")

    client.force_login(admin_a)
    page = client.get(url).content.decode()
    assert rep_a.email in page and "321" in page and "model-a" in page
    assert "This month: 366 of 0 tokens" in page
    assert "model-b" not in page and rep_b.email not in page

    client.force_login(rep_a)
    assert client.get(url, follow=True).status_code == 403
