from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from clozup.models import User
from crm.models import Deal, Stage
from crm.services.records import record_change


@transaction.atomic
def move_deal(
    deal: Deal, stage: Stage, *, actor: User, request=None
) -> tuple[Deal, list[str]]:
    """Put the deal in another stage; a won or lost stage closes it today."""
    if deal.stage_id == stage.pk:
        return deal, []
    deal.stage = stage
    deal.stage_entered_at = timezone.now()
    changed = ["stage", "stage_entered_at"]
    closed_on = timezone.localdate() if stage.is_closed else None
    if deal.closed_at != closed_on:
        deal.closed_at = closed_on
        changed.append("closed_at")
    deal.save(update_fields=[*changed, "updated_at"])
    record_change(
        Action.RECORD_UPDATED,
        deal,
        actor=actor,
        fields=changed,
        request=request,
        stage_id=stage.pk,
    )
    return deal, changed
