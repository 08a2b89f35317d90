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
