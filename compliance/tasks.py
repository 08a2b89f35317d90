"""The retention and lifecycle jobs that beat runs (see clozup/beat.py).

Each loops over organizations one context at a time through its service and
holds a lock while it runs; a second copy started meanwhile (another beat,
a retried message) logs that and returns "skipped".
"""

import logging

from clozup.celery import app
from compliance.services import lifecycle
from compliance.services import retention as retention_services

logger = logging.getLogger(__name__)


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
