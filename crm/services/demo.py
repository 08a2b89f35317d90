"""The demo organization: people to sign in as and a sample of real-looking data.

The sample ships in `crm/demo_data/` (see its ORIGIN.md); the deals, tasks
and notes around it are generated here from a fixed seed, so every demo
looks the same.
"""

import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clozup import services as clozup_services
from clozup.models import Membership, Organization, User
from clozup.tenancy import org_context
from crm.models import Activity, Deal, Lead, Product, Stage
from crm.services import imports

logger = logging.getLogger(__name__)

DEMO_DATA = Path(__file__).resolve().parent.parent / "demo_data"
DEMO_FILES = ("organizations.csv", "customers.csv", "leads.csv")
DEMO_SLUG = "demo"
# Reserved for documentation (RFC 2606): mail to it cannot reach anyone.
DEMO_DOMAIN = "demo.clozup.example"
PEOPLE = (
    ("owner", "Olivia Owner", Membership.Role.OWNER),
    ("admin", "Adam Admin", Membership.Role.ADMIN),
    ("rep1", "Rita Rep", Membership.Role.REP),
    ("rep2", "Ravi Rep", Membership.Role.REP),
)
# Lead stages from the sample that have a deal behind them, and its stage.
DEAL_STAGES = {
    "Qualified": "Engaging",
    "Proposal Sent": "Proposal",
    "Negotiation": "Negotiation",
    "Closed Won": "Won",
    "Closed Lost": "Lost",
}


class DemoExists(ValueError):
    pass


@dataclass(frozen=True)
class DemoPerson:
    email: str
    role: str
    # None when the account existed before: its password was not changed.
    password: str | None


@dataclass(frozen=True)
class Demo:
    organization: Organization
    people: list[DemoPerson]
    report: imports.ImportReport


def demo_email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


def demo_exists() -> bool:
    return Organization.objects.filter(slug=DEMO_SLUG).exists()


@transaction.atomic
def create_demo_organization(*, actor: str | None = None) -> Demo:
    """Create the demo organization with four people and import the sample.

    `actor` is the operator label recorded in the audit log (None: system).
    """
    if demo_exists():
        raise DemoExists(f"slug: the organization {DEMO_SLUG!r} exists already")

    owner_local, owner_name, _ = PEOPLE[0]
    created = clozup_services.create_organization(
        name="Demo Sales Co",
        slug=DEMO_SLUG,
        plan=Organization.Plan.PRO,
        owner_email=demo_email(owner_local),
        owner_name=owner_name,
        actor=actor,
    )
    organization = created.organization
    people = [DemoPerson(created.owner.email, "owner", created.initial_password)]
    users = {}
    with org_context(organization):
        for local, full_name, role in PEOPLE[1:]:
            user, password = clozup_services.get_or_create_user(
                demo_email(local), full_name=full_name
            )
            clozup_services.add_member(organization, user, role=role, actor=actor)
            users[local] = user
            people.append(DemoPerson(user.email, role, password))

    sources = [
        imports.ImportSource(name=name, open=lambda p=DEMO_DATA / name: p.open("rb"))
        for name in DEMO_FILES
    ]
    report = imports.import_files(organization, sources, actor=actor)
    if not report.committed:
        raise RuntimeError("the demo sample no longer imports cleanly")

    with org_context(organization):
        _give_leads_to_reps(users["rep1"], users["rep2"])
        _add_deals_and_tasks(organization, [users["rep1"], users["rep2"]])
    logger.info("demo organization created", extra={"organization": organization.pk})
    return Demo(organization, people, report)


def _give_leads_to_reps(first: User, second: User) -> None:
    leads = Lead.objects.annotate(parity=F("id") % 2)
    leads.filter(parity=0).update(owner=first)
    leads.filter(parity=1).update(owner=second)


def _add_deals_and_tasks(organization: Organization, reps: list[User]) -> None:
    chance = random.Random(20161020)  # noqa: S311 - demo figures, not secrets
    today = timezone.localdate()
    now = timezone.now()
    stages = {stage.name: stage for stage in Stage.objects.all()}
    products = Product.objects.bulk_create(
        Product(organization=organization, name=name, family=family, list_price=price)
        for name, family, price in (
            ("Starter plan", "Subscriptions", Decimal("1200")),
            ("Growth plan", "Subscriptions", Decimal("4800")),
            ("Onboarding", "Services", Decimal("2500")),
        )
    )

    deals = []
    for lead in Lead.objects.select_related("company").order_by("id"):
        stage_name = DEAL_STAGES.get(lead.details.get("stage", ""))
        if stage_name is None:
            continue
        stage = stages[stage_name]
        product = chance.choice(products)
        closed = today - timedelta(days=chance.randint(1, 180))
        deals.append(
            Deal(
                organization=organization,
                title=f"{lead.company_name or lead} · {product.name}",
                amount=product.list_price * chance.randint(1, 12),
                currency=chance.choice(["EUR", "EUR", "USD"]),
                stage=stage,
                owner_id=lead.owner_id,
                company=lead.company,
                lead=lead,
                product=product,
                expected_close_date=today + timedelta(days=chance.randint(5, 170)),
                closed_at=closed if stage.is_closed else None,
            )
        )
    Deal.objects.bulk_create(deals, batch_size=1000)

    tasks = []
    leads = list(Lead.objects.filter(owner__in=reps).order_by("id")[:24])
    for index, lead in enumerate(leads):
        tasks.append(
            Activity(
                organization=organization,
                kind=chance.choice([Activity.Kind.CALL, Activity.Kind.EMAIL]),
                subject=chance.choice(
                    ["Follow up on pricing", "Book a demo", "Send the proposal"]
                ),
                lead=lead,
                author_id=lead.owner_id,
                occurred_at=now - timedelta(hours=index * 5),
                due_at=now + timedelta(hours=chance.randint(-48, 240)),
            )
        )
    Activity.objects.bulk_create(tasks)
