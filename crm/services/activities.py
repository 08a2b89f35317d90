from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from clozup.models import User
from crm.models import Activity
from crm.services.records import record_change


class TaskAlreadyDone(ValueError):
    pass


@transaction.atomic
def log_activity(
    record,
    *,
    actor: User,
    kind: str,
    subject: str = "",
    body: str = "",
    occurred_at: datetime | None = None,
    due_at: datetime | None = None,
    ai_generated: bool = False,
    request=None,
) -> Activity:
    """Add a call, note, email or meeting to a lead, contact or deal's timeline.

    With `due_at` the activity is also a task on the author's home page;
    `ai_generated` labels text the author kept from an AI assist answer.
    """
    activity = Activity.objects.create(
        organization_id=record.organization_id,
        kind=kind,
        subject=subject,
        body=body,
        occurred_at=occurred_at or timezone.now(),
        due_at=due_at,
        ai_generated=ai_generated,
        author=actor,
        **{record._meta.model_name: record},
    )
    given = {
        "subject": subject,
        "body": body,
        "due_at": due_at,
        "ai_generated": ai_generated,
    }
    filled = [name for name, value in given.items() if value]
    record_change(
        Action.RECORD_CREATED,
        activity,
        actor=actor,
        fields=[record._meta.model_name, "kind", *filled],
        request=request,
    )
    return activity


@transaction.atomic
def complete_task(activity: Activity, *, actor: User, request=None) -> Activity:
    if activity.done_at is not None:
        raise TaskAlreadyDone(f"activity {activity.pk} is done already")
    activity.done_at = timezone.now()
    activity.save(update_fields=["done_at"])
    record_change(
        Action.RECORD_UPDATED,
        activity,
        actor=actor,
        fields=["done_at"],
        request=request,
    )
    return activity
