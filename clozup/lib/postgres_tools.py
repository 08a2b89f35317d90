"""Finding PostgreSQL's client programs, and running them without leaking passwords.

`pg_dump` refuses a server newer than itself and `pg_restore` an archive
newer than itself, so a backup needs client tools whose major version is at
least the server's. Machines often carry several: Debian's packages under
/usr/lib/postgresql/N/bin, the embedded server's own binaries (the `pgserver`
package ships them), whatever is on PATH. PG_BIN_DIR, when set, is looked at
first; the newest suitable version wins.
"""

import glob
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


class PostgresToolMissing(RuntimeError):
    """No client program of a recent enough major version was found."""


def _candidate_dirs() -> list[Path]:
    dirs = []
    if settings.PG_BIN_DIR:
        dirs.append(Path(settings.PG_BIN_DIR))
    # Located without importing it: importing pgserver has side effects.
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        package = Path(spec.submodule_search_locations[0])
        dirs.append(package / "pginstall" / "bin")
    dirs += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    for program in ("pg_dump", "pg_restore"):
        found = shutil.which(program)
        if found:
            dirs.append(Path(found).parent)
    return dirs


def tool_major_version(path: Path) -> int | None:
    try:
        result = subprocess.run(  # noqa: S603  (a program we located, no shell)
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except OSError:
        return None
    match = VERSION.search(result.stdout)
    return int(match.group(1)) if match else None


def find_tool(program: str, *, server_major: int) -> tuple[Path, int]:
    """The newest `program` whose major version is at least the server's."""
    seen: dict[Path, int | None] = {}
    for directory in _candidate_dirs():
        path = directory / program
        if path in seen or not os.access(path, os.X_OK):
            continue
        seen[path] = tool_major_version(path)
    usable = [(v, p) for p, v in seen.items() if v is not None and v >= server_major]
    if not usable:
        found = ", ".join(f"{p} ({v})" for p, v in seen.items()) or "none"
        raise PostgresToolMissing(
            f"{program}: the server is PostgreSQL {server_major} and no {program}"
            f" of that version or newer was found (found: {found}). Install the"
            f" client tools or point PG_BIN_DIR at them."
        )
    version, path = max(usable)
    return path, version


def libpq_environment(database: dict) -> dict[str, str]:
    """Connection settings as libpq variables: the password stays out of argv."""
    env = dict(os.environ)
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        value = database.get(key)
        if value:
            env[variable] = str(value)
        else:
            env.pop(variable, None)
    return env
