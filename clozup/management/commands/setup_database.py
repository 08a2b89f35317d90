import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql

from clozup.tenancy import assert_safe_database_role


class Command(BaseCommand):
    help = (
        "Prepare the database: create the owner and app roles and the database "
        "(when --admin-url or DATABASE_ADMIN_URL names a role allowed to), run "
        "the migrations as the owner, and grant the app role its privileges. "
        "Safe to run again: it changes only what differs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-url",
            default=None,
            help="A superuser URL used only to create roles and the database.",
        )
        parser.add_argument(
            "--skip-migrate", action="store_true", help="Create roles only."
        )

    def handle(self, *args, admin_url=None, skip_migrate=False, **options):
        import environ

        admin_url = admin_url or environ.Env().str("DATABASE_ADMIN_URL", default="")
        if "owner" not in settings.DATABASES:
            raise CommandError(
                "MIGRATION_DATABASE_URL is not set: it must name the owner role "
                "that runs migrations."
            )
        owner = settings.DATABASES["owner"]
        app = settings.DATABASES["default"]
        if owner["NAME"] != app["NAME"]:
            raise CommandError(
                "DATABASE_URL and MIGRATION_DATABASE_URL name different databases: "
                f"{app['NAME']!r} and {owner['NAME']!r}."
            )
        if owner["USER"] == app["USER"]:
            raise CommandError(
                "DATABASE_URL and MIGRATION_DATABASE_URL use the same role "
                f"{app['USER']!r}: the app role must not own the tables."
            )

        if admin_url:
            self._create_roles_and_database(admin_url, owner, app)
        if skip_migrate:
            return

        call_command("migrate", database="owner", interactive=False, verbosity=0)
        assert_safe_database_role()
        self.stdout.write(
            f"database {app['NAME']!r} ready: owner {owner['USER']!r}, "
            f"app role {app['USER']!r}"
        )

    def _create_roles_and_database(self, admin_url, owner, app):
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for role, attributes in (
                (owner, "LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOBYPASSRLS"),
                (app, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"),
            ):
                name = sql.Identifier(role["USER"])
                exists = conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", [role["USER"]]
                ).fetchone()
                verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
                conn.execute(
                    sql.SQL("{} ROLE {} {}").format(verb, name, sql.SQL(attributes))
                )
                if role["PASSWORD"]:
                    conn.execute(
                        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                            name, sql.Literal(role["PASSWORD"])
                        )
                    )
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [owner["NAME"]]
            ).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(owner["NAME"]), sql.Identifier(owner["USER"])
                    )
                )
        self.stdout.write(f"roles {owner['USER']!r} and {app['USER']!r} in place")
