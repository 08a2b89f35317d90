"""AI assist use cases: ask the provider about a record, change the settings.

An answer goes back to the rep only; it becomes a timeline entry when the
rep saves it (`crm.services.activities.log_activity` with `ai_generated`).
What stays behind after a request is a usage row and an audit event, both
with ids, names of things and counts, never text.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from assist import provider as provider_client
from assist import selectors
from assist.models import AssistSettings, AssistUsage
from audit import services as audit
from audit.actions import Action
from clozup.models import User

logger = logging.getLogger(__name__)

# Roughly four characters a token in the languages our customers write; the
# estimate only decides whether a request fits the budget before it is sent.
CHARACTERS_PER_TOKEN = 4


class AssistUnavailable(Exception):
    """Nothing was sent, or nothing usable came back; `message` tells the rep."""

    message = "AI assist is not available."


class FeatureOff(AssistUnavailable):
    message = "This AI feature is off. An admin can turn it on in the Admin Panel."


class NotConfigured(AssistUnavailable):
    message = "No AI provider is set up. An admin can set one in the Admin Panel."


class PersonExcluded(AssistUnavailable):
    message = (
        "AI assist is not available for this person: they are deleted or their "
        "data may not be processed by AI."
    )


class OverBudget(AssistUnavailable):
    def __init__(self, scope: str):
        super().__init__(scope)
        self.message = (
            "Your organization has used its AI budget for this month."
            if scope == "organization"
            else "You have used your AI allowance for this month."
        )


class ProviderFailed(AssistUnavailable):
    MESSAGES = {
        "timeout": "The AI provider did not answer in time.",
        "rate_limited": "The AI provider is busy.",
        "unavailable": "The AI provider is unavailable.",
        "refused": "The AI provider refused the request; an admin should check "
        "the AI settings.",
        "bad_answer": "The AI provider sent an answer Clozup could not read.",
    }

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code
        reason = self.MESSAGES.get(code, "The AI provider failed.")
        self.message = f"{reason} Nothing was saved; try again in a moment."


@dataclass(frozen=True)
class Answer:
    text: str
    usage: AssistUsage


def _check_budget(
    assist_settings: AssistSettings, *, actor: User, estimate: int
) -> None:
    used = selectors.tokens_used_this_month()
    if used + estimate > assist_settings.monthly_token_budget:
        raise OverBudget("organization")
    used_by_actor = selectors.tokens_used_this_month(user=actor)
    if used_by_actor + estimate > assist_settings.user_monthly_token_cap:
        raise OverBudget("user")


def ask_assist(record, *, actor: User, feature: str, request=None) -> Answer:
    """Ask the provider for `feature` about `record` and return the answer.

    Refuses (an AssistUnavailable, before anything leaves Clozup) when the
    feature is off, no provider is set, the record's person is excluded from
    AI processing, or the request could overrun the organization's or the
    actor's monthly tokens. Every request sent records a usage row and an
    `ai.requested` audit event, answered or not; a failure then raises
    ProviderFailed. Call inside the record's organization context.
    """
    assist_settings = selectors.get_settings()
    if assist_settings is None or not assist_settings.is_enabled(feature):
        raise FeatureOff(feature)
    provider = selectors.get_provider(assist_settings)
    if provider is None or not provider.model:
        raise NotConfigured(feature)
    try:
        prompt = selectors.build_prompt(record, feature)
    except selectors.SubjectExcluded:
        raise PersonExcluded(feature) from None

    max_tokens = settings.AI_MAX_OUTPUT_TOKENS
    estimate = prompt.size // CHARACTERS_PER_TOKEN + max_tokens
    _check_budget(assist_settings, actor=actor, estimate=estimate)

    try:
        completion = provider_client.complete(
            provider, prompt.messages, max_tokens=max_tokens
        )
    except provider_client.ProviderError as error:
        logger.warning(
            "ai request failed",
            extra={"feature": feature, "code": error.code, "status": error.status},
        )
        _record_request(
            record,
            actor=actor,
            feature=feature,
            model=provider.model,
            outcome=AssistUsage.Outcome.FAILED,
            error=error.code,
            request=request,
        )
        raise ProviderFailed(error.code) from None

    usage = _record_request(
        record,
        actor=actor,
        feature=feature,
        model=provider.model,
        outcome=AssistUsage.Outcome.ANSWERED,
        tokens_in=completion.tokens_in,
        tokens_out=completion.tokens_out,
        request=request,
    )
    logger.info(
        "ai request answered",
        extra={
            "feature": feature,
            "tokens_in": usage.tokens_in,
            "tokens_out": usage.tokens_out,
        },
    )
    return Answer(text=prompt.placeholders.restore(completion.text), usage=usage)


@transaction.atomic
def _record_request(
    record,
    *,
    actor: User,
    feature: str,
    model: str,
    outcome: str,
    tokens_in: int = 0,
    tokens_out: int = 0,
    error: str = "",
    request=None,
) -> AssistUsage:
    usage = AssistUsage.objects.create(
        organization_id=record.organization_id,
        user=actor,
        feature=feature,
        model=model[:100],
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        outcome=outcome,
    )
    metadata = {
        "feature": feature,
        "model": usage.model,
        "outcome": outcome,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "usage_id": usage.pk,
    }
    if error:
        metadata["error"] = error
    audit.record_event(
        Action.AI_REQUESTED,
        organization=record.organization_id,
        actor=actor,
        target=record,
        metadata=metadata,
        request=request,
    )
    return usage


@transaction.atomic
def save_assist_settings(
    assist_settings: AssistSettings,
    *,
    actor: User,
    changed: list[str],
    request=None,
) -> AssistSettings:
    """Create or change the organization's AI settings; audited with the names
    of the fields changed (`settings.ai_changed`), never their values."""
    created = assist_settings.pk is None
    assist_settings.save()
    audit.record_event(
        Action.AI_SETTINGS_CHANGED,
        organization=assist_settings.organization_id,
        actor=actor,
        target=assist_settings,
        metadata={"fields": sorted(changed), "created": created},
        request=request,
    )
    return assist_settings
