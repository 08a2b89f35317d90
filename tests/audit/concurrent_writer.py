"""Run as a separate process by the concurrency test: append N audit events."""

import sys

import django

django.setup()

from audit import services as audit  # noqa: E402  after setup
from audit.actions import Action  # noqa: E402
from clozup.tenancy import org_context  # noqa: E402


def main(organization_id: int, count: int, writer: int) -> None:
    for index in range(count):
        # One transaction per event, as requests and tasks do.
        with org_context(organization_id):
            audit.record_event(
                Action.RECORD_UPDATED,
                organization=organization_id,
                metadata={"writer": writer, "index": index},
            )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
