"""Mixed load from reps and admins of 20 organizations, against gunicorn.

Seeds 20 organizations (an admin, two reps, leads and deals each), starts
gunicorn and a Celery worker on the database in DATABASE_URL and the Redis
in REDIS_URL, then drives them with locust (headless, as a library) twice:

1. the baseline: a trivial signed-in page (the empty import form) only;
2. the mix: lists, searches, record pages, lead edits, deal moves, logged
   activities, and admins' imports (run by the worker) and audit CSV exports.

Each phase stops after a fixed number of requests. Printed: throughput,
p50/p95/p99 per page, errors, and the mix's throughput as a ratio to the
baseline's, measured in the same run.

    .venv/bin/python bench/load.py [REQUESTS] [USERS]
"""

# locust patches the standard library with gevent; it must come first.
import locust  # noqa: F401, I001

import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gevent import sleep
from locust import HttpUser, between, task
from locust.env import Environment

from common import report
from django.conf import settings
from django.test import Client

from audit import services as audit
from clozup.models import Membership, Organization, User
from clozup.services import add_member, create_organization, get_or_create_user
from clozup.tenancy import org_context
from crm.models import Deal, Lead, Stage

REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
USERS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
ORGANIZATIONS = 20
LEADS_PER_ORGANIZATION = 200
BASE_DIR = Path(__file__).resolve().parent.parent
RUN = f"load{random.randrange(16**6):06x}"


def seed() -> list[dict]:
    """Organizations with members and records; one signed-in session per member."""
    people = []
    for n in range(ORGANIZATIONS):
        created = create_organization(
            name=f"{RUN} {n}",
            slug=f"{RUN}-{n}",
            plan="pro",
            owner_email=f"{RUN}.{n}.owner{chr(64)}bench.invalid",
        )
        organization = created.organization
        with org_context(organization):
            members = {"admin": created.owner}
            for role in ("rep", "rep2"):
                user, _ = get_or_create_user(f"{RUN}.{n}.{role}{chr(64)}bench.invalid")
                add_member(organization, user, role=Membership.Role.REP, actor=None)
                members[role] = user
            Lead.objects.bulk_create(
                Lead(
                    organization=organization,
                    first_name=f"Lead{i}",
                    last_name="Load",
                    email=f"lead{i}.{n}{chr(64)}bench.invalid",
                    owner=members["rep"],
                )
                for i in range(LEADS_PER_ORGANIZATION)
            )
            stages = list(
                Stage.objects.filter(is_won=False, is_lost=False).values_list(
                    "pk", flat=True
                )
            )
            Deal.objects.bulk_create(
                Deal(
                    organization=organization,
                    title=f"Deal {i}",
                    stage_id=stages[i % len(stages)],
                    owner=members["rep"],
                )
                for i in range(LEADS_PER_ORGANIZATION // 4)
            )
            leads = list(Lead.objects.values_list("pk", flat=True))
            deals = list(Deal.objects.values_list("pk", flat=True))
        for role, user in members.items():
            client = Client()
            client.force_login(user)
            people.append(
                {
                    "role": "admin" if role == "admin" else "rep",
                    "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "leads": leads,
                    "deals": deals,
                    "stages": stages,
                }
            )
    return people


def remove() -> None:
    """Everything `seed` made, even when it stopped half-way."""
    for organization in Organization.objects.filter(slug__startswith=f"{RUN}-"):
        with org_context(organization):
            audit.purge_organization_log(organization)
            # Deals protect their stages; they go first.
            Deal.objects.all().delete()
            Organization.objects.filter(pk=organization.pk).delete()
    User.objects.filter(email__startswith=f"{RUN}.").delete()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_servers(port: int) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    bin_dir = Path(sys.executable).parent
    web = subprocess.Popen(
        [
            bin_dir / "gunicorn",
            "clozup.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=BASE_DIR,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [
            bin_dir / "celery",
            "-A",
            "clozup",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        cwd=BASE_DIR,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    else:
        raise RuntimeError("gunicorn did not start")
    # Each gunicorn worker loads Django on its first request: not measured.
    for _ in range(12):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/").read()
    return [web, worker]


class Member(HttpUser):
    """A signed-in person; `people` and `mix` are set before each phase."""

    wait_time = between(0, 0.05)
    people: list[dict] = []
    pool = itertools.cycle([])
    baseline = True

    def on_start(self):
        self.person = next(Member.pool)
        self.client.cookies.set(settings.SESSION_COOKIE_NAME, self.person["session"])
        self.client.get("/imports/new/", name="session warm-up (not measured)")
        self.csrf = {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}

    def _post(self, url, data, name):
        self.client.post(url, data, headers=self.csrf, name=name)

    @task
    def work(self):
        if Member.baseline:
            self.client.get("/imports/new/", name="import form (baseline)")
            return
        person = self.person
        lead = random.choice(person["leads"])
        deal = random.choice(person["deals"])
        choice = random.random()
        if choice < 0.2:
            self.client.get("/leads/", name="lead list")
        elif choice < 0.3:
            self.client.get(f"/leads/?q=Lead{random.randrange(99)}", name="lead search")
        elif choice < 0.5:
            self.client.get(f"/leads/{lead}/", name="lead page")
        elif choice < 0.6:
            self.client.get("/deals/board/", name="deal board")
        elif choice < 0.7:
            self._post(
                f"/leads/{lead}/edit/",
                {"first_name": "Edited", "last_name": "Load", "status": "contacted"},
                "lead edit",
            )
        elif choice < 0.8:
            stage = random.choice(person["stages"])
            self._post(f"/deals/{deal}/move/", {"stage": stage}, "deal move")
        elif choice < 0.9:
            self._post(
                f"/leads/{lead}/activities/",
                {"kind": "note", "subject": "Called", "body": "Left a message"},
                "activity log",
            )
        elif person["role"] == "admin" and choice < 0.95:
            self.client.get("/admin/audit/auditentry/export.csv", name="audit export")
        elif person["role"] == "admin":
            address = f"new{random.randrange(10**9)}{chr(64)}bench.invalid"
            upload = f"First Name,Email\nNew,{address}\n"
            self.client.post(
                "/imports/new/",
                files={"files": ("leads.csv", upload)},
                headers=self.csrf,
                name="import upload (background job)",
            )
        else:
            self.client.get(f"/deals/{deal}/", name="deal page")


def run_phase(base_url: str, people: list[dict], *, baseline: bool) -> dict:
    Member.pool = itertools.cycle(people)
    Member.baseline = baseline
    Member.host = base_url
    environment = Environment(user_classes=[Member])
    runner = environment.create_local_runner()
    runner.start(USERS, spawn_rate=USERS)
    started = time.monotonic()
    while environment.stats.total.num_requests < REQUESTS:
        sleep(0.1)
    elapsed = time.monotonic() - started
    runner.quit()
    return {"stats": environment.stats, "elapsed": elapsed}


def describe(phase: dict) -> list[tuple[str, str]]:
    stats = phase["stats"]
    rows = []
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        if entry.name.startswith("session warm-up"):
            continue
        p50, p95, p99 = (
            entry.get_response_time_percentile(q) for q in (0.5, 0.95, 0.99)
        )
        rows.append(
            (
                entry.name,
                f"{entry.num_requests:5d} req  p50 {p50:6.0f} ms  p95 {p95:6.0f} ms"
                f"  p99 {p99:6.0f} ms  errors {entry.num_failures}",
            )
        )
    total = stats.total
    rows.append(("throughput", f"{_throughput(phase):.1f} req/s"))
    rows.append(("errors", f"{total.num_failures} of {total.num_requests}"))
    return rows


def _throughput(phase: dict) -> float:
    stats = phase["stats"]
    warm_up = stats.entries.get(("session warm-up (not measured)", "GET"))
    measured = stats.total.num_requests - (warm_up.num_requests if warm_up else 0)
    return measured / phase["elapsed"]


def main() -> None:
    servers = []
    try:
        people = seed()
        port = free_port()
        servers = start_servers(port)
        base_url = f"http://127.0.0.1:{port}"
        baseline = run_phase(base_url, people, baseline=True)
        mix = run_phase(base_url, people, baseline=False)
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        remove()
    report(f"baseline: trivial signed-in page, {USERS} users", describe(baseline))
    report(f"mix: 20 organizations' reps and admins, {USERS} users", describe(mix))
    ratio = _throughput(mix) / _throughput(baseline)
    report("ratio", [("mix throughput / baseline throughput", f"{ratio:.2f}")])


if __name__ == "__main__":
    main()
