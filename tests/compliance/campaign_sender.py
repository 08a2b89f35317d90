"""Run as a separate process by the crash test: send one campaign."""

import sys

import django

django.setup()

from compliance.services import outreach  # noqa: E402  after setup

if __name__ == "__main__":
    outreach.send_campaign(int(sys.argv[1]), int(sys.argv[2]))
