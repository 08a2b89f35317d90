"""What building an AI prompt costs beyond reading the timeline it comes from.

A lead with 40 activities, each a few hundred characters with an email
address and a phone number in it. The baseline reads the lead and its
timeline (`crm.selectors.records.list_timeline`, as the lead page does); the
measured side builds the whole masked prompt from the same rows
(`assist.selectors.build_prompt`: facts, timeline, placeholders). Interleaved
rounds; prints both rates and prompt / timeline time (aim: at most 2, so the
Clozup side stays small next to a provider's seconds).
"""

import time

from common import report, temporary_organization

from assist.selectors import build_prompt
from clozup.tenancy import org_context
from crm.models import Activity, Lead
from crm.selectors.records import list_timeline

ROUNDS = 10
PER_ROUND = 100
ACTIVITIES = 40
AT = chr(64)
BODY = (
    "Spoke with the buyer about the renewal; she asked us to copy "
    "procurement{n}{at}buyer.example and to call her back on +44 20 7946 {n:04d} "
    "before the budget meeting. Pricing for 40 seats agreed in principle, "
    "legal review pending, next step a short call with their IT lead."
)


def timed(callable_, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        callable_()
    return time.perf_counter() - started


def main() -> None:
    with temporary_organization() as organization:
        with org_context(organization):
            lead = Lead.objects.create(
                organization=organization,
                first_name="Bench",
                last_name="Buyer",
                email=f"bench{AT}buyer.example",
                phone="+44 20 7946 0000",
            )
            Activity.objects.bulk_create(
                Activity(
                    organization=organization,
                    lead=lead,
                    kind="call",
                    subject=f"Call {n}",
                    body=BODY.format(n=n, at=AT),
                )
                for n in range(ACTIVITIES)
            )

            def read_timeline():
                list_timeline(Lead.objects.get(pk=lead.pk), limit=ACTIVITIES)

            def prompt():
                build_prompt(Lead.objects.get(pk=lead.pk), "summary")

            timed(prompt, 20)  # warm up
            seconds = {"timeline": 0.0, "prompt": 0.0}
            for _ in range(ROUNDS):
                seconds["timeline"] += timed(read_timeline, PER_ROUND)
                seconds["prompt"] += timed(prompt, PER_ROUND)

    total = ROUNDS * PER_ROUND
    report(
        f"AI prompt building, lead with {ACTIVITIES} activities, {total} each",
        [
            ("read timeline", f"{total / seconds['timeline']:.0f}/s"),
            ("build masked prompt", f"{total / seconds['prompt']:.0f}/s"),
            (
                "prompt / timeline time",
                f"{seconds['prompt'] / seconds['timeline']:.2f}",
            ),
        ],
    )


if __name__ == "__main__":
    main()
