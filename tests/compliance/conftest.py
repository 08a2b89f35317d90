"""Fixtures for the compliance tests: one person known to two organizations,
and a real SMTP server on loopback."""

import asyncio
import email
import io
import socket
import threading
import wave
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from django.core.files.uploadedfile import SimpleUploadedFile

from clozup.celery import app as celery_app
from clozup.models import Organization, User
from clozup.tenancy import org_context
from crm.models import Activity, Contact, Deal, Lead, Stage
from crm.services import files

SUBJECT_EMAIL = "jane.roe@subject.example"
SUBJECT_PHONE = "+44 20 7946 0123"
SUBJECT_NAME = ("Jane", "Roe")
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x01\x00" * 800)
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


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and pending public requests start empty each test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def eager_tasks():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def admin_client(client, admin_a):
    client.force_login(admin_a)
    return client


@dataclass
class Person:
    """Jane Roe: a lead with a note, a call and a file in one organization."""

    organization: Organization
    record: Lead | Contact
    activity: Activity
    deal: Deal
    attachment: object
    recording: object


def _add_person(organization: Organization, model, uploader: User) -> Person:
    with org_context(organization):
        record = model.objects.create(
            organization=organization,
            first_name=SUBJECT_NAME[0],
            last_name=SUBJECT_NAME[1],
            email=SUBJECT_EMAIL,
            phone=SUBJECT_PHONE,
        )
        link = {model._meta.model_name: record}
        activity = Activity.objects.create(
            organization=organization,
            kind=Activity.Kind.NOTE,
            subject="First call",
            body="Asked for a quote for 20 seats.",
            **link,
        )
        stage, _ = Stage.objects.get_or_create(
            organization=organization, name="Qualified", defaults={"probability": 20}
        )
        deal = Deal.objects.create(
            organization=organization, title="Twenty seats", stage=stage, **link
        )
        attachment = files.store_attachment(
            record, SimpleUploadedFile("quote.pdf", PDF), actor=uploader
        )
        recording = files.store_recording(
            record, SimpleUploadedFile("call.wav", wav_bytes()), actor=uploader
        )
    return Person(organization, record, activity, deal, attachment, recording)


@pytest.fixture
def person_in_a(org_a, admin_a):
    """Jane Roe as a lead of org A."""
    return _add_person(org_a, Lead, admin_a)


@pytest.fixture
def person_in_b(org_b, make_member):
    """Jane Roe as a contact of org B."""
    from clozup.models import Membership

    uploader = make_member(org_b, role=Membership.Role.ADMIN)
    return _add_person(org_b, Contact, uploader)


@pytest.fixture
def bystander_in_a(org_a, make_lead):
    """Someone else in org A, who must survive Jane's erasure."""
    return make_lead(org_a, first_name="Ola", last_name="Nordmann")


class Mailbox:
    """What an SMTP server on 127.0.0.1 received, each message numbered.

    `hold_after(n)` makes the server stall inside the DATA command of message
    n + 1, after recording it but before answering, until `release()`: a
    client killed then never learns whether its message went out.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[tuple[int, str, email.message.Message]] = []
        self._hold_after: int | None = None
        self.held = threading.Event()
        self._released = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            number = len(self.messages) + 1
            for recipient in envelope.rcpt_tos:
                self.messages.append((number, recipient.lower(), message))
        if self._hold_after is not None and number > self._hold_after:
            self.held.set()
            while not self._released.is_set():
                await asyncio.sleep(0.05)
        return "250 OK"

    def hold_after(self, count: int) -> None:
        self._hold_after = count

    def release(self) -> None:
        self._released.set()

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def numbers_to(self, address: str) -> list[int]:
        with self.lock:
            return [n for n, to, _ in self.messages if to == address.lower()]

    def recipients(self) -> list[str]:
        with self.lock:
            return [to for _, to, _ in self.messages]

    def last_to(self, address: str) -> email.message.Message:
        with self.lock:
            found = [m for _, to, m in self.messages if to == address.lower()]
        assert found, "no mail to that address"
        return found[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """Outgoing mail goes to a real SMTP server on 127.0.0.1."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://clozup.test"
    mailbox.port = controller.port
    try:
        yield mailbox
    finally:
        mailbox.release()
        controller.stop()
