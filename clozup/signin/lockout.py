"""django-axes hooks: which email a sign-in attempt is for, and log wording.

Attempts are counted per email address, lower-cased, whether or not an
account has it, so a locked-out response says nothing about existence.
"""


def username_from_credentials(request, credentials) -> str | None:
    """AXES_USERNAME_CALLABLE: the email typed, from allauth's credentials."""
    email = None
    if credentials:
        email = credentials.get("email") or credentials.get("username")
    if not email and request is not None:
        email = request.POST.get("login")
    return email.strip().lower() if email else None


def describe_client(username, ip_address, user_agent, path_info, request) -> str:
    """AXES_CLIENT_STR_CALLABLE: axes logs this; it must hold no personal data."""
    if isinstance(path_info, (list, tuple)):
        path_info = path_info[0]
    return f"path={path_info}"
