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
    """Adds the context fields; takes the path out of Django's request lines.

    Django logs every 4xx and 5xx response as "Bad Request: /path" with the
    request attached. Paths carry unsubscribe tokens and links' secrets, so
    the line keeps only the status; `clozup.access` has the route pattern.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.organization_id = organization_id_var.get()
        if hasattr(record, "request"):
            status = getattr(record, "status_code", None)
            record.msg = f"response {status}" if status else "request failed"
            record.args = ()
            del record.request
        return True
