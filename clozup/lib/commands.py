"""The base of every support staff command.

Support staff work on one organization at a time, always say why, and every
run is recorded in that organization's audit log with the operator's OS
account name before the command does anything.
"""

from django.core.management.base import BaseCommand, CommandError

from clozup.models import Organization
from clozup.tenancy import org_context


class SupportCommand(BaseCommand):
    """Subclasses define `handle_organization(organization, *, reason, **options)`
    and, for their own arguments, `add_command_arguments(parser)`."""

    # Whether the whole command runs in one org_context transaction. Long jobs
    # set False and enter the context per batch themselves.
    atomic = True
    reason_required = True

    def add_arguments(self, parser):
        parser.add_argument(
            "--org", required=True, metavar="SLUG", help="The organization's slug."
        )
        parser.add_argument(
            "--reason",
            required=self.reason_required,
            default="",
            help="Why this is run (a ticket reference). Goes into the audit log:"
            " no personal data.",
        )
        self.add_command_arguments(parser)

    def add_command_arguments(self, parser):
        """Arguments of the command itself."""

    def handle(self, *args, org, reason, **options):
        from audit import services as audit
        from audit.actions import Action

        organization = self.get_organization(org)
        reason = reason.strip()
        if self.reason_required and not reason:
            raise CommandError("--reason: say why this is run")

        given = {
            name: value
            for name, value in options.items()
            if name not in _DJANGO_OPTIONS and value not in (None, False, "", [])
        }
        with org_context(organization):
            audit.record_event(
                Action.SUPPORT_COMMAND_RUN,
                organization=organization,
                actor=audit.operator_label(),
                metadata={
                    "command": self.command_name,
                    "reason": reason,
                    "options": sorted(given),
                },
            )

        if not self.atomic:
            return self.handle_organization(organization, reason=reason, **options)
        with org_context(organization):
            return self.handle_organization(organization, reason=reason, **options)

    @property
    def command_name(self) -> str:
        return self.__module__.rsplit(".", 1)[-1]

    @staticmethod
    def get_organization(slug: str) -> Organization:
        try:
            return Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(f"--org: no organization with slug {slug!r}") from None


_DJANGO_OPTIONS = {
    "verbosity",
    "settings",
    "pythonpath",
    "traceback",
    "no_color",
    "force_color",
    "skip_checks",
}
