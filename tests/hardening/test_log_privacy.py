"""A session of real requests logs JSON with its context and nothing personal.

The root logger gets a handler built from settings.LOGGING (the same JSON
formatter and context filter as production) while a member signs in with a
password, opens pages, creates a lead, imports a file and asks for a sign-in
code. Every line must be JSON carrying `request_id` and `organization_id`,
lines written during a request carry its id, and no line may contain an
email address, the password, a session key, a CSRF token or the code used.
"""

import io
import json
import logging
import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from clozup.lib.logging import ContextFilter
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LEAD_EMAIL = "grace.hopper@example.org"
IMPORTED_EMAIL = "katherine.johnson@example.net"
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    formatter_config = dict(settings.LOGGING["formatters"]["json"])
    formatter_class = formatter_config.pop("()")
    module, _, name = formatter_class.rpartition(".")
    formatter = getattr(__import__(module, fromlist=[name]), name)(**formatter_config)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)
    root.setLevel(saved_level)


def test_a_working_session_logs_json_with_context_and_no_personal_data(
    log_lines, org_a, rep_a, eager_tasks, django_capture_on_commit_callbacks
):
    client = Client()
    signed_in = client.post(
        reverse("account_login"), {"login": rep_a.email, "password": PASSWORD}
    )
    client.get(reverse("crm:home"))
    created = client.post(
        reverse("crm:lead-create"),
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": LEAD_EMAIL,
            "status": "new",
        },
    )
    client.get(reverse("crm:lead-list"), {"q": LEAD_EMAIL})
    csv = f"First Name,Email\nKatherine,{IMPORTED_EMAIL}\nBroken,not-an-email\n"
    detail = client.post(
        reverse("crm:import-upload"),
        {
            "files": [SimpleUploadedFile("people-leads.csv", csv.encode())],
            "allow_partial": "on",
        },
    ).url
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            detail,
            {"kind_0": "leads", "column_0_0": "first_name", "column_0_1": "email"},
        )
    client.post(reverse("account_logout"))
    Client().post(reverse("account_request_login_code"), {"email": rep_a.email})

    assert signed_in.status_code == 302 and created.status_code == 302
    lines = log_lines()
    assert len(lines) > 5
    records = [json.loads(line) for line in lines]
    assert all("request_id" in r and "organization_id" in r for r in records)
    assert any(r["request_id"] and r["organization_id"] for r in records)

    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})\r?$", mail.outbox[-1].body, re.M)[1]
    secrets = [
        PASSWORD,
        code,
        client.cookies.get("csrftoken").value
        if client.cookies.get("csrftoken")
        else PASSWORD,
        *(key for key in [client.session.session_key] if key),
    ]
    text = "\n".join(lines)
    assert EMAIL_PATTERN.findall(text) == []
    assert [s for s in secrets if s in text] == []


def test_each_request_logs_its_route_but_not_its_path_or_query(
    client, org_a, rep_a, log_lines
):
    client.force_login(rep_a)
    searched = "ada.lovelace" + chr(64) + "example.org"

    client.get("/leads/", {"q": searched})
    client.get("/unsubscribe/a-secret-token-value/")

    records = [json.loads(line) for line in log_lines()]
    access = [r for r in records if r.get("logger") == "clozup.access"]
    assert [(r["method"], r["route"]) for r in access] == [
        ("GET", "leads/"),
        ("GET", "unsubscribe/<str:token>/"),
    ]
    assert access[0]["status"] == 200 and access[0]["organization_id"] == org_a.pk
    text = "\n".join(log_lines())
    assert searched not in text and "a-secret-token-value" not in text
