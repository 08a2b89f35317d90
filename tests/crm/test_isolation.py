"""Every page that takes an id answers 404 for another organization's id.

The walk covers every URL pattern of the crm app with an `<int:pk>`; a new
pattern without an entry below fails the first test, so none is forgotten.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, reverse

from clozup.tenancy import org_context
from crm import urls as crm_urls
from crm.models import Activity, Company, Contact, Deal, ImportJob, Stage
from crm.services import files

pytestmark = pytest.mark.django_db

SUBJECTS = ("leads", "contacts", "deals")


def patterns_with_an_id() -> list[URLPattern]:
    return [p for p in crm_urls.urlpatterns if "pk" in p.pattern.converters]


@pytest.fixture
def foreign(org_b, rep_b, make_lead):
    """One record of every kind, in the other organization."""
    lead = make_lead(org_b, owner=rep_b)
    with org_context(org_b):
        company = Company.objects.create(organization=org_b, name="Theirs")
        contact = Contact.objects.create(organization=org_b, first_name="Their")
        deal = Deal.objects.create(
            organization=org_b, title="Their deal", stage=Stage.objects.first()
        )
        activity = Activity.objects.create(
            organization=org_b, kind="note", lead=lead, author=rep_b, subject="x"
        )
        attachment = files.store_attachment(
            lead, SimpleUploadedFile("a.txt", b"text"), actor=rep_b
        )
        recording = files.store_recording(
            lead, SimpleUploadedFile("a.wav", _wav()), actor=rep_b
        )
        job = ImportJob.objects.create(
            organization=org_b, status="succeeded", created_by=rep_b, files=[]
        )
    return {
        "lead": lead,
        "contact": contact,
        "company": company,
        "deal": deal,
        "activity": activity,
        "attachment": attachment,
        "recording": recording,
        "import": job,
        "leads": lead,
        "contacts": contact,
        "deals": deal,
    }


def _wav() -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 100)
    return buffer.getvalue()


def _targets(pattern: URLPattern, foreign: dict):
    """(args for reverse, the foreign object) for each way to fill the pattern."""
    name = pattern.name
    if "plural" in pattern.pattern.converters:
        return [((plural, foreign[plural].pk), plural) for plural in SUBJECTS]
    kind = name.split("-")[0]
    return [((foreign[kind].pk,), kind)]


def test_every_id_pattern_is_known_to_this_walk(foreign):
    for pattern in patterns_with_an_id():
        for _, key in _targets(pattern, foreign):
            assert key in foreign, pattern.name


def test_every_id_pattern_answers_404_for_another_organizations_id(
    client, rep_a, foreign
):
    client.force_login(rep_a)
    checked = []
    for pattern in patterns_with_an_id():
        for args, _ in _targets(pattern, foreign):
            url = reverse(f"crm:{pattern.name}", args=args)
            response = client.get(url)
            if response.status_code == 405:
                response = client.post(url, {"stage": 1, "status": "new"})
            assert response.status_code == 404, (url, response.status_code)
            checked.append(url)

    assert len(checked) >= 25


def test_the_same_pages_answer_for_the_owning_organization(client, rep_b, foreign):
    client.force_login(rep_b)

    for pattern in patterns_with_an_id():
        for args, _ in _targets(pattern, foreign):
            url = reverse(f"crm:{pattern.name}", args=args)
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)  # reading closes the file
            if response.status_code == 405:
                continue
            assert response.status_code == 200, (url, response.status_code)
