"""Celery tasks of the compliance app: subject exports, and the retention and
lifecycle jobs that beat runs (see clozup/beat.py).

Each retention job loops over organizations one context at a time through its
service and holds a lock while it runs; a second copy started meanwhile (another
beat, a retried message) logs that and returns "skipped".
"""

import logging

from celery import shared_task
from django.db import OperationalError

from clozup.celery import app, organization_task
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance.models import SubjectExport
from compliance.services import exports, lifecycle, outreach, transparency
from compliance.services import retention as retention_services

logger = logging.getLogger(__name__)


@organization_task(name="compliance.build_subject_export")
def build_subject_export_task(organization_id: int, export_id: int) -> None:
    exports.build_subject_export(export_id)


@shared_task(name="compliance.sweep_subject_exports")
def sweep_subject_exports_task() -> None:
    """Remove spent export files, and requeue exports a lost worker left behind.

    An export still queued ten minutes after it was asked for lost its worker
    (the build holds the row locked while it runs, so a running one is
    skipped by `build_subject_export` and a new task is harmless).
    """
    for organization_id in Organization.objects.values_list("pk", flat=True):
        with org_context(organization_id):
            exports.remove_spent_exports()
            stalled = list(
                SubjectExport.objects.filter(
                    status=SubjectExport.Status.QUEUED,
                    created_at__lte=exports.stalled_before(),
                ).values_list("pk", flat=True)
            )
        for export_id in stalled:
            build_subject_export_task.delay(organization_id, export_id)
        if stalled:
            logger.warning(
                "stalled subject exports requeued", extra={"count": len(stalled)}
            )


def _sweep(rule: str) -> dict:
    try:
        reports = retention_services.sweep_all_organizations(rules=[rule])
    except retention_services.SweepAlreadyRunning:
        logger.info("retention sweep already running", extra={"rule": rule})
        return {"skipped": True}
    rows = sum(report.counts().total_rows for report in reports)
    files = sum(report.counts().total_files for report in reports)
    return {"organizations": len(reports), "rows": rows, "files": files}


@app.task(name="compliance.purge_deleted_records")
def purge_deleted_records_task() -> dict:
    return _sweep("records")


@app.task(name="compliance.purge_call_recordings")
def purge_call_recordings_task() -> dict:
    return _sweep("recordings")


@app.task(name="compliance.trim_audit_logs")
def trim_audit_logs_task() -> dict:
    return _sweep("audit_log")


@app.task(name="compliance.send_purge_notices")
def send_purge_notices_task() -> int:
    return lifecycle.send_purge_notices()


@app.task(name="compliance.purge_cancelled_organizations")
def purge_cancelled_organizations_task() -> dict:
    try:
        purged = lifecycle.purge_cancelled_organizations()
    except retention_services.SweepAlreadyRunning:
        logger.info("organization purge already running")
        return {"skipped": True}
    return {"organizations": len(purged)}


@organization_task(
    name="compliance.send_campaign",
    atomic=False,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=True,
)
def send_campaign_task(organization_id: int, campaign_id: int) -> dict[str, int]:
    """Send a campaign's queued messages. A rerun (a retry, or a redelivery
    after the worker died) sends only what no run has claimed yet."""
    return outreach.send_campaign(organization_id, campaign_id)


@app.task(name="compliance.notify_sub_processor_change")
def notify_sub_processor_change_task(change_id: int) -> int:
    """Announce a sub-processor change; a change already announced is skipped."""
    return transparency.notify_sub_processor_change(change_id)
