"""Encrypted file storage: what lands on disk or S3, and who can read it back."""

import io
import os
import tracemalloc
from pathlib import Path

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from clozup import encryption
from clozup.lib import filecrypto
from clozup.lib.storage import PrivateFileHasNoURL
from clozup.tenancy import MissingOrganization, org_context

RECORDING = b"RIFF....WAVEfmt call recording of a discovery call " * 3000


def stored_path(root: Path, name: str) -> Path:
    return root / "files" / name


def save(organization, content: bytes, name="recordings/call.wav") -> str:
    with org_context(organization):
        return storages["private"].save(name, ContentFile(content))


def read(organization, name) -> bytes:
    with org_context(organization), storages["private"].open(name) as handle:
        return handle.read()


@pytest.mark.parametrize(
    "size",
    [0, 1, filecrypto.CHUNK - 1, filecrypto.CHUNK, 3 * filecrypto.CHUNK + 7],
    ids=["empty", "one-byte", "under-a-chunk", "one-chunk", "several-chunks"],
)
def test_a_file_round_trips_through_the_private_storage(org_a, local_storages, size):
    content = os.urandom(size)

    name = save(org_a, content)

    assert read(org_a, name) == content
    with org_context(org_a):
        assert storages["private"].size(name) == size


def test_the_stored_bytes_are_not_the_plaintext(org_a, local_storages):
    name = save(org_a, RECORDING)

    stored = stored_path(local_storages, name).read_bytes()

    assert stored.startswith(b"CLZF")
    assert b"discovery call" not in stored
    assert len(stored) > len(RECORDING)


def test_files_are_kept_under_their_organization(org_a, local_storages):
    name = save(org_a, b"x", name="attachments/offer.pdf")

    assert name == f"org-{org_a.pk}/attachments/offer.pdf"
    assert stored_path(local_storages, name).exists()


def test_saving_a_name_twice_keeps_both_files(org_a, local_storages):
    first = save(org_a, b"first")
    second = save(org_a, b"second")

    assert first != second
    assert read(org_a, first) == b"first" and read(org_a, second) == b"second"


def test_the_storage_refuses_to_work_outside_an_organization(org_a, local_storages):
    name = save(org_a, b"x")

    with pytest.raises(MissingOrganization):
        storages["private"].save("loose.txt", ContentFile(b"x"))
    with pytest.raises(MissingOrganization):
        storages["private"].open(name)


def test_another_organization_cannot_open_the_file(org_a, org_b, local_storages):
    name = save(org_a, RECORDING)

    with org_context(org_b):
        with pytest.raises(SuspiciousFileOperation):
            storages["private"].open(name)
        with pytest.raises(SuspiciousFileOperation):
            storages["private"].delete(name)
        with pytest.raises(SuspiciousFileOperation):
            storages["private"].save(name, ContentFile(b"overwrite"))


def test_a_file_copied_into_another_organizations_folder_does_not_decrypt(
    org_a, org_b, local_storages
):
    name = save(org_a, RECORDING)
    stolen = f"org-{org_b.pk}/recordings/stolen.wav"
    target = stored_path(local_storages, stolen)
    target.parent.mkdir(parents=True)
    target.write_bytes(stored_path(local_storages, name).read_bytes())

    with pytest.raises(filecrypto.EncryptedFileError):
        read(org_b, stolen)


def test_a_file_copied_to_another_name_does_not_decrypt(org_a, local_storages):
    name = save(org_a, RECORDING)
    other = f"org-{org_a.pk}/recordings/other.wav"
    stored_path(local_storages, other).write_bytes(
        stored_path(local_storages, name).read_bytes()
    )

    with pytest.raises(filecrypto.EncryptedFileError, match="does not open"):
        read(org_a, other)


def _chunks(stored: bytes) -> tuple[bytes, list[bytes]]:
    header, body = stored[: filecrypto.HEADER_BYTES], stored[filecrypto.HEADER_BYTES :]
    size = filecrypto.SEALED_CHUNK
    return header, [body[i : i + size] for i in range(0, len(body), size)]


def _tamper(local_storages, name, change) -> None:
    path = stored_path(local_storages, name)
    header, chunks = _chunks(path.read_bytes())
    path.write_bytes(header + b"".join(change(chunks)))


def test_a_file_cut_at_a_chunk_boundary_is_reported_truncated(org_a, local_storages):
    name = save(org_a, os.urandom(3 * filecrypto.CHUNK + 100))
    _tamper(local_storages, name, lambda chunks: chunks[:2])

    with pytest.raises(filecrypto.TruncatedFile):
        read(org_a, name)


def test_a_file_cut_inside_a_chunk_fails(org_a, local_storages):
    name = save(org_a, os.urandom(3 * filecrypto.CHUNK))
    _tamper(local_storages, name, lambda chunks: [*chunks[:2], chunks[2][:500]])

    with pytest.raises(filecrypto.EncryptedFileError):
        read(org_a, name)


def test_reordered_chunks_fail(org_a, local_storages):
    name = save(org_a, os.urandom(3 * filecrypto.CHUNK + 5))
    _tamper(local_storages, name, lambda c: [c[1], c[0], *c[2:]])

    with pytest.raises(filecrypto.EncryptedFileError, match="chunk 0"):
        read(org_a, name)


def test_an_extended_file_fails(org_a, local_storages):
    name = save(org_a, os.urandom(filecrypto.CHUNK + 5))
    _tamper(local_storages, name, lambda chunks: [*chunks, chunks[-1]])

    with pytest.raises(filecrypto.EncryptedFileError):
        read(org_a, name)


def test_a_flipped_bit_fails(org_a, local_storages):
    name = save(org_a, RECORDING)
    path = stored_path(local_storages, name)
    stored = bytearray(path.read_bytes())
    stored[filecrypto.HEADER_BYTES + 10] ^= 1
    path.write_bytes(bytes(stored))

    with pytest.raises(filecrypto.EncryptedFileError):
        read(org_a, name)


def test_after_the_key_is_destroyed_no_copy_can_be_read(org_a, local_storages):
    name = save(org_a, RECORDING)
    copy = stored_path(local_storages, name).read_bytes()

    with org_context(org_a):
        encryption.destroy_organization_key(org_a.pk)

    with pytest.raises(encryption.OrganizationKeyDestroyed):
        read(org_a, name)
    with pytest.raises(encryption.OrganizationKeyDestroyed):
        save(org_a, b"new file")
    assert b"discovery" not in copy


def test_private_files_have_no_url(org_a, local_storages):
    name = save(org_a, b"x")

    with org_context(org_a), pytest.raises(PrivateFileHasNoURL):
        storages["private"].url(name)


def test_files_open_read_only(org_a, local_storages):
    name = save(org_a, b"x")

    with org_context(org_a), pytest.raises(ValueError, match="read-only"):
        storages["private"].open(name, "wb")


def test_deleting_an_organizations_files_leaves_the_others(
    org_a, org_b, local_storages
):
    kept = save(org_b, b"b's file")
    save(org_a, b"one", name="recordings/1.wav")
    save(org_a, b"two", name="exports/2024/2.zip")

    with org_context(org_a):
        deleted = storages["private"].delete_organization_files()

    assert deleted == 2
    assert not list((local_storages / "files" / f"org-{org_a.pk}").rglob("*.*"))
    assert read(org_b, kept) == b"b's file"


class Endless(io.RawIOBase):
    """A source that makes its bytes as they are read, like an upload stream."""

    def __init__(self, size: int):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = b"\x5a" * count
        self.left -= count
        return count


def test_memory_stays_flat_whatever_the_file_size(org_a, local_storages):
    size = 24 * 1024 * 1024
    tracemalloc.start()
    try:
        with org_context(org_a):
            name = storages["private"].save("big.bin", Endless(size))
            with storages["private"].open(name) as handle:
                while handle.read(filecrypto.CHUNK):
                    pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 2 * 1024 * 1024
    with org_context(org_a):
        assert storages["private"].size(name) == size


# Downloads ------------------------------------------------------------------


@pytest.mark.urls("tests.clozup.views")
def test_a_member_downloads_the_decrypted_file_as_a_stream(
    client, org_a, rep_a, local_storages
):
    name = save(org_a, RECORDING)
    client.force_login(rep_a)

    response = client.get(f"/t/download/{name}")

    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == RECORDING
    assert response["Content-Length"] == str(len(RECORDING))
    assert response["Content-Disposition"] == 'attachment; filename="call.mp3"'


@pytest.mark.urls("tests.clozup.views")
def test_a_member_of_another_organization_gets_nothing(
    client, org_a, rep_b, local_storages
):
    name = save(org_a, RECORDING)
    client.force_login(rep_b)

    response = client.get(f"/t/download/{name}")

    assert response.status_code == 400
    assert b"discovery" not in response.content


@pytest.mark.urls("tests.clozup.views")
def test_an_anonymous_visitor_is_sent_to_sign_in(client, org_a, local_storages):
    name = save(org_a, RECORDING)

    response = client.get(f"/t/download/{name}")

    assert response.status_code == 302
    assert "/accounts/login/" in response.url


# S3 -------------------------------------------------------------------------


@pytest.fixture
def s3_storage(settings, make_bucket):
    options = make_bucket()
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "clozup.lib.storage.S3PrivateStorage",
            "OPTIONS": options,
        },
    }
    return options["bucket_name"]


@pytest.fixture
def sent_requests(s3_storage):
    """Every request the private storage sends to S3, as (method url, headers)."""
    sent = []
    events = storages["private"].connection.meta.client.meta.events
    events.register(
        "before-send.s3",
        lambda request, **kwargs: sent.append(
            (f"{request.method} {request.url}", request.headers)
        ),
    )
    return sent


def test_on_s3_objects_are_ciphertext_written_with_server_side_encryption(
    org_a, s3_storage, s3_client, sent_requests
):
    name = save(org_a, RECORDING)

    stored = s3_client.get_object(Bucket=s3_storage, Key=name)
    head = s3_client.head_object(Bucket=s3_storage, Key=name)

    (put,) = [h for url, h in sent_requests if url.startswith("PUT ")]
    assert put["x-amz-server-side-encryption"] == b"AES256"
    assert b"discovery call" not in stored["Body"].read()
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/octet-stream"
    assert read(org_a, name) == RECORDING


def test_a_large_file_goes_to_s3_in_parts_and_streams_back(
    org_a, s3_storage, s3_client, sent_requests
):
    size = 9 * 1024 * 1024
    with org_context(org_a):
        name = storages["private"].save("exports/big.zip", Endless(size))

    head = s3_client.head_object(Bucket=s3_storage, Key=name)
    (started,) = [h for url, h in sent_requests if url.endswith("?uploads")]
    parts = [url for url, _ in sent_requests if "partNumber=" in url]
    assert len(parts) == 2
    assert started["x-amz-server-side-encryption"] == b"AES256"
    assert head["ServerSideEncryption"] == "AES256"
    with org_context(org_a), storages["private"].open(name) as handle:
        assert handle.size == size
        total = 0
        while chunk := handle.read(filecrypto.CHUNK):
            total += len(chunk)
    assert total == size


def test_on_s3_another_organization_cannot_read_a_copied_object(
    org_a, org_b, s3_storage, s3_client
):
    name = save(org_a, RECORDING)
    stolen = f"org-{org_b.pk}/recordings/stolen.wav"
    s3_client.copy_object(
        Bucket=s3_storage, Key=stolen, CopySource={"Bucket": s3_storage, "Key": name}
    )

    with pytest.raises(filecrypto.EncryptedFileError):
        read(org_b, stolen)


def test_on_s3_deleting_an_organizations_files_leaves_the_others(
    org_a, org_b, s3_storage, s3_client
):
    kept = save(org_b, b"b's file")
    save(org_a, b"one", name="recordings/1.wav")
    save(org_a, b"two", name="exports/2024/2.zip")

    with org_context(org_a):
        assert storages["private"].delete_organization_files() == 2

    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_storage)["Contents"]]
    assert keys == [kept]


# Configuration ----------------------------------------------------------------


def _s3(bucket: str, region: str) -> dict:
    return {
        "BACKEND": "clozup.lib.storage.S3PrivateStorage",
        "OPTIONS": {"bucket_name": bucket, "region_name": region},
    }


@pytest.mark.parametrize(
    "files, backups, expected",
    [
        (("x", "eu-west-1"), ("y", "eu-central-1"), []),
        (("", "eu-west-1"), ("y", "eu-central-1"), ["clozup.E003"]),
        (("x", "eu-west-1"), ("x", "eu-central-1"), ["clozup.E004"]),
        (("x", "eu-west-1"), ("y", "eu-west-1"), ["clozup.W005"]),
    ],
    ids=["separate", "no-bucket", "same-bucket", "same-region"],
)
def test_the_storage_check_names_what_is_wrong(settings, files, backups, expected):
    from clozup.checks import check_file_storage

    settings.STORAGE_BACKEND = settings.BACKUP_STORAGE_BACKEND = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": _s3(*files),
        "backups": _s3(*backups),
    }

    assert [error.id for error in check_file_storage(None)] == expected


def test_an_unknown_storage_backend_fails_the_check(settings):
    from clozup.checks import check_file_storage

    settings.STORAGE_BACKEND = "ftp"

    (error,) = check_file_storage(None)
    assert error.id == "clozup.E002" and "STORAGE_BACKEND" in error.msg
