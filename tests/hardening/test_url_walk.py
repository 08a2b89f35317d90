"""Every URL, every method, three kinds of visitor: no 500, no foreign byte.

The URLs come from the live URL configuration (tests/hardening/urlwalk.py),
filled with the ids of organization B's rows and with ids that exist
nowhere. Members of organization A (each role) and anonymous visitors call
them with GET, POST (a form of hostile values), PUT, PATCH and DELETE; no
answer may be a server error or contain any of B's text, which carries a
marker in every field. B's own member walks the same URLs, so a page that
fails for its rightful owner fails here too.
"""

import pytest
from django.conf import settings
from django.test import Client

from clozup.models import Membership
from tests.hardening.conftest import MARKER, MARKER_EMAIL
from tests.hardening.urlwalk import Pool, list_routes, walk_urls

pytestmark = pytest.mark.slow

SECRETS = (MARKER.lower().encode(), MARKER_EMAIL.encode())
# Public pages that name their organization by design: its privacy request
# form says whom the person is writing to. Only the name may show there.
NAMES_ITS_ORGANIZATION = {"compliance:request-form", "compliance:request-confirm"}
METHODS = ("get", "post", "put", "patch", "delete")


def hostile_form(pool: Pool) -> dict:
    """Values a tampered form might carry: foreign ids, bad choices, markup."""
    some_id = pool.ids_for("")[0]
    return {
        "stage": some_id,
        "status": "not-a-status",
        "kind": "not-a-kind",
        "kind_0": "not-a-kind",
        "column_0_0": "not-a-field",
        "organization": some_id,
        "owner": some_id,
        "company": some_id,
        "contact": some_id,
        "lead": some_id,
        "deal": some_id,
        "next": "https://evil.example/",
        "cursor": "%%%not-a-cursor",
        "q": "' OR 1=1 --",
        "name": "<script>x</script>",
        "title": "x" * 5000,
        "amount": "NaN",
        "email": "not-an-email",
        "due_at": "31/31/31",
        "action": "delete_selected",
        "_selected_action": some_id,
        "post": "yes",
    }


def _read(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def _walk(client: Client, pool: Pool, methods, *, login=None) -> tuple[list, int]:
    """Call every URL; returns (problems, number of requests).

    `pool.marked_pages` counts the answers that showed B's marker, which only
    B's own member may see (and must, or the leak check proves nothing).
    """
    problems = []
    count = 0
    pool.marked_pages = 0
    form = hostile_form(pool)
    for route, url, first in walk_urls(pool):
        for method in methods if first else methods[:2]:
            # A walk through sign-out or password pages may end the session.
            cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
            if login is not None and (cookie is None or not cookie.value):
                client.force_login(login)
            data = form if method == "post" else None
            try:
                response = getattr(client, method)(url, data)
                body = _read(response)
            # Every failure is reported with the URL, not just the first.
            except Exception as error:
                problems.append(
                    (method, url, f"raised {type(error).__name__}: {error}")
                )
                continue
            finally:
                count += 1
            if response.status_code >= 500:
                problems.append((method, url, response.status_code))
            seen = body.lower()
            if route.name in NAMES_ITS_ORGANIZATION:
                seen = seen.replace(pool.name.lower().encode(), b"")
            leaked = any(secret in seen for secret in SECRETS)
            pool.marked_pages += leaked
            if leaked and login is not pool.owner_login:
                problems.append((method, url, "shows organization B's data"))
    return problems, count


def _listed(problems) -> str:
    return f"{len(problems)} problems:\n" + "\n".join(map(str, problems))


@pytest.fixture
def foreign_pool(theirs):
    organization, rep = theirs
    pool = Pool.of(organization)
    pool.owner_login = rep
    return pool


def test_the_walk_reaches_every_kind_of_url(foreign_pool):
    routes = list_routes()
    walked = {route for route, _, _ in walk_urls(foreign_pool)}

    assert len(routes) > 150
    assert {r.text for r in routes} - {r.text for r in walked} <= {
        # Django admin's per-app index lists only the apps it was given.
        "admin/^(?P<app_label>clozup|signin|audit|crm)/$",
    }


# Owners pass the same checks as admins (Membership.is_admin); walking them
# too would double the time for no new path.
@pytest.mark.parametrize("role", [Membership.Role.REP, Membership.Role.ADMIN])
def test_a_member_of_a_sees_nothing_of_b_and_no_page_fails(role, ours, foreign_pool):
    _, members = ours
    client = Client(raise_request_exception=True)
    client.force_login(members[role])

    problems, count = _walk(client, foreign_pool, METHODS, login=members[role])

    assert count > 500
    assert not problems, _listed(problems)


def test_an_anonymous_visitor_sees_nothing_of_b_and_no_page_fails(foreign_pool):
    client = Client(raise_request_exception=True)

    problems, count = _walk(client, foreign_pool, ("get", "post"))

    assert count > 500
    assert not problems, _listed(problems)


def test_the_owning_organizations_member_gets_no_server_error(foreign_pool):
    client = Client(raise_request_exception=True)
    client.force_login(foreign_pool.owner_login)

    problems, _ = _walk(
        client, foreign_pool, ("get", "post"), login=foreign_pool.owner_login
    )

    assert not problems, _listed(problems)
    assert foreign_pool.marked_pages > 50
