from django.db import migrations

from clozup.lib.rls import EnableOrganizationRLS, SameOrganizationForeignKey

MEMBER = {"references": "clozup_membership", "key": "user_id"}


def member_of_same_org(table, column):
    return SameOrganizationForeignKey(
        table, column, **MEMBER, on_delete=f"SET NULL ({column})"
    )


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_add_teams_agents_imports_deal_owner_name")]

    operations = [
        EnableOrganizationRLS("crm_salesteam"),
        EnableOrganizationRLS("crm_salesagent"),
        EnableOrganizationRLS("crm_importjob"),
        member_of_same_org("crm_salesteam", "manager_id"),
        SameOrganizationForeignKey("crm_salesagent", "team_id", "crm_salesteam"),
        member_of_same_org("crm_salesagent", "user_id"),
        member_of_same_org("crm_importjob", "created_by_id"),
    ]
