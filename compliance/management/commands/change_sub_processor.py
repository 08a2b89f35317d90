from django.core.management.base import CommandError

from audit.actions import Action
from clozup.lib.commands import InstanceSupportCommand
from compliance.models import SubProcessor
from compliance.services import transparency


class Command(InstanceSupportCommand):
    help = (
        "Add, change or remove a sub-processor on the public list "
        "(/subprocessors/). Writes a change log entry and emails the admins of "
        "every organization that asked for notices. Run it only once the legal "
        "review of the change is done: the notice goes out at once. Each "
        "organization's audit log records the run."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("name", help="The company, as the list shows it.")
        parser.add_argument("--purpose", default="")
        parser.add_argument("--data", default="", help="Personal data it handles.")
        parser.add_argument("--location", default="")
        parser.add_argument("--website", default="")
        parser.add_argument(
            "--summary", required=True, help="One public sentence on the change."
        )
        parser.add_argument(
            "--remove", action="store_true", help="Take it off the list."
        )

    def handle_instance(self, *, reason, name, summary, remove, **options):
        if remove:
            try:
                change = transparency.remove_sub_processor(name, summary=summary)
            except transparency.UnknownSubProcessor as error:
                raise CommandError(str(error)) from None
        else:
            current = SubProcessor.objects.filter(name=name).first()
            fields = {
                "purpose": options["purpose"] or getattr(current, "purpose", ""),
                "data_processed": options["data"]
                or getattr(current, "data_processed", ""),
                "location": options["location"] or getattr(current, "location", ""),
                "website": options["website"] or getattr(current, "website", ""),
            }
            missing = [
                f for f in ("purpose", "data_processed", "location") if not fields[f]
            ]
            if missing:
                names = ", ".join(
                    "--data" if f == "data_processed" else f"--{f}" for f in missing
                )
                raise CommandError(f"{names}: required for a new sub-processor")
            change = transparency.save_sub_processor(
                name=name, summary=summary, **fields
            )
        self.record_everywhere(
            Action.SUPPORT_COMMAND_RUN,
            reason=reason,
            metadata={"change_id": change.pk, "kind": change.kind},
        )
        self.stdout.write(
            f"sub-processor {name}: {change.kind}; notices will go to the"
            " organizations that asked for them"
        )
