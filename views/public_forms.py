"""The public side of web forms (R21): the hosted form page and the endpoint forms post to.

No sign-in. The session's CSRF token cannot protect a form that lives on
another web site, so this blueprint is exempt from it; the form's
unguessable token in the URL is the protection instead, with a honeypot
field, a rate limit per client address and, when the form names allowed
origins, a refusal of posts from other sites. Bodies over 64 KB are
refused before they are read, and text that is not UTF-8 is refused
instead of being guessed at.

Browsers posting the plain HTML snippet get HTML back (a thank-you page, a
redirect, or the hosted form with its errors); scripts posting JSON, or
asking for it with `Accept: application/json`, get JSON.
"""
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, g, jsonify, make_response, redirect, render_template
from flask import request
from flask_babel import gettext
from peewee import OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from models import RuleViolation
from models.webforms import (FORM_FIELDS, HONEYPOT, UTM_FIELDS, InvalidSubmission,
                             SubmissionRefused, WebForm, clean_submission, submit_web_form)
from models.schema import N_

bp = Blueprint("public_forms", __name__)

BODY_LIMIT = 64 * 1024
MAX_FIELDS = 50
# SQLite has one writer at a time: a submission arriving during a long
# import waits for it (busy timeout) and is tried again instead of lost.
SUBMIT_ATTEMPTS = 4
PREFLIGHT_MAX_AGE = 86400


class BadBody(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


@bp.record_once
def exempt_from_session_csrf(state):
    state.app.extensions["csrf"].exempt(bp)


@bp.before_request
def limit_body():
    # Flask 3.1: a limit for this request only; reading more raises 413.
    request.max_content_length = BODY_LIMIT


@bp.after_request
def cors_headers(response):
    """Let the form's allowed origins read the answer (CORS); nobody else."""
    form = g.get("web_form")
    origin = request.headers.get("Origin", "")
    if form is not None and form.allows_origin(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
    response.vary.add("Origin")
    # The answer depends on the submission; never serve it from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def wants_json():
    """JSON for a script that sends it or asks for it; HTML for a browser's form post."""
    if request.mimetype == "application/json":
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) \
        == "application/json"


def message_page(status, message):
    """A refusal as a small standalone page, or JSON."""
    if wants_json():
        return make_response(jsonify(ok=False, error=message), status)
    return make_response(render_template("webforms/hosted.html", mode="message", form=None,
                                         message=message), status)


def find_form(token):
    """The form of `token`, or the answer for an unknown or closed one."""
    form = WebForm.get_or_none(WebForm.token == token)
    if form is None:
        return None, message_page(404, gettext("This form does not exist."))
    g.web_form = form
    if not form.enabled:
        return None, message_page(410, gettext("This form is closed."))
    return form, None


def own_origin():
    return request.host_url.rstrip("/").lower()


def client_hash():
    """A keyed hash of the client address: enough to count, not enough to know who."""
    address = (request.remote_addr or "").encode()
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, address, hashlib.sha256).hexdigest()[:32]


def form_page(form, status=200, values=None, errors=None):
    """The hosted form; UTM values come from the page address (or the failed post)."""
    values = values or {}
    utm = {name: values.get(name) or request.args.get(name, "") for name in UTM_FIELDS}
    return make_response(render_template(
        "webforms/hosted.html", mode="form", form=form, values=values, errors=errors or {},
        utm=utm, labels=FORM_FIELDS, honeypot=HONEYPOT), status)


@bp.get("/f/<token>", provide_automatic_options=False)
def show(token):
    """The hosted form page: works without embedding; keeps ?utm_* of its address."""
    form, refusal = find_form(token)
    return refusal or form_page(form)


@bp.route("/f/<token>", methods=["OPTIONS"], provide_automatic_options=False)
def preflight(token):
    """CORS preflight for a script posting JSON from one of the form's allowed origins."""
    form = WebForm.get_or_none(WebForm.token == token)
    origin = request.headers.get("Origin", "")
    if form is None or not form.allows_origin(origin):
        return make_response("", 403)
    g.web_form = form
    response = make_response("", 204)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


@bp.post("/f/<token>", provide_automatic_options=False)
def submit(token):
    """R21: a visitor's submission; creates the lead or answers with what was wrong."""
    form, refusal = find_form(token)
    if refusal:
        return refusal
    origin = request.headers.get("Origin", "")
    if form.origins and origin and origin.lower() not in (*form.origins, own_origin()):
        return message_page(403, gettext("This form does not accept submissions from "
                                         "this web site."))
    try:
        fields = posted_fields()
    except BadBody as error:
        return message_page(error.status, gettext(error.message))
    try:
        submission = clean_submission(form, fields)
        saved = submit_with_retry(form, submission)
    except InvalidSubmission as error:
        errors = {name: gettext(message, **params)
                  for name, (message, params) in error.errors.items()}
        if wants_json():
            return make_response(jsonify(ok=False, error=gettext(error.message),
                                         errors=errors), 422)
        return form_page(form, 422, values=fields, errors=errors)
    except SubmissionRefused as error:
        return message_page(error.status, gettext(error.message, **error.params))
    except RuleViolation as error:
        # A value the lead's company or contact refuses (models.rules): nothing was saved.
        return message_page(422, gettext(error.message, **error.params))
    return thanks(form, saved)


def submit_with_retry(form, submission):
    for attempt in range(SUBMIT_ATTEMPTS):
        try:
            return submit_web_form(form, submission, ip_hash=client_hash())
        except OperationalError as error:
            if "locked" not in str(error).lower() or attempt == SUBMIT_ATTEMPTS - 1:
                raise
            time.sleep(0.2)


def thanks(form, submission):
    """The form's redirect, or its thank-you text."""
    message = form.thank_you or gettext("Thank you! We will be in touch soon.")
    if wants_json():
        return jsonify(ok=True, message=message, redirect=form.redirect_url or None)
    if form.redirect_url:
        return redirect(form.redirect_url, 303)
    return render_template("webforms/hosted.html", mode="thanks", form=form, message=message)


def posted_fields():
    """The posted fields as {name: text}, read strictly: size, UTF-8, a flat set of strings."""
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise BadBody(413, N_("The submitted data is too large."))
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise BadBody(413, N_("The submitted data is too large.")) from None
    if len(raw) >= BODY_LIMIT:
        # A body of unannounced length is cut at the limit, not refused: a cut
        # body must not be read as a shorter, valid one.
        raise BadBody(413, N_("The submitted data is too large."))
    invalid_text = BadBody(400, N_("The submission is not valid UTF-8 text."))
    mimetype = request.mimetype
    if mimetype == "application/json":
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise invalid_text from None
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            raise BadBody(400, N_("The submission could not be read.")) from None
        if not isinstance(data, dict) or len(data) > MAX_FIELDS or not all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool)
                for v in data.values()):
            raise BadBody(400, N_("The submission could not be read."))
        return {str(k): str(v) for k, v in data.items()}
    if mimetype == "multipart/form-data":
        if len(request.form) > MAX_FIELDS:
            raise BadBody(400, N_("The submission could not be read."))
        fields = {name: request.form.get(name, "") for name in request.form}
        # The multipart parser replaces bytes that are not UTF-8 with U+FFFD.
        if any("\ufffd" in value for value in fields.values()):
            raise invalid_text
        return fields
    if mimetype not in ("application/x-www-form-urlencoded", ""):
        raise BadBody(415, N_("Send the form as a web form or as JSON."))
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                          errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise invalid_text from None
    except ValueError:
        raise BadBody(400, N_("The submission could not be read.")) from None
    fields = {}
    for name, value in pairs:
        fields.setdefault(name, value)  # the first value of a repeated name counts
    return fields
