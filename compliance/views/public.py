"""Public pages: security, privacy, sub-processors and security.txt."""

from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from markdown_it import MarkdownIt

from ..selectors import transparency as selectors

# Raw HTML in the documents is not passed through: they are text we write.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
# security.txt must expire within a year (RFC 9116); it is served fresh, so
# a date a few months ahead stays current as long as the site runs.
SECURITY_TXT_LIFETIME = timedelta(days=180)


def _document(request, name: str, title: str):
    contacts = {
        "security_email": settings.SECURITY_CONTACT_EMAIL,
        "privacy_email": settings.PRIVACY_CONTACT_EMAIL,
    }
    text = render_to_string(f"compliance/{name}.md", contacts)
    body = mark_safe(_markdown.render(text))  # noqa: S308  escaped by markdown-it, html off
    return render(
        request, "compliance/document.html", {"title": title, "document": body}
    )


@require_GET
def security_page(request):
    return _document(request, "security-and-privacy", "Security & Privacy")


@require_GET
def privacy_page(request):
    return _document(request, "privacy", "Privacy notice")


@require_GET
def sub_processors(request):
    context = {
        "sub_processors": selectors.list_current_sub_processors(),
        "changes": selectors.list_sub_processor_changes()[:50],
    }
    return render(request, "compliance/sub_processors.html", context)


@require_GET
def security_txt(request):
    site = settings.SITE_URL.rstrip("/")
    expires = (timezone.now() + SECURITY_TXT_LIFETIME).replace(microsecond=0)
    lines = [
        f"Contact: mailto:{settings.SECURITY_CONTACT_EMAIL}",
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"Policy: {site}/security/",
        "Preferred-Languages: en",
        f"Canonical: {site}/.well-known/security.txt",
    ]
    return HttpResponse(
        "\n".join(lines) + "\n", content_type="text/plain; charset=utf-8"
    )
