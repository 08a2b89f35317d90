"""Services for the organizations' data keys and for key rotation.

Key hierarchy: the key ring (ENCRYPTION_KEYS, outside the database) seals
every encrypted field, including each organization's data key; the data key
wraps the per-file keys of that organization's files. See docs/decisions.md.
"""

import base64
import logging
import os

from django.db import IntegrityError, transaction
from django.utils import timezone

from clozup.models import OrganizationKey
from clozup.tenancy import MissingOrganization, current_organization_id

logger = logging.getLogger(__name__)

DATA_KEY_BYTES = 32


class OrganizationKeyDestroyed(RuntimeError):
    """The organization's data key was destroyed: its files are unreadable."""


def get_organization_data_key(organization_id: int | None = None) -> bytes:
    """The data key of the current organization, created on first use.

    Call inside the organization's context (RLS hides every other key). Raises
    OrganizationKeyDestroyed once the key was destroyed, so nothing new is
    encrypted for a purged organization.
    """
    current = current_organization_id()
    if current is None or (organization_id is not None and organization_id != current):
        raise MissingOrganization("the organization's data key needs its context")

    stored = OrganizationKey.objects.filter(organization_id=current).first()
    if stored is None:
        stored = _create_data_key(current)
    if stored.destroyed_at is not None:
        raise OrganizationKeyDestroyed(
            f"organization {current}: the data key was destroyed at"
            f" {stored.destroyed_at.isoformat()}"
        )
    return base64.b64decode(stored.key.reveal())


def _create_data_key(organization_id: int) -> OrganizationKey:
    secret = base64.b64encode(os.urandom(DATA_KEY_BYTES)).decode()
    try:
        # Two processes may create the first key at once; the loser reads the
        # winner's once it committed (the unique index makes it wait).
        with transaction.atomic():
            created = OrganizationKey(organization_id=organization_id, key=secret)
            created.save(force_insert=True)
    except IntegrityError:
        return OrganizationKey.objects.get(organization_id=organization_id)
    logger.info("organization data key created")
    return created


@transaction.atomic
def destroy_organization_key(organization_id: int) -> bool:
    """Destroy the organization's data key for good; part of purging it.

    Call inside the organization's context. Afterwards no file of the
    organization can be decrypted, wherever a copy of it lies, and no new file
    can be written for it. Returns whether a live key was destroyed; running it
    again is a no-op.
    """
    if current_organization_id() != organization_id:
        raise MissingOrganization("destroying a data key needs its organization")
    stored = (
        OrganizationKey.objects.select_for_update()
        .filter(organization_id=organization_id)
        .first()
    )
    now = timezone.now()
    if stored is None:
        # Never had files; a tombstone still stops new ones being written.
        tombstone = OrganizationKey(
            organization_id=organization_id, key="", destroyed_at=now
        )
        tombstone.save(force_insert=True)
        return False
    if stored.destroyed_at is not None:
        return False

    stored.key = ""
    stored.destroyed_at = now
    stored.save(update_fields=["key", "destroyed_at"])
    logger.info("organization data key destroyed")
    return True
