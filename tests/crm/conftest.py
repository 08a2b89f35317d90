import pytest

from clozup.celery import app as celery_app


@pytest.fixture(autouse=True)
def private_storage(local_storages):
    """Each test keeps its (encrypted) files in a folder of its own."""
    return local_storages / "files"


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process when enqueued (no worker in these tests)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def rep_client(client, rep_a):
    client.force_login(rep_a)
    return client
