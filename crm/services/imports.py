"""Importing CSV files into an organization: one transaction, bulk SQL only.

`import_files` reads each file, cleans every row (crm.importing.rows), stages
the clean rows with COPY and writes them set-based (crm.importing.loading).
Files are loaded companies first, deals last, so a pipeline export can point
at the accounts and products uploaded beside it. By default one rejected row
means nothing is written; `allow_partial` writes the rest. A dry run always
rolls back. The import job used by the upload page wraps the same function.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import transaction

from clozup.models import Membership, Organization, User
from clozup.tenancy import org_context
from crm.importing import layouts
from crm.importing.layouts import Kind, Layout
from crm.importing.loading import Loader
from crm.importing.rows import Directory, RowCleaner, open_table, product_key
from crm.models import Product, SalesAgent, Stage

logger = logging.getLogger(__name__)

Progress = Callable[[str, int], None]


@dataclass
class ImportSource:
    """A file to import: the name the user knows it by and how to open it."""

    name: str
    open: Callable[[], BinaryIO]
    layout: Layout | None = None


@dataclass
class ImportReport:
    files: list[dict] = field(default_factory=list)
    rejections: list[dict] = field(default_factory=list)
    rejected_count: int = 0
    warnings: list[dict] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    committed: bool = False
    dry_run: bool = False

    @property
    def rows_read(self) -> int:
        return sum(f["rows"] for f in self.files)

    def totals(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for entry in self.files:
            for name in ("created", "updated", "unchanged"):
                total[name] = total.get(name, 0) + entry["counts"].get(name, 0)
        return total

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "rejections": self.rejections,
            "rejected_count": self.rejected_count,
            "warnings": self.warnings,
            "decisions": self.decisions,
            "committed": self.committed,
            "dry_run": self.dry_run,
        }


class ImportRejected(Exception):
    """Raised inside the transaction to undo an all-or-nothing run."""


def inspect_file(stream: BinaryIO, *, filename: str) -> tuple[list[str], Layout]:
    """The header of a CSV file and the layout it most likely has."""
    table = open_table(stream, filename=filename)
    table.release()
    headers = [h for h in table.headers if h]
    return headers, layouts.detect(headers, filename=filename)


def build_directory() -> Directory:
    """Members, roster sellers, stages and products of the current organization."""
    directory = Directory()
    members = Membership.objects.values_list(
        "user_id", "user__full_name", "user__email"
    )
    for user_id, full_name, email in members:
        directory.owners[email.lower()] = user_id
        if full_name:
            directory.owners.setdefault(full_name.lower(), user_id)
    agents = SalesAgent.objects.filter(user__isnull=False)
    for name, user_id in agents.values_list("name", "user_id"):
        directory.owners.setdefault(name.lower(), user_id)

    for stage in Stage.objects.all():
        directory.stages[stage.name.lower()] = stage.pk
        directory.stage_closed[stage.pk] = stage.is_closed
        if stage.is_won:
            directory.stages.setdefault("won", stage.pk)
        if stage.is_lost:
            directory.stages.setdefault("lost", stage.pk)
    _refresh_products(directory)
    return directory


def _refresh_products(directory: Directory) -> None:
    directory.products.clear()
    loose: dict[str, list[int]] = {}
    for pk, name in Product.objects.values_list("pk", "name"):
        directory.products[name.lower()] = pk
        directory.product_names[pk] = name
        loose.setdefault(product_key(name), []).append(pk)
    # A spelling-insensitive key counts only when it points at one product.
    for key, pks in loose.items():
        if len(pks) == 1:
            directory.products[key] = pks[0]


def import_files(
    organization: Organization | int,
    sources: list[ImportSource],
    *,
    actor: User | None = None,
    allow_partial: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the files into the organization and report what happened.

    Opens its own organization context. Nothing is written when any row is
    rejected, unless `allow_partial`; a dry run writes nothing either way.
    """
    report = ImportReport(dry_run=dry_run)
    organization_id = getattr(organization, "pk", organization)
    for source in sources:
        if source.layout is None:
            with source.open() as stream:
                _, source.layout = inspect_file(stream, filename=source.name)
    ordered = sorted(sources, key=lambda s: layouts.LOAD_ORDER.index(s.layout.kind))
    logger.info("import started", extra={"files": len(ordered)})

    try:
        with org_context(organization_id):
            directory = build_directory()
            for source in ordered:
                _import_one(organization_id, source, directory, report, progress)
            stop = dry_run or (report.rejected_count and not allow_partial)
            if stop:
                raise ImportRejected
            report.committed = True
    except ImportRejected:
        report.committed = False

    logger.info(
        "import finished",
        extra={
            "rows": report.rows_read,
            "rejected": report.rejected_count,
            "committed": report.committed,
        },
    )
    return report


def _import_one(organization_id, source, directory, report, progress) -> None:
    layout = source.layout
    if layout.kind is Kind.DEALS:
        _refresh_products(directory)
    cleaner = RowCleaner(layout, directory, filename=source.name)
    with source.open() as stream:
        table = open_table(stream, filename=source.name)

        def tick(rows):
            if progress:
                progress(source.name, rows)

        cleaned = cleaner.clean(table, tick)
        table.release()

    loader = Loader(organization_id, filename=source.name)
    with transaction.atomic():
        counts = loader.load(layout.kind, cleaned.records)
    if progress:
        progress(source.name, cleaned.rows_read)

    rejections = [r.as_dict() for r in cleaned.rejections + loader.rejections]
    rejected = cleaned.rejected_count + len(loader.rejections)
    report.rejections.extend(rejections[: max(0, 1000 - len(report.rejections))])
    report.rejected_count += rejected
    report.warnings += [
        {"file": source.name, "message": m, "rows": n}
        for m, n in cleaned.warnings.items()
    ]
    report.decisions += [
        {"file": source.name, "message": m, "rows": n}
        for m, n in cleaned.decisions.items()
    ]
    report.files.append(
        {
            "name": source.name,
            "kind": layout.kind.value,
            "layout": layout.name or "columns matched by name",
            "rows": cleaned.rows_read,
            "rejected": rejected,
            "unmapped": layout.unmapped,
            "counts": counts.as_dict(),
        }
    )
