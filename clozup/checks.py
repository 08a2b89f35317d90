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


@checks.register(checks.Tags.security)
def check_file_storage(app_configs, **kwargs):
    errors = []
    for setting, alias, bucket in (
        ("STORAGE_BACKEND", "private", "S3_BUCKET"),
        ("BACKUP_STORAGE_BACKEND", "backups", "BACKUP_STORAGE_BUCKET"),
    ):
        value = getattr(settings, setting)
        if value not in ("local", "s3"):
            errors.append(
                checks.Error(
                    f"{setting}={value!r} is not a storage backend.",
                    hint=f"Set {setting} to local or s3.",
                    id="clozup.E002",
                )
            )
        elif value == "s3" and not settings.STORAGES[alias]["OPTIONS"]["bucket_name"]:
            errors.append(
                checks.Error(
                    f"{setting}=s3 needs a bucket.",
                    hint=f"Set {bucket}.",
                    id="clozup.E003",
                )
            )
    if errors or settings.BACKUP_STORAGE_BACKEND != "s3":
        return errors

    files = settings.STORAGES["private"]["OPTIONS"]
    backups = settings.STORAGES["backups"]["OPTIONS"]
    if (
        settings.STORAGE_BACKEND == "s3"
        and files["bucket_name"] == backups["bucket_name"]
    ):
        errors.append(
            checks.Error(
                "BACKUP_STORAGE_BUCKET is the bucket of the files (S3_BUCKET).",
                hint="Backups go to a bucket of their own, in another region.",
                id="clozup.E004",
            )
        )
    elif (
        settings.STORAGE_BACKEND == "s3"
        and files["region_name"] == backups["region_name"]
    ):
        errors.append(
            checks.Warning(
                "BACKUP_STORAGE_REGION is the region of the files (S3_REGION).",
                hint="The security page promises backups in another region.",
                id="clozup.W005",
            )
        )
    return errors


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@checks.register(checks.Tags.security)
def check_email_transport(app_configs, **kwargs):
    if settings.DEBUG or settings.EMAIL_BACKEND != SMTP_BACKEND:
        return []
    if settings.EMAIL_USE_TLS or settings.EMAIL_USE_SSL:
        return []
    return [
        checks.Error(
            "EMAIL_URL sends mail over SMTP without TLS.",
            hint="Use smtp+tls://USER:PASSWORD@HOST:587 (STARTTLS) or "
            "smtps://USER:PASSWORD@HOST:465 (implicit TLS).",
            id="clozup.E006",
        )
    ]
