"""Sign in and out, and the signed-in user's own settings (language, password)."""
import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from htmx_flask import make_response as htmx_response
from wtforms import EmailField, PasswordField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from models import LANGUAGES, RuleViolation, User
from models.reminders import DIGEST_TIMES, set_digest_time
from models.users import (TooManyFailures, authenticate, change_own_password, end_sessions,
                          user_for_session)

from .common import render, rule_message, show_refusal

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class AccountForm(FlaskForm):
    language = SelectField(_l("Language"), choices=[SelectChoice(code, name)
                                                    for code, name in LANGUAGES.items()])
    digest_time = SelectField(_l("Daily e-mail of my follow-ups"),
                              choices=[SelectChoice("", _l("None"))]
                              + [SelectChoice(time, time) for time in DIGEST_TIMES])
    password = PasswordField(_l("New password"), validators=[Optional(), Length(min=8, max=200)])
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[EqualTo("password", _l("The passwords do not match."))])


def configure_login(manager):
    """Flask-Login: load users by id; send strangers to the login page."""
    manager.login_view = "auth.login"

    @manager.user_loader
    def load_user(token):
        # The session holds "<id>.<session version>" (User.get_id): a session
        # ended by signing out or a new password belongs to nobody any more.
        return user_for_session(token)

    @manager.unauthorized_handler
    def unauthorized():
        # An htmx request would swap the login page into a fragment; send the
        # whole browser there instead (expired session, R: HX-Redirect).
        if request.headers.get("HX-Request"):
            back = urlsplit(request.headers.get("HX-Current-URL", "")).path or "/"
            return htmx_response("", 401, redirect=url_for("auth.login", next=back))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


# Browsers drop tabs and line breaks anywhere in a URL, and spaces and
# control characters at its ends, before they follow it.
URL_NOISE = re.compile(r"[\t\n\r]")
URL_EDGES = "".join(chr(c) for c in range(0x21))


def landing_url(user):
    """Where a user starts: reps on My day (their follow-ups and new leads), managers and
    admins on their dashboard."""
    if user.role == "rep":
        return url_for("my_day.index")
    return url_for("dashboards.index")


@bp.get("/")
@login_required
def home():
    """The start page depends on the role (landing_url)."""
    return redirect(landing_url(current_user))


def safe_next(target):
    r"""Where to go after signing in: a path of this site, read as a browser reads it.

    "/\t/evil.example" is "//evil.example" to a browser (another site), and
    so is "/\evil.example"; anything with a scheme or a host is refused, and
    without a usable `next` the user lands where their role starts.
    """
    path = URL_NOISE.sub("", target or "").strip(URL_EDGES).replace("\\", "/")
    parts = urlsplit(path)
    if path.startswith("/") and not path.startswith("//") and not parts.scheme \
            and not parts.netloc and path.isprintable():
        return path
    return landing_url(current_user)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password; repeated failures pause sign-ins for minutes."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    # The language chosen on this page holds until the user signs in.
    if request.args.get("lang") in LANGUAGES:
        session["language"] = request.args["lang"]
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data,
                                request.remote_addr or "", current_app.config["SECRET_KEY"])
        except TooManyFailures as refusal:
            error, status = rule_message(refusal), 429
        else:
            if user is not None:
                login_user(user)
                return redirect(safe_next(request.args.get("next")))
            form.password.errors.append(gettext("Wrong e-mail or password."))
    if form.errors:
        status = 422
    return render("auth/login.html", form=form, error=error, status=status,
                  languages=LANGUAGES, next_path=request.args.get("next"))


@bp.post("/logout")
def logout():
    """Sign out: every session of this user ends, copies of the cookie included."""
    if current_user.is_authenticated:
        end_sessions(current_user._get_current_object())
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The signed-in user's interface language, daily digest time and password."""
    form = AccountForm(obj=current_user)
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            if form.password.data:
                # The other sessions end; this one carries on with the new version.
                change_own_password(user, form.password.data)
                login_user(user)
        except RuleViolation as error:
            show_refusal(form, error)
        else:
            user.language = form.language.data
            user.save(only=[User.language])
            set_digest_time(user, form.digest_time.data)
            flash(gettext("Your settings were saved."))
            return redirect(url_for("auth.account"))
    return render("auth/account.html", form=form, status=422 if form.errors else 200)
