"""Fixtures for compliance tests: a real SMTP server on loopback."""

import asyncio
import email
import socket
import threading

import pytest
from aiosmtpd.controller import Controller


class Mailbox:
    """What an SMTP server on 127.0.0.1 received, each message numbered.

    `hold_after(n)` makes the server stall inside the DATA command of message
    n + 1, after recording it but before answering, until `release()`: a
    client killed then never learns whether its message went out.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[tuple[int, str, email.message.Message]] = []
        self._hold_after: int | None = None
        self.held = threading.Event()
        self._released = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            number = len(self.messages) + 1
            for recipient in envelope.rcpt_tos:
                self.messages.append((number, recipient.lower(), message))
        if self._hold_after is not None and number > self._hold_after:
            self.held.set()
            while not self._released.is_set():
                await asyncio.sleep(0.05)
        return "250 OK"

    def hold_after(self, count: int) -> None:
        self._hold_after = count

    def release(self) -> None:
        self._released.set()

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def numbers_to(self, address: str) -> list[int]:
        with self.lock:
            return [n for n, to, _ in self.messages if to == address.lower()]

    def recipients(self) -> list[str]:
        with self.lock:
            return [to for _, to, _ in self.messages]

    def last_to(self, address: str) -> email.message.Message:
        with self.lock:
            found = [m for _, to, m in self.messages if to == address.lower()]
        assert found, "no mail to that address"
        return found[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """Outgoing mail goes to a real SMTP server on 127.0.0.1."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://clozup.test"
    mailbox.port = controller.port
    try:
        yield mailbox
    finally:
        mailbox.release()
        controller.stop()
