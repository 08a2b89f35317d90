"""Where to go after a form: the page the form named, if it is one of ours.

A `next` value comes from the client, so anything that could leave the site
(another host, a scheme other than ours, `//evil.example`) is replaced by the
view's own default.
"""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
