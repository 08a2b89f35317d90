import ipaddress


def client_ip(request) -> str | None:
    """The client's address as the server saw it, normalised, or None.

    REMOTE_ADDR only: a proxy's forwarding headers are trusted solely where
    the deployment configures trusted proxies (see docs/deployment.md).
    """
    value = request.META.get("REMOTE_ADDR", "")
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        return None
