import subprocess

from clozup.lib import localservices


def test_stop_signals_the_embedded_servers_named_in_their_pid_files(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    servers = {}
    for name, pidfile in (("redis", "redis.pid"), ("pg", "postmaster.pid")):
        process = subprocess.Popen(["sleep", "60"])
        (tmp_path / name).mkdir()
        # PostgreSQL's pid file has more lines after the pid.
        (tmp_path / name / pidfile).write_text(f"{process.pid}\n{tmp_path}\n")
        servers[name] = process

    localservices.stop()

    assert all(process.wait(timeout=10) != 0 for process in servers.values())


def test_stop_without_running_servers_does_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))

    localservices.stop()
