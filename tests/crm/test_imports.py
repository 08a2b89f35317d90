"""CSV import: the sample data sets' oracle, rejections, idempotence, RLS."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum

from clozup.tenancy import org_context
from crm.importing import layouts
from crm.models import (
    Activity,
    Company,
    Contact,
    Deal,
    Lead,
    Product,
    SalesAgent,
    SalesTeam,
)
from crm.services import imports

pytestmark = pytest.mark.django_db


def source_from_text(name: str, text: str) -> imports.ImportSource:
    data = text.encode()
    return imports.ImportSource(name=name, open=lambda: io.BytesIO(data))


def sources_from(folder, *names):
    return [
        imports.ImportSource(name=n, open=lambda p=folder / n: p.open("rb"))
        for n in names
    ]


MAVEN = ("accounts.csv", "products.csv", "sales_teams.csv", "sales_pipeline.csv")


@pytest.fixture
def maven_report(org_a, shared_data):
    folder = shared_data / "maven-crm-pipeline"
    return imports.import_files(org_a, sources_from(folder, *MAVEN))


def test_the_maven_pipeline_imports_with_the_readmes_totals(org_a, maven_report):
    assert maven_report.committed and maven_report.rejected_count == 0
    with org_context(org_a):
        by_stage = dict(Deal.objects.values_list("stage__name").annotate(n=Count("id")))
        won_total = Deal.objects.filter(stage__is_won=True).aggregate(s=Sum("amount"))
        lost_amounts = set(
            Deal.objects.filter(stage__is_lost=True).values_list("amount", flat=True)
        )
        without_account = Deal.objects.filter(company__isnull=True)
        counts = {
            "companies": Company.objects.count(),
            "products": Product.objects.count(),
            "agents": SalesAgent.objects.count(),
            "teams": SalesTeam.objects.count(),
            "deals": Deal.objects.count(),
            "without_account": without_account.count(),
            "without_account_closed": without_account.filter(stage__is_won=True).count()
            + without_account.filter(stage__is_lost=True).count(),
            "not_engaged": Deal.objects.filter(engaged_on__isnull=True).count(),
            "not_closed": Deal.objects.filter(closed_at__isnull=True).count(),
            "subsidiaries": Company.objects.filter(parent__isnull=False).count(),
        }
        agents_without_deals = SalesAgent.objects.exclude(
            name__in=Deal.objects.values("owner_name")
        ).count()

    assert counts == {
        "companies": 85,
        "products": 7,
        "agents": 35,
        "teams": 6,
        "deals": 8800,
        "without_account": 1425,
        "without_account_closed": 0,
        "not_engaged": 500,
        "not_closed": 2089,
        "subsidiaries": 15,
    }
    assert by_stage == {"Won": 4238, "Lost": 2473, "Engaging": 1589, "Prospecting": 500}
    assert won_total["s"] == Decimal("10005534")
    assert lost_amounts == {Decimal("0")}
    assert agents_without_deals == 5


def test_gtxpro_is_read_as_gtx_pro_and_the_decision_is_reported(org_a, maven_report):
    with org_context(org_a):
        gtx_pro_deals = Deal.objects.filter(product__name="GTX Pro").count()

    assert {
        "file": "sales_pipeline.csv",
        "message": "product: 'GTXPro' read as the product 'GTX Pro' (same letters"
        " and digits)",
        "rows": 1480,
    } in maven_report.decisions
    assert gtx_pro_deals >= 1480


def test_maven_quirks_become_clean_values(org_a, maven_report):
    with org_context(org_a):
        acme = Company.objects.get(name="Acme Corporation")
        industries = set(Company.objects.values_list("industry", flat=True))
        countries = set(Company.objects.values_list("country", flat=True))

    assert acme.annual_revenue == Decimal("1100040000.00")
    assert acme.founded_year == 1996 and acme.country == "US"
    assert "technolgy" not in industries and "technology" in industries
    assert "PH" in countries and "KR" in countries and "" not in countries


def test_reimporting_the_maven_files_changes_nothing(org_a, shared_data, maven_report):
    with org_context(org_a):
        before = list(Deal.objects.order_by("pk").values_list("pk", "updated_at"))

    again = imports.import_files(
        org_a, sources_from(shared_data / "maven-crm-pipeline", *MAVEN)
    )

    with org_context(org_a):
        after = list(Deal.objects.order_by("pk").values_list("pk", "updated_at"))
    assert again.totals() == {"created": 0, "updated": 0, "unchanged": 8927}
    assert after == before


def test_an_unknown_product_is_rejected_with_its_line(org_a, shared_data):
    folder = shared_data / "maven-crm-pipeline"
    pipeline = source_from_text(
        "pipeline.csv",
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,"
        "close_date,close_value\n"
        "AAAA0001,Moses Frase,GTX Basic,,Prospecting,,,\n"
        "AAAA0002,Moses Frase,Quantum Box,,Prospecting,,,\n",
    )

    report = imports.import_files(
        org_a, [*sources_from(folder, "products.csv"), pipeline]
    )

    assert report.rejections == [
        {
            "file": "pipeline.csv",
            "line": 3,
            "column": "product",
            "reason": "no product named 'Quantum Box'",
        }
    ]
    assert not report.committed
    with org_context(org_a):
        assert not Deal.objects.exists() and not Product.objects.exists()


def test_the_datablist_files_give_30000_distinct_addresses(org_a, shared_data):
    folder = shared_data / "datablist-fake-contacts"
    names = ("organizations-10000.csv", "customers-10000.csv", "leads-10000.csv")

    report = imports.import_files(org_a, sources_from(folder, *names))

    assert report.committed, report.rejections[:5]
    with org_context(org_a):
        addresses = set(Lead.objects.values_list("email", flat=True))
        addresses |= set(Lead.objects.values_list("secondary_email", flat=True))
        addresses |= set(Contact.objects.values_list("email", flat=True))
        lucero = list(Company.objects.filter(name="Lucero LLC").values("website"))
        phone_with_extension = Lead.objects.filter(phone__contains="x").count()
        notes = Activity.objects.filter(kind="note", lead__isnull=False).count()
        statuses = dict(Lead.objects.values_list("status").annotate(n=Count("id")))
        linked = Contact.objects.filter(company__isnull=False).count()
    assert len(addresses - {""}) == 30000
    assert Lead.objects.count() == 0  # outside any context nothing is visible
    # Same name, different web sites: different companies.
    assert len({row["website"] for row in lucero}) == len(lucero) >= 5
    assert phone_with_extension > 1000
    assert notes == 10000
    assert sum(statuses.values()) == 10000 and set(statuses) == {
        "new",
        "contacted",
        "qualified",
        "converted",
        "unqualified",
    }
    assert linked == 10000


def test_the_x_education_export_keeps_flags_and_drops_placeholders(org_a, shared_data):
    folder = shared_data / "xeducation-leads"

    report = imports.import_files(org_a, sources_from(folder, "Leads.csv"))

    assert report.committed and report.files[0]["layout"] == "X Education leads"
    with org_context(org_a):
        leads = Lead.objects.all()
        assert leads.count() == 9240
        assert leads.filter(details__do_not_email=True).count() == 734
        assert leads.filter(details__do_not_call=True).count() == 2
        assert leads.filter(status=Lead.Status.CONVERTED).count() == 3561
        assert leads.filter(country="IN").count() == 6492
        assert not leads.filter(city__iexact="select").exists()
        details = list(leads.values_list("details", flat=True))
    assert not any("Select" in d.values() for d in details)
    assert not any("" in d for d in details)


def test_a_suppressed_lead_stays_suppressed_on_reimport(org_a):
    header = "Prospect ID,Do Not Email,Do Not Call\n"
    first = source_from_text("x.csv", header + "p-1,Yes,No\n")
    again = source_from_text("x.csv", header + "p-1,,\n")

    imports.import_files(org_a, [first])
    imports.import_files(org_a, [again])

    with org_context(org_a):
        lead = Lead.objects.get(external_id="p-1")
    assert lead.details["do_not_email"] is True


BAD_ROWS = (
    "Email,First Name,Last Name,Company,Phone,Score\r\n"
    'ada@example.com,Ada,Lovelace,"Engines, Ltd",+44 20 7946 0000,50\r\n'
    "not-an-address,Bob,Bad,,,\r\n"
    'carla@example.com,Carla,"Multi\nLine",,,\r\n'
    "dan@example.com,Dan,Score,,,140\r\n"
    "ada@example.com,Ada,Again,,,\r\n"
)


def test_every_rejected_row_is_reported_and_nothing_is_written(org_a):
    report = imports.import_files(org_a, [source_from_text("leads.csv", BAD_ROWS)])

    assert [(r["line"], r["column"]) for r in report.rejections] == [
        (3, "Email"),
        (6, "Score"),
        (7, "Email"),
    ]
    assert report.rejections[0]["reason"] == "'not-an-address' is not an email address"
    assert report.rejections[2]["reason"] == "same email as line 2"
    assert not report.committed
    with org_context(org_a):
        assert not Lead.objects.exists() and not Company.objects.exists()


def test_a_partial_import_writes_the_valid_rows(org_a):
    report = imports.import_files(
        org_a, [source_from_text("leads.csv", BAD_ROWS)], allow_partial=True
    )

    assert report.committed and report.rejected_count == 3
    with org_context(org_a):
        names = set(Lead.objects.values_list("last_name", flat=True))
        company = Lead.objects.get(last_name="Lovelace").company
    assert names == {"Lovelace", "Multi\nLine"}
    assert company.name == "Engines, Ltd"


@pytest.mark.parametrize(("separator", "word"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_of_semicolons_or_tabs_is_read_by_its_separator(org_a, separator, word):
    header = separator.join(["First Name", "Last Name", "Email", "Company"])
    row = separator.join(["Ada", "Lovelace", "ada@example.com", '"Engines; Ltd"'])
    text = f"{header}\n{row}\nAlan{separator}Turing{separator}{separator}Acme, Inc\n"

    report = imports.import_files(org_a, [source_from_text("leads.csv", text)])

    assert report.committed, report.rejections
    assert report.decisions == [
        {
            "file": "leads.csv",
            "message": f"columns separated by {word}, not commas",
            "rows": 2,
        }
    ]
    with org_context(org_a):
        leads = Lead.objects.order_by("first_name")
        read = [(lead.first_name, lead.email, lead.company_name) for lead in leads]
    assert read == [
        ("Ada", "ada@example.com", "Engines; Ltd"),
        ("Alan", "", "Acme, Inc"),
    ]


def test_a_comma_file_with_semicolons_in_its_header_stays_comma_separated(org_a):
    text = 'First Name,"Colour; shade"\nAda,teal\n'

    report = imports.import_files(org_a, [source_from_text("leads.csv", text)])

    assert report.committed and not report.decisions
    assert report.files[0]["unmapped"] == ["Colour; shade"]


def test_an_empty_cell_does_not_erase_a_stored_value(org_a):
    imports.import_files(
        org_a,
        [source_from_text("leads.csv", "Email,Phone\nada@example.com,555-010-0001\n")],
    )
    report = imports.import_files(
        org_a,
        [source_from_text("leads.csv", "Email,Phone,City\nada@example.com,,Paris\n")],
    )

    with org_context(org_a):
        lead = Lead.objects.get()
    assert (lead.phone, lead.city) == ("555-010-0001", "Paris")
    assert report.files[0]["counts"]["updated"] == 1


def test_rows_match_by_external_id_then_email(org_a, make_lead):
    existing = make_lead(org_a, email="ada@example.com")
    text = (
        "Record ID,Email,First Name\nR-1,ada@example.com,Ada\nR-2,bob@example.com,Bob\n"
    )

    report = imports.import_files(org_a, [source_from_text("hubspot-leads.csv", text)])

    with org_context(org_a):
        existing.refresh_from_db()
        assert Lead.objects.count() == 2
    assert existing.external_id == "R-1" and existing.first_name == "Ada"
    assert report.files[0]["counts"]["created"] == 1


def test_leads_share_a_company_by_name_and_web_site_whatever_the_spelling(org_a):
    with org_context(org_a):
        known = Company.objects.create(
            organization=org_a, name="Acme Inc", website="http://acme.com"
        )
    text = (
        "Email,Company,Website\n"
        "a@acme.example,Acme Inc,https://www.acme.com/\n"
        "b@acme.example,ACME INC,acme.com\n"
        "c@acme.example,Acme Inc,https://other.example/\n"
        "d@acme.example,acme inc,other.example\n"
    )

    report = imports.import_files(org_a, [source_from_text("leads.csv", text)])

    with org_context(org_a):
        companies = dict(Lead.objects.values_list("email", "company_id"))
    assert companies["a@acme.example"] == companies["b@acme.example"] == known.pk
    assert companies["c@acme.example"] == companies["d@acme.example"] != known.pk
    assert report.files[0]["counts"]["companies_created"] == 1


def test_a_note_goes_to_its_own_new_lead_and_never_to_a_matched_one(org_a, make_lead):
    existing = make_lead(org_a, email="ada@example.com")
    text = (
        "Email,First Name,Notes\n"
        "ada@example.com,Ada,Met at the fair\n"
        "bob@example.com,Bob,Wants a demo\n"
        "cy@example.com,Cy,Call after May\n"
    )

    report = imports.import_files(org_a, [source_from_text("leads.csv", text)])

    with org_context(org_a):
        notes = dict(
            Activity.objects.filter(kind="note").values_list("lead__email", "body")
        )
    assert notes == {
        "bob@example.com": "Wants a demo",
        "cy@example.com": "Call after May",
    }
    assert report.files[0]["counts"]["notes_created"] == 2
    assert existing.email not in notes


def test_an_import_never_touches_another_organization(org_a, org_b, make_lead):
    theirs = make_lead(org_b, external_id="X-1", first_name="Theirs")

    imports.import_files(
        org_a, [source_from_text("l.csv", "Lead ID,First Name\nX-1,Ours\n")]
    )

    with org_context(org_b):
        theirs.refresh_from_db()
    with org_context(org_a):
        ours = Lead.objects.get(external_id="X-1")
    assert theirs.first_name == "Theirs" and ours.first_name == "Ours"


def test_a_dry_run_counts_and_writes_nothing(org_a):
    report = imports.import_files(
        org_a,
        [source_from_text("l.csv", "Email\nada@example.com\n")],
        dry_run=True,
    )

    assert report.files[0]["counts"]["created"] == 1 and not report.committed
    with org_context(org_a):
        assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("headers", "kind", "expected"),
    [
        (
            ["First Name", "Last Name", "Email", "Company Name", "Lead Status"],
            layouts.Kind.LEADS,
            {"email": "Email", "company_name": "Company Name", "status": "Lead Status"},
        ),
        (
            ["Opportunity Name", "Amount", "Stage", "Close Date", "Account Name"],
            layouts.Kind.DEALS,
            {"title": "Opportunity Name", "company_name": "Account Name"},
        ),
        (
            ["Name", "Email", "Phone", "Organization"],
            layouts.Kind.CONTACTS,
            {"email": "Email", "company_name": "Organization"},
        ),
        (
            ["Company name", "Company Domain Name", "Industry", "Country/Region"],
            layouts.Kind.COMPANIES,
            {"website": "Company Domain Name", "country": "Country/Region"},
        ),
    ],
    ids=["hubspot-leads", "salesforce-opportunities", "pipedrive-people", "companies"],
)
def test_common_crm_export_headers_are_recognised(headers, kind, expected):
    layout = layouts.detect(headers)

    assert layout.kind is kind
    assert expected.items() <= layout.field_columns().items()


def test_the_command_imports_and_reports(org_a, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("Email,Source\nada@example.com,Referral\n")
    out = io.StringIO()

    call_command("import_crm", "--org", org_a.slug, str(path), stdout=out)

    assert "leads.csv: leads" in out.getvalue() and "1 created" in out.getvalue()
    with org_context(org_a):
        assert Lead.objects.get().source == "Referral"


def test_the_command_fails_on_rejected_rows_and_lists_them(org_a, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("Email\nada@example.com\nbroken\n")
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 rows rejected"):
        call_command("import_crm", "--org", org_a.slug, str(path), stdout=out)

    assert "rejected: leads.csv line 3: Email: 'broken' is not an email" in (
        out.getvalue()
    )


def test_the_command_maps_a_column_it_was_told_about(org_a, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Email,Favourite channel\nada@example.com,Podcast\n")

    call_command(
        "import_crm",
        "--org",
        org_a.slug,
        "--kind",
        "leads",
        "--map",
        "Favourite channel=source",
        str(path),
        stdout=io.StringIO(),
    )

    with org_context(org_a):
        assert Lead.objects.get().source == "Podcast"


def test_the_command_dry_run_writes_nothing(org_a, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("Email\nada@example.com\n")
    out = io.StringIO()

    call_command("import_crm", "--org", org_a.slug, "--dry-run", str(path), stdout=out)

    assert "1 would be created" in out.getvalue()
    assert "Dry run: nothing was written." in out.getvalue()
    with org_context(org_a):
        assert not Lead.objects.exists()


def test_the_command_names_an_unknown_organization(tmp_path):
    with pytest.raises(CommandError, match="--org: no organization"):
        call_command("import_crm", "--org", "nope", str(tmp_path / "x.csv"))
