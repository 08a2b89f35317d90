"""Purging a whole organization, on top of the purge primitives."""

import logging

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance.services import purge

logger = logging.getLogger(__name__)


class OrganizationStillActive(RuntimeError):
    """Only a cancelled organization is purged, unless the purge is forced."""


def purge_organization(
    organization: Organization, *, actor, force: bool = False
) -> purge.PurgeCounts:
    """Remove every row and file of the organization and verify none is left.

    Refuses an active organization unless `force`, which cancels it first.
    The registry row (name, slug, status) stays, cancelled, so the slug is not
    handed out again. Raises `purge.OrganizationNotEmpty` if any organization
    table still holds a row of it afterwards. Rerunnable after a crash.
    """
    if organization.is_active:
        if not force:
            raise OrganizationStillActive(
                f"organization {organization.slug} is active; cancel it first"
            )
        _cancel(organization, actor=actor)

    counts = purge.purge_organization_data(organization)
    leftovers = purge.count_organization_rows(organization.pk)
    if leftovers:
        raise purge.OrganizationNotEmpty(
            ", ".join(f"{table} ({n})" for table, n in sorted(leftovers.items()))
        )
    logger.info(
        "organization purged",
        extra={"rows": counts.total_rows, "files": counts.total_files},
    )
    return counts


def _cancel(organization: Organization, *, actor) -> None:
    with org_context(organization), transaction.atomic():
        organization.status = Organization.Status.CANCELLED
        organization.cancelled_at = timezone.now()
        organization.save(update_fields=["status", "cancelled_at"])
        audit.record_event(
            Action.ORGANIZATION_CANCELLED,
            organization=organization,
            actor=actor,
            metadata={"via": "purge_org --force"},
        )
