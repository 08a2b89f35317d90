"""Start-up checks for the default AI provider (AI_BASE_URL and friends)."""

from django.conf import settings
from django.core import checks

from assist.provider import InsecureProviderURL, check_base_url


@checks.register(checks.Tags.security)
def check_default_provider(app_configs, **kwargs):
    if not settings.AI_BASE_URL:
        return []
    try:
        check_base_url(settings.AI_BASE_URL)
    except InsecureProviderURL:
        return [
            checks.Error(
                "AI_BASE_URL must be an https:// URL.",
                hint="Use the provider's https endpoint; plain http is accepted "
                "only to a loopback address with DEBUG on.",
                id="assist.E001",
            )
        ]
    missing = [
        name for name in ("AI_MODEL", "AI_API_KEY") if not getattr(settings, name)
    ]
    if missing:
        return [
            checks.Error(
                f"AI_BASE_URL is set but {' and '.join(missing)} is not.",
                hint="Set the model name and API key of the default AI provider, "
                "or unset AI_BASE_URL.",
                id="assist.E002",
            )
        ]
    return []
