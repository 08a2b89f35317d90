from allauth.account.internal.stagekit import get_pending_stage
from allauth.account.stages import LoginByCodeStage
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clozup.lib.user_agent import describe_device
from clozup.signin import selectors, services
from clozup.signin.forms import SSOStartForm


@login_required
def mfa_required(request):
    organization = request.organization
    return render(
        request,
        "signin/mfa_required.html",
        {
            "organization": organization,
            "has_second_factor": selectors.has_second_factor(request.user),
        },
    )


@never_cache
@login_required
def session_list(request):
    current_key = request.session.session_key
    sessions = sorted(
        UserSession.objects.purge_and_list(request.user),
        key=lambda s: s.last_seen_at,
        reverse=True,
    )
    rows = [
        {
            "session": session,
            "device": describe_device(session.user_agent),
            "is_current": session.session_key == current_key,
        }
        for session in sessions
    ]
    return render(request, "signin/session_list.html", {"rows": rows})


@require_POST
@login_required
def end_session(request, pk: int):
    session = UserSession.objects.filter(pk=pk, user_id=request.user.pk).first()
    if session is None:
        raise Http404("session: not one of your sessions")
    is_current = session.session_key == request.session.session_key
    services.end_user_session(request.user, session, request=request)
    if is_current:
        logout(request)
        return redirect("account_login")
    messages.success(request, "The session was ended.")
    return redirect("signin:session-list")


@require_POST
@login_required
def end_other_sessions(request):
    current_key = request.session.session_key
    others = UserSession.objects.filter(user_id=request.user.pk).exclude(
        session_key=current_key
    )
    for session in others:
        services.end_user_session(request.user, session, request=request)
    messages.success(request, "Every other session was ended.")
    return redirect("signin:session-list")


@never_cache
@require_http_methods(["GET"])
def magic_link(request, code: str):
    """The link in a sign-in code email: confirm it in the browser that asked.

    The code lives only in the session of the browser that requested it, so
    the link signs in nowhere else; opened there, it shows one button that
    posts the code to allauth's code check (single use, limited attempts,
    short expiry). A GET alone signs nobody in, so mail scanners that follow
    links cannot spend it.
    """
    if request.user.is_authenticated:
        return redirect(reverse("crm:home"))
    stage = get_pending_stage(request)
    if stage is None or stage.key != LoginByCodeStage.key:
        return render(request, "signin/magic_link_elsewhere.html", status=400)
    return render(request, "signin/magic_link.html", {"code": code})


@never_cache
@require_http_methods(["GET", "POST"])
def sso_start(request):
    form = SSOStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        url = form.sso.login_url
        next_url = request.POST.get("next", "")
        if next_url:
            url = f"{url}?{_next_query(next_url)}"
        return redirect(url)
    return render(
        request,
        "signin/sso_start.html",
        {"form": form, "next": request.GET.get("next", "")},
    )


def _next_query(next_url: str) -> str:
    from django.utils.http import urlencode

    return urlencode({"next": next_url})
