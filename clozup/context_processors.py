from django.conf import settings


def tenancy(request):
    return {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
        "memberships": getattr(request, "memberships", []),
        # Sign-in pages (sessions, MFA, password) exist unless Clerk signs in.
        "local_sign_in": settings.AUTH_PROVIDER == "local",
    }
