from pathlib import Path

from django.core.management.base import CommandError

from audit import services as audit
from clozup.lib.commands import SupportCommand
from compliance.services import org_export


class Command(SupportCommand):
    help = (
        "Write the whole organization's data to a zip, one member per table (CSV,"
        " or JSON lines with --format json) and manifest.json with the row counts,"
        " streamed with memory flat. For a departing customer or their audit, when"
        " their admin cannot use the Admin Panel's export. Secrets (keys,"
        " credentials) are left out. Changes nothing; audited."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--out", required=True, metavar="FILE", help="Where to write the zip."
        )
        parser.add_argument("--format", choices=org_export.FORMATS, default="csv")

    def handle_organization(self, organization, *, reason, out, format, **options):
        target = Path(out)
        if not target.parent.is_dir():
            raise CommandError(f"--out: folder {target.parent} does not exist")
        if target.exists():
            raise CommandError(f"--out: {target} exists; choose a new file name")
        chunks = org_export.stream_organization_export(
            organization,
            export_format=format,
            actor=audit.operator_label(),
            reason=reason,
        )
        written = 0
        with target.open("xb") as stream:
            for chunk in chunks:
                stream.write(chunk)
                written += len(chunk)
        self.stdout.write(f"organization export written to {target}: {written} bytes")
