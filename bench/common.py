"""Shared set-up for benchmarks: Django, a throwaway organization, reporting.

Benchmarks run against the database in DATABASE_URL (the app role), e.g.
`.venv/bin/python -m clozup.lib.localservices run -- .venv/bin/python bench/X.py`.
They print figures as ratios against a baseline measured in the same run,
because the machines are shared and noisy; absolute numbers are context only.
"""

import contextlib
import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clozup.settings")

import django

django.setup()

from audit import services as audit  # noqa: E402
from clozup.models import Organization  # noqa: E402
from clozup.services import create_organization  # noqa: E402
from clozup.tenancy import org_context  # noqa: E402


@contextlib.contextmanager
def temporary_organization(plan: str = "pro"):
    """An organization that exists for the benchmark and is removed after it."""
    slug = f"bench-{uuid.uuid4().hex[:10]}"
    created = create_organization(
        name=slug,
        slug=slug,
        plan=plan,
        owner_email=f"{slug}{chr(64)}bench.invalid",
    )
    organization = created.organization
    try:
        yield organization
    finally:
        with org_context(organization):
            audit.purge_organization_log(organization)
            Organization.objects.filter(pk=organization.pk).delete()
        created.owner.delete()


def report(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(title)
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")
