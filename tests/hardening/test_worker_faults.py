"""A Celery worker killed in the middle of a job: the job completes exactly once.

A real worker (`celery -A clozup worker`, tests/hardening/processes.py) runs
an import or a retention sweep against the test database and a throwaway
Redis broker. It is killed with
SIGKILL while the job runs and started again; the broker hands the
unacknowledged message out again after CELERY_VISIBILITY_TIMEOUT.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEntry
from clozup.celery import app as celery_app
from clozup.models import Membership
from clozup.tenancy import org_context
from crm.models import Activity, ImportJob, Lead
from crm.services import imports
from tests.conftest import database_url
from tests.hardening.processes import (
    CeleryWorker,
    ThrowawayRedis,
    app_environment,
    wait_until,
)

pytestmark = pytest.mark.slow

ROWS = 60_000


def _use_broker(url: str) -> None:
    """Point this process's Celery app at `url`, dropping the connection and
    producer pools an earlier test may have opened on the usual broker."""
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path, settings):
    """A Redis of our own as broker and cache, for this process and the worker."""
    redis = ThrowawayRedis(tmp_path).start()
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis.url}}
    saved = celery_app.conf.broker_url
    _use_broker(redis.url)
    yield redis
    _use_broker(saved)
    redis.stop()


@pytest.fixture
def start_worker(committed_db, broker, local_storages, tmp_path):
    """Start real workers; each is stopped at the end of the test."""
    env = app_environment(
        DATABASE_URL=database_url(),
        REDIS_URL=broker.url,
        DATA_DIR=str(local_storages),
        CELERY_VISIBILITY_TIMEOUT="4",
    )
    started = []

    def start(name: str) -> CeleryWorker:
        worker = CeleryWorker(env, tmp_path, name).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _queue_import(organization, member) -> ImportJob:
    lines = [b"First Name,Last Name,Email"]
    lines += [b"P%d,Example,p%d@example.com" % (n, n) for n in range(ROWS)]
    upload = SimpleUploadedFile("many-leads.csv", b"\n".join(lines) + b"\n")
    with org_context(organization):
        job = imports.create_import_job(organization, [upload], actor=member)
        chosen = [{"kind": f["kind"], "mapping": f["mapping"]} for f in job.files]
        return imports.start_import_job(job, chosen, actor=member)


def _job(organization, job_id) -> ImportJob:
    with org_context(organization):
        return ImportJob.objects.get(pk=job_id)


def test_an_import_whose_worker_is_killed_completes_exactly_once(
    start_worker, make_org, make_member
):
    organization = make_org()
    member = make_member(organization, role=Membership.Role.ADMIN)
    first = start_worker("first")
    job = _queue_import(organization, member)

    # Killed once the job has read rows and before it could commit.
    wait_until(
        lambda: imports.read_progress(_job(organization, job.pk)).get("rows", 0) > 0,
        "the job to be running",
        # A worker starting on a loaded machine can take a minute by itself.
        seconds=180,
    )
    first.kill()

    assert _job(organization, job.pk).status == ImportJob.Status.RUNNING
    with org_context(organization):
        assert Lead.objects.count() == 0

    second = start_worker("second")
    finished = wait_until(
        lambda: _job(organization, job.pk).is_finished and _job(organization, job.pk),
        "the job to finish after the restart",
        seconds=180,
    )

    assert finished.status == ImportJob.Status.SUCCEEDED, second.output()[-3000:]
    with org_context(organization):
        assert Lead.objects.count() == ROWS
        events = list(
            AuditEntry.objects.filter(
                action__in=[Action.IMPORT_COMPLETED, Action.IMPORT_FAILED]
            ).values_list("action", flat=True)
        )
    assert events == [Action.IMPORT_COMPLETED]
    assert "import job resumed after a lost worker" in second.output()


DELETED_LEADS = 20_000


def _bury_deleted_leads(organization, count: int) -> None:
    """Leads deleted 40 days ago, past the 30-day promise, each with a note."""
    deleted_at = timezone.now() - timedelta(days=40)
    with org_context(organization), connection.cursor() as cursor:
        Lead.objects.bulk_create(
            (
                Lead(
                    organization=organization,
                    first_name="Gone",
                    last_name=f"Lead {n}",
                    deleted_at=deleted_at,
                )
                for n in range(count)
            ),
            batch_size=2000,
        )
        cursor.execute(
            "INSERT INTO crm_activity (organization_id, kind, occurred_at, subject,"
            " body, lead_id, created_at)"
            " SELECT organization_id, 'note', now(), 'Note', 'words', id, now()"
            " FROM crm_lead WHERE organization_id = %s",
            [organization.pk],
        )


def _purged_by_audit(organization, table: str) -> int:
    with org_context(organization):
        metadata = AuditEntry.objects.filter(action=Action.RECORD_PURGED).values_list(
            "metadata", flat=True
        )
        return sum(entry["rows"].get(table, 0) for entry in metadata)


def test_a_retention_sweep_whose_worker_is_killed_purges_everything_once(
    start_worker, make_org
):
    organization = make_org()
    _bury_deleted_leads(organization, DELETED_LEADS)
    first = start_worker("first")
    celery_app.send_task("compliance.purge_deleted_records")

    def remaining() -> int:
        with org_context(organization):
            return Lead._base_manager.count()

    # Killed once the first batches have committed and before the last.
    wait_until(lambda: remaining() < DELETED_LEADS, "the sweep to commit a batch", 180)
    first.kill()
    left = remaining()
    assert 0 < left < DELETED_LEADS, "the sweep finished before the kill"
    assert _purged_by_audit(organization, "crm_lead") == DELETED_LEADS - left

    # The message was not acknowledged: the broker hands it to the next worker.
    second = start_worker("second")
    wait_until(lambda: remaining() == 0, "the sweep to finish after the restart", 180)
    wait_until(
        lambda: "retention sweep finished" in second.output(), "the sweep's last log"
    )

    with org_context(organization):
        assert Activity.objects.count() == 0
    # Every row purged exactly once: the batch audit events add up to the whole.
    assert _purged_by_audit(organization, "crm_lead") == DELETED_LEADS
    assert _purged_by_audit(organization, "crm_activity") == DELETED_LEADS
