"""The encrypted file format: AES-256-GCM in chunks, streamed both ways.

A file is a fixed 84-byte header followed by chunks::

    header  "CLZF" | version 1 | key kind | 2 zero bytes | key ref (16 bytes)
            | wrap nonce (12) | file key sealed by the wrapping key (32 + 16)
    chunks  256 KiB of plaintext each (the last one 0 to 256 KiB), + 16-byte tag

Every file has a random 256-bit key of its own, sealed ("wrapped") by an
organization's data key or a key-ring key; the header names which (`key
kind` and `key ref`), and its first 24 bytes plus the caller's binding (the
organization and file name, say) are the associated data of the wrap. Chunk
`i` uses the nonce `i` (11 bytes, big-endian) followed by 1 on the last chunk
and 0 on the others, so a reordered, dropped, repeated or appended chunk, or a
file cut short, fails to authenticate. Reading and writing hold two chunks at
most in memory, whatever the file's size.
"""

import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CLZF"
VERSION = 1
KIND_ORGANIZATION = 1
KIND_KEY_RING = 2
CHUNK = 256 * 1024
TAG = 16
KEY_BYTES = 32
NONCE_BYTES = 12
REF_BYTES = 16
PREFIX_BYTES = len(MAGIC) + 1 + 1 + 2 + REF_BYTES
HEADER_BYTES = PREFIX_BYTES + NONCE_BYTES + KEY_BYTES + TAG
SEALED_CHUNK = CHUNK + TAG


class EncryptedFileError(ValueError):
    """The stored bytes are not an intact encrypted file."""


class TruncatedFile(EncryptedFileError):
    """The file ends before its last chunk: it was cut short."""


@dataclass(frozen=True)
class WrappingKey:
    kind: int
    ref: str
    secret: bytes
    # Bound into the wrap: the file opens only where it was written.
    binding: bytes


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(NONCE_BYTES - 1, "big") + (b"\x01" if last else b"\x00")


def _prefix(kind: int, ref: str) -> bytes:
    encoded = ref.encode("ascii")
    if len(encoded) > REF_BYTES:
        raise ValueError(f"key ref {ref!r} is longer than {REF_BYTES} bytes")
    return MAGIC + bytes([VERSION, kind, 0, 0]) + encoded.ljust(REF_BYTES, b"\0")


def plaintext_size(stored_size: int) -> int:
    """The size of the plaintext of a stored file of this many bytes."""
    body = stored_size - HEADER_BYTES
    if body < TAG:
        raise EncryptedFileError("too short to be an encrypted file")
    chunks = math.ceil(body / SEALED_CHUNK)
    return body - chunks * TAG


def read_header(header: bytes) -> tuple[int, str]:
    """The key kind and key ref a stored file names."""
    if len(header) < HEADER_BYTES or header[:4] != MAGIC:
        raise EncryptedFileError("not an encrypted file (no CLZF header)")
    if header[4] != VERSION:
        raise EncryptedFileError(f"unknown encrypted file version {header[4]}")
    ref = header[8:PREFIX_BYTES].rstrip(b"\0").decode("ascii", "replace")
    return header[5], ref


class EncryptingReader(io.RawIOBase):
    """Reads ciphertext: the header, then the source encrypted chunk by chunk."""

    def __init__(self, source, wrapping: WrappingKey):
        super().__init__()
        self._source = source
        file_key = os.urandom(KEY_BYTES)
        self._aead = AESGCM(file_key)
        prefix = _prefix(wrapping.kind, wrapping.ref)
        wrap_nonce = os.urandom(NONCE_BYTES)
        wrapped = AESGCM(wrapping.secret).encrypt(
            wrap_nonce, file_key, prefix + wrapping.binding
        )
        self._pending = bytearray(prefix + wrap_nonce + wrapped)
        self._index = 0
        self._ahead = self._read_plain()
        self._done = False

    def readable(self) -> bool:
        return True

    def _read_plain(self) -> bytes:
        first = self._source.read(CHUNK)
        if isinstance(first, bytes) and (len(first) == CHUNK or not first):
            return first
        parts, wanted = [], CHUNK
        if first:
            parts.append(first.encode() if isinstance(first, str) else first)
            wanted -= len(first)
        while wanted:
            data = self._source.read(wanted)
            if not data:
                break
            if isinstance(data, str):
                data = data.encode()
            parts.append(data)
            wanted -= len(data)
        return b"".join(parts)

    def sealed_chunks(self):
        """Yield the ciphertext piece by piece: the header, then each chunk.

        Writers that take an iterable (local files) use this directly, which
        saves copying every chunk through `read()`'s buffer.
        """
        if self._pending:
            yield bytes(self._pending)
            self._pending.clear()
        while not self._done:
            yield self._seal_next()

    def _seal_next(self) -> bytes:
        current = self._ahead
        self._ahead = self._read_plain() if len(current) == CHUNK else b""
        last = not self._ahead
        sealed = self._aead.encrypt(_nonce(self._index, last), current, None)
        self._index += 1
        self._done = last
        return sealed

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            while not self._done:
                self._pending += self._seal_next()
            size = len(self._pending)
        while len(self._pending) < size and not self._done:
            self._pending += self._seal_next()
        out = bytes(self._pending[:size])
        del self._pending[:size]
        return out

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class DecryptingReader(io.RawIOBase):
    """Reads plaintext from a stored file, checking every chunk as it goes.

    `unwrap(kind, ref)` returns the WrappingKey the header names, or raises.
    A chunk is returned only after it authenticated; a file cut short raises
    TruncatedFile on the read that reaches its end.
    """

    def __init__(self, raw, unwrap: Callable[[int, str], WrappingKey], size=None):
        super().__init__()
        self._raw = raw
        header = self._read_exactly(HEADER_BYTES)
        kind, ref = read_header(header)
        wrapping = unwrap(kind, ref)
        if (wrapping.kind, wrapping.ref) != (kind, ref):
            raise EncryptedFileError("the wrapping key does not match the header")
        nonce = header[PREFIX_BYTES : PREFIX_BYTES + NONCE_BYTES]
        try:
            file_key = AESGCM(wrapping.secret).decrypt(
                nonce,
                header[PREFIX_BYTES + NONCE_BYTES :],
                header[:PREFIX_BYTES] + wrapping.binding,
            )
        except InvalidTag:
            raise EncryptedFileError(
                "the file key does not open: wrong key, another organization or"
                " name, or an altered header"
            ) from None
        self._aead = AESGCM(file_key)
        self._index = 0
        self._ahead = self._read_exactly(SEALED_CHUNK)
        self._buffer = b""
        self._offset = 0
        self._done = False
        if size is not None:
            self.size = size

    def readable(self) -> bool:
        return True

    def _read_exactly(self, count: int) -> bytes:
        first = self._raw.read(count)
        if len(first) == count or not first:
            return first
        parts, count = [first], count - len(first)
        while count:
            data = self._raw.read(count)
            if not data:
                break
            parts.append(data)
            count -= len(data)
        return b"".join(parts)

    def _decrypt_next(self) -> None:
        current = self._ahead
        if not current:
            raise TruncatedFile("the encrypted file ends before its last chunk")
        self._ahead = (
            self._read_exactly(SEALED_CHUNK) if len(current) == SEALED_CHUNK else b""
        )
        last = not self._ahead
        try:
            self._buffer = self._aead.decrypt(_nonce(self._index, last), current, None)
        except InvalidTag:
            raise self._explain_failure(current, last) from None
        self._offset = 0
        self._index += 1
        self._done = last

    def _explain_failure(self, chunk: bytes, last: bool) -> EncryptedFileError:
        if last:
            try:
                self._aead.decrypt(_nonce(self._index, False), chunk, None)
            except InvalidTag:
                pass
            else:
                return TruncatedFile(
                    f"the encrypted file ends after chunk {self._index}, which is"
                    " not its last"
                )
        return EncryptedFileError(
            f"chunk {self._index} of the encrypted file does not authenticate:"
            " altered, reordered or extended"
        )

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while True:
                part = self.read(CHUNK)
                if not part:
                    return b"".join(parts)
                parts.append(part)
        if self._offset >= len(self._buffer):
            if self._done:
                return b""
            self._decrypt_next()
        if self._offset == 0 and size >= len(self._buffer):
            out = self._buffer  # the whole chunk: no copy
        else:
            out = self._buffer[self._offset : self._offset + size]
        self._offset += len(out)
        return out

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            close = getattr(self._raw, "close", None)
            if close is not None:
                close()
        super().close()
