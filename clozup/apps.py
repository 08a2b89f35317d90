from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _grant_app_role(sender, using, **kwargs):
    from clozup.tenancy import grant_app_role

    grant_app_role(using=using)


class ClozupConfig(AppConfig):
    name = "clozup"
    verbose_name = "Accounts and organizations"

    def ready(self):
        # Grants follow the schema: after every migrate, whatever it created.
        post_migrate.connect(_grant_app_role, sender=self)
