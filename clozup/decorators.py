import functools

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


def member_required(view):
    """The view needs a signed-in member of the current organization."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.membership is None:
            return render(request, "clozup/no_organization.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def allowed_while_read_only(view):
    """The view may change things while the organization is cancelled
    (see `clozup.middleware.ReadOnlyOrganizationMiddleware`): reactivating
    it, or asking for an export of its data."""
    view.allowed_while_read_only = True
    return view
