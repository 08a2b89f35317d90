from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email, validate_slug

from audit.services import operator_label
from clozup import services
from clozup.models import Organization


class Command(BaseCommand):
    help = (
        "Create an organization with its owner (the account is created when the "
        "email is new) and its default pipeline; prints the owner's sign-in details."
        " Recorded in the new organization's audit log with the operator's name."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument(
            "--plan", choices=Organization.Plan.values, default=Organization.Plan.FREE
        )
        parser.add_argument("--owner-email", required=True)

    def handle(self, *args, name, slug, plan, owner_email, **options):
        try:
            validate_slug(slug)
        except ValidationError:
            raise CommandError(f"--slug: {slug!r} is not a valid slug") from None
        try:
            validate_email(owner_email)
        except ValidationError:
            raise CommandError(
                f"--owner-email: {owner_email!r} is not an email"
            ) from None

        try:
            created = services.create_organization(
                name=name,
                slug=slug,
                plan=plan,
                owner_email=owner_email,
                actor=operator_label(),
            )
        except services.OrganizationSlugTaken as error:
            raise CommandError(f"--{error}") from None

        self.stdout.write(f"organization {slug!r} created ({plan})")
        self.stdout.write(f"owner: {created.owner.email}")
        if created.initial_password:
            self.stdout.write(f"password: {created.initial_password}")
        else:
            self.stdout.write(
                "password: none given (the account already existed, or Clerk "
                "signs people in)"
            )
