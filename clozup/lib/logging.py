"""Request and tenancy context carried onto every log line.

The tenancy middleware, `org_context` and the Celery task base set these
context variables; `ContextFilter` copies them onto each record so call sites
never repeat them.
"""

import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default=""
)
organization_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "organization_id", default=None
)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.organization_id = organization_id_var.get()
        return True
