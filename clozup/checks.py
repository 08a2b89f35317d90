"""Start-up checks for configuration this app depends on.

Each names the setting at fault and how to fix it; Django runs them before
`runserver`, `migrate` and every management command, and at web start.
"""

from django.conf import settings
from django.core import checks

from clozup.lib import keyring


@checks.register(checks.Tags.security)
def check_encryption_keys(app_configs, **kwargs):
    try:
        keyring.parse_key_ring(settings.ENCRYPTION_KEYS)
    except keyring.InvalidKeyRing as error:
        return [
            checks.Error(
                str(error),
                hint="Set ENCRYPTION_KEYS to `ID:KEY` entries, newest first; "
                "`python manage.py generate_encryption_key ID` prints a new one.",
                id="clozup.E001",
            )
        ]
    return []
