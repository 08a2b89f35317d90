"""Clerk as the identity provider (AUTH_PROVIDER=clerk).

Clerk signs people in; Clozup verifies Clerk's session tokens on every
request (`tokens`, `middleware`), applies organizations' session and MFA
rules to them (`policy`), and keeps users, organizations and memberships in
step with Clerk's webhooks (`sync`). No password is stored by Clozup.
"""

from django.conf import settings


def is_enabled() -> bool:
    return settings.AUTH_PROVIDER == "clerk"
