"""Purging one organization on a support operator's word (`purge_org`).

The scheduled purge of cancelled organizations after their grace period is
`compliance.services.lifecycle`; this is the same purge, run at once.
"""

import logging

from clozup import services as clozup_services
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance import selectors
from compliance.services import consent, lifecycle, purge

logger = logging.getLogger(__name__)


class OrganizationStillActive(RuntimeError):
    """Only a cancelled organization is purged, unless the purge is forced."""


class OrganizationHeld(RuntimeError):
    """A legal hold on the organization stops its purge."""


def purge_organization(
    organization: Organization, *, actor, force: bool = False
) -> purge.PurgeCounts:
    """Remove every row and file of the organization, then its registry row.

    Refuses an organization under a legal hold, and an active one unless
    `force` (which cancels it first, audited). The consent ledger, which the
    app cannot delete from, goes through its owner's function; then the purge
    primitives remove the rest, files and audit log included. Raises
    `purge.OrganizationNotEmpty` if any organization table still holds a row
    of it afterwards. Rerunnable after a crash.
    """
    with org_context(organization):
        if selectors.is_organization_held(organization):
            raise OrganizationHeld(f"organization {organization.slug} is on hold")
        if organization.is_active:
            if not force:
                raise OrganizationStillActive(
                    f"organization {organization.slug} is active; cancel it first"
                )
            clozup_services.cancel_organization(organization, actor=actor)
        ledger_rows = consent.purge_organization_consent(organization)

    purged = lifecycle.purge_cancelled_organization(organization)
    counts = purged.counts
    counts.add_rows("compliance_consentevent and compliance_suppression", ledger_rows)
    leftovers = purge.count_organization_rows(organization.pk)
    if leftovers:
        raise purge.OrganizationNotEmpty(
            ", ".join(f"{table} ({n})" for table, n in sorted(leftovers.items()))
        )
    logger.info(
        "organization purged on request",
        extra={"rows": counts.total_rows, "files": counts.total_files},
    )
    return counts
