"""Start-up checks for sign-in settings: a bad value names itself and the fix."""

import ipaddress

from django.conf import settings
from django.core.checks import Error, register

PROVIDERS = ("local", "clerk")
CLERK_REQUIRED = (
    "CLERK_ISSUER",
    "CLERK_JWKS_URL",
    "CLERK_AUTHORIZED_PARTIES",
    "CLERK_WEBHOOK_SECRET",
    "CLERK_SIGN_IN_URL",
)


@register()
def check_sign_in_settings(app_configs, **kwargs):
    errors = []
    if settings.AUTH_PROVIDER not in PROVIDERS:
        errors.append(
            Error(
                f"AUTH_PROVIDER is {settings.AUTH_PROVIDER!r}",
                hint="Set AUTH_PROVIDER to 'local' (django-allauth) or 'clerk'.",
                id="signin.E001",
            )
        )
    for proxy in settings.TRUSTED_PROXIES:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"TRUSTED_PROXIES: {proxy!r} is not an address or network",
                    hint="List proxies as addresses or CIDR networks, comma separated.",
                    id="signin.E002",
                )
            )
    if settings.AUTH_PROVIDER == "clerk":
        for name in CLERK_REQUIRED:
            if not getattr(settings, name):
                errors.append(
                    Error(
                        f"{name} is empty while AUTH_PROVIDER is clerk",
                        hint="See the README's configuration table for Clerk.",
                        id="signin.E003",
                    )
                )
    return errors
