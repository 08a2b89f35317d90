from django.db import migrations

from clozup.lib.rls import EnableOrganizationRLS, SameOrganizationForeignKey

# Owners, authors and uploaders must be members of the same organization;
# when a membership ends, the pointer is cleared and the record stays.
MEMBER = {"references": "clozup_membership", "key": "user_id"}


def member_of_same_org(table, column):
    return SameOrganizationForeignKey(
        table, column, **MEMBER, on_delete=f"SET NULL ({column})"
    )


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial"), ("clozup", "0002_membership_rls")]

    operations = [
        EnableOrganizationRLS("crm_company"),
        EnableOrganizationRLS("crm_contact"),
        EnableOrganizationRLS("crm_lead"),
        EnableOrganizationRLS("crm_stage"),
        EnableOrganizationRLS("crm_product"),
        EnableOrganizationRLS("crm_deal"),
        EnableOrganizationRLS("crm_activity"),
        EnableOrganizationRLS("crm_attachment"),
        EnableOrganizationRLS("crm_callrecording"),
        EnableOrganizationRLS("crm_campaign"),
        SameOrganizationForeignKey("crm_company", "parent_id", "crm_company"),
        member_of_same_org("crm_company", "owner_id"),
        SameOrganizationForeignKey("crm_contact", "company_id", "crm_company"),
        member_of_same_org("crm_contact", "owner_id"),
        SameOrganizationForeignKey("crm_lead", "company_id", "crm_company"),
        SameOrganizationForeignKey("crm_lead", "contact_id", "crm_contact"),
        member_of_same_org("crm_lead", "owner_id"),
        SameOrganizationForeignKey("crm_deal", "stage_id", "crm_stage"),
        member_of_same_org("crm_deal", "owner_id"),
        SameOrganizationForeignKey("crm_deal", "company_id", "crm_company"),
        SameOrganizationForeignKey("crm_deal", "contact_id", "crm_contact"),
        SameOrganizationForeignKey("crm_deal", "lead_id", "crm_lead"),
        SameOrganizationForeignKey("crm_deal", "product_id", "crm_product"),
        SameOrganizationForeignKey("crm_activity", "lead_id", "crm_lead"),
        SameOrganizationForeignKey("crm_activity", "contact_id", "crm_contact"),
        SameOrganizationForeignKey("crm_activity", "deal_id", "crm_deal"),
        member_of_same_org("crm_activity", "author_id"),
        SameOrganizationForeignKey("crm_attachment", "lead_id", "crm_lead"),
        SameOrganizationForeignKey("crm_attachment", "contact_id", "crm_contact"),
        SameOrganizationForeignKey("crm_attachment", "deal_id", "crm_deal"),
        member_of_same_org("crm_attachment", "uploaded_by_id"),
        SameOrganizationForeignKey("crm_callrecording", "lead_id", "crm_lead"),
        SameOrganizationForeignKey("crm_callrecording", "contact_id", "crm_contact"),
        SameOrganizationForeignKey("crm_callrecording", "deal_id", "crm_deal"),
        member_of_same_org("crm_callrecording", "uploaded_by_id"),
        SameOrganizationForeignKey("crm_callrecording", "activity_id", "crm_activity"),
        member_of_same_org("crm_campaign", "created_by_id"),
    ]
