"""Celery tasks of accounts, integrations and backups."""

import logging

from clozup import backups
from clozup.celery import app

logger = logging.getLogger(__name__)


@app.task(name="clozup.take_backup", acks_late=False)
def take_backup_task() -> str:
    """The nightly backup. Not retried: a failed night is logged for a person,
    and the next night's backup does not depend on it."""
    try:
        backup = backups.take_backup()
    except Exception:
        logger.exception("nightly backup failed")
        raise
    return backup.name


@app.task(name="clozup.prune_backups")
def prune_backups_task() -> int:
    pruned = backups.prune_backups()
    return len(pruned.backups)
