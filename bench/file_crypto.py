"""What encrypting files costs: a 200 MB file through the storage layer.

The baseline is a plain copy of the same file (read it, write it elsewhere,
64 KiB at a time). Against it: encrypting it into the private storage
(`storages["private"].save`), and decrypting it out again (`.open()`, read
and written to a file), in interleaved rounds so machine noise hits all
alike; the best round of each counts. Prints MB/s, each ratio to the plain
copy (aim: at least 0.5), and the peak memory the process gained while
encrypting and decrypting (aim: under 100 MB), sampled from its resident size.
"""

import os
import tempfile
import threading
import time
from pathlib import Path

import psutil
from common import report, temporary_organization
from django.conf import settings
from django.core.files.storage import storages

from clozup.tenancy import org_context

SIZE_MB = 200
ROUNDS = 3
# Django's own chunk size, for the plain copy and for reading decrypted data.
CHUNK = 64 * 1024


class PeakMemory:
    """Samples the resident size every few milliseconds while running."""

    def __init__(self):
        self.process = psutil.Process()
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while self._running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()

    @property
    def gained_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


def make_source(folder: Path) -> Path:
    source = folder / "source.bin"
    block = os.urandom(2**20)
    with open(source, "wb") as out:
        for index in range(SIZE_MB):
            out.write(block[index:] + block[:index])
    return source


def copy_out(handle, target: Path) -> int:
    total = 0
    with open(target, "wb") as out:
        while chunk := handle.read(CHUNK):
            out.write(chunk)
            total += len(chunk)
    return total


def plain_copy(source: Path, target: Path) -> float:
    started = time.perf_counter()
    with open(source, "rb") as handle:
        copy_out(handle, target)
    return time.perf_counter() - started


def encrypt(storage, source: Path) -> tuple[float, str]:
    started = time.perf_counter()
    with open(source, "rb") as handle:
        name = storage.save("bench/recording.bin", handle)
    return time.perf_counter() - started, name


def decrypt(storage, name: str, target: Path) -> float:
    started = time.perf_counter()
    with storage.open(name) as handle:
        total = copy_out(handle, target)
    assert total == SIZE_MB * 2**20, total
    return time.perf_counter() - started


def main() -> None:
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.DATA_DIR) as folder:
        folder = Path(folder)
        settings.STORAGES["private"]["OPTIONS"]["location"] = str(folder / "enc")
        storage = storages["private"]
        source = make_source(folder)
        target = folder / "copy.bin"
        times = {"plain": [], "encrypt": [], "decrypt": []}
        peaks = []

        with temporary_organization() as organization, org_context(organization):
            for _ in range(ROUNDS):
                times["plain"].append(plain_copy(source, target))
                target.unlink()
                with PeakMemory() as memory:
                    seconds, name = encrypt(storage, source)
                    times["encrypt"].append(seconds)
                    times["decrypt"].append(decrypt(storage, name, target))
                peaks.append(memory.gained_mb)
                stored = (folder / "enc" / name).stat().st_size
                assert target.read_bytes()[:4096] == source.read_bytes()[:4096]
                target.unlink()
                storage.delete(name)

    rate = {key: SIZE_MB / min(values) for key, values in times.items()}
    report(
        f"File encryption through the storage layer ({SIZE_MB} MB, best of"
        f" {ROUNDS} rounds)",
        [
            ("plain copy", f"{rate['plain']:.0f} MB/s"),
            ("encrypt into storage", f"{rate['encrypt']:.0f} MB/s"),
            ("decrypt out of storage", f"{rate['decrypt']:.0f} MB/s"),
            ("encrypt / plain copy", f"{rate['encrypt'] / rate['plain']:.2f}"),
            ("decrypt / plain copy", f"{rate['decrypt'] / rate['plain']:.2f}"),
            ("peak memory gained", f"{max(peaks):.1f} MB"),
            ("stored size overhead", f"{stored / (SIZE_MB * 2**20) - 1:.4%}"),
        ],
    )


if __name__ == "__main__":
    main()
