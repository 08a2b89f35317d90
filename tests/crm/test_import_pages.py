"""The upload page: mapping, a queued job run by a worker, progress, the report."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clozup.tenancy import org_context
from crm.models import ImportJob, Lead

pytestmark = pytest.mark.django_db

CSV = b"First Name,Email,Favourite Colour\nAda,ada@example.com,Blue\nBob,broken,Red\n"


def upload(client, content=CSV, name="people-leads.csv", **extra):
    return client.post(
        reverse("crm:import-upload"),
        {"files": [SimpleUploadedFile(name, content)], **extra},
    )


def test_uploading_shows_the_guessed_mapping_for_every_column(rep_client, org_a):
    response = upload(rep_client)

    with org_context(org_a):
        job = ImportJob.objects.get()
    assert response.url == reverse("crm:import-detail", args=[job.pk])
    page = rep_client.get(response.url).content.decode()
    assert "Favourite Colour" in page and "Keep as a custom field" in page
    assert job.files[0]["kind"] == "leads"
    assert job.files[0]["mapping"]["Email"] == "email"


def test_a_semicolon_file_is_mapped_column_by_column(rep_client, org_a):
    upload(rep_client, CSV.replace(b",", b";"))

    with org_context(org_a):
        job = ImportJob.objects.get()
    assert job.files[0]["headers"] == ["First Name", "Email", "Favourite Colour"]
    assert job.files[0]["mapping"]["Email"] == "email"


def test_a_job_runs_and_reports_the_rejected_row(
    rep_client, org_a, eager_tasks, django_capture_on_commit_callbacks
):
    detail = upload(rep_client).url
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rep_client.post(
            detail,
            {
                "start": "1",
                "kind_0": "leads",
                "column_0_0": "first_name",
                "column_0_1": "email",
                "column_0_2": "source",
            },
        )

    assert len(callbacks) == 1
    page = rep_client.get(detail).content.decode()
    assert "Nothing was imported: 1 row rejected" in page
    assert "Would create" in page
    assert "&#x27;broken&#x27; is not an email address" in page
    with org_context(org_a):
        job = ImportJob.objects.get()
        assert not Lead.objects.exists()
    assert job.status == ImportJob.Status.REJECTED
    assert job.report["rejections"][0]["line"] == 3


def test_a_partial_job_imports_the_valid_rows_with_the_mapping_chosen(
    rep_client, org_a, eager_tasks, django_capture_on_commit_callbacks, private_storage
):
    detail = upload(rep_client, allow_partial="on").url
    with django_capture_on_commit_callbacks(execute=True):
        rep_client.post(
            detail,
            {
                "start": "1",
                "kind_0": "leads",
                "column_0_0": "first_name",
                "column_0_1": "email",
                "column_0_2": "source",
            },
        )

    with org_context(org_a):
        lead = Lead.objects.get()
        job = ImportJob.objects.get()
    assert (lead.first_name, lead.source) == ("Ada", "Blue")
    assert job.status == ImportJob.Status.SUCCEEDED
    # The upload is deleted once read.
    assert not any(p.is_file() for p in private_storage.rglob("*"))


def test_two_columns_for_one_field_are_refused_on_the_mapping_page(rep_client, org_a):
    detail = upload(rep_client).url

    response = rep_client.post(
        detail,
        {
            "start": "1",
            "kind_0": "leads",
            "column_0_0": "email",
            "column_0_1": "email",
            "column_0_2": "ignore",
        },
    )

    assert "Another column already goes to this field." in response.content.decode()
    with org_context(org_a):
        assert ImportJob.objects.get().status == ImportJob.Status.PENDING


def test_choosing_another_kind_remaps_the_columns(rep_client, org_a):
    detail = upload(rep_client).url

    response = rep_client.post(detail, {"refresh": "1", "kind_0": "contacts"})

    page = response.content.decode()
    assert "Keep as a custom field" not in page  # leads only
    assert 'value="contacts" selected' in page


def test_progress_is_polled_until_the_job_finishes(rep_client, org_a, rep_a):
    with org_context(org_a):
        job = ImportJob.objects.create(
            organization=org_a,
            status=ImportJob.Status.RUNNING,
            created_by=rep_a,
            files=[{"name": "a.csv"}],
        )
    url = reverse("crm:import-progress", args=[job.pk])

    running = rep_client.get(url, HTTP_HX_REQUEST="true")
    with org_context(org_a):
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.SUCCEEDED, report={"files": [], "committed": True}
        )
    finished = rep_client.get(url, HTTP_HX_REQUEST="true")

    assert 'hx-trigger="every 1s"' in running.content.decode()
    assert "HX-Refresh" not in running
    assert finished["HX-Refresh"] == "true"


def test_a_file_that_is_not_utf8_text_is_refused_at_upload(rep_client, org_a):
    response = upload(rep_client, content=b"\xff\xfe\x00\x00binary", name="x.csv")

    assert response.status_code == 200
    assert "x.csv, line 1: not UTF-8 text" in response.content.decode()


def test_the_import_size_limit_is_a_setting(rep_client, settings):
    settings.IMPORT_MAX_BYTES = 10

    response = upload(rep_client)

    assert "larger than the 10\xa0bytes limit" in response.content.decode()


def test_a_kind_that_does_not_exist_is_refused_on_the_mapping_page(rep_client, org_a):
    detail = upload(rep_client).url

    response = rep_client.post(detail, {"kind_0": "spaceships"})

    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
