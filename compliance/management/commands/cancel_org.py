from django.core.management.base import CommandError

from audit import services as audit
from clozup import services as clozup_services
from clozup.lib.commands import SupportCommand
from compliance.services.lifecycle import purge_due_at


class Command(SupportCommand):
    help = (
        "Cancel the organization on its owner's written request, when the owner "
        "cannot do it in the Admin Panel. It becomes read-only at once (members "
        "can still read and export), its admins are emailed 7 days and 1 day "
        "before the purge, and every row and file of it is purged when the grace "
        "period (90 days, or the Enterprise terms) is over. reactivate_org undoes "
        "it until then. Audited with the operator's OS account name."
    )

    def handle_organization(self, organization, *, reason, **options):
        try:
            clozup_services.cancel_organization(
                organization, actor=audit.operator_label()
            )
        except clozup_services.OrganizationAlreadyCancelled as error:
            raise CommandError(f"--org: {error}") from None
        due = purge_due_at(organization)
        self.stdout.write(
            f"{organization.slug}: active -> cancelled; read-only now, purge due"
            f" {due:%Y-%m-%d %H:%M} UTC"
        )
