from django.core.management.base import CommandError

from audit.actions import Action
from clozup import backups
from clozup.lib.commands import InstanceSupportCommand
from clozup.lib.postgres_tools import PostgresToolMissing


class Command(InstanceSupportCommand):
    help = (
        "Dump the whole database with pg_dump, encrypt it as it streams and write "
        "it to the backup location (BACKUP_STORAGE_*). Changes no data; a nightly "
        "job runs the same backup. Support may run it before risky maintenance; "
        "each organization's audit log records it."
    )

    def handle_instance(self, *, reason, **options):
        try:
            backup = backups.take_backup()
        except (backups.BackupFailed, PostgresToolMissing) as error:
            raise CommandError(str(error)) from None
        self.record_everywhere(
            Action.BACKUP_TAKEN, reason=reason, metadata={"backup": backup.name}
        )
        self.stdout.write(
            f"backup {backup.name} written: {backup.size} bytes of dump, encrypted"
        )
