"""Shared fixtures: the test database, and the people and organizations tests use.

The test database is created and migrated by the owner role
(MIGRATION_DATABASE_URL) and every test then talks to it as the app role
(DATABASE_URL), exactly as the web and worker processes do. A test that passes
has been protected by the database's row-level security, not by a superuser's
view of it.
"""

import itertools
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connections, transaction

from clozup.models import Membership, Organization, User
from clozup.services import create_organization, get_or_create_user
from clozup.tenancy import org_context

PASSWORD = "correct-horse-battery-staple"
# A fixed key for runs without ENCRYPTION_KEYS (make test generates one).
TEST_ENCRYPTION_KEY = "test1:" + "A" * 43
_sequence = itertools.count(1)


def pytest_configure(config):
    # make test sets SECRET_KEY; a bare `pytest` run by a developer may not.
    settings.SECRET_KEY = settings.SECRET_KEY or "tests-only-secret-key-" + "x" * 40
    settings.ENCRYPTION_KEYS = settings.ENCRYPTION_KEYS or [TEST_ENCRYPTION_KEY]


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker, django_db_keepdb):
    if "owner" not in connections:
        pytest.exit("MIGRATION_DATABASE_URL must name the owner role for the tests")
    with django_db_blocker.unblock():
        owner = connections["owner"]
        old_name = owner.settings_dict["NAME"]
        test_name = owner.creation.create_test_db(
            verbosity=0, autoclobber=True, keepdb=django_db_keepdb, serialize=False
        )
        app = connections["default"]
        app.close()
        app.settings_dict["NAME"] = test_name
        settings.DATABASES["default"]["NAME"] = test_name
    yield
    with django_db_blocker.unblock():
        connections["default"].close()
        owner.creation.destroy_test_db(old_name, verbosity=0, keepdb=django_db_keepdb)


def database_url(alias: str = "default") -> str:
    """A URL for the test database, for subprocesses that must reach it."""
    database = connections[alias].settings_dict
    host = quote(database["HOST"], safe="") if database["HOST"] else ""
    port = f":{database['PORT']}" if database["PORT"] else ""
    password = f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else ""
    user = database["USER"]
    return f"postgres://{user}{password}@{host}{port}/{database['NAME']}"


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ACCOUNT_RATE_LIMITS = False


def _truncate_everything():
    owner = connections["owner"]
    tables = [t for t in owner.introspection.table_names() if t != "django_migrations"]
    with transaction.atomic(using="owner"), owner.cursor() as cursor:
        # The audit log and the consent ledger refuse TRUNCATE unless their
        # owner raises these flags.
        cursor.execute("SELECT set_config('audit.removal_allowed', 'on', true)")
        cursor.execute("SELECT set_config('compliance.erasure_allowed', 'on', true)")
        cursor.execute(
            "TRUNCATE "
            + ", ".join(owner.ops.quote_name(t) for t in tables)
            + " CASCADE"
        )


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Database access without a wrapping transaction: writes really commit.

    For tests where several connections, threads or processes must see each
    other's work. Everything is truncated afterwards by the owner role, since
    the app role may not TRUNCATE (TRUNCATE ignores row-level security).
    """
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            for connection in connections.all():
                connection.close()
            _truncate_everything()
            connections["owner"].close()


# People and organizations -------------------------------------------------


@pytest.fixture
def make_org():
    def make(*, plan: str = Organization.Plan.PRO, name: str = "") -> Organization:
        n = next(_sequence)
        created = create_organization(
            name=name or f"Organization {n}",
            slug=f"org-{n}",
            plan=plan,
            owner_email=f"owner{n}@example.com",
        )
        return created.organization

    return make


@pytest.fixture
def make_member():
    def make(
        organization: Organization, *, role: str = Membership.Role.REP, email: str = ""
    ) -> User:
        user, _ = get_or_create_user(email or f"member{next(_sequence)}@example.com")
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        with org_context(organization):
            Membership.objects.create(organization=organization, user=user, role=role)
        return user

    return make


@pytest.fixture
def org_a(db, make_org):
    return make_org(name="Acme Sales")


@pytest.fixture
def org_b(db, make_org):
    return make_org(name="Bolt Trading")


@pytest.fixture
def rep_a(org_a, make_member):
    return make_member(org_a, role=Membership.Role.REP)


@pytest.fixture
def admin_a(org_a, make_member):
    return make_member(org_a, role=Membership.Role.ADMIN)


@pytest.fixture
def rep_b(org_b, make_member):
    return make_member(org_b, role=Membership.Role.REP)


# Sales records --------------------------------------------------------------


@pytest.fixture
def make_lead():
    from crm.models import Lead

    def make(organization: Organization, **fields) -> Lead:
        n = next(_sequence)
        fields.setdefault("first_name", f"Lead{n}")
        fields.setdefault("last_name", "Example")
        fields.setdefault("email", f"lead{n}@example.org")
        with org_context(organization):
            return Lead.objects.create(organization=organization, **fields)

    return make


@pytest.fixture
def make_company():
    from crm.models import Company

    def make(organization: Organization, **fields) -> Company:
        fields.setdefault("name", f"Company {next(_sequence)}")
        with org_context(organization):
            return Company.objects.create(organization=organization, **fields)

    return make


# Shared sample data ----------------------------------------------------------


def _shared_data_dir() -> Path | None:
    candidates = [
        os.environ.get("CLOZUP_SHARED_DATA", ""),
        str(Path(settings.BASE_DIR).parent / "shared" / "data"),
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "README.md").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The sample CSVs of ../shared/data (see its README for the oracle)."""
    found = _shared_data_dir()
    if found is None:
        pytest.skip(
            "sample data not found: set CLOZUP_SHARED_DATA, or put shared/data"
            " beside the repository"
        )
    return found


# Files ----------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto in server mode) on loopback."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


S3_CREDENTIALS = {"access_key": "test-access", "secret_key": "test-secret"}


@pytest.fixture
def make_bucket(s3_server):
    """Create a bucket on the loopback S3 server; returns storage OPTIONS for it."""
    import uuid

    import boto3

    def make(region: str = "eu-west-1") -> dict:
        name = f"clozup-test-{uuid.uuid4().hex[:12]}"
        client = boto3.client(
            "s3",
            endpoint_url=s3_server,
            region_name=region,
            aws_access_key_id=S3_CREDENTIALS["access_key"],
            aws_secret_access_key=S3_CREDENTIALS["secret_key"],
        )
        client.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": region}
        )
        return {
            "bucket_name": name,
            "region_name": region,
            "endpoint_url": s3_server,
            "object_parameters": {"ServerSideEncryption": "AES256"},
            "file_overwrite": False,
            "default_acl": None,
            **S3_CREDENTIALS,
        }

    return make


@pytest.fixture
def s3_client(s3_server):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="eu-west-1",
        aws_access_key_id=S3_CREDENTIALS["access_key"],
        aws_secret_access_key=S3_CREDENTIALS["secret_key"],
    )


@pytest.fixture
def local_storages(settings, tmp_path):
    """Private files and backups under this test's own folder."""
    storages = {**settings.STORAGES}
    for alias, folder in (("private", "files"), ("backups", "backups")):
        storages[alias] = {
            "BACKEND": settings.STORAGES[alias]["BACKEND"].replace(".S3", ".Local"),
            "OPTIONS": {"location": str(tmp_path / folder)},
        }
    storages["default"] = storages["private"]
    settings.STORAGES = storages
    return tmp_path
