from pathlib import Path

from django.core.management.base import CommandError

from audit import services as audit
from clozup.lib.commands import SupportCommand
from compliance.services import exports


class Command(SupportCommand):
    help = (
        "Write everything the organization holds about one person (found by email,"
        " and by phone with --phone) to a zip: subject.json, one CSV per record type"
        " and their files, decrypted. For a data-subject request the organization's"
        " admin cannot serve from the Admin Panel. The file is created with mode"
        " 0600 and holds personal data in clear: hand it over and delete it."
        " Changes nothing; audited with the operator's OS account name."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The person's address.")
        parser.add_argument("--phone", default="", help="Their phone number, too.")
        parser.add_argument(
            "--out", required=True, metavar="FILE", help="Where to write the zip."
        )

    def handle_organization(
        self, organization, *, reason, email, phone, out, **options
    ):
        target = Path(out)
        if not target.parent.is_dir():
            raise CommandError(f"--out: folder {target.parent} does not exist")
        if target.exists():
            raise CommandError(f"--out: {target} exists; choose a new file name")
        counts = exports.write_subject_export(
            organization,
            email=email,
            phone=phone,
            out=target,
            actor=audit.operator_label(),
        )
        summary = ", ".join(f"{name} {count}" for name, count in counts.items())
        self.stdout.write(f"export written to {target}: {summary}")
