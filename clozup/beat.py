"""The beat schedule: every periodic job of Clozup, in one place.

Times are UTC. Jobs are rerunnable, so a run missed while beat was down is
simply made by the next one. The retention jobs enforce the table in
`compliance.retention`; each row there names its entry here.
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
        "schedule": crontab(minute="7,22,37,52"),
    },
    # Soft-deleted records two days before their 30-day promise runs out.
    "purge-deleted-records": {
        "task": "compliance.purge_deleted_records",
        "schedule": crontab(hour=3, minute=0),
    },
    # Recordings past their retention, and deleted ones, well within 7 days.
    "purge-call-recordings": {
        "task": "compliance.purge_call_recordings",
        "schedule": crontab(hour=3, minute=20),
    },
    # Audit entries past the plan's period.
    "trim-audit-logs": {
        "task": "compliance.trim_audit_logs",
        "schedule": crontab(hour=3, minute=40),
    },
    # Before the purge, so the 1-day notice goes out the day before.
    "send-purge-notices": {
        "task": "compliance.send_purge_notices",
        "schedule": crontab(minute=15),
    },
    "purge-cancelled-organizations": {
        "task": "compliance.purge_cancelled_organizations",
        "schedule": crontab(minute=45),
    },
}
