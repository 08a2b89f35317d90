from pathlib import Path

from django.core.management.base import CommandError

from audit import services as audit
from clozup.lib.commands import SupportCommand
from crm.importing import layouts
from crm.importing.rows import UnreadableFile
from crm.services import imports

SHOWN_REJECTIONS = 50


class Command(SupportCommand):
    help = (
        "Import CSV files (companies, products, sales teams, contacts, leads, deals)"
        " into one organization. The layout of each file is recognised from its"
        " header. Nothing is written when any row is rejected, unless --partial."
        " Importing the same files again changes nothing. Support may run it on"
        " the organization's request; --reason is recorded when given."
    )
    # The import opens its own transaction; the audit entry of the run comes first.
    atomic = False
    reason_required = False

    def add_command_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
        parser.add_argument(
            "--partial",
            action="store_true",
            help="write the valid rows even when some are rejected",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count, write nothing"
        )
        parser.add_argument(
            "--kind",
            choices=[k.value for k in layouts.Kind],
            help="the kind of records in the files, when the header does not say",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="send a column to a field (or 'ignore', or 'details' for leads)",
        )

    def handle_organization(
        self, organization, *, reason, files, partial, dry_run, kind, map, **options
    ):
        overrides = self._overrides(map)
        names = imports.distinct_names([path.name for path in files])
        sources = [
            self._source(path, name, kind, overrides)
            for path, name in zip(files, names, strict=True)
        ]

        report = imports.import_files(
            organization,
            sources,
            actor=audit.operator_label(),
            allow_partial=partial,
            dry_run=dry_run,
        )

        self._print(report)
        if report.unreadable:
            raise CommandError(f"nothing imported: {report.unreadable}")
        if report.rejected_count and not partial:
            raise CommandError(
                f"nothing imported: {report.rejected_count} rows rejected"
                " (fix them, or pass --partial to import the others)"
            )

    def _overrides(self, pairs: list[str]) -> dict[str, str]:
        overrides = {}
        for pair in pairs:
            column, sep, target = pair.partition("=")
            if not sep or not column.strip() or not target.strip():
                raise CommandError(f"--map: expected COLUMN=FIELD, got {pair!r}")
            overrides[layouts.normalise(column)] = target.strip()
        return overrides

    def _source(self, path: Path, name: str, kind, overrides) -> imports.ImportSource:
        if not path.is_file():
            raise CommandError(f"FILE: {path} is not a readable file")
        with path.open("rb") as stream:
            try:
                headers, layout = imports.inspect_file(stream, filename=name)
            except UnreadableFile as error:
                raise CommandError(f"FILE: {error}") from None
        if kind or overrides:
            chosen = layouts.Kind(kind) if kind else layout.kind
            allowed = {name for name, _ in layouts.choices_for(chosen)}
            for target in overrides.values():
                if target not in allowed:
                    raise CommandError(
                        f"--map: {target!r} is not a field of {chosen.value}"
                    )
            layout = layouts.map_columns(chosen, headers, overrides)
        return imports.ImportSource(
            name=name, open=lambda: path.open("rb"), layout=layout
        )

    def _print(self, report: imports.ImportReport) -> None:
        out = self.stdout
        # Counts of a run that wrote nothing say what it would have done.
        would = "" if report.committed else "would be "
        for entry in report.files:
            counts = entry["counts"]
            out.write(
                f"{entry['name']}: {entry['kind']} ({entry['layout']}), "
                f"{entry['rows']} rows: {counts['created']} {would}created, "
                f"{counts['updated']} {would}updated, "
                f"{counts['unchanged']} unchanged, {entry['rejected']} rejected"
            )
            if entry["unmapped"]:
                out.write(f"  columns not mapped: {', '.join(entry['unmapped'])}")
        for item in report.decisions:
            out.write(
                f"decision: {item['file']}: {item['message']} ({item['rows']} rows)"
            )
        for item in report.warnings:
            out.write(
                f"warning: {item['file']}: {item['message']} ({item['rows']} rows)"
            )
        for rejection in report.rejections[:SHOWN_REJECTIONS]:
            column = f" {rejection['column']}:" if rejection["column"] else ""
            out.write(
                f"rejected: {rejection['file']} line {rejection['line']}:{column}"
                f" {rejection['reason']}"
            )
        if report.rejected_count > SHOWN_REJECTIONS:
            out.write(
                f"… and {report.rejected_count - SHOWN_REJECTIONS} more rejected rows"
            )
        if report.dry_run:
            out.write("Dry run: nothing was written.")
        elif report.committed:
            totals = report.totals()
            out.write(
                f"Imported: {totals.get('created', 0)} created,"
                f" {totals.get('updated', 0)} updated,"
                f" {totals.get('unchanged', 0)} unchanged."
            )
