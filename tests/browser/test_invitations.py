"""An invitation in a real browser: the person it names opens the emailed
link, signed in, and joins; the organization switcher then offers it."""

import re

import pytest
from playwright.sync_api import expect

from clozup import invitations
from clozup.models import Membership
from clozup.tenancy import org_context
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_existing_account_joins_by_its_invitation(
    page, live_url, make_org, make_member, mailoutbox
):
    inviting = make_org(name="Acme Sales")
    person = make_member(make_org(name="Other Trading"), role=Membership.Role.REP)
    with org_context(inviting):
        owner = Membership.objects.get(role=Membership.Role.OWNER).user
        invitations.invite_member(
            inviting,
            person,
            role=Membership.Role.REP,
            actor=owner,
            build_url=lambda path: live_url + path,
        )
    link = re.search(r"https?://\S+/invitations/\S+/", mailoutbox[0].body).group(0)

    sign_in(page, live_url, person.email, PASSWORD)
    page.goto(link)
    expect(page.get_by_role("heading", name="Join Acme Sales")).to_be_visible()
    screenshot(page, "invitation")
    page.get_by_role("button", name="Join Acme Sales").click()

    page.wait_for_url(f"{live_url}/")
    with org_context(inviting):
        assert Membership.objects.filter(user=person).exists()
    page.goto(link)
    expect(page.get_by_role("heading", name="Join Acme Sales")).to_be_visible()
