"""Checks over the repository's own files."""

import subprocess

from django.conf import settings

# Copying text through some web tools replaces addresses with this marker; a
# file holding it has lost a real address.
MANGLED_ADDRESS = "[email" + " protected]"


def test_no_file_holds_a_mangled_email_address():
    tracked = subprocess.run(
        ["git", "ls-files", "-z"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    damaged = [
        name.decode()
        for name in tracked
        if name
        and MANGLED_ADDRESS.encode() in (settings.BASE_DIR / name.decode()).read_bytes()
    ]

    assert damaged == []
