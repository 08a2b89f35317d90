import pytest

from clozup.models import Membership
from tests.hardening.seed import seed_records

# In every field of the other organization's records; never in our responses.
MARKER = "Bolt7Secret"
MARKER_EMAIL = "bolt7secret.person@example.net"


@pytest.fixture(autouse=True)
def private_storage(local_storages):
    return local_storages / "files"


@pytest.fixture
def ours(db, make_org, make_member):
    """Organization A with an owner, an admin and a rep, and records of its own."""
    organization = make_org(name="Acme Sales")
    members = {
        role: make_member(organization, role=role)
        for role in (Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.REP)
    }
    seed_records(
        organization,
        members[Membership.Role.REP],
        text="Acme own record",
        email="acme.person@example.com",
    )
    return organization, members


@pytest.fixture
def theirs(db, make_org, make_member):
    """Organization B, every record of it marked, with a rep whose name is marked."""
    organization = make_org(name=f"{MARKER} Trading")
    rep = make_member(organization, role=Membership.Role.REP, email=MARKER_EMAIL)
    rep.full_name = f"{MARKER} Rep"
    rep.save(update_fields=["full_name"])
    seed_records(organization, rep, text=f"{MARKER} record", email=MARKER_EMAIL)
    return organization, rep
