"""Real servers and workers that a fault test may stop, kill and restart.

The shared PostgreSQL and Redis are never touched: each helper starts its
own process on a free loopback port, in the test's temporary folder, and
stops it at the end. `CeleryWorker` runs `celery -A clozup worker` against
whatever database and broker the environment it is given names, so the
other helpers' jobs (DSAR export, campaign send, retention sweep) use it
the same way the import test does: start, wait for the job to be running,
`kill()`, `start()` again, check the outcome.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from glob import glob
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check: Callable[[], object], what: str, seconds: float = 60) -> object:
    """Poll `check` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + seconds
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as error:  # a server still starting refuses connections
            last_error = error
        else:
            if result:
                return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last error: {last_error!r})")


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _postgres_bin(name: str) -> str:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found or not found[-1]:
        raise RuntimeError(f"{name} not found: install the PostgreSQL server package")
    return found[-1]


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own: trust authentication, loopback only.

    PostgreSQL refuses to run as root; under root (as in CI containers) its
    programs run as the `postgres` user, in a folder that user owns.
    """

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="clozup-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.folder / "data"
        self.port = free_port()
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust")

    def _run(self, program: str, *args) -> None:
        done = subprocess.run(
            [*self.as_user, _postgres_bin(program), *map(str, args)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode and program != "pg_ctl":
            raise AssertionError(f"{program} failed: {done.stderr[-2000:]}")

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -k {self.folder} -c fsync=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            self.data,
            "-o",
            options,
            "-w",
            "-l",
            self.folder / "postgres.log",
            "start",
        )
        wait_until(lambda: _port_open(self.port), "PostgreSQL to listen")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class Process:
    """A child process in its own process group, stopped for good at the end."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path):
        self.command = command
        self.env = env
        self.log = log
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def signal(self, signum: int) -> None:
        if self.popen and self.popen.poll() is None:
            # The group: gunicorn's and celery's own children go too.
            os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL, as the kernel's out-of-memory killer would: no clean-up."""
        self.signal(signal.SIGKILL)
        if self.popen:
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        if self.popen:
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class ThrowawayRedis(Process):
    def __init__(self, folder: Path):
        self.port = free_port()
        super().__init__(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            env=dict(os.environ),
            log=folder / f"redis-{self.port}.log",
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "ThrowawayRedis":
        super().start()
        wait_until(lambda: _port_open(self.port), "redis to listen")
        return self


def app_environment(**values: str) -> dict[str, str]:
    """The environment for a web or worker process of the app under test."""
    env = dict(os.environ)
    env.update(
        SECRET_KEY=settings.SECRET_KEY,
        ENCRYPTION_KEYS=",".join(settings.ENCRYPTION_KEYS),
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(values)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise AssertionError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


class Gunicorn(Process):
    def __init__(self, env: dict[str, str], folder: Path):
        self.port = free_port()
        super().__init__(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "clozup.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
            ],
            env=env,
            log=folder / "gunicorn.log",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Gunicorn":
        super().start()
        wait_until(lambda: _port_open(self.port), "gunicorn to listen")
        return self


class CeleryWorker(Process):
    def __init__(self, env: dict[str, str], folder: Path, name: str = "worker"):
        super().__init__(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "clozup",
                "worker",
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "--loglevel",
                "INFO",
                "--hostname",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
            log=folder / f"{name}.log",
        )
