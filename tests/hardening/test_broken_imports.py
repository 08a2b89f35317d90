"""Broken import files end with a message naming file and line, and no data.

Files are generated in the test's temporary folder. Each is imported with
a good file beside it, so "nothing written" covers the good file too.
"""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from clozup.tenancy import org_context
from crm.models import ImportJob, Lead
from crm.services import imports

pytestmark = pytest.mark.django_db

HEADER = b"First Name,Last Name,Email\n"
GOOD = HEADER + b"Ada,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n"


def _source(path):
    return imports.ImportSource(name=path.name, open=lambda: path.open("rb"))


def _import(org, tmp_path, broken: bytes, name="broken-leads.csv"):
    good = tmp_path / "good-leads.csv"
    good.write_bytes(GOOD)
    bad = tmp_path / name
    bad.write_bytes(broken)
    return imports.import_files(org, [_source(good), _source(bad)], allow_partial=True)


def _leads(org) -> int:
    with org_context(org):
        return Lead.objects.count()


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("leads.csv", HEADER + b"0" * 20_000_000)
    return buffer.getvalue()


BROKEN = {
    "latin-1 text": (
        HEADER + b"Ada,Lovelace,ada@example.com\nJos\xe9,Ruiz,j@example.com\n",
        3,
        "not UTF-8",
    ),
    "UTF-16 text": (
        "First Name,Email\nAda,ada@example.com\n".encode("utf-16"),
        1,
        "not UTF-8",
    ),
    "a NUL byte": (HEADER + b"Ada,Love\x00lace,ada@example.com\n", 2, "NUL"),
    "a 50 MB line": (
        HEADER
        + b"Ada,Lovelace,ada@example.com\nBob,"
        + b"x" * 50_000_000
        + b",b@example.com\n",
        3,
        "longer than",
    ),
    "a zip bomb named .csv": (_zip_bomb(), 1, "ZIP archive"),
    "a PDF named .csv": (b"%PDF-1.7\n" + bytes(range(256)) * 40, 1, "PDF"),
    "a repeated column": (
        b"First Name,Email,email\nAda,a@example.com,b@example.com\n",
        1,
        "appears twice",
    ),
    "20,000 columns": (
        b",".join(b"c%d" % n for n in range(20_000)) + b"\n" + b"x," * 19_999 + b"x\n",
        1,
        "20,000 columns; at most 200 are accepted",
    ),
    "an unclosed quote": (
        HEADER + b'Ada,"Lovelace,ada@example.com\n' + b"x" * 10 + b"\x00\n",
        2,
        "",
    ),
    "a quote never closed": (
        HEADER + b'"Open quote,Lovelace,ada@example.com\nAlan,Turing,a@example.com\n',
        2,
        "a quote opened on this line is never closed",
    ),
    "a quote never closed, after a multi-line cell": (
        HEADER
        + b'Ada,"Love\nlace",ada@example.com\n'
        + b'Alan,Turing,"alan@example.com\nGrace,Hopper,g@example.com\n',
        4,
        "a quote opened on this line is never closed",
    ),
    "text after a closing quote": (
        HEADER + b'Ada,"Love"lace,ada@example.com\n',
        2,
        "text after a closing quote",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_file_is_named_with_its_line_and_nothing_is_written(
    org_a, tmp_path, case
):
    content, line, words = BROKEN[case]

    report = _import(org_a, tmp_path, content)

    assert not report.committed
    assert report.unreadable.startswith(f"broken-leads.csv, line {line}: ")
    assert words in report.unreadable
    assert report.rejections[0]["line"] == line
    assert _leads(org_a) == 0


def test_a_bom_and_mixed_line_endings_are_read(org_a, tmp_path):
    content = (
        b"\xef\xbb\xbfFirst Name,Last Name,Email\r\n"
        b"Ada,Lovelace,ada@example.com\n"
        b"Alan,Turing,alan@example.com\r"
        b'Grace,"Hopper\r\nof the Navy",grace@example.com\r\n'
    )

    report = _import(org_a, tmp_path, content, name="mixed-leads.csv")

    assert report.committed, report.rejections
    assert report.files[1]["rows"] == 3
    with org_context(org_a):
        assert Lead.objects.get(email="grace@example.com").last_name == (
            "Hopper\r\nof the Navy"
        )


def test_more_rows_than_the_limit_are_refused_at_upload(client, org_a, rep_a):
    rows = b"".join(b"P%d,Q,p%d@example.com\n" % (n, n) for n in range(1_000_000))
    client.force_login(rep_a)

    response = client.post(
        reverse("crm:import-upload"),
        {"files": [SimpleUploadedFile("million-leads.csv", HEADER + rows)]},
    )

    assert response.status_code == 200
    assert "million-leads.csv: about 1,000,000 rows; the limit is 500,000" in (
        response.content.decode()
    )
    with org_context(org_a):
        assert not ImportJob.objects.exists()


def test_more_rows_than_the_limit_stop_a_run_with_nothing_written(
    org_a, tmp_path, settings
):
    settings.IMPORT_MAX_ROWS = 1

    report = _import(org_a, tmp_path, GOOD)

    assert report.unreadable.startswith("good-leads.csv, line 3: more than 1 rows")
    assert _leads(org_a) == 0


@pytest.mark.parametrize(
    "case",
    ["a zip bomb named .csv", "latin-1 text", "a repeated column", "20,000 columns"],
)
def test_the_upload_page_refuses_a_broken_file_by_name(client, org_a, rep_a, case):
    content, line, words = BROKEN[case]
    client.force_login(rep_a)

    response = client.post(
        reverse("crm:import-upload"),
        {"files": [SimpleUploadedFile("broken-leads.csv", content)]},
    )

    page = response.content.decode()
    if line == 1:
        assert response.status_code == 200
        assert "broken-leads.csv, line 1: " in page and words in page
    else:
        # The header is fine: the job finds the bad line and imports nothing.
        assert response.status_code == 302


@pytest.mark.parametrize("case", ["latin-1 text", "a quote never closed"])
def test_a_job_with_a_bad_line_reports_it_and_imports_nothing(
    client, org_a, rep_a, eager_tasks, django_capture_on_commit_callbacks, case
):
    content, line, words = BROKEN[case]
    client.force_login(rep_a)
    detail = client.post(
        reverse("crm:import-upload"),
        {"files": [SimpleUploadedFile("broken-leads.csv", content)]},
    ).url

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            detail,
            {
                "kind_0": "leads",
                "column_0_0": "first_name",
                "column_0_1": "last_name",
                "column_0_2": "email",
            },
        )
    page = client.get(detail).content.decode()

    with org_context(org_a):
        job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.REJECTED
    assert f"broken-leads.csv, line {line}: " in page and words in page
    assert _leads(org_a) == 0


def test_the_command_names_a_broken_file(org_a, tmp_path):
    path = tmp_path / "broken-leads.csv"
    path.write_bytes(BROKEN["a repeated column"][0])

    with pytest.raises(CommandError, match="broken-leads.csv, line 1: the column"):
        call_command("import_crm", str(path), org=org_a.slug, reason="ticket 1")


def test_a_dry_run_of_the_command_names_a_quote_never_closed(org_a, tmp_path):
    path = tmp_path / "broken-leads.csv"
    path.write_bytes(BROKEN["a quote never closed"][0])

    with pytest.raises(CommandError, match="broken-leads.csv, line 2: a quote opened"):
        call_command(
            "import_crm", str(path), org=org_a.slug, reason="ticket 1", dry_run=True
        )


def test_the_command_refuses_a_file_of_20_000_columns(org_a, tmp_path):
    path = tmp_path / "wide-leads.csv"
    path.write_bytes(BROKEN["20,000 columns"][0])

    with pytest.raises(CommandError, match="wide-leads.csv, line 1: 20,000 columns"):
        call_command(
            "import_crm", str(path), org=org_a.slug, reason="ticket 1", dry_run=True
        )


def test_two_files_of_one_name_are_told_apart_by_their_place(org_a, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    (first / "leads.csv").write_bytes(GOOD)
    (second / "leads.csv").write_bytes(HEADER + b"Bea,Rossi,not-an-email\n")
    sources = [_source(first / "leads.csv"), _source(second / "leads.csv")]

    report = imports.import_files(org_a, sources, allow_partial=True)

    assert [entry["name"] for entry in report.files] == [
        "leads.csv (file 1)",
        "leads.csv (file 2)",
    ]
    assert [(r["file"], r["line"]) for r in report.rejections] == [
        ("leads.csv (file 2)", 2)
    ]


def test_the_upload_page_names_the_broken_one_of_two_files_of_one_name(
    client, org_a, rep_a
):
    client.force_login(rep_a)

    response = client.post(
        reverse("crm:import-upload"),
        {
            "files": [
                SimpleUploadedFile("leads.csv", GOOD),
                SimpleUploadedFile("leads.csv", BROKEN["a repeated column"][0]),
            ]
        },
    )

    assert "leads.csv (file 2), line 1: the column" in response.content.decode()


def test_the_command_names_the_broken_one_of_two_files_of_one_name(org_a, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    (first / "leads.csv").write_bytes(GOOD)
    (second / "leads.csv").write_bytes(BROKEN["latin-1 text"][0])

    with pytest.raises(CommandError, match=r"leads.csv \(file 2\), line 3: not UTF-8"):
        call_command(
            "import_crm",
            str(first / "leads.csv"),
            str(second / "leads.csv"),
            org=org_a.slug,
            reason="ticket 1",
        )
