from django.core.management.base import BaseCommand, CommandError

from clozup.lib import keyring


class Command(BaseCommand):
    # It makes the first key, so it must run before ENCRYPTION_KEYS is valid.
    requires_system_checks = []
    help = (
        "Print a new ENCRYPTION_KEYS entry (ID:KEY) with 32 random bytes. Changes "
        "nothing: put the entry first in ENCRYPTION_KEYS, restart, then run "
        "`rotate_keys` (docs/operations.md, key rotation)."
    )

    def add_arguments(self, parser):
        parser.add_argument("key_id", help="1-16 letters, digits, - or _, e.g. 2025a")

    def handle(self, *args, key_id, **options):
        try:
            entry = keyring.generate_key_entry(key_id)
        except keyring.InvalidKeyRing as error:
            raise CommandError(f"key_id: {error}") from None
        self.stdout.write(entry)
