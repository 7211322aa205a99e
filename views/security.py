"""What every request and response goes through: ids in URLs, bad characters,
security headers, and the proxy in front of the app.

- `<int:...>` in a route takes 1 to 18 ASCII digits (at most 2**63 - 1):
  a longer number is no id of ours, and SQLite cannot even compare it, so
  it is a 404 like any unknown id.
- A query string or url-encoded form holding NUL is refused (400) before any view runs:
  PostgreSQL cannot store or compare text with NUL, and no person types it.
- Every response says nosniff and a strict referrer policy; every page
  sends a Content-Security-Policy without inline script or style that no
  other site may frame; pages of a signed-in user are never cached.
- `PROXY_FIX` (`TAVLA_PROXY_FIX=1`, the number of proxies in front) makes
  the app believe the X-Forwarded-For / -Proto / -Host headers its proxy
  sets, so the client address (sign-in throttling, web form rate limit) and
  https (the Secure cookie, redirects) are the real ones.
"""
from flask import request
from flask_babel import gettext
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from models.values import MAX_DIGITS, MAX_INT

from .errors import error_response

# htmx 2 with includeIndicatorStyles off (templates/base.html) adds no
# <style>, the SSE extension connects to our own /events, SortableJS moves
# elements through the CSSOM (element.style), which a CSP does not block.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# The hosted web form is posted to from other sites and redirects to the
# form's thank-you address elsewhere: form-action would block that redirect.
PUBLIC_FORM_POLICY = CONTENT_SECURITY_POLICY.replace("; form-action 'self'", "")


class IdConverter(IntegerConverter):
    """`<int:...>`: ASCII digits only, never beyond 64 bits (a 404 otherwise)."""
    regex = r"[0-9]{1,%d}" % MAX_DIGITS

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def holds_nul(values):
    return any("\x00" in key or any("\x00" in value for value in values.getlist(key))
               for key in values)


def register(app):
    """Call before the blueprints are registered: their routes use the id converter."""
    app.url_map.converters["int"] = IdConverter
    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies, x_port=proxies)

    @app.before_request
    def refuse_nul():
        # The public web form reads its body itself, strictly (views.public_forms).
        if request.blueprint == "public_forms":
            return None
        # Only url-encoded bodies are read here: a multipart upload (the CSV
        # import) sets its own size limit before its body is read.
        if holds_nul(request.args) or (
                request.mimetype == "application/x-www-form-urlencoded"
                and holds_nul(request.form)):
            return error_response(400, gettext("The request contains characters that are "
                                               "not allowed."))
        return None

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy",
                               PUBLIC_FORM_POLICY if request.blueprint == "public_forms"
                               else CONTENT_SECURITY_POLICY)
            headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static" and current_user.is_authenticated:
            # A signed-in page must not come back from a shared or browser
            # cache after signing out (the back button included).
            headers["Cache-Control"] = "no-store"
        return response
