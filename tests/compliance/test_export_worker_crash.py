"""A worker killed in the middle of a subject export, then the export run again:
exactly one export completes, with one file, readable."""

import io
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.db import connection

from clozup.tenancy import org_context
from compliance.models import SubjectExport
from compliance.selectors.subjects import subject_hash
from compliance.services import exports
from compliance.tasks import build_subject_export_task
from crm.models import Lead

from ..conftest import database_url

EMAIL = "big.talker@subject.example"
NOTES = 60_000


def start_worker(tmp_path, queue, log):
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        DATA_DIR=str(tmp_path),
        ENCRYPTION_KEYS=",".join(settings.ENCRYPTION_KEYS),
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "clozup",
            "worker",
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
            "-Q",
            queue,
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_for_line(worker, log_path, text, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log_path.read_text(errors="replace"):
            return
        if worker.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"the worker never logged {text!r}: {log_path.read_text()}")


def wait_for_status(export, status, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with org_context(export.organization_id):
            export.refresh_from_db()
        if export.status == status:
            return export
        time.sleep(0.2)
    raise AssertionError(f"export {export.pk} stayed {export.status}")


@pytest.fixture
def talkative_subject(committed_db, make_org):
    """A lead with enough notes that exporting them takes a few seconds."""
    organization = make_org()
    with org_context(organization):
        lead = Lead.objects.create(organization=organization, email=EMAIL)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO crm_activity (organization_id, kind, occurred_at,"
                " subject, body, lead_id, created_at)"
                " SELECT %s, 'note', now(), 'Note ' || n, repeat('words ', 40),"
                " %s, now() FROM generate_series(1, %s) n",
                [organization.pk, lead.pk, NOTES],
            )
        hashed = subject_hash(organization, EMAIL)
        export = SubjectExport.objects.create(
            organization=organization, email=EMAIL, subject_hash=hashed
        )
    return export


def test_a_killed_export_is_completed_once_by_the_next_run(
    talkative_subject, local_storages
):
    export = talkative_subject
    queue = f"crash-test-{uuid.uuid4().hex[:8]}"

    log_path = local_storages / "worker.log"
    log = log_path.open("wb")
    first = start_worker(local_storages, queue, log)
    try:
        build_subject_export_task.apply_async(
            (export.organization_id, export.pk), queue=queue
        )
        wait_for_line(first, log_path, "subject export started")
        time.sleep(0.3)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)

    with org_context(export.organization_id):
        export.refresh_from_db()
    assert export.status == SubjectExport.Status.QUEUED

    second = start_worker(local_storages, queue, log)
    try:
        build_subject_export_task.apply_async(
            (export.organization_id, export.pk), queue=queue
        )
        build_subject_export_task.apply_async(
            (export.organization_id, export.pk), queue=queue
        )
        export = wait_for_status(export, SubjectExport.Status.READY)
        time.sleep(1)
    finally:
        second.terminate()
        second.wait(timeout=30)
        log.close()

    with org_context(export.organization_id):
        assert SubjectExport.objects.get(pk=export.pk).finished_at == export.finished_at
        folder = f"org-{export.organization_id}/{exports.EXPORT_FOLDER}"
        _, names = storages["private"].listdir(folder)
        with storages["private"].open(export.storage_name) as handle:
            archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    assert names == [f"{export.public_id}.zip"]
    assert archive.testzip() is None
    assert export.counts["activities"] == NOTES
