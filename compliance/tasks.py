"""Celery tasks of the compliance app: thin, rerunnable, one service each."""

import logging

from celery import shared_task

from clozup.celery import organization_task
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance.models import SubjectExport
from compliance.services import exports

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
