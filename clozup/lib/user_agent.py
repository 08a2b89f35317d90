"""A person-readable name for the device behind a User-Agent string."""

# Checked in order: the first marker found names the browser or system.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def _first(user_agent: str, markers) -> str:
    return next((name for marker, name in markers if marker in user_agent), "")


def describe_device(user_agent: str) -> str:
    """E.g. "Firefox on Windows"; "Unknown device" when nothing is recognised."""
    browser = _first(user_agent, _BROWSERS)
    system = _first(user_agent, _SYSTEMS)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"
