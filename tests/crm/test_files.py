"""Attachments and recordings: typed by content, limited in size, private."""

import io
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clozup.tenancy import org_context
from crm.models import Attachment, CallRecording
from crm.services import files

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


def upload(client, lead, name, content, kind="attachment"):
    return client.post(
        reverse("crm:file-upload", args=["leads", lead.pk]),
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
    )


def test_an_attachment_is_typed_from_its_bytes_not_its_name(
    rep_client, org_a, make_lead, private_storage
):
    lead = make_lead(org_a)

    response = upload(rep_client, lead, "invoice.png", PNG)

    assert response.status_code == 302
    with org_context(org_a):
        stored = Attachment.objects.get()
    assert stored.content_type == "image/png" and stored.filename == "invoice.png"
    # The storage path is generated; nothing from the client's name is in it,
    # and the bytes at rest are encrypted.
    assert "invoice" not in stored.storage_name
    assert stored.storage_name.startswith(f"org-{org_a.pk}/attachment/")
    at_rest = (private_storage / stored.storage_name).read_bytes()
    assert PNG not in at_rest and len(at_rest) > len(PNG)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("invoice.pdf", PNG, "named .pdf, but its content is image/png"),
        ("notes.html", b"<script>alert(1)</script>", "named .html, but its content"),
        ("logo.svg", b"<svg onload=alert(1)>", "this type of file is not accepted"),
        ("setup.exe", PNG, "named .exe, but its content is image/png"),
        ("page.svg", b"<p>hello</p>", "named .svg, but its content is plain text"),
    ],
)
def test_a_file_whose_name_disagrees_with_its_bytes_is_refused(
    rep_client, org_a, make_lead, name, content, message
):
    lead = make_lead(org_a)

    response = upload(rep_client, lead, name, content)

    assert response.status_code == 400
    assert message in response.content.decode()
    with org_context(org_a):
        assert not Attachment.objects.exists()


@pytest.mark.parametrize("name", ["notes.txt", "notes", "export.CSV"])
def test_text_under_a_text_name_is_kept(rep_client, org_a, make_lead, name):
    lead = make_lead(org_a)

    response = upload(rep_client, lead, name, b"Call back on Monday.\n")

    assert response.status_code == 302
    with org_context(org_a):
        assert Attachment.objects.get().content_type == "text/plain"


def test_a_file_whose_bytes_are_not_an_accepted_type_is_refused(
    rep_client, org_a, make_lead
):
    lead = make_lead(org_a)
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 64

    response = upload(rep_client, lead, "report.pdf", elf)

    assert response.status_code == 400
    assert "this type of file is not accepted" in response.content.decode()
    with org_context(org_a):
        assert not Attachment.objects.exists()


def test_a_recording_must_be_audio(rep_client, org_a, make_lead):
    lead = make_lead(org_a)

    refused = upload(rep_client, lead, "call.wav", PDF, kind="recording")
    accepted = upload(rep_client, lead, "call.wav", wav_bytes(), kind="recording")

    assert refused.status_code == 400 and accepted.status_code == 302
    with org_context(org_a):
        assert CallRecording.objects.get().content_type == "audio/wav"


def test_the_size_limit_comes_from_the_setting(rep_client, org_a, make_lead, settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    lead = make_lead(org_a)

    response = upload(rep_client, lead, "big.pdf", PDF + b"0" * (1024 * 1024))

    assert response.status_code == 400
    assert "larger than the 1.0\xa0MB limit" in response.content.decode()


def test_plain_text_is_accepted_as_a_document(rep_client, org_a, make_lead):
    lead = make_lead(org_a)

    upload(rep_client, lead, "notes.txt", "Café meeting notes\n".encode())

    with org_context(org_a):
        assert Attachment.objects.get().content_type == "text/plain"


def test_a_member_downloads_the_file_with_its_name(rep_client, org_a, make_lead):
    lead = make_lead(org_a)
    upload(rep_client, lead, "../../etc/passwd.pdf", PDF)
    with org_context(org_a):
        stored = Attachment.objects.get()

    response = rep_client.get(reverse("crm:attachment-download", args=[stored.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="passwd.pdf"' in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"


def test_another_organizations_member_gets_404_for_the_file(
    client, org_a, rep_a, rep_b, make_lead
):
    lead = make_lead(org_a)
    with org_context(org_a):
        stored = files.store_attachment(
            lead, SimpleUploadedFile("a.pdf", PDF), actor=rep_a
        )
    client.force_login(rep_b)

    response = client.get(reverse("crm:attachment-download", args=[stored.pk]))

    assert response.status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, org_a, rep_a, make_lead):
    lead = make_lead(org_a)
    with org_context(org_a):
        stored = files.store_attachment(
            lead, SimpleUploadedFile("a.pdf", PDF), actor=rep_a
        )

    response = client.get(reverse("crm:attachment-download", args=[stored.pk]))

    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_display_names_lose_paths_and_control_characters():
    assert files.display_name("C:\\Users\\x\\evil\r\n.pdf") == "evil.pdf"
    assert files.display_name("") == "file"
