from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


def _grant_app_role(sender, using, **kwargs):
    from clozup.tenancy import grant_app_role

    grant_app_role(using=using)


class ClozupConfig(AppConfig):
    name = "clozup"
    verbose_name = "Accounts and organizations"

    def ready(self):
        from clozup import checks  # noqa: F401  (registers the system checks)

        # Grants follow the schema: after every migrate, whatever it created.
        post_migrate.connect(_grant_app_role, sender=self)


class ClozupAdminConfig(AdminConfig):
    """The Admin Panel replaces Django's default admin site."""

    default_site = "clozup.admin_site.ClozupAdminSite"

    def ready(self):
        super().ready()
        # Global tables (groups, every user's email addresses, authenticators,
        # sessions and social accounts) would show one organization's admins
        # the people of all the others.
        from allauth.account.models import EmailAddress
        from allauth.mfa.models import Authenticator
        from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
        from allauth.usersessions.models import UserSession
        from django.contrib import admin
        from django.contrib.auth.models import Group

        global_models = (
            Group,
            EmailAddress,
            Authenticator,
            SocialAccount,
            SocialApp,
            SocialToken,
            UserSession,
        )
        for model in global_models:
            if admin.site.is_registered(model):
                admin.site.unregister(model)
