"""The Admin Panel: Django's admin, branded and scoped to one organization.

Only owners and admins of the current organization may enter it, and every
query it makes runs in that organization's RLS context, so it can show nothing
else. Clozup's own staff get no access to organization data here: being
`is_staff` or `is_superuser` grants nothing (the security page promises that
not even support staff can reach an organization's data this way).
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse


class ClozupAdminSite(admin.AdminSite):
    site_header = "Clozup Admin Panel"
    site_title = "Clozup Admin Panel"
    index_title = "Your organization"
    enable_nav_sidebar = False

    def has_permission(self, request):
        membership = getattr(request, "membership", None)
        return bool(request.user.is_active and membership and membership.is_admin)

    def login(self, request, extra_context=None):
        # One sign-in flow for everyone (MFA, lockout and SSO rules included):
        # the Admin Panel has no login form of its own.
        if request.user.is_authenticated:
            return render(request, "admin/not_an_admin.html", status=403)
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect_to_login(next_url, settings.LOGIN_URL)

    def password_change(self, request, extra_context=None):
        # Passwords change through allauth (re-authentication, notification
        # email), not Django's admin form; under Clerk there is no password.
        if settings.AUTH_PROVIDER == "clerk":
            raise Http404("Clerk manages passwords")
        return redirect("account_change_password")

    def each_context(self, request):
        context = super().each_context(request)
        context["organization"] = getattr(request, "organization", None)
        return context
