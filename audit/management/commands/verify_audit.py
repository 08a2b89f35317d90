from django.core.management.base import CommandError

from audit import services
from clozup.lib.commands import SupportCommand


class Command(SupportCommand):
    help = (
        "Walk an organization's audit chain from its last retention checkpoint "
        "and report the first entry that does not verify (exit 1), or how many "
        "did (exit 0). Read-only; support may run it at any time."
    )
    reason_required = False

    def handle_organization(self, organization, *, reason, **options):
        result = services.verify_chain(organization)
        if not result.ok:
            raise CommandError(
                f"audit entry #{result.first_bad_seq} of {organization.slug} does not"
                f" verify: {result.reason} ({result.verified} entries before it did)"
            )
        self.stdout.write(
            f"{result.verified} audit entries of {organization.slug} verified"
        )
