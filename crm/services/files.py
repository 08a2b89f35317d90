"""Attachments and call recordings: checked, stored privately, served to members.

The type is read from the bytes (puremagic), never from the browser's claim,
and the name's extension must agree with it; the size limit is
`UPLOAD_MAX_BYTES`. The storage name is generated, so nothing the client
sent becomes part of a path. Files go to the "private" storage; rows carry
the name shown on download.
"""

import hashlib
import logging
import unicodedata
import uuid

import puremagic
from django.conf import settings
from django.core.files.storage import storages
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from audit.actions import Action
from clozup.lib.storage import encrypted_file_response
from clozup.models import User
from clozup.services import ensure_writable
from crm.models import Attachment, CallRecording
from crm.services.records import record_change

logger = logging.getLogger(__name__)

SNIFF_BYTES = 64 * 1024

OPENXML = "application/vnd.openxmlformats-officedocument"
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".docx": f"{OPENXML}.wordprocessingml.document",
    ".xlsx": f"{OPENXML}.spreadsheetml.sheet",
    ".pptx": f"{OPENXML}.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".webm": "audio/webm",
    ".flac": "audio/flac",
}


class FileRejected(ValueError):
    """The upload is refused; the message says why, for the form."""


# Plain text is kept only under names that no browser or desktop renders as
# a page or a script (`.html`, `.svg` and `.js` are text too).
TEXT_EXTENSIONS = {"", ".txt", ".csv", ".tsv", ".md", ".log", ".json", ".vcf", ".ics"}


def _extension(name: str) -> str:
    stem, dot, suffix = name.rpartition(".")
    return f".{suffix.lower()}" if dot and stem else ""


def _sniff(head: bytes, name: str, allowed: dict[str, str], *, text_allowed) -> str:
    """The content's type, which the file's name must agree with."""
    extension = _extension(name)
    try:
        candidates = puremagic.magic_string(head)
    except puremagic.PureError:
        candidates = []
    found = [c.extension.lower() for c in candidates if c.extension.lower() in allowed]
    if found:
        # Zip-based formats match several names; the file's own name decides.
        content_type = allowed[extension if extension in found else found[0]]
        if extension and allowed.get(extension) != content_type:
            raise FileRejected(
                f"file: named {extension}, but its content is {content_type}"
            )
        return content_type
    if text_allowed and not candidates and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            # A multi-byte character cut at the sniffing boundary is still text.
            if error.start < len(head) - 4:
                raise FileRejected("file: this type of file is not accepted") from None
        if extension not in TEXT_EXTENSIONS:
            raise FileRejected(
                f"file: named {extension}, but its content is plain text"
                f" (text is kept as {', '.join(sorted(TEXT_EXTENSIONS - {''}))})"
            )
        return "text/plain"
    raise FileRejected("file: this type of file is not accepted")


def display_name(filename: str) -> str:
    """The name shown on download: no path, no control characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return (name or "file")[:255]


def _check_and_store(upload: UploadedFile, *, folder: str, allowed, text_allowed):
    if upload.size > settings.UPLOAD_MAX_BYTES:
        limit = filesizeformat(settings.UPLOAD_MAX_BYTES)
        raise FileRejected(f"file: larger than the {limit} limit")
    if upload.size == 0:
        raise FileRejected("file: the file is empty")
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    name = display_name(upload.name or "")
    content_type = _sniff(head, name, allowed, text_allowed=text_allowed)

    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    storage_name = storages["private"].save(f"{folder}/{uuid.uuid4().hex}", upload)
    return storage_name, content_type, digest.hexdigest()


def _subject(record) -> dict:
    return {record._meta.model_name: record}


def store_attachment(
    record, upload: UploadedFile, *, actor: User, request=None
) -> Attachment:
    """Keep a document on a lead, contact or deal; audited."""
    return _store(
        Attachment, record, upload, actor=actor, allowed=DOCUMENT_TYPES, request=request
    )


def store_recording(
    record, upload: UploadedFile, *, actor: User, request=None
) -> CallRecording:
    """Keep a call recording (audio only) on a lead, contact or deal; audited."""
    return _store(
        CallRecording, record, upload, actor=actor, allowed=AUDIO_TYPES, request=request
    )


def _store(model, record, upload, *, actor, allowed, request):
    ensure_writable(record.organization_id)
    folder = model._meta.model_name
    storage_name, content_type, sha256 = _check_and_store(
        upload, folder=folder, allowed=allowed, text_allowed=model is Attachment
    )
    try:
        with transaction.atomic():
            stored = model.objects.create(
                organization_id=record.organization_id,
                storage_name=storage_name,
                filename=display_name(upload.name or ""),
                content_type=content_type,
                size=upload.size,
                sha256=sha256,
                uploaded_by=actor,
                **_subject(record),
            )
            record_change(
                Action.RECORD_CREATED,
                stored,
                actor=actor,
                request=request,
                bytes=stored.size,
                content_type=content_type,
                **{f"{record._meta.model_name}_id": record.pk},
            )
    except Exception:
        storages["private"].delete(storage_name)
        raise
    logger.info(
        "file stored",
        extra={
            "model": model._meta.model_name,
            "file_id": stored.pk,
            "bytes": upload.size,
        },
    )
    return stored


@transaction.atomic
def download_response(stored, *, actor: User, request=None):
    """The decrypting response for a member who looked the row up (RLS did).

    Records the download in the audit log.
    """
    response = encrypted_file_response(
        stored.storage_name,
        filename=stored.filename,
        content_type=stored.content_type,
        as_attachment=True,
    )
    record_change(Action.FILE_DOWNLOADED, stored, actor=actor, request=request)
    return response
