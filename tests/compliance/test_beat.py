"""The beat schedule really starts the retention jobs, and a real worker sweeps.

The scheduler's own due-check runs here, with the clock moved to the minute
after the job's time; the message it sends goes through Redis to a worker
process started for the test, which purges against the test database.
"""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from celery.beat import Scheduler
from django.conf import settings
from django.utils import timezone

from clozup.celery import app
from clozup.tenancy import org_context
from compliance import retention
from crm.models import Lead
from tests.conftest import database_url


def test_every_retention_job_in_the_schedule_is_a_registered_task():
    import clozup.tasks  # noqa: F401 registers the tasks with the app
    import compliance.tasks  # noqa: F401 registers the tasks with the app

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert {
        "compliance.purge_deleted_records",
        "compliance.purge_call_recordings",
        "compliance.trim_audit_logs",
        "compliance.send_purge_notices",
        "compliance.purge_cancelled_organizations",
        "clozup.prune_backups",
    } <= scheduled
    assert scheduled <= set(app.tasks)
    named = {row.job for row in retention.effective_table(_org())}
    assert named <= set(settings.CELERY_BEAT_SCHEDULE)


def _org():
    from clozup.models import Organization

    return Organization(plan=Organization.Plan.PRO)


def _due_entries(scheduler) -> list[str]:
    return sorted(
        name for name, entry in scheduler.schedule.items() if entry.is_due()[0]
    )


@pytest.fixture
def worker(tmp_path, local_storages):
    """A real worker on a queue of its own, reading the test database."""
    queue = f"retention-test-{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        DATA_DIR=str(local_storages),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
    )
    log = open(tmp_path / "worker.log", "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "clozup",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-l",
            "info",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield queue
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_beat_sends_the_sweep_at_its_time_and_the_worker_purges(
    committed_db, make_org, make_lead, worker
):
    org = make_org()
    lead = make_lead(org)
    with org_context(org):
        Lead.objects.filter(pk=lead.pk).update(
            deleted_at=timezone.now() - timedelta(days=29)
        )
    schedule = {
        name: {**entry, "options": {"queue": worker}}
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    }
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)

    with time_machine.travel(today + timedelta(hours=2, minutes=59), tick=False):
        scheduler = Scheduler(app=app, lazy=True)
        scheduler.update_from_dict(schedule)
        assert _due_entries(scheduler) == []
    with time_machine.travel(today + timedelta(hours=3, seconds=30), tick=False):
        assert _due_entries(scheduler) == ["purge-deleted-records"]
        scheduler.tick()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with org_context(org):
            if not Lead._base_manager.filter(pk=lead.pk).exists():
                break
        time.sleep(0.5)
    with org_context(org):
        assert not Lead._base_manager.filter(pk=lead.pk).exists()
