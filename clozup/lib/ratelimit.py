"""Fixed-window request counting in the cache, for public forms.

`allow(key, limit=, period=)` counts one attempt under `key` and says whether
it is still within `limit` for the current window of `period` seconds. The
window starts with the first attempt; Redis expires the counter with it.
"""

from django.core.cache import cache

PREFIX = "ratelimit:"


def allow(key: str, *, limit: int, period: int) -> bool:
    full_key = PREFIX + key
    # add() is atomic: only the first attempt of a window creates the counter.
    if cache.add(full_key, 1, timeout=period):
        return True
    try:
        count = cache.incr(full_key)
    except ValueError:
        # The window ended between add() and incr(): this attempt opens a new one.
        cache.set(full_key, 1, timeout=period)
        return True
    return count <= limit
