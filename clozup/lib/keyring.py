"""The key ring: Clozup's master keys, read from the ENCRYPTION_KEYS setting.

Each entry is `ID:KEY`, the key being 32 random bytes in URL-safe base64, and
the list runs newest first. The newest key seals new values; every key on the
ring opens the values sealed with it, so a retired key stays on the ring until
`rotate_keys` has moved everything off it (see docs/operations.md).

What is sealed here is small: field values and the keys that wrap files. A
sealed value is the text `v1:ID:DATA`, where DATA is the base64 of a random
96-bit nonce followed by the AES-256-GCM ciphertext and tag. The caller's
context (for a field: table, column and row id) and the `v1:ID:` prefix are
the associated data, so a value moved to another row, column or key id no
longer opens.
"""

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

FORMAT = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class InvalidKeyRing(ValueError):
    """ENCRYPTION_KEYS cannot be used; the message names the entry, never a key."""


class DecryptionFailed(ValueError):
    """A sealed value did not open: unknown key, wrong context or tampering."""


@dataclass(frozen=True)
class Key:
    id: str
    secret: bytes

    def __repr__(self) -> str:
        return f"Key(id={self.id!r})"


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[Key, ...]

    @property
    def current(self) -> Key:
        return self.keys[0]

    @property
    def ids(self) -> list[str]:
        return [key.id for key in self.keys]

    def get(self, key_id: str) -> Key:
        for key in self.keys:
            if key.id == key_id:
                return key
        raise DecryptionFailed(f"key id {key_id!r} is not on the key ring")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_key_ring(entries: list[str] | tuple[str, ...]) -> KeyRing:
    """Build a key ring from `ID:KEY` entries, newest first."""
    keys = []
    for position, entry in enumerate(entries, start=1):
        key_id, separator, encoded = entry.strip().partition(":")
        if not separator or not KEY_ID.match(key_id):
            raise InvalidKeyRing(
                f"ENCRYPTION_KEYS entry {position}: expected ID:KEY with an id of"
                " 1-16 letters, digits, '-' or '_'"
            )
        try:
            secret = _b64decode(encoded)
        except (binascii.Error, ValueError):
            secret = b""
        if len(secret) != KEY_BYTES:
            raise InvalidKeyRing(
                f"ENCRYPTION_KEYS entry {position} ({key_id}): the key must be"
                f" {KEY_BYTES} bytes in URL-safe base64"
            )
        if key_id in (key.id for key in keys):
            raise InvalidKeyRing(f"ENCRYPTION_KEYS: key id {key_id!r} appears twice")
        keys.append(Key(key_id, secret))
    if not keys:
        raise InvalidKeyRing("ENCRYPTION_KEYS is empty: at least one key is needed")
    return KeyRing(tuple(keys))


@lru_cache(maxsize=4)
def _cached_ring(entries: tuple[str, ...]) -> KeyRing:
    return parse_key_ring(entries)


def get_key_ring() -> KeyRing:
    return _cached_ring(tuple(settings.ENCRYPTION_KEYS))


def generate_key_entry(key_id: str) -> str:
    """A new `ID:KEY` entry for ENCRYPTION_KEYS."""
    if not KEY_ID.match(key_id):
        raise InvalidKeyRing(f"key id {key_id!r}: use 1-16 letters, digits, - or _")
    return f"{key_id}:{_b64encode(os.urandom(KEY_BYTES))}"


def key_id_of(token: str) -> str:
    """The id of the key that sealed this value."""
    version, key_id, _ = _split(token)
    return key_id


def token_prefix(key_id: str) -> str:
    """The text every value sealed by this key starts with."""
    return f"{FORMAT}:{key_id}:"


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(":", 2)
    if len(parts) != 3 or parts[0] != FORMAT:
        raise DecryptionFailed("not a sealed value of format v1")
    return parts[0], parts[1], parts[2]


def seal(plaintext: bytes, *, context: bytes, ring: KeyRing | None = None) -> str:
    """Encrypt with the newest key; only the same context opens the result."""
    key = (ring or get_key_ring()).current
    prefix = token_prefix(key.id)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key.secret).encrypt(nonce, plaintext, prefix.encode() + context)
    return prefix + _b64encode(nonce + sealed)


def unseal(token: str, *, context: bytes, ring: KeyRing | None = None) -> bytes:
    """Decrypt a sealed value; DecryptionFailed when it does not authenticate."""
    _, key_id, data = _split(token)
    key = (ring or get_key_ring()).get(key_id)
    try:
        raw = _b64decode(data)
    except (binascii.Error, ValueError):
        raise DecryptionFailed("the sealed value is not valid base64") from None
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    try:
        return AESGCM(key.secret).decrypt(
            nonce, sealed, token_prefix(key_id).encode() + context
        )
    except InvalidTag:
        raise DecryptionFailed(
            f"the value sealed with key {key_id!r} does not authenticate here:"
            " it was altered, or belongs to another row, column or key"
        ) from None
