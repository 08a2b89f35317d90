from clozup.celery import organization_task
from crm.services import imports


@organization_task(atomic=False, max_retries=0)
def run_import_task(organization_id: int, job_id: int) -> None:
    """Run an import job; it opens its own transactions (progress must show)."""
    imports.run_import_job(organization_id, job_id)
