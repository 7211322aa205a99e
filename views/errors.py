"""Error pages and fragments: a clear message, never a traceback."""
from flask import jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from models.schema import N_

MESSAGES = {
    400: N_("The request could not be understood."),
    403: N_("You do not have access to this page."),
    404: N_("We could not find that page or record."),
    405: N_("That action is not allowed here."),
    409: N_("That change conflicts with the current state."),
    413: N_("The submitted data is too large."),
    415: N_("The request could not be understood."),
    422: N_("Please correct the errors and try again."),
    429: N_("Too many requests. Please wait a minute and try again."),
    500: N_("Something went wrong on our side. Nothing was changed."),
}


# The JSON API's error codes, by HTTP status.
API_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 413: "too_large",
             415: "unsupported_media_type", 422: "invalid", 429: "rate_limited",
             500: "server_error"}


def is_api_request():
    return request.path == "/api/v1" or request.path.startswith("/api/v1/")


def api_error(status, message=None, field=None, text=None, **params):
    """`{"error": {"code", "message", "field"}}`: `message` is a msgid, `text` one translated."""
    if text is None:
        text = gettext(message or MESSAGES.get(status, MESSAGES[400]), **params)
    response = jsonify(error={"code": API_CODES.get(status, "error"), "message": text,
                              "field": field})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tavla"'
    return response


def error_response(status, message):
    """An htmx request gets a small fragment the toast shows; others a full page; the
    JSON API its error object."""
    if is_api_request():
        return api_error(status, text=message)
    template = "errors/_message.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, status=status, message=message), status


def register(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_response(400, gettext(
            "Your session's security token is missing or has expired. "
            "Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error):
        message = MESSAGES.get(error.code)
        return error_response(error.code, gettext(message) if message else error.name)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("Unhandled error")
        return error_response(500, gettext(MESSAGES[500]))
