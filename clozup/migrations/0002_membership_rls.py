from django.db import migrations

from clozup.lib.rls import CURRENT_USER, EnableOrganizationRLS


class Migration(migrations.Migration):
    dependencies = [("clozup", "0001_initial")]

    operations = [
        # A member's own memberships stay readable in user_context, so a request
        # can list the organizations to choose from; writes need the org context.
        EnableOrganizationRLS(
            "clozup_membership", also_visible_when=f"user_id = {CURRENT_USER}"
        ),
    ]
