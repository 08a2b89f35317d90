"""The beat schedule: every periodic job of Clozup, in one place.

Times are UTC. Jobs are rerunnable, so a run missed while beat was down is
simply made by the next one.
"""

from celery.schedules import crontab

SCHEDULE = {
    "take-backup": {
        "task": "clozup.take_backup",
        "schedule": crontab(hour=2, minute=0),
    },
    # Backups older than BACKUP_RETENTION_DAYS (30) go, with their journal.
    "prune-backups": {
        "task": "clozup.prune_backups",
        "schedule": crontab(hour=4, minute=30),
    },
    # Spent subject exports lose their file; exports left by a lost worker
    # are queued again.
    "sweep-subject-exports": {
        "task": "compliance.sweep_subject_exports",
        "schedule": crontab(minute="*/15"),
    },
}
