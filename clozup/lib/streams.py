"""Zip archives produced as a stream of bytes, and iterators read as files.

`zip_stream` writes members one after another without ever seeking back
(sizes go in data descriptors), so an archive of any size is produced with
memory bounded by one buffer: it can be the body of a StreamingHttpResponse
or, through `IteratorReader`, the content given to the encrypted storage.
"""

import io
import time
import zipfile
from collections.abc import Iterable, Iterator

FLUSH_BYTES = 256 * 1024


class _Sink:
    """A write-only target for ZipFile; `take()` hands over what was written.

    It has no `tell()`, which makes ZipFile keep offsets itself and never
    seek back into what was already handed over.
    """

    def __init__(self):
        self._parts: list[bytes] = []
        self.buffered = 0

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self.buffered += len(data)
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.buffered = 0
        return data


def zip_stream(
    members: Iterable[tuple[str, Iterable[bytes | str]]], *, compresslevel: int = 1
) -> Iterator[bytes]:
    """Yield a zip archive of the members, each given as (name, chunks).

    Chunks may be bytes or str (encoded as UTF-8). Level 1 deflate keeps the
    CPU cost near that of producing the rows.
    """
    sink = _Sink()
    stamp = time.gmtime()[:6]
    with zipfile.ZipFile(
        sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
    ) as archive:
        for name, chunks in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            with archive.open(info, "w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk.encode() if isinstance(chunk, str) else chunk)
                    if sink.buffered >= FLUSH_BYTES:
                        yield sink.take()
            if sink.buffered:
                yield sink.take()
    tail = sink.take()
    if tail:
        yield tail


class IteratorReader(io.RawIOBase):
    """A read-only file over an iterator of byte strings."""

    def __init__(self, chunks: Iterable[bytes]):
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
