"""Every model change ships with its migration."""

import io

import pytest
from django.core.management import call_command


# makemigrations reads the applied migrations to check the history is whole.
@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit as exit_:
        pytest.fail(
            f"a model change has no migration (exit {exit_.code}):\n{out.getvalue()}"
        )
