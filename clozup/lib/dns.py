"""DNS lookups Clozup makes itself (SSO domain verification)."""

import dns.exception
import dns.resolver

TIMEOUT_SECONDS = 5


def txt_values(name: str) -> set[str]:
    """The TXT strings published at `name`; empty when there are none."""
    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=TIMEOUT_SECONDS)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.exception.Timeout):
        return set()
    except dns.resolver.NoNameservers:
        return set()
    return {b"".join(record.strings).decode("utf-8", "replace") for record in answer}
