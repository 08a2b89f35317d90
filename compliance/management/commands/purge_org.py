from django.core.management.base import CommandError

from audit import services as audit
from clozup.lib.commands import SupportCommand
from compliance.services import purge
from compliance.services.organizations import (
    OrganizationStillActive,
    purge_organization,
)


class Command(SupportCommand):
    help = (
        "Remove every row and every stored file of a cancelled organization, its"
        " audit log and its data key included, then check that no organization"
        " table holds a row of it. Run when a cancelled customer's grace period"
        " ends or they ask for deletion. Refuses an active organization unless"
        " --force (which cancels it). The registry row (name, slug) stays,"
        " cancelled. --dry-run prints the row counts only."
    )
    atomic = False

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Purge even an active organization."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count rows; delete nothing."
        )

    def handle_organization(self, organization, *, reason, force, dry_run, **options):
        before = purge.count_organization_rows(organization.pk)
        if dry_run:
            self.stdout.write(
                f"dry run: would remove {sum(before.values())} rows"
                f" in {len(before)} tables, and every stored file"
            )
            return
        try:
            counts = purge_organization(
                organization, actor=audit.operator_label(), force=force
            )
        except OrganizationStillActive:
            raise CommandError(
                f"--org: {organization.slug} is active; cancel it or pass --force"
            ) from None
        after = purge.count_organization_rows(organization.pk)
        self.stdout.write(
            f"purged {organization.slug}: rows {sum(before.values())} ->"
            f" {sum(after.values())}, files removed {counts.total_files};"
            " every organization table checked empty"
        )
