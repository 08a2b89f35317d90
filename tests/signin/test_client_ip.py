"""The client address believes X-Forwarded-For only from trusted proxies."""

import pytest
from django.test import RequestFactory

from clozup.lib.http import client_ip


@pytest.fixture
def request_from():
    factory = RequestFactory()

    def make(remote, forwarded=None):
        extra = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded
        return factory.get("/", **extra)

    return make


def test_without_trusted_proxies_the_header_is_ignored(request_from, settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(request_from("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


def test_a_header_from_an_untrusted_address_is_ignored(request_from, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(request_from("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_forwarded_client_counts(request_from, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(request_from("10.1.2.3", "198.51.100.1")) == "198.51.100.1"


def test_a_spoofed_left_part_of_the_chain_is_not_believed(request_from, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.10"]
    forwarded = "1.2.3.4, 198.51.100.1, 192.0.2.10"

    assert client_ip(request_from("10.1.2.3", forwarded)) == "198.51.100.1"


def test_a_garbled_hop_stops_the_walk_at_the_last_trusted_proxy(request_from, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(request_from("10.1.2.3", "198.51.100.1, not-an-ip")) == "10.1.2.3"


def test_ipv6_addresses_are_normalised(request_from, settings):
    settings.TRUSTED_PROXIES = ["2001:db8::/32"]

    ip = client_ip(request_from("2001:db8::1", "2001:DB8:0:0:0:0:0:AB"))

    assert ip == "2001:db8::ab"


def test_an_unusable_remote_address_gives_none(request_from, settings):
    assert client_ip(request_from("")) is None
