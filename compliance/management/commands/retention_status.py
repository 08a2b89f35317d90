from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clozup import backups
from clozup.models import Organization
from clozup.tenancy import org_context
from compliance import retention, selectors


class Command(BaseCommand):
    help = (
        "Report, per organization and rule, the age of the oldest row or file "
        "waiting to be purged and how long until its deadline, plus the oldest "
        "backup. Reads only, prints ages and counts only (no personal data), so "
        "monitoring may run it as often as it likes: it exits with status 1 when "
        "any rule is past its alarm time, i.e. about to break its promise."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--org", metavar="SLUG", help="Only this organization (default: all)."
        )

    def handle(self, *args, org=None, **options):
        now = timezone.now()
        organizations = Organization.objects.order_by("pk")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"--org: no organization with slug {org!r}")

        late = 0
        for organization in organizations:
            with org_context(organization):
                waiting = selectors.list_waiting(organization, now=now)
                held = selectors.is_organization_held(organization)
            state = " (legal hold: purges paused)" if held else ""
            self.stdout.write(f"{organization.slug}{state}")
            for item in waiting:
                flag = "LATE" if item.is_late(now) else "ok"
                late += item.is_late(now)
                self.stdout.write(
                    f"  {item.rule}: oldest {item.age_days(now):.1f} days,"
                    f" deadline in {(item.deadline - now).total_seconds() / 86400:.1f}"
                    f" days [{flag}]"
                )

        late += self._backups(now)
        if late:
            raise CommandError(f"{late} retention rule(s) past their alarm time")

    def _backups(self, now) -> int:
        kept = retention.terms_for(Organization()).backups
        found = backups.list_backups()
        if not found:
            self.stdout.write("backups: none")
            return 0
        oldest = found[0].taken_at
        is_late = now >= oldest + kept + retention.LATE_AFTER_PERIOD
        self.stdout.write(
            f"backups: oldest {(now - oldest).total_seconds() / 86400:.1f} days,"
            f" kept {kept.days} days [{'LATE' if is_late else 'ok'}]"
        )
        return int(is_late)
