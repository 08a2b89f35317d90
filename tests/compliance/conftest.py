import io
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clozup.tenancy import org_context
from crm.models import Activity, Deal, Stage
from crm.services import files

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def private_storage(local_storages):
    """Each test keeps its files, and its backup journal, in folders of its own."""
    return local_storages / "files"


@pytest.fixture
def journal_dir(local_storages):
    return local_storages / "backups" / "journal"


@pytest.fixture
def attach():
    """Store a PDF attachment on a record, through the upload service."""

    def make(record, actor):
        upload = SimpleUploadedFile("contract.pdf", PDF)
        with org_context(record.organization_id):
            return files.store_attachment(record, upload, actor=actor)

    return make


@pytest.fixture
def record_call():
    """Store a call recording on a record, through the upload service."""

    def make(record, actor, **fields):
        upload = SimpleUploadedFile("call.wav", wav_bytes())
        with org_context(record.organization_id):
            recording = files.store_recording(record, upload, actor=actor)
            if fields:
                for name, value in fields.items():
                    setattr(recording, name, value)
                recording.save(update_fields=list(fields))
        return recording

    return make


@pytest.fixture
def make_deal():
    def make(organization, **fields):
        with org_context(organization):
            fields.setdefault("stage", Stage.objects.order_by("position").first())
            fields.setdefault("title", "Deal")
            return Deal.objects.create(organization=organization, **fields)

    return make


@pytest.fixture
def make_activity():
    def make(organization, **fields):
        fields.setdefault("kind", Activity.Kind.NOTE)
        with org_context(organization):
            return Activity.objects.create(organization=organization, **fields)

    return make
