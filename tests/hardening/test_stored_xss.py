"""Markup typed into records is shown as text on every page, under a strict CSP.

Organization A's records carry script, image and SVG payloads in every
free-text field (names, notes, company names, email bodies, file names); an
admin of A opens every page the URL configuration has, the Admin Panel
included, filled with A's own ids. No HTML answer may contain a payload
unescaped, and every HTML answer carries a Content-Security-Policy that
forbids inline script.
"""

import pytest
from django.test import Client

from clozup.models import Membership
from tests.hardening.seed import seed_records
from tests.hardening.urlwalk import Pool, walk_urls

pytestmark = pytest.mark.slow

PAYLOAD = '<script>alert(1)</script><img src=x onerror=alert(2)>"><svg onload=alert(3)>'
LIVE = (b"<script>alert(1)", b"<img src=x onerror", b"<svg onload")
# The first payload as Django escapes it: the text is there, inert.
SHOWN_INERT = b"&lt;script&gt;alert(1)&lt;/script&gt;"


def _csp_problems(response) -> list[str]:
    policy = response.get("Content-Security-Policy", "")
    directives = dict(
        (part.split(" ", 1) + [""])[:2] for part in policy.split("; ") if part
    )
    problems = []
    if directives.get("script-src") != "'self'":
        problems.append(f"script-src is {directives.get('script-src')!r}")
    if "unsafe" in policy:
        problems.append("the policy allows unsafe code")
    if directives.get("object-src") != "'none'":
        problems.append("object-src is not 'none'")
    return problems


@pytest.fixture
def marked_up(db, make_org, make_member):
    organization = make_org(name=PAYLOAD[:100])
    admin = make_member(organization, role=Membership.Role.ADMIN)
    admin.full_name = PAYLOAD[:200]
    admin.save(update_fields=["full_name"])
    seed_records(organization, admin, text=PAYLOAD, email="xss.person@example.com")
    return organization, admin


def test_markup_in_records_is_inert_on_every_page(marked_up):
    organization, admin = marked_up
    client = Client(raise_request_exception=True)
    client.force_login(admin)

    problems, pages, inert = [], 0, 0
    for _, url, _ in walk_urls(Pool.of(organization)):
        if not client.cookies.get("sessionid") or not client.cookies["sessionid"].value:
            client.force_login(admin)
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)  # reading closes the file
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        pages += 1
        body = response.content
        problems += [(url, "live markup") for live in LIVE if live in body]
        problems += [(url, problem) for problem in _csp_problems(response)]
        inert += SHOWN_INERT in body

    assert pages > 100
    # The payload is really on the pages (escaped), so the check above bites.
    assert inert > 20
    assert not problems, "\n".join(map(str, problems))


def test_the_admin_panel_shows_markup_as_text(marked_up):
    organization, admin = marked_up
    client = Client()
    client.force_login(admin)

    for model in ("lead", "contact", "company", "deal"):
        response = client.get(f"/admin/crm/{model}/")

        assert response.status_code == 200
        assert SHOWN_INERT in response.content
        assert not any(live in response.content for live in LIVE)
        assert _csp_problems(response) == []
