from django.core.management.base import BaseCommand, CommandError

from audit import services as audit
from crm.services import demo


class Command(BaseCommand):
    help = (
        "Create the demo organization (slug 'demo') with an owner, an admin and two"
        " reps, and import the sample data shipped in crm/demo_data/. Prints each"
        " person's sign-in details. With --if-missing an existing demo is left"
        " as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when the demo organization exists already",
        )

    def handle(self, *args, if_missing, **options):
        if demo.demo_exists():
            message = f"The demo organization '{demo.DEMO_SLUG}' exists already."
            if if_missing:
                self.stdout.write(message)
                return
            raise CommandError(message + " Pass --if-missing to accept it.")

        created = demo.create_demo_organization(actor=audit.operator_label())

        totals = created.report.totals()
        self.stdout.write(
            f"Created '{created.organization.name}' ({demo.DEMO_SLUG}):"
            f" {totals.get('created', 0)} records imported."
        )
        self.stdout.write("Sign in at /accounts/login/ as:")
        for person in created.people:
            password = person.password or "(existing account: password unchanged)"
            self.stdout.write(f"  {person.role:<6} {person.email}  {password}")
