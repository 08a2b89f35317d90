import secrets

from django.db import migrations, models

import clozup.models


def give_each_organization_a_salt(apps, schema_editor):
    # A callable default is evaluated once for all existing rows; every
    # organization needs a salt of its own.
    Organization = apps.get_model("clozup", "Organization")
    alias = schema_editor.connection.alias
    pending = Organization.objects.using(alias).filter(address_salt__isnull=True)
    for organization in pending:
        organization.address_salt = secrets.token_hex(32)
        organization.save(using=alias, update_fields=["address_salt"])


class Migration(migrations.Migration):
    dependencies = [
        ("clozup", "0006_add_session_revocation_and_clerk_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="address_salt",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        # Reversing drops the column: the salts are not kept.
        migrations.RunPython(give_each_organization_a_salt, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="organization",
            name="address_salt",
            field=models.CharField(
                default=clozup.models.new_address_salt, editable=False, max_length=64
            ),
        ),
    ]
