"""The app role cannot escape row-level security, and processes check it."""

import os
import subprocess
import sys

import pytest
from django.db import connection

from clozup.tenancy import check_database_role
from tests.conftest import database_url


def test_the_app_role_is_not_superuser_cannot_bypass_rls_and_owns_nothing(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb"
            " FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relowner ="
            " (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
        assert cursor.fetchone()[0] == 0

    assert check_database_role() == []


def test_the_app_role_may_not_truncate_or_alter_tables(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.role_table_grants"
            " WHERE grantee = current_user AND privilege_type IN"
            " ('TRUNCATE', 'REFERENCES', 'TRIGGER')"
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(databases=["default", "owner"])
def test_the_owner_role_is_named_unsafe():
    assert any("owns tables" in p for p in check_database_role(using="owner"))


@pytest.mark.django_db(databases=["default", "owner"])
@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-c", "import clozup.wsgi"],
        [sys.executable, "-m", "celery", "-A", "clozup", "worker", "--pool", "solo"],
    ],
    ids=["web", "worker"],
)
def test_web_and_worker_refuse_to_start_as_the_table_owner(command):
    env = dict(os.environ, DATABASE_URL=database_url("owner"))

    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode != 0
    assert "owns tables" in result.stdout + result.stderr
