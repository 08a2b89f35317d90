"""The pipeline board, the forecast and the rep's home page."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, NullIf, RowNumber, TruncMonth
from django.utils import timezone

from clozup.lib.charts import BarChart, bar_chart
from clozup.models import User
from crm.models import Activity, Deal, Stage

CARDS_PER_STAGE = 20


@dataclass
class BoardColumn:
    stage: Stage
    deals: list[Deal]
    count: int
    totals: dict[str, Decimal]

    @property
    def hidden(self) -> int:
        return self.count - len(self.deals)


def list_stages() -> list[Stage]:
    return list(Stage.objects.order_by("position", "id"))


def get_stage(pk) -> Stage | None:
    return Stage.objects.filter(pk=pk).first()


def pipeline_board(*, owner: int | None = None) -> list[BoardColumn]:
    """Each stage with its newest deals and, per currency, its total amount.

    Three queries whatever the number of deals: stages, the per-stage sums,
    and the newest cards of every stage through a window function.
    """
    deals = Deal.objects.live()
    if owner:
        deals = deals.filter(owner_id=owner)
    stages = list_stages()

    sums = defaultdict(dict)
    counts = defaultdict(int)
    for row in deals.values("stage_id", "currency").annotate(
        n=Count("id"), total=Sum("amount")
    ):
        sums[row["stage_id"]][row["currency"]] = row["total"]
        counts[row["stage_id"]] += row["n"]

    cards = defaultdict(list)
    newest = (
        deals.select_related("owner", "company")
        .annotate(rank=_rank_in_stage())
        .order_by("stage_id", "rank")
    )
    for deal in _first_per_stage(newest):
        cards[deal.stage_id].append(deal)

    return [
        BoardColumn(s, cards[s.pk], counts[s.pk], dict(sorted(sums[s.pk].items())))
        for s in stages
    ]


def _rank_in_stage():
    return Window(
        RowNumber(),
        partition_by=[F("stage_id")],
        order_by=[F("updated_at").desc(), F("id").desc()],
    )


def _first_per_stage(queryset):
    # Filtering on a window needs Django 4.2+; it becomes a subquery.
    return queryset.filter(rank__lte=CARDS_PER_STAGE)


@dataclass
class Forecast:
    currencies: list[str]
    by_month: dict[str, list[dict]] = field(default_factory=dict)
    by_owner: dict[str, list[dict]] = field(default_factory=dict)
    won: dict[str, Decimal] = field(default_factory=dict)
    lost: dict[str, Decimal] = field(default_factory=dict)
    charts: dict[str, BarChart] = field(default_factory=dict)


def _weighted():
    return ExpressionWrapper(
        F("amount") * F("stage__probability") / Decimal(100),
        output_field=DecimalField(max_digits=20, decimal_places=2),
    )


def forecast() -> Forecast:
    """Weighted open pipeline by close month and by owner; won and lost totals.

    Every sum stays within one currency: amounts in different currencies are
    never added together.
    """
    deals = Deal.objects.live()
    open_deals = deals.filter(stage__is_won=False, stage__is_lost=False)

    by_month = defaultdict(list)
    month_rows = (
        open_deals.annotate(month=TruncMonth("expected_close_date"))
        .values("currency", "month")
        .annotate(n=Count("id"), total=Sum("amount"), weighted=Sum(_weighted()))
        .order_by("currency", F("month").asc(nulls_last=True))
    )
    for row in month_rows:
        by_month[row["currency"]].append(row)

    by_owner = defaultdict(list)
    owner_rows = (
        open_deals.annotate(
            person=Coalesce(
                NullIf("owner__full_name", Value("")),
                "owner__email",
                NullIf("owner_name", Value("")),
                output_field=CharField(),
            )
        )
        .values("currency", "person")
        .annotate(n=Count("id"), total=Sum("amount"), weighted=Sum(_weighted()))
        .order_by("currency", "-weighted", "person")
    )
    for row in owner_rows:
        by_owner[row["currency"]].append(row)

    closed = deals.values("currency").annotate(
        won=Coalesce(Sum("amount", filter=Q(stage__is_won=True)), Decimal(0)),
        lost=Coalesce(Sum("amount", filter=Q(stage__is_lost=True)), Decimal(0)),
    )
    won = {row["currency"]: row["won"] for row in closed}
    lost = {row["currency"]: row["lost"] for row in closed}

    currencies = sorted(set(by_month) | set(won))
    charts = {
        currency: bar_chart(
            [(_month_label(r["month"]), r["weighted"]) for r in by_month[currency]]
        )
        for currency in by_month
    }
    return Forecast(
        currencies=currencies,
        by_month=dict(by_month),
        by_owner=dict(by_owner),
        won=won,
        lost=lost,
        charts=charts,
    )


def _month_label(month: date | None) -> str:
    return month.strftime("%b %Y") if month else "No date"


@dataclass
class Home:
    open_deals: list[Deal]
    tasks_due: list[Activity]
    recent_activity: list[Activity]
    overdue: set[int]


def home_for(user: User) -> Home:
    now = timezone.now()
    open_deals = (
        Deal.objects.live()
        .filter(owner=user, stage__is_won=False, stage__is_lost=False)
        .select_related("stage", "company")
        .order_by(F("expected_close_date").asc(nulls_last=True), "-id")[:10]
    )
    tasks = (
        Activity.objects.filter(author=user, due_at__isnull=False, done_at__isnull=True)
        .select_related("lead", "contact", "deal")
        .order_by("due_at", "id")[:10]
    )
    recent = (
        Activity.objects.filter(occurred_at__lte=now)
        .select_related("author", "lead", "contact", "deal")
        .order_by("-occurred_at", "-id")[:10]
    )
    tasks = list(tasks)
    overdue = {task.pk for task in tasks if task.due_at < now}
    return Home(list(open_deals), tasks, list(recent), overdue)
