"""A task that exists only for tests: what does a worker see for this org?"""

from clozup.celery import organization_task
from crm.models import Lead


@organization_task(name="tests.visible_lead_ids")
def visible_lead_ids(organization_id: int) -> list[int]:
    return sorted(Lead.objects.values_list("pk", flat=True))
