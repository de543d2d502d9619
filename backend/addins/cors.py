"""CORS for the add-in API: only the deployment's own origin and Outlook's origins are reflected, preflights included."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

# Where Outlook runs add-in code that calls us cross-origin: Outlook on the web and
# the new Outlook for Windows (work/school and consumer accounts). Classic Outlook's
# JavaScript-only runtime sends the origin of the script, i.e. our own base URL.
OFFICE_ORIGINS = (
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://outlook.live.com",
    "https://outlook.cloud.microsoft",
)
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type"
MAX_AGE = "600"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def allowed_origins(base_url: str) -> frozenset[str]:
    own = origin_of(base_url)
    return frozenset(o for o in (own, *OFFICE_ORIGINS) if o)


def apply(response, base_url: str):
    """Adds the CORS headers to ``response`` when the request's Origin is one we trust."""
    origin = request.headers.get("Origin", "")
    # Caches must keep the answers for different origins apart.
    response.vary.add("Origin")
    if not origin or origin.lower() not in allowed_origins(base_url):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    # Bearer tokens, not cookies: credentials mode stays off on purpose.
    response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
    return response
