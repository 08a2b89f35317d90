from django.core.management.base import CommandError

from audit.actions import Action
from clozup import backups
from clozup.lib import filecrypto
from clozup.lib.commands import InstanceSupportCommand
from clozup.lib.postgres_tools import PostgresToolMissing


class Command(InstanceSupportCommand):
    help = (
        "Restore an encrypted backup into the configured database, which must be "
        "empty (no tables), then replay the erasures and purges recorded since the "
        "backup so none of them is undone. FILE is a name in the backup location "
        "(db/clozup-<time>.dump) or a local copy. Runs as MIGRATION_DATABASE_URL. "
        "For disaster recovery only, following docs/operations.md; each restored "
        "organization's audit log records it."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("file", help="db/clozup-<time>.dump or a local path")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the backup decrypts and count the entries to replay; "
            "change nothing.",
        )

    def handle_instance(self, *, reason, file, dry_run, **options):
        try:
            if dry_run:
                name, taken_at, pending = backups.check_restorable(file)
                self.stdout.write(
                    f"dry run: {name} taken {taken_at.isoformat()} would be"
                    f" restored, then {pending} journal entries replayed"
                )
                return
            result = backups.restore_backup(file)
        except (
            backups.RestoreRefused,
            filecrypto.EncryptedFileError,
            PostgresToolMissing,
        ) as error:
            raise CommandError(f"file: {error}") from None

        # Recorded after the restore: before it, the database had no log.
        self.record_everywhere(
            Action.BACKUP_RESTORED,
            reason=reason,
            metadata={
                "backup": result.backup,
                "replayed": result.replayed,
                "rows_removed": result.rows_removed,
            },
        )
        self.stdout.write(
            f"restored {result.backup} (taken {result.taken_at.isoformat()}):"
            f" empty database -> {result.tables} tables; {result.replayed} journal"
            f" entries replayed, {result.rows_removed} rows removed again"
        )
