from django.core.management.base import CommandError

from audit import services as audit
from clozup.lib.commands import SupportCommand
from clozup.signin import selectors, services


class Command(SupportCommand):
    help = (
        "Lift the sign-in lockout of a member of the organization, so they may try "
        "their password again before the cool-off ends. Run it once the person "
        "has been verified by other means (a ticket from their organization's "
        "admin). Audited with the operator's OS account name."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The member's email.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say whether the member is locked out; change nothing.",
        )

    def handle_organization(self, organization, *, reason, email, dry_run, **options):
        membership = selectors.find_member_by_email(email)
        if membership is None:
            raise CommandError("--email: no member of this organization has it")
        locked = services.is_locked_out(membership.user.email)

        if dry_run:
            state = "locked out" if locked else "not locked out"
            self.stdout.write(f"dry run: the member is {state}; nothing changed")
            return
        lifted = services.lift_lockout(membership, actor=audit.operator_label())
        if lifted:
            self.stdout.write("lockout lifted: locked out -> may sign in")
        else:
            self.stdout.write("nothing to lift: the member was not locked out")
