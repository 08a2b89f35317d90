"""Error reports reach Sentry without personal data (clozup.lib.sentry)."""

import json

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from clozup.lib.sentry import scrub_event

EMAIL = "ada.lovelace@example.com"
TOKEN = "sess-5f1c2b7e9d"


class Captured(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events: list[dict] = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


@pytest.fixture
def sentry():
    transport = Captured()
    sentry_sdk.init(
        dsn="https://public@sentry.example/1",
        transport=transport,
        include_local_variables=False,
        before_send=scrub_event,
        default_integrations=False,
    )
    yield transport
    sentry_sdk.init()


def test_a_reported_error_carries_no_email_cookie_body_or_token(sentry):
    with sentry_sdk.new_scope() as scope:
        scope.set_user({"id": 42, "email": EMAIL, "ip_address": "203.0.113.9"})
        scope.add_breadcrumb(message=f"sent a code to {EMAIL}")
        scope.add_event_processor(
            lambda event, hint: {
                **event,
                "request": {
                    "url": f"https://app.example/leads/?q={EMAIL}",
                    "data": {"password": "correct-horse", "email": EMAIL},
                    "cookies": {"sessionid": TOKEN},
                    "headers": {"Cookie": f"sessionid={TOKEN}", "User-Agent": "t"},
                },
            }
        )
        try:
            raise ValueError(f"{EMAIL} is not an email address we know")
        except ValueError:
            sentry_sdk.capture_exception()

    [event] = sentry.events
    sent = json.dumps(event)
    for secret in (EMAIL, TOKEN, "correct-horse", "203.0.113.9"):
        assert secret not in sent
    assert event["user"] == {"id": 42}
    assert event["request"]["url"] == "https://app.example/leads/"
    assert event["exception"]["values"][0]["type"] == "ValueError"
