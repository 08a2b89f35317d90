"""The retention table: how long each kind of data is kept, in one place.

It restates the "Data Retention" table of the security page; the jobs in
`compliance.services.retention` and `compliance.services.lifecycle` read
their limits from here and nowhere else, and the Admin Panel shows each
organization `effective_table(organization)`.

Every "purged within N days" promise is kept with a margin: the daily job
takes a row `PURGE_MARGIN` before its deadline, and a row still waiting
`ALARM_BEFORE_DEADLINE` before its deadline makes the job log an error, so
a person can act before the promise is broken. Where the page states a keep
period instead (recordings, audit log, backups, the cancelled account's
grace), the job takes the row as soon as the period ends, and raises the
alarm when a row is still there `LATE_AFTER_PERIOD` later.
"""

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from clozup.models import Organization
from compliance.models import EXPORT_LINK_DAYS

DELETED_RECORDS_PROMISE = timedelta(days=30)
DELETED_RECORDINGS_PROMISE = timedelta(days=7)
RECORDING_MONTHS = 12
AUDIT_LOG_BY_PLAN = {
    Organization.Plan.FREE: timedelta(days=7),
    Organization.Plan.PRO: timedelta(days=90),
    Organization.Plan.ENTERPRISE: timedelta(days=365),
}
CANCELLATION_GRACE = timedelta(days=90)

PURGE_MARGIN = timedelta(days=2)
ALARM_BEFORE_DEADLINE = timedelta(days=1)
LATE_AFTER_PERIOD = timedelta(days=1)


def months_before(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months earlier (the 31st becomes the
    last day of a shorter month)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class Terms:
    """One organization's limits: the defaults with its overrides applied."""

    deleted_records_promise: timedelta
    recording_months: int
    deleted_recordings_promise: timedelta
    audit_log: timedelta
    cancellation_grace: timedelta
    backups: timedelta
    overridden: frozenset[str]

    @property
    def deleted_records_purge_after(self) -> timedelta:
        return self.deleted_records_promise - PURGE_MARGIN

    @property
    def deleted_recordings_purge_after(self) -> timedelta:
        return self.deleted_recordings_promise - PURGE_MARGIN


def terms_for(organization: Organization, overrides=None) -> Terms:
    """The organization's terms; `overrides` is its RetentionSettings row or None.

    Custom terms other than the recording period count on Enterprise only: a
    row kept from an earlier Enterprise plan stops applying after a downgrade.
    """
    enterprise = organization.plan == Organization.Plan.ENTERPRISE
    changed = set()

    def pick(name, default, *, enterprise_only=True):
        value = getattr(overrides, name, None)
        if value is None or (enterprise_only and not enterprise):
            return default
        changed.add(name)
        return value

    records_days = pick("deleted_records_days", None)
    audit_days = pick("audit_log_days", None)
    grace_days = pick("cancellation_grace_days", None)
    return Terms(
        deleted_records_promise=(
            timedelta(days=records_days) if records_days else DELETED_RECORDS_PROMISE
        ),
        recording_months=pick(
            "call_recording_months", RECORDING_MONTHS, enterprise_only=False
        ),
        deleted_recordings_promise=DELETED_RECORDINGS_PROMISE,
        audit_log=(
            timedelta(days=audit_days)
            if audit_days
            else AUDIT_LOG_BY_PLAN[Organization.Plan(organization.plan)]
        ),
        cancellation_grace=(
            timedelta(days=grace_days) if grace_days else CANCELLATION_GRACE
        ),
        backups=timedelta(days=settings.BACKUP_RETENTION_DAYS),
        overridden=frozenset(changed),
    )


@dataclass(frozen=True)
class Row:
    """One line of the table as an organization sees it."""

    key: str
    data: str
    kept: str
    after_deletion: str
    job: str
    custom: bool = False


def _days(period: timedelta) -> str:
    days = period.days
    return "1 day" if days == 1 else f"{days} days"


def effective_table(organization: Organization, overrides=None) -> list[Row]:
    """The retention table with this organization's terms, for the Admin Panel,
    the docs and `retention_status`."""
    terms = terms_for(organization, overrides)
    custom = terms.overridden
    plan = Organization.Plan(organization.plan).label
    months = terms.recording_months
    return [
        Row(
            "records",
            "Leads, contacts, companies, deals, campaigns, and their activities "
            "and attachments",
            "While the account is active",
            f"Purged within {_days(terms.deleted_records_promise)}; restorable "
            f"for {_days(terms.deleted_records_purge_after)}",
            "purge-deleted-records",
            "deleted_records_days" in custom,
        ),
        Row(
            "recordings",
            "Call recordings",
            "1 month" if months == 1 else f"{months} months",
            f"Purged within {_days(terms.deleted_recordings_promise)}, files included",
            "purge-call-recordings",
            "call_recording_months" in custom,
        ),
        Row(
            "audit_log",
            "Audit log",
            f"{_days(terms.audit_log)} ({plan} plan)",
            "Purged with the organization",
            "trim-audit-logs",
            "audit_log_days" in custom,
        ),
        Row(
            "backups",
            "Backups (all organizations)",
            f"{_days(terms.backups)} rolling",
            f"Purged within {_days(terms.backups)} of deletion",
            "prune-backups",
        ),
        Row(
            "exports",
            "Subject data exports",
            f"Until downloaded, at most {_days(timedelta(days=EXPORT_LINK_DAYS))}",
            "File deleted an hour after the download, or when the link expires",
            "sweep-subject-exports",
        ),
        Row(
            "cancelled_account",
            "A cancelled account",
            f"{_days(terms.cancellation_grace)} grace, read-only",
            f"Fully purged after {_days(terms.cancellation_grace)}, files included",
            "purge-cancelled-organizations",
            "cancellation_grace_days" in custom,
        ),
    ]
