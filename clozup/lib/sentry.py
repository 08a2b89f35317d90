"""What error reports may carry to Sentry: ids and code paths, no personal data.

`scrub_event` is the SDK's `before_send`. `send_default_pii=False` already
keeps cookies, IP addresses and user emails out; this also drops request
bodies, query strings and every header but a few harmless ones, keeps only
the user's id, and blanks email addresses wherever they appear in messages,
exception values and breadcrumbs (an error message may quote a value).
"""

import re

EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+\.[A-Za-z]{2,}")
KEPT_HEADERS = {"content-type", "content-length", "user-agent", "x-request-id"}
REDACTED = "[redacted]"


def _blank_emails(value):
    if isinstance(value, str):
        return EMAIL.sub(REDACTED, value)
    if isinstance(value, list):
        return [_blank_emails(item) for item in value]
    if isinstance(value, dict):
        return {key: _blank_emails(item) for key, item in value.items()}
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers") or {}
        request["headers"] = {
            name: value
            for name, value in headers.items()
            if name.lower() in KEPT_HEADERS
        }
        if "url" in request:
            request["url"] = request["url"].split("?", 1)[0]
    if isinstance(event.get("user"), dict):
        event["user"] = {"id": event["user"]["id"]} if "id" in event["user"] else {}
    # Local variables of stack frames hold whatever the code was handling.
    for exception in (event.get("exception") or {}).get("values", []):
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    for key in ("message", "logentry", "exception", "breadcrumbs", "extra"):
        if key in event:
            event[key] = _blank_emails(event[key])
    return event
