from django.core.management.base import CommandError

from audit import services as audit
from clozup import services as clozup_services
from clozup.lib.commands import SupportCommand


class Command(SupportCommand):
    help = (
        "Reactivate a cancelled organization on its owner's request, before its "
        "grace period ends (refused after: the purge is due). Its data becomes "
        "writable again and no purge or notice follows. Audited with the "
        "operator's OS account name."
    )

    def handle_organization(self, organization, *, reason, **options):
        try:
            clozup_services.reactivate_organization(
                organization, actor=audit.operator_label()
            )
        except (
            clozup_services.OrganizationNotCancelled,
            clozup_services.GracePeriodOver,
        ) as error:
            raise CommandError(f"--org: {error}") from None
        self.stdout.write(f"{organization.slug}: cancelled -> active; writable again")
