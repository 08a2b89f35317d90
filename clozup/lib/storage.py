"""Storage backends that encrypt every file before it reaches disk or S3.

`storages["private"]` (also Django's default storage) holds organizations'
files: recordings, attachments, exports. It works only inside an
organization's context, keeps each organization's files under `org-<id>/`
(the name `save()` returns includes it; keep that name) and encrypts each
file with a key of its own wrapped by the organization's data key
(`clozup.lib.filecrypto` describes the format). `storages["backups"]` holds
database backups, wrapped by the key ring instead, in a location of its own.

Both come as local files (under DATA_DIR) or S3 objects; on S3 every object
is also written with server-side encryption and as application/octet-stream.
Private files have no URL: views stream them with `encrypted_file_response`.
"""

import mimetypes
import os
import posixpath
from pathlib import Path

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, storages
from django.http import FileResponse
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from clozup.lib import filecrypto, keyring
from clozup.tenancy import MissingOrganization, current_organization_id

BACKUP_BINDING = b"clozup-backup"


class PrivateFileHasNoURL(SuspiciousFileOperation):
    """Encrypted files are served by a view that decrypts them, never by URL."""


class EncryptedContent(File):
    """Ciphertext for a backend to store: read() for S3, chunks() for disk."""

    def chunks(self, chunk_size=None):
        return self.file.sealed_chunks()

    def multiple_chunks(self, chunk_size=None):
        return True


def _canonical(name: str) -> str:
    return posixpath.normpath(name.replace("\\", "/"))


class EncryptedStorageMixin:
    """Encrypts on `_save`, decrypts on `_open`.

    The key policy before it in the bases (OrganizationKeys or KeyRingKeys)
    provides `_wrapping_for_write`, `_wrapping_for_read` and `_check_name`.
    """

    def _save(self, name, content):
        self._check_name(name)
        wrapping = self._wrapping_for_write(name)
        try:
            content.seek(0)
        except (AttributeError, OSError, ValueError):
            pass
        reader = filecrypto.EncryptingReader(content, wrapping)
        try:
            return super()._save(name, EncryptedContent(reader, name))
        except BaseException:
            # A half-written file would only ever fail to decrypt; remove it.
            super().delete(name)
            raise

    def _open(self, name, mode="rb"):
        if mode not in ("r", "rb"):
            raise ValueError(f"{name}: encrypted files open read-only; save() writes")
        self._check_name(name)
        raw, stored_size = self._open_raw(name)
        try:
            reader = filecrypto.DecryptingReader(
                raw,
                lambda kind, ref: self._wrapping_for_read(name, kind, ref),
                size=filecrypto.plaintext_size(stored_size),
            )
        except BaseException:
            raw.close()
            raise
        return File(reader, name)

    def exists(self, name):
        self._check_name(name)
        return super().exists(name)

    def delete(self, name):
        self._check_name(name)
        return super().delete(name)

    def size(self, name):
        """The plaintext size, worked out from the stored size."""
        self._check_name(name)
        return filecrypto.plaintext_size(super().size(name))

    def url(self, name, *args, **kwargs):
        raise PrivateFileHasNoURL(
            f"{name}: encrypted files have no URL; use encrypted_file_response"
        )


class OrganizationKeys:
    """Files of the current organization, under `org-<id>/`, wrapped by its key."""

    def _organization_id(self) -> int:
        organization_id = current_organization_id()
        if organization_id is None:
            raise MissingOrganization(
                "private files are read and written inside an organization's context"
            )
        return organization_id

    @staticmethod
    def organization_prefix(organization_id: int) -> str:
        return f"org-{organization_id}/"

    def _check_name(self, name: str) -> None:
        prefix = self.organization_prefix(self._organization_id())
        if not _canonical(name).startswith(prefix):
            raise SuspiciousFileOperation(
                f"{name}: not a file of the current organization ({prefix})"
            )

    def save(self, name, content, max_length=None):
        prefix = self.organization_prefix(self._organization_id())
        if name is None:
            name = content.name
        if not _canonical(name).startswith(prefix):
            if _canonical(name).startswith("org-"):
                raise SuspiciousFileOperation(
                    f"{name}: belongs to another organization"
                )
            name = prefix + name
        return super().save(name, content, max_length=max_length)

    def _binding(self, organization_id: int, name: str) -> bytes:
        return f"{organization_id}\x1f{_canonical(name)}".encode()

    def _wrapping_for_write(self, name: str) -> filecrypto.WrappingKey:
        from clozup.encryption import get_organization_data_key

        organization_id = self._organization_id()
        return filecrypto.WrappingKey(
            kind=filecrypto.KIND_ORGANIZATION,
            ref=str(organization_id),
            secret=get_organization_data_key(organization_id),
            binding=self._binding(organization_id, name),
        )

    def _wrapping_for_read(self, name: str, kind: int, ref: str):
        from clozup.encryption import get_organization_data_key

        organization_id = self._organization_id()
        if kind != filecrypto.KIND_ORGANIZATION or ref != str(organization_id):
            raise filecrypto.EncryptedFileError(
                f"{name}: the file is not wrapped by this organization's key"
            )
        return filecrypto.WrappingKey(
            kind=kind,
            ref=ref,
            secret=get_organization_data_key(organization_id),
            binding=self._binding(organization_id, name),
        )

    def delete_organization_files(self) -> int:
        """Delete every file of the current organization; returns the count."""
        prefix = self.organization_prefix(self._organization_id())
        names = list(self._walk(prefix.rstrip("/")))
        for name in names:
            super().delete(name)
        return len(names)

    def _walk(self, directory: str):
        try:
            directories, files = self.listdir(directory)
        except FileNotFoundError:
            return
        for name in files:
            yield f"{directory}/{name}"
        for sub in directories:
            yield from self._walk(f"{directory}/{sub}")


class KeyRingKeys:
    """Files that belong to no organization (backups), wrapped by the key ring."""

    def _check_name(self, name: str) -> None:
        return None

    def _wrapping_for_write(self, name: str) -> filecrypto.WrappingKey:
        key = keyring.get_key_ring().current
        return filecrypto.WrappingKey(
            filecrypto.KIND_KEY_RING, key.id, key.secret, BACKUP_BINDING
        )

    def _wrapping_for_read(self, name: str, kind: int, ref: str):
        if kind != filecrypto.KIND_KEY_RING:
            raise filecrypto.EncryptedFileError(f"{name}: not wrapped by the key ring")
        try:
            key = keyring.get_key_ring().get(ref)
        except keyring.DecryptionFailed as error:
            raise filecrypto.EncryptedFileError(f"{name}: {error}") from None
        return filecrypto.WrappingKey(kind, ref, key.secret, BACKUP_BINDING)

    def open_local_file(self, path: Path) -> File:
        """Decrypt a backup copied out of storage (for restores elsewhere)."""
        raw = open(path, "rb")
        reader = filecrypto.DecryptingReader(
            raw,
            lambda kind, ref: self._wrapping_for_read(path.name, kind, ref),
            size=filecrypto.plaintext_size(os.fstat(raw.fileno()).st_size),
        )
        return File(reader, path.name)


class LocalFiles(FileSystemStorage):
    def _open_raw(self, name):
        raw = open(self.path(name), "rb", buffering=0)
        return raw, os.fstat(raw.fileno()).st_size


class S3Files(S3Storage):
    """S3 objects written with server-side encryption and an opaque type."""

    def __init__(self, **options):
        super().__init__(**options)
        if self.transfer_config is None:
            # Parts of 8 MiB, four in flight: memory stays near 32 MiB per
            # upload, whatever the file's size (ciphertext is not seekable,
            # so every part is buffered).
            self.transfer_config = TransferConfig(
                multipart_chunksize=8 * 2**20, max_concurrency=4
            )
        if not self.bucket_name:
            raise ImproperlyConfigured("the S3 storage needs a bucket name")
        if "ServerSideEncryption" not in self.object_parameters:
            raise ImproperlyConfigured(
                "the S3 storage needs ServerSideEncryption in object_parameters"
            )

    def _get_write_parameters(self, name, content=None):
        params = self.get_object_parameters(name)
        # The object is ciphertext whatever the file was; its type stays private.
        params["ContentType"] = "application/octet-stream"
        return params

    def _open_raw(self, name):
        key = self._normalize_name(clean_name(name))
        try:
            response = self.bucket.Object(key).get()
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                raise FileNotFoundError(f"no such file: {name}") from None
            raise
        return response["Body"], response["ContentLength"]


class LocalPrivateStorage(OrganizationKeys, EncryptedStorageMixin, LocalFiles):
    pass


class S3PrivateStorage(OrganizationKeys, EncryptedStorageMixin, S3Files):
    pass


class LocalBackupStorage(KeyRingKeys, EncryptedStorageMixin, LocalFiles):
    pass


class S3BackupStorage(KeyRingKeys, EncryptedStorageMixin, S3Files):
    pass


def encrypted_file_response(
    name: str,
    *,
    filename: str,
    content_type: str | None = None,
    as_attachment: bool = True,
) -> FileResponse:
    """Stream a private file to the browser, decrypting it chunk by chunk.

    Call from a view that has already decided the member may have the file;
    the storage itself only checks that the file is the current organization's.
    Content-Length is the plaintext size, so a client notices a response
    that stops early (a stored file found truncated or altered mid-way).
    """
    handle = storages["private"].open(name)
    content_type = content_type or (
        mimetypes.guess_type(filename)[0] or "application/octet-stream"
    )
    response = FileResponse(
        handle,
        as_attachment=as_attachment,
        filename=filename,
        content_type=content_type,
    )
    response["Content-Length"] = str(handle.size)
    return response
