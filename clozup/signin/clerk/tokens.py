"""Verify a Clerk session token locally, against the instance's JWKS."""

import functools
import logging

import jwt
from django.conf import settings

logger = logging.getLogger(__name__)

ALGORITHMS = ["RS256"]
JWKS_CACHE_SECONDS = 3600


class InvalidSessionToken(ValueError):
    """The token is forged, expired, from another issuer or another party."""


@functools.cache
def _jwks_client(url: str) -> jwt.PyJWKClient:
    # Keys are cached; an unknown key id makes the client fetch the set again,
    # so Clerk's key rotation needs no restart.
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=5)


def verify(token: str) -> dict:
    """The token's claims, once its signature, times, issuer and party check out.

    Expiry and not-before allow `CLERK_LEEWAY_SECONDS` of clock skew. The
    authorized party (`azp`), when the token names one, must be listed in
    `CLERK_AUTHORIZED_PARTIES`.
    """
    try:
        key = _jwks_client(settings.CLERK_JWKS_URL).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            issuer=settings.CLERK_ISSUER,
            leeway=settings.CLERK_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
        )
    except jwt.PyJWTError as error:
        raise InvalidSessionToken(type(error).__name__) from None

    party = claims.get("azp")
    if party is not None and party not in settings.CLERK_AUTHORIZED_PARTIES:
        raise InvalidSessionToken("UnauthorizedParty")
    return claims


def organization_id(claims: dict) -> str | None:
    """The active Clerk organization: `o.id` in v2 tokens, `org_id` in v1."""
    organization = claims.get("o")
    if isinstance(organization, dict) and organization.get("id"):
        return organization["id"]
    return claims.get("org_id")


def factor_ages(claims: dict) -> tuple[int | None, int | None]:
    """Minutes since the first and second factor were verified (None: never)."""
    ages = claims.get("fva")
    if not isinstance(ages, list) or len(ages) != 2:
        return None, None
    first, second = (age if isinstance(age, int) and age >= 0 else None for age in ages)
    return first, second
