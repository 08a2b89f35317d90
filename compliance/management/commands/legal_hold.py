from django.core.management.base import CommandError

from audit import services as audit
from clozup.lib.commands import SupportCommand
from compliance import selectors
from compliance.models import LegalHold
from compliance.services import retention as retention_services


class Command(SupportCommand):
    help = (
        "Place, release or list legal holds, on the request of the organization's "
        "owner or of Clozup's legal counsel. While a hold is active the purges it "
        "covers wait: the whole organization (its retention sweeps and, if "
        "cancelled, its full purge), a person (by email address; only its hash "
        "is stored) or one record (e.g. --record crm.lead:42). Placing and "
        "releasing are audited with the operator's OS account name."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("action", choices=["set", "clear", "list"])
        parser.add_argument(
            "--scope",
            choices=LegalHold.Scope.values,
            help="With set: what the hold covers.",
        )
        parser.add_argument("--email", default="", help="With --scope person.")
        parser.add_argument(
            "--record", default="", metavar="LABEL:ID", help="With --scope record."
        )
        parser.add_argument("--hold", type=int, help="With clear: the hold's id.")

    def handle_organization(
        self, organization, *, reason, action, scope, email, record, hold, **options
    ):
        if action == "list":
            return self._list(organization)
        if action == "clear":
            return self._clear(organization, hold)
        return self._set(organization, reason, scope, email, record)

    def _list(self, organization):
        holds = list(selectors.list_active_holds(organization))
        for item in holds:
            covers = item.record_type and f"{item.record_type}:{item.record_id}"
            self.stdout.write(
                f"  #{item.pk} {item.scope} {covers or ''} since"
                f" {item.placed_at:%Y-%m-%d} by {item.placed_by}: {item.reason}"
            )
        self.stdout.write(f"{organization.slug}: {len(holds)} active hold(s)")

    def _clear(self, organization, hold_id):
        if hold_id is None:
            raise CommandError("--hold: give the id of the hold to release")
        found = selectors.list_active_holds(organization).filter(pk=hold_id).first()
        if found is None:
            raise CommandError(f"--hold: no active hold #{hold_id} here")
        retention_services.release_legal_hold(found, actor=audit.operator_label())
        self.stdout.write(f"{organization.slug}: hold #{hold_id} active -> released")

    def _set(self, organization, reason, scope, email, record):
        if scope is None:
            raise CommandError("--scope: say what the hold covers")
        record_type, record_id = "", None
        if scope == LegalHold.Scope.RECORD:
            record_type, _, raw_id = record.partition(":")
            if not raw_id.isdigit():
                raise CommandError("--record: write it as LABEL:ID, e.g. crm.lead:42")
            record_id = int(raw_id)
        try:
            placed = retention_services.place_legal_hold(
                organization,
                scope=scope,
                reason=reason,
                email=email,
                record_type=record_type,
                record_id=record_id,
                actor=audit.operator_label(),
            )
        except retention_services.LegalHoldInvalid as error:
            raise CommandError(f"--{str(error).split(':')[0]}: {error}") from None
        self.stdout.write(f"{organization.slug}: hold #{placed.pk} ({scope}) placed")
