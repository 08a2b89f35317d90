from django.core.management.base import CommandError

from audit import services as audit
from clozup.lib.commands import SupportCommand
from clozup.signin import selectors, services


class Command(SupportCommand):
    help = (
        "Sign a member of the organization out of every session, on each "
        "session's next request (a lost laptop, a departing employee, a suspected "
        "takeover), when their organization's admin asks and cannot do it from "
        "the Admin Panel. The member signs in again as usual. Audited with the "
        "operator's OS account name."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The member's email.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count the member's listed sessions; end none.",
        )

    def handle_organization(self, organization, *, reason, email, dry_run, **options):
        membership = selectors.find_member_by_email(email)
        if membership is None:
            raise CommandError("--email: no member of this organization has it")
        listed = selectors.count_sessions(membership.user)

        if dry_run:
            self.stdout.write(f"dry run: {listed} listed sessions would end")
            return
        ended = services.force_sign_out(membership, actor=audit.operator_label())
        self.stdout.write(f"sessions: {ended} listed -> 0; every session ends now")
