from datetime import datetime

from django.core.management.base import CommandError

from audit.actions import Action
from clozup import backups
from clozup.lib.commands import InstanceSupportCommand


class Command(InstanceSupportCommand):
    help = (
        "Replay the erasures and purges journalled since --since against the "
        "configured database. `restore` does this itself; run this after bringing "
        "the database back by other means (a provider's snapshot or point-in-time "
        "recovery), before serving, with --since an hour before the recovery "
        "point. Idempotent; recorded in each organization's audit log."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--since", required=True, help="ISO time with zone, e.g. 2026-06-01T02:00Z"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count the entries that would be replayed; change nothing.",
        )

    def handle_instance(self, *, reason, since, dry_run, **options):
        try:
            moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise CommandError(f"--since: {since!r} is not an ISO time") from None
        if moment.tzinfo is None:
            raise CommandError("--since: give the time zone, e.g. Z for UTC")

        if dry_run:
            pending = len(backups.read_journal(moment))
            self.stdout.write(f"dry run: {pending} journal entries would be replayed")
            return
        replayed, removed = backups.replay_journal(since=moment)
        self.record_everywhere(
            Action.BACKUP_RESTORED,
            reason=reason,
            metadata={"replayed": replayed, "rows_removed": removed, "since": since},
        )
        self.stdout.write(
            f"{replayed} journal entries replayed since {moment.isoformat()};"
            f" rows removed again: {removed}"
        )
