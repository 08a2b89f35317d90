"""A client for OpenAI-compatible chat completions APIs.

One call sends one conversation and returns the answer's text and token
counts. Each request asks the provider not to keep it (`store: false`) and
carries no `user` or `metadata` field, so nothing identifying a person or a
record travels besides the conversation itself. Time is bounded twice: each
connect and read has its own timeout, and every attempt, pause and retry fits
in one total budget (`AI_TOTAL_TIMEOUT`). Rate limits (429), server errors
(5xx), timeouts and broken connections are retried up to `AI_MAX_RETRIES`
times with a growing pause; any other refusal is final.
"""

import ipaddress
import json
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)

# An answer of a few hundred tokens is a few kilobytes; anything this large
# is not an answer to our question.
MAX_ANSWER_BYTES = 1024 * 1024
FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 8.0


class InsecureProviderURL(ValueError):
    """A base URL that is not https (or loopback http where allowed)."""


class ProviderError(Exception):
    """The provider gave no usable answer. `code` says why, for logs and the rep.

    Codes: `timeout`, `unavailable` (5xx or no connection), `rate_limited`,
    `refused` (another 4xx: a wrong key or model), `bad_answer`.
    """

    def __init__(self, code: str, *, status: int | None = None):
        super().__init__(code if status is None else f"{code} (status {status})")
        self.code = code
        self.status = status


class _Retryable(Exception):
    def __init__(self, error: ProviderError, retry_after: float | None = None):
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True)
class Provider:
    base_url: str
    model: str
    api_key: str = field(repr=False)

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int
    tokens_out: int


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """Refuse a base URL that is not https; returns it.

    Plain http is accepted only to a loopback address and only while
    `AI_ALLOW_LOOPBACK_HTTP` is on (DEBUG, and the tests' fake provider).
    """
    parts = urlsplit(url)
    if not parts.hostname:
        raise InsecureProviderURL(f"base URL: {url!r} has no host")
    if parts.scheme == "https":
        return url
    if (
        parts.scheme == "http"
        and settings.AI_ALLOW_LOOPBACK_HTTP
        and _is_loopback(parts.hostname)
    ):
        return url
    raise InsecureProviderURL("base URL: the AI provider is reached over https only")


def complete(
    provider: Provider, messages: list[dict], *, max_tokens: int
) -> Completion:
    """Send `messages` and return the answer, or raise ProviderError."""
    check_base_url(provider.base_url)
    payload = {
        "model": provider.model,
        "messages": messages,
        "max_tokens": max_tokens,
        "store": False,
        "stream": False,
    }
    headers = {
        "Authorization": f"Bearer {provider.api_key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    deadline = time.monotonic() + settings.AI_TOTAL_TIMEOUT
    attempts = 1 + max(settings.AI_MAX_RETRIES, 0)

    with httpx.Client(follow_redirects=False, trust_env=False) as client:
        for attempt in range(1, attempts + 1):
            try:
                return _attempt(client, provider, payload, headers, deadline)
            except _Retryable as retryable:
                error = retryable.error
                pause = _pause(attempt, retryable.retry_after)
                if attempt == attempts or time.monotonic() + pause >= deadline:
                    raise error from None
                logger.warning(
                    "ai provider attempt failed; retrying",
                    extra={"code": error.code, "status": error.status},
                )
                time.sleep(pause)
    raise AssertionError("unreachable: the loop returns or raises")


def _pause(attempt: int, retry_after: float | None) -> float:
    pause = FIRST_PAUSE_SECONDS * 2 ** (attempt - 1)
    if retry_after is not None:
        pause = max(pause, retry_after)
    return min(pause, LONGEST_PAUSE_SECONDS)


def _timeout(deadline: float) -> httpx.Timeout:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ProviderError("timeout")
    return httpx.Timeout(
        connect=min(settings.AI_CONNECT_TIMEOUT, remaining),
        read=min(settings.AI_READ_TIMEOUT, remaining),
        write=min(settings.AI_CONNECT_TIMEOUT, remaining),
        pool=min(settings.AI_CONNECT_TIMEOUT, remaining),
    )


def _attempt(client, provider, payload, headers, deadline) -> Completion:
    try:
        with client.stream(
            "POST",
            provider.endpoint,
            json=payload,
            headers=headers,
            timeout=_timeout(deadline),
        ) as response:
            body = _read_body(response, deadline)
    except httpx.TimeoutException:
        raise _Retryable(ProviderError("timeout")) from None
    except httpx.TransportError:
        raise _Retryable(ProviderError("unavailable")) from None

    status = response.status_code
    if status == 429:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        raise _Retryable(ProviderError("rate_limited", status=status), retry_after)
    if status >= 500:
        raise _Retryable(ProviderError("unavailable", status=status))
    if status != 200:
        raise ProviderError("refused", status=status)
    return _parse(body)


def _read_body(response: httpx.Response, deadline: float) -> bytes:
    # The read timeout bounds each wait for bytes; a provider that trickles
    # bytes slowly is bounded by the total budget, checked per chunk.
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ProviderError("bad_answer", status=response.status_code)
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("total AI budget spent")
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def _parse(body: bytes) -> Completion:
    try:
        data = json.loads(body)
        text = data["choices"][0]["message"]["content"]
        usage = data.get("usage") or {}
        tokens_in = int(usage.get("prompt_tokens") or 0)
        tokens_out = int(usage.get("completion_tokens") or 0)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ProviderError("bad_answer") from None
    if not isinstance(text, str) or not text.strip():
        raise ProviderError("bad_answer")
    return Completion(text=text, tokens_in=tokens_in, tokens_out=tokens_out)
