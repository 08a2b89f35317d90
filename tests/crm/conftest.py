import pytest


@pytest.fixture(autouse=True)
def private_storage(local_storages):
    """Each test keeps its (encrypted) files in a folder of its own."""
    return local_storages / "files"


@pytest.fixture
def rep_client(client, rep_a):
    client.force_login(rep_a)
    return client
