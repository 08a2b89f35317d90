from django.core.management.base import CommandError

from audit import services as audit
from clozup import encryption
from clozup.lib import keyring
from clozup.lib.commands import InstanceSupportCommand


class Command(InstanceSupportCommand):
    help = (
        "Re-encrypt every encrypted value (credentials, webhook secrets, the "
        "organizations' data keys) to the newest key of ENCRYPTION_KEYS, in "
        "batches. Safe to interrupt and run again; a finished rotation makes a "
        "rerun a no-op. Run after putting a new key first in ENCRYPTION_KEYS and "
        "restarting every process; audited in each organization's log."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count the values not yet on the newest key; change nothing.",
        )

    def handle_instance(self, *, reason, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size: must be at least 1")
        try:
            rotation = encryption.rotate_keys(
                actor=audit.operator_label(),
                reason=reason,
                batch_size=batch_size,
                dry_run=dry_run,
            )
        except keyring.DecryptionFailed as error:
            raise CommandError(
                f"a value cannot be read, rotation stopped: {error}"
            ) from None

        for label, count in sorted(rotation.values.items()):
            self.stdout.write(f"{label}: {count}")
        if dry_run:
            self.stdout.write(
                f"dry run: {rotation.total} values would move to key"
                f" {rotation.key_id!r}; nothing changed"
            )
            return
        remaining = encryption.count_values_on_older_keys()
        self.stdout.write(
            f"{rotation.total} values moved to key {rotation.key_id!r}; values on"
            f" older keys: {rotation.total + remaining} -> {remaining}"
        )
