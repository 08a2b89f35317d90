"""Support commands: lift a lockout, end a member's sessions."""

import getpass
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEntry
from clozup.tenancy import org_context
from tests.conftest import PASSWORD
from tests.signin.conftest import sign_in

REASON = "TICKET-4411"


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def events(organization, action):
    with org_context(organization):
        return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def lock_out(user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        Client().post(
            reverse("account_login"), {"login": user.email, "password": "wrong-123"}
        )


def can_sign_in(user) -> bool:
    response = Client().post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}
    )
    return response.status_code == 302


def test_unlock_user_lifts_a_lockout_and_is_audited(rep_a, org_a, settings):
    lock_out(rep_a, settings)
    assert not can_sign_in(rep_a)

    output = run(
        "unlock_user", "--org", org_a.slug, "--email", rep_a.email, "--reason", REASON
    )

    assert "lockout lifted: locked out -> may sign in" in output
    assert can_sign_in(rep_a)
    operator = f"operator:{getpass.getuser()}"
    (command,) = events(org_a, Action.SUPPORT_COMMAND_RUN)
    assert command.metadata["command"] == "unlock_user"
    assert command.metadata["reason"] == REASON
    (lifted,) = events(org_a, Action.LOCKOUT_LIFTED)
    assert lifted.actor_label == operator


def test_unlock_user_dry_run_changes_nothing(rep_a, org_a, settings):
    lock_out(rep_a, settings)

    output = run(
        "unlock_user",
        *("--org", org_a.slug, "--email", rep_a.email, "--reason", REASON),
        "--dry-run",
    )

    assert "dry run: the member is locked out; nothing changed" in output
    assert not can_sign_in(rep_a)
    assert events(org_a, Action.LOCKOUT_LIFTED) == []


def test_a_member_of_another_organization_is_not_found(org_a, rep_b):
    with pytest.raises(CommandError, match="--email"):
        run(
            "end_sessions",
            "--org",
            org_a.slug,
            "--email",
            rep_b.email,
            "--reason",
            REASON,
        )


def test_a_reason_is_required(org_a, rep_a):
    with pytest.raises(CommandError, match="--reason"):
        run("end_sessions", "--org", org_a.slug, "--email", rep_a.email)


def test_end_sessions_signs_the_member_out_everywhere_and_is_audited(rep_a, org_a):
    browser = Client()
    sign_in(browser, rep_a)

    output = run(
        "end_sessions", "--org", org_a.slug, "--email", rep_a.email, "--reason", REASON
    )

    assert "sessions: 1 listed -> 0" in output
    assert browser.get("/").status_code == 302
    (ended,) = events(org_a, Action.FORCED_SIGN_OUT)
    assert ended.actor_label == f"operator:{getpass.getuser()}"
    assert ended.metadata == {"user_id": rep_a.pk, "sessions": 1}


def test_end_sessions_dry_run_counts_and_ends_nothing(rep_a, org_a):
    browser = Client()
    sign_in(browser, rep_a)

    output = run(
        "end_sessions",
        *("--org", org_a.slug, "--email", rep_a.email, "--reason", REASON),
        "--dry-run",
    )

    assert "dry run: 1 listed sessions would end" in output
    assert browser.get("/").status_code == 200
    assert events(org_a, Action.FORCED_SIGN_OUT) == []
