import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from clozup.tenancy import org_context
from compliance.models import SubProcessor, SubProcessorChange

pytestmark = pytest.mark.django_db


def test_change_sub_processor_adds_changes_and_removes_with_audit(
    org_a, django_capture_on_commit_callbacks, capsys
):
    with django_capture_on_commit_callbacks() as callbacks:
        call_command(
            "change_sub_processor", "Mailer GmbH", "--purpose", "Email",
            "--data", "Addresses", "--location", "EU (Germany)",
            "--summary", "Added as backup email.", "--reason", "LEGAL-12",
        )  # fmt: skip
        call_command(
            "change_sub_processor", "Mailer GmbH", "--location", "EU (Austria)",
            "--summary", "Moved.", "--reason", "LEGAL-13",
        )  # fmt: skip
        call_command(
            "change_sub_processor", "Mailer GmbH", "--remove",
            "--summary", "Dropped.", "--reason", "LEGAL-14",
        )  # fmt: skip

    kinds = list(
        SubProcessorChange.objects.filter(sub_processor__name="Mailer GmbH")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["added", "changed", "removed"] and len(callbacks) == 3
    assert SubProcessor.objects.get(name="Mailer GmbH").location == "EU (Austria)"
    assert "Mailer GmbH: removed" in capsys.readouterr().out
    with org_context(org_a):
        reasons = list(
            AuditEntry.objects.filter(action="support.command_run").values_list(
                "metadata__reason", flat=True
            )
        )
    assert sorted(reasons) == ["LEGAL-12", "LEGAL-13", "LEGAL-14"]


def test_a_new_sub_processor_needs_its_purpose(db):
    with pytest.raises(CommandError, match="--purpose"):
        call_command(
            "change_sub_processor", "Nameless", "--summary", "x", "--reason", "T-1"
        )
    assert not SubProcessor.objects.filter(name="Nameless").exists()
