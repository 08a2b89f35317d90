"""Signatures of outgoing webhooks, and how a receiver checks them.

The header is `Clozup-Signature: t=<unix time>,v1=<hex>`, where the hex is
the HMAC-SHA256 of `<t>.<raw body>` under the endpoint's signing secret.
Binding the time stops a captured request from being replayed later: a
receiver refuses a signature older than a few minutes.
"""

import hashlib
import hmac

HEADER = "Clozup-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def is_valid_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether a received header signs this body, recently enough."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, f"t={timestamp},v1={fields.get('v1', '')}")
