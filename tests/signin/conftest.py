"""Fixtures for sign-in tests: a real SMTP server, clients that sign in."""

import email
import re
import socket
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import PASSWORD


@dataclass
class Mailbox:
    """Messages an SMTP server on loopback received, newest last."""

    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"

    def bodies_to(self, address: str) -> list[str]:
        found = []
        for recipients, message in self.messages:
            if address in recipients:
                part = message.get_payload(0) if message.is_multipart() else message
                found.append(part.get_payload(decode=True).decode())
        return found

    def last_to(self, address: str) -> str:
        bodies = self.bodies_to(address)
        assert bodies, f"no mail to {address}"
        return bodies[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """Outgoing mail goes to a real SMTP server on 127.0.0.1."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield mailbox
    finally:
        controller.stop()


def find_link(body: str, path_part: str) -> str:
    match = re.search(r"https?://\S*" + re.escape(path_part) + r"\S*", body)
    assert match, f"no link with {path_part} in mail"
    return match.group(0)


def sign_in(client, user, password=PASSWORD):
    """Sign in through the real form; returns the final response."""
    return client.post(
        "/accounts/login/", {"login": user.email, "password": password}, follow=True
    )


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters live in the cache; each test starts without any."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
