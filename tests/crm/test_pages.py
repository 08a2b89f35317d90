"""The reps' pages through the test client: lists, forms, htmx swaps, rules."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clozup.tenancy import org_context
from crm.models import Activity, Company, Contact, Deal, Lead, Stage

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "rows"}


def stage(org, name):
    with org_context(org):
        return Stage.objects.get(name=name)


def make_deal(org, **fields):
    with org_context(org):
        fields.setdefault("stage", Stage.objects.get(name="Prospecting"))
        fields.setdefault("title", "Deal")
        return Deal.objects.create(organization=org, **fields)


# Lists ------------------------------------------------------------------------


def test_the_lead_list_searches_name_email_and_company(rep_client, org_a, make_lead):
    make_lead(org_a, first_name="Ada", company_name="Engines")
    make_lead(org_a, first_name="Bob", email="bob@analytic.example")
    make_lead(org_a, first_name="Cleo", company_name="Analytic Engines")

    body = rep_client.get(reverse("crm:lead-list"), {"q": "analytic"}).content.decode()

    assert "Bob" in body and "Cleo" in body and "Ada" not in body


def test_the_lead_list_filters_by_status_owner_and_source(
    rep_client, org_a, rep_a, make_lead
):
    make_lead(org_a, first_name="Wanted", status="qualified", source="Web", owner=rep_a)
    make_lead(org_a, first_name="WrongStatus", source="Web", owner=rep_a)
    make_lead(org_a, first_name="WrongSource", status="qualified", owner=rep_a)
    make_lead(org_a, first_name="NoOwner", status="qualified", source="Web")

    body = rep_client.get(
        reverse("crm:lead-list"),
        {"status": "qualified", "source": "Web", "owner": rep_a.pk},
    ).content.decode()

    assert "Wanted" in body
    assert not re.search("WrongStatus|WrongSource|NoOwner", body)


def test_an_htmx_request_gets_only_the_rows(rep_client, org_a, make_lead):
    make_lead(org_a, first_name="Ada")

    response = rep_client.get(reverse("crm:lead-list"), **HTMX)

    body = response.content.decode()
    assert body.lstrip().startswith("<tr") and "<html" not in body and "Ada" in body


def test_more_rows_follow_the_last_one_shown_without_repeats(
    rep_client, org_a, make_lead
):
    for n in range(30):
        make_lead(org_a, first_name=f"P{n:02d}", last_name="Same")
    url = reverse("crm:lead-list")

    first = rep_client.get(url, {"sort": "name"}).content.decode()
    cursor = re.search(r"cursor=([\w-]+)", first).group(1)
    second = rep_client.get(url, {"sort": "name", "cursor": cursor}, **HTMX)

    names_first = re.findall(r">P(\d\d)", first)
    names_second = re.findall(r">P(\d\d)", second.content.decode())
    assert len(names_first) == 25 and len(names_second) == 5
    assert set(names_first).isdisjoint(names_second)
    assert "more-row" not in second.content.decode()


def test_a_forged_cursor_is_a_404_not_an_error(rep_client):
    response = rep_client.get(reverse("crm:lead-list"), {"cursor": "!!not-base64"})

    assert response.status_code == 404


def test_deleted_leads_are_listed_apart(rep_client, org_a, make_lead):
    from django.utils import timezone

    make_lead(org_a, first_name="Gone", deleted_at=timezone.now())
    make_lead(org_a, first_name="Here")

    live = rep_client.get(reverse("crm:lead-list")).content.decode()
    deleted = rep_client.get(
        reverse("crm:lead-list"), {"deleted": "1"}
    ).content.decode()

    assert "Here" in live and "Gone" not in live
    assert "Gone" in deleted and "Here" not in deleted


@pytest.mark.parametrize(
    "name", ["crm:lead-list", "crm:contact-list", "crm:company-list", "crm:deal-list"]
)
def test_list_pages_issue_the_same_queries_for_5_or_25_rows(
    name,
    rep_client,
    org_a,
    rep_a,
    make_lead,
    make_company,
    django_assert_num_queries,
    django_assert_max_num_queries,
):
    def populate(count):
        with org_context(org_a):
            company = Company.objects.create(organization=org_a, name="Shared")
            for n in range(count):
                Lead.objects.create(
                    organization=org_a, first_name=f"L{n}", owner=rep_a, company=company
                )
                Contact.objects.create(
                    organization=org_a, first_name=f"C{n}", company=company, owner=rep_a
                )
                Company.objects.create(organization=org_a, name=f"Co{n}", owner=rep_a)
                Deal.objects.create(
                    organization=org_a,
                    title=f"D{n}",
                    stage=Stage.objects.first(),
                    owner=rep_a,
                    company=company,
                )

    populate(5)
    # The request's own work (session, tenancy, the page's reads) stays small.
    with django_assert_max_num_queries(25) as few:
        assert rep_client.get(reverse(name)).status_code == 200
    populate(20)
    with django_assert_num_queries(len(few)):
        assert rep_client.get(reverse(name)).status_code == 200


def test_the_board_forecast_and_home_issue_a_fixed_number_of_queries(
    rep_client, org_a, rep_a, django_assert_num_queries
):
    def populate(count):
        for n in range(count):
            make_deal(org_a, title=f"D{n}", owner=rep_a, amount=Decimal(n))

    for name in ("crm:deal-board", "crm:forecast", "crm:home"):
        populate(3)
        with CaptureQueriesContext(connection) as few:
            assert rep_client.get(reverse(name)).status_code == 200
        populate(30)
        with django_assert_num_queries(len(few)):
            assert rep_client.get(reverse(name)).status_code == 200


# Forms --------------------------------------------------------------------------


def test_creating_a_lead_without_a_name_or_email_shows_why(rep_client, org_a):
    response = rep_client.post(reverse("crm:lead-create"), {"status": "new"})

    assert response.status_code == 200
    assert "A lead needs at least a first name" in response.content.decode()
    with org_context(org_a):
        assert not Lead.objects.exists()


def test_a_bad_email_is_named_on_the_form(rep_client, org_a):
    response = rep_client.post(
        reverse("crm:lead-create"),
        {"first_name": "Ada", "email": "nope", "status": "new"},
    )

    assert 'aria-invalid="true"' in response.content.decode()
    assert "Enter a valid email address." in response.content.decode()


def test_a_rep_creates_and_edits_a_lead_they_then_own(rep_client, org_a, rep_a):
    response = rep_client.post(
        reverse("crm:lead-create"),
        {"first_name": "Ada", "email": "ada@example.com", "status": "new"},
    )
    with org_context(org_a):
        lead = Lead.objects.get()
    assert response.url == reverse("crm:lead-detail", args=[lead.pk])
    assert lead.owner == rep_a

    rep_client.post(
        reverse("crm:lead-edit", args=[lead.pk]),
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "status": "contacted",
            "owner": rep_a.pk,
        },
    )

    with org_context(org_a):
        lead.refresh_from_db()
    assert (lead.last_name, lead.status) == ("Lovelace", "contacted")


def test_delete_hides_a_lead_and_restore_brings_it_back(
    rep_client, org_a, rep_a, make_lead
):
    lead = make_lead(org_a, owner=rep_a)

    rep_client.post(reverse("crm:lead-delete", args=[lead.pk]))
    with org_context(org_a):
        assert not Lead.objects.live().filter(pk=lead.pk).exists()
    page = rep_client.get(reverse("crm:lead-detail", args=[lead.pk])).content.decode()
    assert "was deleted" in page and "Restore" in page

    rep_client.post(reverse("crm:lead-restore", args=[lead.pk]))
    with org_context(org_a):
        assert Lead.objects.live().filter(pk=lead.pk).exists()


def test_a_rep_may_not_delete_someone_elses_lead_but_an_admin_may(
    client, org_a, rep_a, admin_a, make_lead
):
    lead = make_lead(org_a, owner=admin_a)
    url = reverse("crm:lead-delete", args=[lead.pk])

    client.force_login(rep_a)
    assert client.post(url).status_code == 403
    client.force_login(admin_a)
    assert client.post(url).status_code == 302


def test_the_status_select_updates_the_row_in_place(rep_client, org_a, make_lead):
    lead = make_lead(org_a)

    response = rep_client.post(
        reverse("crm:lead-status", args=[lead.pk]),
        {"status": "qualified"},
        HTTP_HX_REQUEST="true",
    )

    assert response.content.decode().lstrip().startswith(f'<tr id="lead-{lead.pk}"')
    with org_context(org_a):
        lead.refresh_from_db()
    assert lead.status == "qualified"


def test_converting_a_lead_makes_a_contact_a_company_and_a_deal(
    rep_client, org_a, make_lead
):
    lead = make_lead(org_a, company_name="Engines Ltd", email="ada@example.com")
    engaging = stage(org_a, "Engaging")

    response = rep_client.post(
        reverse("crm:lead-convert", args=[lead.pk]),
        {
            "deal_title": "Engines pilot",
            "amount": "1200",
            "currency": "eur",
            "stage": engaging.pk,
        },
    )

    with org_context(org_a):
        lead = Lead.objects.select_related("contact", "company").get(pk=lead.pk)
        deal = Deal.objects.select_related("company", "stage").get()
    assert response.url == reverse("crm:deal-detail", args=[deal.pk])
    assert lead.status == "converted" and lead.converted_at is not None
    assert lead.contact.email == "ada@example.com"
    assert lead.company.name == "Engines Ltd" == deal.company.name
    assert (deal.amount, deal.currency, deal.stage) == (Decimal(1200), "EUR", engaging)
    assert (
        rep_client.get(reverse("crm:lead-convert", args=[lead.pk])).status_code == 404
    )


def test_a_contact_typed_with_a_new_company_name_links_a_new_company(rep_client, org_a):
    rep_client.post(
        reverse("crm:contact-create"),
        {"first_name": "Ada", "email": "ada@example.com", "company_name": "Engines"},
    )

    with org_context(org_a):
        contact = Contact.objects.select_related("company").get()
    assert contact.company.name == "Engines"


# Deals --------------------------------------------------------------------------


def test_moving_a_deal_on_the_board_redraws_the_board(rep_client, org_a):
    deal = make_deal(org_a, title="Move me")
    won = stage(org_a, "Won")

    response = rep_client.post(
        reverse("crm:deal-move", args=[deal.pk]),
        {"stage": won.pk},
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<div class="board" id="board"')
    assert 'class="deal-card moved"' in body
    with org_context(org_a):
        deal.refresh_from_db()
    assert deal.stage_id == won.pk and deal.closed_at is not None


@pytest.mark.parametrize(
    "target", ["https://evil.example/phish", "//evil.example/", "javascript:alert(1)"]
)
def test_moving_a_deal_never_redirects_off_the_site(rep_client, org_a, target):
    deal = make_deal(org_a)

    response = rep_client.post(
        reverse("crm:deal-move", args=[deal.pk]),
        {"stage": stage(org_a, "Won").pk, "next": target},
    )

    assert response.status_code == 302
    assert response.url == reverse("crm:deal-detail", args=[deal.pk])


def test_moving_a_deal_returns_to_the_page_it_came_from(rep_client, org_a):
    deal = make_deal(org_a)

    response = rep_client.post(
        reverse("crm:deal-move", args=[deal.pk]),
        {"stage": stage(org_a, "Won").pk, "next": reverse("crm:deal-board")},
    )

    assert response.url == reverse("crm:deal-board")


def test_moving_a_deal_to_a_stage_of_another_organization_is_refused(
    rep_client, org_a, org_b
):
    deal = make_deal(org_a)
    foreign_stage = stage(org_b, "Won")

    response = rep_client.post(
        reverse("crm:deal-move", args=[deal.pk]), {"stage": foreign_stage.pk}
    )

    assert response.status_code == 400


def test_the_forecast_never_adds_euros_to_dollars(rep_client, org_a, rep_a):
    from datetime import date

    negotiation = stage(org_a, "Negotiation")  # 80 %
    when = date(2031, 5, 10)
    make_deal(
        org_a,
        amount=Decimal(1000),
        currency="EUR",
        stage=negotiation,
        expected_close_date=when,
        owner=rep_a,
    )
    make_deal(
        org_a,
        amount=Decimal(500),
        currency="USD",
        stage=negotiation,
        expected_close_date=when,
        owner=rep_a,
    )
    make_deal(org_a, amount=Decimal(300), currency="USD", stage=stage(org_a, "Won"))

    body = rep_client.get(reverse("crm:forecast")).content.decode()

    assert "800.00" in body and "400.00" in body  # weighted, per currency
    assert "1200.00" not in body and "1500" not in body
    assert "Won: <strong>300.00 USD</strong>" in body
    assert "<svg" in body and "May 2031" in body


# Timeline and files -------------------------------------------------------------


def test_logging_a_note_with_htmx_returns_a_fresh_form_and_the_new_entry(
    rep_client, org_a, make_lead
):
    lead = make_lead(org_a)

    response = rep_client.post(
        reverse("crm:activity-create", args=["leads", lead.pk]),
        {"kind": "note", "subject": "Called back", "body": "Wants a demo"},
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert 'hx-swap-oob="afterbegin:#timeline"' in body and "Wants a demo" in body
    with org_context(org_a):
        assert Activity.objects.get().lead_id == lead.pk


def test_an_empty_note_is_refused_with_a_message(rep_client, org_a, make_lead):
    lead = make_lead(org_a)

    response = rep_client.post(
        reverse("crm:activity-create", args=["leads", lead.pk]),
        {"kind": "note"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Write a subject or some details." in response.content.decode()


def test_a_task_due_shows_on_the_home_page_until_done(
    rep_client, org_a, rep_a, make_lead
):
    from django.utils import timezone

    lead = make_lead(org_a)
    with org_context(org_a):
        task = Activity.objects.create(
            organization=org_a,
            kind="call",
            subject="Ring Ada",
            lead=lead,
            author=rep_a,
            due_at=timezone.now() + timezone.timedelta(days=1),
        )
    marker = f'id="task-{task.pk}"'
    assert marker in rep_client.get(reverse("crm:home")).content.decode()

    rep_client.post(reverse("crm:activity-done", args=[task.pk]))

    assert marker not in rep_client.get(reverse("crm:home")).content.decode()
