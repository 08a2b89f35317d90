"""How much auditing costs a record update.

The same 10,000 lead updates, each in its own transaction as a request would
make it, once with an audit event recorded beside the update and once
without, interleaved in rounds so that machine noise hits both alike. Prints
both rates and audited / unaudited (aim: at least 0.7).
"""

import time

from common import report, temporary_organization

from audit import services as audit
from audit.actions import Action
from clozup.tenancy import org_context
from crm.models import Lead

UPDATES = 10_000
ROUNDS = 10
LEADS = 200


def run(organization, lead_ids, count, *, audited: bool) -> float:
    started = time.perf_counter()
    for index in range(count):
        lead_id = lead_ids[index % len(lead_ids)]
        with org_context(organization):
            Lead.objects.filter(pk=lead_id).update(score=index % 100)
            if audited:
                audit.record_event(
                    Action.RECORD_UPDATED,
                    organization=organization,
                    target=("crm.lead", lead_id),
                    metadata={"fields": ["score"]},
                )
    return time.perf_counter() - started


def main() -> None:
    with temporary_organization() as organization:
        with org_context(organization):
            leads = Lead.objects.bulk_create(
                Lead(organization=organization, first_name=f"Bench {n}")
                for n in range(LEADS)
            )
        lead_ids = [lead.pk for lead in leads]
        run(organization, lead_ids, 200, audited=True)  # warm up

        per_round = UPDATES // ROUNDS
        seconds = {True: 0.0, False: 0.0}
        for round_number in range(ROUNDS):
            order = (True, False) if round_number % 2 else (False, True)
            for audited in order:
                seconds[audited] += run(
                    organization, lead_ids, per_round, audited=audited
                )

    audited_rate = UPDATES / seconds[True]
    plain_rate = UPDATES / seconds[False]
    report(
        f"audit overhead: {UPDATES} lead updates, one transaction each",
        [
            ("unaudited", f"{plain_rate:,.0f} updates/s"),
            ("audited", f"{audited_rate:,.0f} updates/s"),
            (
                "ratio audited / unaudited",
                f"{audited_rate / plain_rate:.2f} (aim >= 0.70)",
            ),
        ],
    )


if __name__ == "__main__":
    main()
