"""When a dependency is down, requests say so with a 503, never a stack trace."""

import contextlib

from django.db import connections


@contextlib.contextmanager
def database_unreachable():
    connection = connections["default"]
    connection.close()
    saved = dict(connection.settings_dict)
    connection.settings_dict.update(HOST="127.0.0.1", PORT=1)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def test_a_page_answers_503_while_the_database_is_down(
    client, committed_db, make_org, make_member
):
    client.force_login(make_member(make_org()))
    client.raise_request_exception = False

    with database_unreachable():
        response = client.get("/leads/1/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"briefly unavailable" in response.content
    assert b"Traceback" not in response.content


def test_health_reports_a_database_that_is_down(client, committed_db):
    with database_unreachable():
        alive = client.get("/healthz")
        ready = client.get("/readyz")

    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] is False


def test_health_reports_redis_that_is_down(client, db, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    ready = client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["checks"] == {
        "database": True,
        "redis": False,
        "storage": True,
    }


def test_health_reports_storage_that_is_unreachable(client, db, settings, tmp_path):
    # A file where the folder should be: as unusable as an unmounted volume.
    (tmp_path / "volume").write_text("not a folder")
    storages = {**settings.STORAGES}
    storages["private"] = {
        **storages["private"],
        "OPTIONS": {"location": str(tmp_path / "volume" / "files")},
    }
    settings.STORAGES = storages

    ready = client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["checks"]["storage"] is False


def test_health_is_ready_when_everything_answers(client, db):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_health_answers_a_signed_in_browser_while_the_database_is_down(
    client, committed_db, make_org, make_member
):
    client.force_login(make_member(make_org()))

    with database_unreachable():
        alive = client.get("/healthz")
        ready = client.get("/readyz")

    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] is False
