from django.core.management.base import CommandError

from audit import services as audit
from clozup.lib.commands import SupportCommand
from clozup.tenancy import org_context
from compliance.models import DataSubjectRequest
from compliance.services import erasure


class Command(SupportCommand):
    help = (
        "Erase one person from the organization for good: their leads and contacts"
        " with activities and files, activities quoting their address, exports"
        " made about them, and the address on their requests; their address goes"
        " on the suppression list (as a hash). Deals they were linked to stay,"
        " unlinked. For an erasure request the organization's admin cannot serve"
        " from the Admin Panel. Prints the receipt; --dry-run prints counts only."
    )
    # The purge commits batch by batch, so a crash can be resumed by a rerun.
    atomic = False

    def add_command_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The person's address.")
        parser.add_argument("--phone", default="", help="Their phone number, too.")
        parser.add_argument(
            "--request", type=int, metavar="ID", help="The request this serves."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; erase nothing."
        )

    def handle_organization(
        self, organization, *, reason, email, phone, request, dry_run, **options
    ):
        dsr = None
        with org_context(organization):
            if request is not None:
                dsr = DataSubjectRequest.objects.filter(pk=request).first()
                if dsr is None:
                    raise CommandError(f"--request: no request {request} here")
            plan = erasure.plan_subject_erasure(organization, email=email, phone=phone)
        counts = ", ".join(f"{name} {n}" for name, n in plan.as_dict().items())
        if dry_run:
            self.stdout.write(f"dry run: would erase {counts}")
            return
        try:
            receipt = erasure.erase_subject(
                organization,
                email=email,
                phone=phone,
                actor=audit.operator_label(),
                reason=reason,
                dsr=dsr,
            )
        except erasure.NothingToErase:
            raise CommandError(
                "--email: nothing in this organization holds it"
            ) from None
        rows = ", ".join(f"{table} {n}" for table, n in receipt.rows.items())
        files = ", ".join(f"{where} {n}" for where, n in receipt.files.items())
        self.stdout.write(
            f"erased (receipt {receipt.pk}): {counts} -> 0; rows {rows or 'none'};"
            f" files {files or 'none'}"
        )
