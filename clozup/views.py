import logging
import os
import sys
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, storages
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from clozup import invitations
from clozup.decorators import allowed_while_read_only
from clozup.lib.redirects import next_url
from clozup.middleware import SESSION_ORGANIZATION_KEY

logger = logging.getLogger(__name__)

DEPENDENCY_ERRORS = (
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
    # Queueing a job while the broker is down.
    BrokerError,
)


@require_POST
@login_required
def switch_organization(request):
    try:
        organization_id = int(request.POST.get("organization", ""))
    except ValueError:
        return HttpResponseBadRequest("organization: not an organization id")

    # request.memberships holds only the user's own memberships.
    if not any(m.organization_id == organization_id for m in request.memberships):
        return HttpResponseBadRequest("organization: you are not a member of it")
    request.session[SESSION_ORGANIZATION_KEY] = organization_id

    return redirect(next_url(request, "/"))


@allowed_while_read_only
@login_required
def accept_invitation(request, token):
    """Show an invitation to its person; their POST makes them a member.

    A GET changes nothing, so mail scanners that follow links accept nothing.
    Works while the current organization is cancelled: joining another one
    changes nothing of it.
    """
    try:
        invitation = invitations.read_invitation(token)
    except invitations.InvitationInvalid:
        return render(request, "clozup/invitation_invalid.html", status=400)
    if invitation.user_id != request.user.pk:
        return render(request, "clozup/invitation_elsewhere.html", status=403)
    if request.method != "POST":
        return render(request, "clozup/invitation.html", {"invitation": invitation})

    try:
        membership = invitations.accept_invitation(
            invitation, user=request.user, request=request
        )
    except invitations.InvitationInvalid:
        return render(request, "clozup/invitation_invalid.html", status=400)
    request.session[SESSION_ORGANIZATION_KEY] = membership.organization_id
    return redirect("/")


def server_error(request):
    """The 500 handler; a dependency that is down gets a 503 instead.

    While the database or Redis is unreachable every request fails the same
    way; saying so (and when to retry) is clearer than a generic error, and
    load balancers and clients treat 503 as retryable.
    """
    error = sys.exc_info()[1]
    if isinstance(error, DEPENDENCY_ERRORS):
        logger.error("dependency unavailable", extra={"error": type(error).__name__})
        response = render(request, "503.html", status=503)
        response["Retry-After"] = "30"
        return response
    return render(request, "500.html", status=500)


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    checks = {
        "database": _database_ready(),
        "redis": _redis_ready(),
        "storage": _storage_ready(),
    }
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def _database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        logger.warning("readiness: database unreachable")
        return False


def _redis_ready() -> bool:
    try:
        cache.set("readyz", "1", timeout=5)
        return cache.get("readyz") == "1"
    except Exception:
        logger.warning("readiness: redis unreachable")
        return False


def _storage_ready() -> bool:
    """The private files' location answers: a writable folder, or the bucket."""
    storage = storages["private"]
    try:
        if isinstance(storage, FileSystemStorage):
            # Folders are made on the first save: the nearest one that exists
            # must be a writable folder.
            folder = Path(storage.location)
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
        return True
    except Exception:
        logger.warning("readiness: file storage unreachable")
        return False
