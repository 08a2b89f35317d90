from django.core.management.base import CommandError

from clozup.lib.commands import SupportCommand
from clozup.models import Organization
from compliance.services import retention as retention_services


class Command(SupportCommand):
    help = (
        "Apply the retention table now to one organization (--org) or to every "
        "organization, one at a time (--all): purge deleted records past their "
        "restore window, call recordings past their retention or deleted, and "
        "audit entries past the plan's period, files included; legal holds are "
        "respected. The nightly jobs do the same; run it when the retention_status "
        "command shows a rule falling behind, or to show a customer what would go "
        "(--dry-run prints counts per table and changes nothing). Audited in each "
        "organization's log with the operator's OS account name."
    )
    atomic = False

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--org", metavar="SLUG", help="The organization's slug.")
        target.add_argument(
            "--all", action="store_true", help="Every organization, one at a time."
        )
        parser.add_argument(
            "--reason",
            required=True,
            help="Why this is run (a ticket reference). Goes into the audit log:"
            " no personal data.",
        )
        self.add_command_arguments(parser)

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--rule",
            action="append",
            choices=retention_services.RULES,
            help="Only this rule (repeatable); every rule by default.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would be removed, per table; remove nothing.",
        )

    def handle(self, *args, org=None, all=False, reason, **options):
        if org:
            return super().handle(*args, org=org, reason=reason, **options)
        for organization in Organization.objects.order_by("pk"):
            super().handle(*args, org=organization.slug, reason=reason, **options)

    def handle_organization(self, organization, *, reason, rule, dry_run, **options):
        rules = rule or retention_services.RULES
        with retention_services.organization_sweep_lock(organization) as mine:
            if not mine:
                raise CommandError(
                    f"--org: a sweep of {organization.slug} is running elsewhere;"
                    " try again when it ends"
                )
            report = retention_services.sweep_organization(
                organization, rules=rules, dry_run=dry_run
            )

        if report.held:
            self.stdout.write(
                f"{organization.slug}: under a legal hold, nothing is purged"
            )
            return
        counts = report.counts()
        verb = "would remove" if dry_run else "removed"
        for table, count in sorted(counts.rows.items()):
            self.stdout.write(f"  {table}: {count} row(s) {verb}")
        for location, count in sorted(counts.files.items()):
            self.stdout.write(f"  {location} storage: {count} file(s) {verb}")
        for late in report.late:
            self.stderr.write(
                f"  rule {late.rule} is late: its oldest row waits since"
                f" {late.oldest:%Y-%m-%d}, deadline {late.deadline:%Y-%m-%d %H:%M} UTC"
            )
        prefix = "dry run: " if dry_run else ""
        self.stdout.write(
            f"{prefix}{organization.slug}: {counts.total_rows} row(s) and"
            f" {counts.total_files} file(s) {verb}"
        )
