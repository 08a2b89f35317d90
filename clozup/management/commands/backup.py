from django.core.management.base import BaseCommand, CommandError

from clozup import backups
from clozup.lib.postgres_tools import PostgresToolMissing


class Command(BaseCommand):
    help = (
        "Dump the whole database with pg_dump, encrypt it as it streams and write "
        "it to the backup location (BACKUP_STORAGE_*). Changes no data; a nightly "
        "job runs the same backup. Support may run it before risky maintenance."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reason", required=True, help="Why (a ticket reference); audited."
        )

    def handle(self, *args, reason, **options):
        if not reason.strip():
            raise CommandError("--reason: say why this is run")
        try:
            backup = backups.take_backup()
        except (backups.BackupFailed, PostgresToolMissing) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"backup {backup.name} written: {backup.size} bytes of dump, encrypted"
        )
