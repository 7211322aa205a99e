"""Sign in and out, and the signed-in user's own settings (language, password)."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from htmx_flask import make_response as htmx_response
from wtforms import EmailField, PasswordField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from models import LANGUAGES, User

from .common import render

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class AccountForm(FlaskForm):
    language = SelectField(_l("Language"), choices=[SelectChoice(code, name)
                                                    for code, name in LANGUAGES.items()])
    password = PasswordField(_l("New password"), validators=[Optional(), Length(min=8, max=200)])
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[EqualTo("password", _l("The passwords do not match."))])


def configure_login(manager):
    """Flask-Login: load users by id; send strangers to the login page."""
    manager.login_view = "auth.login"

    @manager.user_loader
    def load_user(user_id):
        try:
            return User.get_or_none((User.id == int(user_id)) & (User.active == True))  # noqa: E712
        except ValueError:
            return None

    @manager.unauthorized_handler
    def unauthorized():
        # An htmx request would swap the login page into a fragment; send the
        # whole browser there instead (expired session, R: HX-Redirect).
        if request.headers.get("HX-Request"):
            back = urlsplit(request.headers.get("HX-Current-URL", "")).path or "/"
            return htmx_response("", 401, redirect=url_for("auth.login", next=back))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target):
    """Only local paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("companies.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = User.get_or_none(User.email == form.email.data.strip().lower())
        if user and user.active and user.check_password(form.password.data):
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append(gettext("Wrong e-mail or password."))
    status = 422 if form.errors else 200
    return render("auth/login.html", form=form, status=status)


@bp.post("/logout")
def logout():
    """Sign out."""
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The signed-in user's interface language and password."""
    form = AccountForm(obj=current_user)
    if form.validate_on_submit():
        current_user.language = form.language.data
        if form.password.data:
            current_user.set_password(form.password.data)
        current_user.save()
        flash(gettext("Your settings were saved."))
        return redirect(url_for("auth.account"))
    return render("auth/account.html", form=form, status=422 if form.errors else 200)
