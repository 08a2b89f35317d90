"""Every organization table is protected by the schema, not by convention.

These tests read the live schema: a new model that carries an organization
but whose migration forgot RLS, a same-organization key or an index that
starts with organization_id fails here.
"""

import pytest
from django.apps import apps
from django.db import connection

from clozup.models import Membership, OrganizationModel, User

# The membership table is also read by user, to list a person's organizations
# before one is chosen (see clozup/migrations/0002_membership_rls.py). A single
# sign-on domain belongs to one organization at most, across all of them.
INDEXES_NOT_LED_BY_ORGANIZATION = {"membership_user_idx", "ssodomain_domain_unique"}


def organization_models():
    return [
        model
        for model in apps.get_models()
        if any(field.name == "organization" for field in model._meta.fields)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("model", organization_models(), ids=lambda m: m._meta.label)
def test_the_table_has_forced_rls_and_a_policy_on_the_org_setting(model):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE oid = %s::regclass",
            [table],
        )
        assert cursor.fetchone() == (True, True), f"{table} lacks forced RLS"
        cursor.execute(
            "SELECT cmd, qual, with_check FROM pg_policies WHERE tablename = %s",
            [table],
        )
        policies = cursor.fetchall()

    assert policies, f"{table} has no policy"
    for command, using, check in policies:
        assert command == "ALL"
        assert "app.current_org_id" in using
        assert "app.current_org_id" in check


def test_every_organization_model_inherits_the_organization_key():
    for model in organization_models():
        assert issubclass(model, OrganizationModel), model._meta.label


@pytest.mark.django_db
@pytest.mark.parametrize("model", organization_models(), ids=lambda m: m._meta.label)
def test_links_between_organization_rows_stay_inside_one_organization(model):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT array_agg(a.attname ORDER BY k.n)
            FROM pg_constraint c
            CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
            WHERE c.conrelid = %s::regclass AND c.contype = 'f'
            GROUP BY c.oid
            """,
            [table],
        )
        composite_keys = {tuple(row[0]) for row in cursor.fetchall()}

    for field in model._meta.fields:
        if not field.is_relation or field.name == "organization":
            continue
        target = field.related_model
        # A membership is what ties a global user to the organization.
        points_at_member = target is User and model is not Membership
        if target in organization_models() or points_at_member:
            expected = ("organization_id", field.column)
            assert expected in composite_keys, f"{table}.{field.column}"


@pytest.mark.django_db
@pytest.mark.parametrize("model", organization_models(), ids=lambda m: m._meta.label)
def test_every_index_starts_with_organization_id(model):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, a.attname
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            LEFT JOIN pg_attribute a
              ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
            WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
            """,
            [table],
        )
        indexes = cursor.fetchall()

    for name, first_column in indexes:
        if name in INDEXES_NOT_LED_BY_ORGANIZATION:
            continue
        assert first_column == "organization_id", f"{table}: index {name}"
