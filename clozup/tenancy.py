"""Tenancy: which organization's rows the database lets this transaction see.

Every organization table carries a row-level security policy comparing its
`organization_id` with the transaction-local setting `app.current_org_id`.
This module is the only code that writes that setting. It is always made with
`set_config(..., true)` inside a transaction, so it ends with the transaction
and can never follow a pooled connection into another request or task.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction

from clozup.lib.logging import organization_id_var

logger = logging.getLogger(__name__)

ORG_SETTING = "app.current_org_id"
USER_SETTING = "app.current_user_id"
SSO_DOMAIN_SETTING = "app.sso_domain"
SETTINGS = (ORG_SETTING, USER_SETTING, SSO_DOMAIN_SETTING)


class UnsafeDatabaseRole(ImproperlyConfigured):
    """The process is connected as a role that row-level security cannot hold."""


class MissingOrganization(ValueError):
    """Work on organization data was started without naming the organization."""


def _organization_id(organization) -> int:
    if organization is None or organization == "":
        raise MissingOrganization("an organization is required for this work")
    org_id = getattr(organization, "pk", organization)
    try:
        return int(org_id)
    except (TypeError, ValueError):
        raise MissingOrganization(f"not an organization id: {org_id!r}") from None


def _read(connection, name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0] or ""


def _write(connection, name: str, value) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, str(value or "")])


@contextmanager
def _settings_context(values: dict[str, object], using: str) -> Iterator[None]:
    connection = connections[using]
    nested = connection.in_atomic_block
    previous = {name: _read(connection, name) for name in SETTINGS} if nested else {}

    with transaction.atomic(using=using):
        for name, value in values.items():
            _write(connection, name, value)
        yield

    # Inside an enclosing transaction the settings would outlive this block:
    # put back what the enclosing code had. A rolled-back savepoint already
    # restored them, and a broken transaction cannot run the statement.
    if nested and not connection.needs_rollback:
        for name, value in previous.items():
            _write(connection, name, value)


@contextmanager
def org_context(organization, *, using: str = "default") -> Iterator[int]:
    """Run the block in one transaction that sees only this organization's rows.

    Takes an Organization or its id. Nested use is allowed (a task looping over
    organizations); on exit the enclosing context is restored.
    """
    org_id = _organization_id(organization)
    token = organization_id_var.set(org_id)
    try:
        with _settings_context({ORG_SETTING: org_id}, using):
            yield org_id
    finally:
        organization_id_var.reset(token)


@contextmanager
def user_context(user_id: int, *, using: str = "default") -> Iterator[None]:
    """Open a transaction that may read this user's memberships in every org.

    The membership policy admits a row of another organization when it belongs
    to this user, so that a request can list a person's organizations before
    one is chosen; `enter_organization` then narrows the same transaction.
    """
    token = organization_id_var.set(None)
    try:
        with _settings_context({USER_SETTING: int(user_id), ORG_SETTING: ""}, using):
            yield
    finally:
        organization_id_var.reset(token)


@contextmanager
def sso_domain_context(domain: str, *, using: str = "default") -> Iterator[None]:
    """Open a transaction that may read the one SSO domain row named here.

    The sign-in page must learn which organization owns an email's domain
    before anyone is signed in; the policy on `signin_ssodomain` admits that
    row and no other, and no row of any other table.
    """
    token = organization_id_var.set(None)
    try:
        values = {SSO_DOMAIN_SETTING: domain.lower(), ORG_SETTING: ""}
        with _settings_context(values, using):
            yield
    finally:
        organization_id_var.reset(token)


def enter_organization(organization, *, using: str = "default") -> int:
    """Narrow the current `user_context` transaction to one organization."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("enter_organization needs an open user_context")
    org_id = _organization_id(organization)
    _write(connection, ORG_SETTING, org_id)
    organization_id_var.set(org_id)
    return org_id


def current_organization_id(*, using: str = "default") -> int | None:
    value = _read(connections[using], ORG_SETTING)
    return int(value) if value else None


def check_database_role(*, using: str = "default") -> list[str]:
    """Name every way the connected role could escape row-level security."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                   EXISTS (
                       SELECT 1 FROM pg_class c
                       JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.relowner = r.oid AND n.nspname = 'public'
                   )
            FROM pg_roles r WHERE r.rolname = current_user
            """
        )
        role, is_super, bypasses_rls, owns_tables = cursor.fetchone()
    problems = []
    if is_super:
        problems.append(f"role {role} is a superuser")
    if bypasses_rls:
        problems.append(f"role {role} has BYPASSRLS")
    if owns_tables:
        problems.append(f"role {role} owns tables in schema public")
    return problems


def assert_safe_database_role(*, using: str = "default") -> None:
    """Refuse to serve when DATABASE_URL names a role that RLS does not bind."""
    problems = check_database_role(using=using)
    if problems:
        raise UnsafeDatabaseRole(
            "DATABASE_URL must be the app role: "
            + "; ".join(problems)
            + ". Run `python manage.py setup_database` and use the role it creates."
        )
    connections[using].close()


DML = ("SELECT", "INSERT", "UPDATE", "DELETE")


def grant_app_role(*, using: str) -> None:
    """Give the app role exactly the privileges each table declares.

    A model may declare `app_role_privileges`; the audit log, for one, is
    insert and read only. It may also name `app_role_functions`, database
    functions the app role may call. TRUNCATE is never granted: it ignores
    row-level security.
    """
    from django.apps import apps

    app_role = settings.DATABASES["default"]["USER"]
    connection = connections[using]
    if not app_role or connection.settings_dict["USER"] == app_role:
        return

    quote = connection.ops.quote_name
    existing = set(connection.introspection.table_names())
    statements = [f"GRANT USAGE ON SCHEMA public TO {quote(app_role)}"]
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if table not in existing or not model._meta.managed:
            continue
        privileges = getattr(model, "app_role_privileges", DML)
        statements.append(f"REVOKE ALL ON {quote(table)} FROM {quote(app_role)}")
        statements.append(
            f"GRANT {', '.join(privileges)} ON {quote(table)} TO {quote(app_role)}"
        )
        for function in getattr(model, "app_role_functions", ()):
            statements.append(
                f"GRANT EXECUTE ON FUNCTION {function} TO {quote(app_role)}"
            )
    statements.append(f"GRANT SELECT ON django_migrations TO {quote(app_role)}")
    statements.append(
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quote(app_role)}"
    )
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    logger.info("app role privileges granted", extra={"tables": len(statements)})
