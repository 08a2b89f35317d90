"""The one-way name of an email address or phone number inside an organization.

The consent ledger and the suppression list hold `address_hash(org, address)`,
never the address: HMAC-SHA256 of the normalised address keyed by the
organization's own random salt. The same address hashes differently in two
organizations, so the ledgers cannot be joined across them; and without the
salt a list of hashes cannot be checked against a list of known addresses.
"""

import hashlib
import hmac
import re

from clozup.models import Organization

NON_DIALLABLE = re.compile(r"[^\d+]")


class InvalidAddress(ValueError):
    pass


def normalize_address(address: str) -> str:
    """Lower-case an email address; reduce a phone number to + and digits.

    Plus-addressing and dots are kept: they may reach different people.
    """
    value = (address or "").strip()
    if not value:
        raise InvalidAddress("address: empty")
    if "@" in value:
        return value.lower()
    phone = NON_DIALLABLE.sub("", value)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if "+" in phone[1:] or not any(char.isdigit() for char in phone):
        raise InvalidAddress("address: neither an email address nor a phone number")
    return phone


def address_hash(organization: Organization, address: str) -> str:
    """The hex HMAC-SHA256 of the normalised address under the org's salt."""
    if not organization.address_salt:
        raise InvalidAddress("organization: it has no address salt")
    key = bytes.fromhex(organization.address_salt)
    message = normalize_address(address).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
