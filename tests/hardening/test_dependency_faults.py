"""PostgreSQL restarted and Redis stopped under a running gunicorn.

A throwaway PostgreSQL and Redis (tests/hardening/processes.py), migrated
with `setup_database`, serve a real gunicorn. While a dependency is down,
pages answer the 503 page (never a stack trace or a bare 500), `/healthz`
stays up and `/readyz` names what is down; once it is back, everything
answers again without restarting the web server.
"""

import threading

import httpx
import pytest

from tests.hardening.processes import (
    Gunicorn,
    ThrowawayPostgres,
    ThrowawayRedis,
    app_environment,
    manage,
    wait_until,
)

pytestmark = pytest.mark.slow

OWNER_EMAIL = "fault.owner@example.com"
SESSION_AND_JOB = f"""
from django.test import Client
from clozup.models import Organization, User
from clozup.tenancy import org_context
from crm.models import ImportJob
user = User.objects.get(email="{OWNER_EMAIL}")
organization = Organization.objects.get(slug="faulty")
with org_context(organization):
    job = ImportJob.objects.create(
        organization=organization, created_by=user, status="running", files=[]
    )
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value, job.pk)
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack")
    postgres = ThrowawayPostgres()
    postgres.start()
    redis = ThrowawayRedis(folder).start()
    base = f"127.0.0.1:{postgres.port}/clozup"
    env = app_environment(
        DATABASE_ADMIN_URL=postgres.admin_url(),
        DATABASE_URL=f"postgres://clozup_app:app-password@{base}",
        MIGRATION_DATABASE_URL=f"postgres://clozup_owner:owner-password@{base}",
        REDIS_URL=redis.url,
        DATA_DIR=str(folder),
        CONN_MAX_AGE="60",
    )
    manage(env, "setup_database")
    manage(
        env,
        "createorg",
        "--name",
        "Faulty",
        "--slug",
        "faulty",
        "--owner-email",
        OWNER_EMAIL,
    )
    session, job_id = manage(env, "shell", "-c", SESSION_AND_JOB).split()[-2:]
    web = Gunicorn(env, folder).start()
    client = httpx.Client(base_url=web.url, cookies={"sessionid": session}, timeout=30)
    yield {
        "postgres": postgres,
        "redis": redis,
        "web": web,
        "client": client,
        "progress": f"/imports/{job_id}/progress/",
    }
    client.close()
    web.stop()
    redis.stop()
    postgres.remove()


def _assert_unavailable_page(response) -> None:
    assert response.status_code == 503, response.text[:500]
    assert "briefly unavailable" in response.text
    assert "Traceback" not in response.text
    assert response.headers["Retry-After"] == "30"


class Hammer(threading.Thread):
    """Requests a page over and over, keeping every status it gets."""

    def __init__(self, client: httpx.Client, path: str):
        super().__init__(daemon=True)
        self.client, self.path = client, path
        self.statuses: list[int] = []
        self.running = True

    def run(self):
        while self.running:
            self.statuses.append(self.client.get(self.path).status_code)

    def stop(self) -> list[int]:
        self.running = False
        self.join(timeout=60)
        return self.statuses


def test_a_postgresql_restart_gives_503s_then_everything_works(stack):
    client, postgres = stack["client"], stack["postgres"]
    assert client.get("/leads/").status_code == 200
    hammer = Hammer(client, "/leads/")
    hammer.start()

    postgres.stop()
    page = client.get("/leads/")
    alive = client.get("/healthz")
    ready = client.get("/readyz")
    postgres.start()
    wait_until(lambda: client.get("/readyz").status_code == 200, "readiness")
    statuses = hammer.stop()

    _assert_unavailable_page(page)
    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] is False
    assert client.get("/leads/").status_code == 200
    assert set(statuses) <= {200, 503}, sorted(set(statuses))


def test_redis_stopped_for_a_while_gives_503s_then_everything_works(stack):
    client, redis = stack["client"], stack["redis"]
    assert client.get(stack["progress"]).status_code == 200

    redis.stop()
    page = client.get(stack["progress"])
    database_only = client.get("/leads/")
    ready = client.get("/readyz")
    redis.start()
    wait_until(lambda: client.get("/readyz").status_code == 200, "readiness")

    _assert_unavailable_page(page)
    # Pages that need only the database keep working meanwhile.
    assert database_only.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": True, "redis": False, "storage": True}
    assert client.get(stack["progress"]).status_code == 200
