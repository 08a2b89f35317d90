from django.apps import AppConfig


class SigninConfig(AppConfig):
    """Sign-in and sessions: allauth and axes wired to organizations' rules."""

    name = "clozup.signin"
    label = "signin"
    verbose_name = "Sign-in and security"

    def ready(self):
        from clozup.signin import checks, receivers  # noqa: F401  (registration)
