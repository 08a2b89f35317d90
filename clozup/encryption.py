"""Services for the organizations' data keys and for key rotation.

Key hierarchy: the key ring (ENCRYPTION_KEYS, outside the database) seals
every encrypted field, including each organization's data key; the data key
wraps the per-file keys of that organization's files. See docs/decisions.md.
"""

import base64
import logging
import os
from dataclasses import dataclass, field

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone

from clozup.lib import keyring
from clozup.lib.encrypted_fields import SealedToken, encrypted_fields
from clozup.models import Organization, OrganizationKey, OrganizationModel
from clozup.tenancy import MissingOrganization, current_organization_id, org_context

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


# Key rotation ----------------------------------------------------------------------


@dataclass
class Rotation:
    key_id: str
    # "app_label.model.field" -> values moved to the newest key (or, in a dry
    # run, still to move).
    values: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.values.values())


def _encrypted_columns():
    for model in apps.get_models():
        for encrypted in encrypted_fields(model):
            yield model, encrypted


def _not_on_key(model, encrypted, prefix: str):
    name = encrypted.name
    return (
        model._base_manager.exclude(**{f"{name}__startswith": prefix})
        .exclude(**{name: ""})
        .exclude(**{f"{name}__isnull": True})
    )


def _rotate_batch(model, encrypted, prefix: str, batch_size: int) -> tuple[int, int]:
    rows = list(
        _not_on_key(model, encrypted, prefix)
        .order_by("pk")
        .values_list("pk", encrypted.attname)[:batch_size]
    )
    moved = 0
    for pk, token in rows:
        context = encrypted.context(pk)
        resealed = keyring.seal(keyring.unseal(token, context=context), context=context)
        # Conditional: a value changed meanwhile is left as its writer sealed it.
        moved += model._base_manager.filter(pk=pk, **{encrypted.attname: token}).update(
            **{encrypted.attname: SealedToken.of(resealed, pk)}
        )
    return len(rows), moved


def rotate_keys(
    *,
    actor=None,
    reason: str = "",
    batch_size: int = 500,
    dry_run: bool = False,
) -> Rotation:
    """Re-encrypt every encrypted value to the key ring's newest key.

    Works in batches, each its own transaction (per organization, in its
    context, with a `keys.rotated` audit event), so it can be interrupted at
    any point and run again: values already on the newest key are skipped,
    and a second full run changes nothing. Raises DecryptionFailed, naming
    the row, for a value no key on the ring opens.
    """
    from audit import services as audit
    from audit.actions import Action

    key_id = keyring.get_key_ring().current.id
    prefix = keyring.token_prefix(key_id)
    rotation = Rotation(key_id)
    organization_ids = list(
        Organization.objects.order_by("pk").values_list("pk", flat=True)
    )

    for model, encrypted in _encrypted_columns():
        label = f"{model._meta.label_lower}.{encrypted.name}"
        scoped = issubclass(model, OrganizationModel)
        rotation.values.setdefault(label, 0)
        for organization_id in organization_ids if scoped else [None]:
            while True:
                with org_context(organization_id) if scoped else transaction.atomic():
                    if dry_run:
                        seen = moved = _not_on_key(model, encrypted, prefix).count()
                    else:
                        seen, moved = _rotate_batch(
                            model, encrypted, prefix, batch_size
                        )
                    if moved and scoped and not dry_run:
                        audit.record_event(
                            Action.KEYS_ROTATED,
                            organization=organization_id,
                            actor=actor,
                            metadata={
                                "to_key": key_id,
                                "column": label,
                                "values": moved,
                                "reason": reason,
                            },
                        )
                rotation.values[label] += moved
                if dry_run or seen == 0:
                    break
    if not dry_run:
        logger.info("keys rotated", extra={"key_id": key_id, "values": rotation.total})
    return rotation


def count_values_on_older_keys() -> int:
    """How many encrypted values are not yet on the newest key."""
    prefix = keyring.token_prefix(keyring.get_key_ring().current.id)
    organization_ids = list(Organization.objects.values_list("pk", flat=True))
    total = 0
    for model, encrypted in _encrypted_columns():
        if not issubclass(model, OrganizationModel):
            total += _not_on_key(model, encrypted, prefix).count()
            continue
        for organization_id in organization_ids:
            with org_context(organization_id):
                total += _not_on_key(model, encrypted, prefix).count()
    return total
