import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from clozup.models import Membership, Organization
from clozup.tenancy import org_context
from crm.models import Activity, Company, Contact, Deal, Lead
from crm.services import demo

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_four_people_and_prints_how_to_sign_in():
    out = io.StringIO()

    call_command("seed_demo", stdout=out)

    organization = Organization.objects.get(slug="demo")
    with org_context(organization):
        roles = sorted(Membership.objects.values_list("role", flat=True))
    assert roles == ["admin", "owner", "rep", "rep"]
    for local in ("owner", "admin", "rep1", "rep2"):
        line = next(
            x for x in out.getvalue().splitlines() if demo.demo_email(local) in x
        )
        assert len(line.split()[-1]) >= 12  # the password is printed beside it


def test_the_demo_holds_the_shipped_sample_and_generated_pipeline():
    created = demo.create_demo_organization()

    with org_context(created.organization):
        leads = Lead.objects.count()
        contacts = Contact.objects.count()
        companies = Company.objects.count()
        currencies = set(Deal.objects.values_list("currency", flat=True))
        owned = Lead.objects.filter(owner__isnull=False).count()
        tasks = Activity.objects.filter(due_at__isnull=False).count()
        won = Deal.objects.filter(stage__is_won=True).count()
    assert (leads, contacts, owned) == (400, 200, 400)
    assert companies >= 200
    assert currencies == {"EUR", "USD"}
    assert tasks == 24 and won > 0


def test_seeding_sends_no_mail_to_the_sample_addresses():
    demo.create_demo_organization()

    assert mail.outbox == []


def test_if_missing_leaves_an_existing_demo_alone():
    call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()

    call_command("seed_demo", "--if-missing", stdout=out)

    assert "exists already" in out.getvalue()
    assert Organization.objects.filter(slug="demo").count() == 1


def test_seeding_twice_without_if_missing_is_refused():
    call_command("seed_demo", stdout=io.StringIO())

    with pytest.raises(CommandError, match="--if-missing"):
        call_command("seed_demo", stdout=io.StringIO())
