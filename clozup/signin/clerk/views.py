import json
import logging

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from svix.webhooks import Webhook, WebhookVerificationError

from clozup.signin import clerk
from clozup.signin.clerk import sync

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request):
    """Clerk's user and organization events, signed Svix-style.

    Only a body whose signature verifies with CLERK_WEBHOOK_SECRET, and whose
    timestamp is within Svix's tolerance (replays are refused), is applied.
    """
    if not clerk.is_enabled():
        raise Http404("Clerk is off")
    try:
        Webhook(settings.CLERK_WEBHOOK_SECRET).verify(request.body, request.headers)
        event = json.loads(request.body)
    except (WebhookVerificationError, ValueError):
        logger.warning("Clerk webhook refused: signature does not verify")
        return HttpResponseBadRequest("signature: does not verify")

    try:
        applied = sync.apply_event(event)
    except sync.UnusableEvent as error:
        logger.warning("Clerk webhook unusable", extra={"problem": str(error)})
        return HttpResponseBadRequest(str(error))
    logger.info(
        "Clerk webhook received",
        extra={"event_type": event.get("type", ""), "applied": applied},
    )
    return HttpResponse(status=204)
