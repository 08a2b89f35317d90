"""The Celery app, and the base for tasks that touch an organization's data."""

import functools
import logging
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clozup.settings")

logger = logging.getLogger(__name__)

app = Celery("clozup")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def refuse_unsafe_database_role(**kwargs):
    from clozup.tenancy import UnsafeDatabaseRole, assert_safe_database_role

    # Celery logs and swallows exceptions from signal handlers; SystemExit is
    # not an Exception, so it stops the worker or beat before it takes work.
    try:
        assert_safe_database_role()
    except UnsafeDatabaseRole as error:
        logger.critical("refusing to start: %s", error)
        raise SystemExit(1) from error


@signals.task_prerun.connect
def bind_task_id(task_id=None, **kwargs):
    from clozup.lib.logging import request_id_var

    request_id_var.set(f"task-{task_id}")


def organization_task(*task_args, atomic: bool = True, **task_options):
    """Declare a task that works on one organization's data.

    The task's first argument is the organization id; a call without it fails
    before any work. With `atomic=True` the whole task runs in one
    `org_context`; long jobs pass `atomic=False` and enter the context per
    batch themselves, so no lock is held for the whole run.
    """

    def decorate(func):
        @functools.wraps(func)
        def run(organization_id, *args, **kwargs):
            from clozup.lib.logging import organization_id_var
            from clozup.tenancy import MissingOrganization, org_context

            if not isinstance(organization_id, int) or isinstance(
                organization_id, bool
            ):
                raise MissingOrganization(
                    f"{func.__name__}: the first argument must be an organization id,"
                    f" got {organization_id!r}"
                )
            if atomic:
                with org_context(organization_id):
                    return func(organization_id, *args, **kwargs)
            token = organization_id_var.set(organization_id)
            try:
                return func(organization_id, *args, **kwargs)
            finally:
                organization_id_var.reset(token)

        return app.task(*task_args, **task_options)(run)

    return decorate
