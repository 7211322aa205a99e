"""Settings → Users: accounts, roles, languages, passwords, (de)activation."""
from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from models import (LANGUAGES, ROLES, Actor, RuleViolation, User, create_user, deactivate_user,
                    reactivate_user, reset_password, update_user)
from models.users import EMAIL_MAX, NAME_MAX, users_with_counts

from .auth import landing_url
from .common import admin_only, get_or_404, render, rule_message, show_refusal

bp = admin_only(Blueprint("users", __name__, url_prefix="/settings/users"))


def password_fields():
    """A new password and its repetition, as the new-user and reset forms ask them.

    How long a password must be is the model's rule; its message shows on the field.
    """
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(_l("Repeat new password"), validators=[
        EqualTo("password", _l("The passwords do not match."))])
    return password, confirm


class UserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=EMAIL_MAX)])
    role = SelectField(_l("Role"))
    language = SelectField(_l("Language"))

    def fill_choices(self):
        self.role.choices = [SelectChoice(code, gettext(label)) for code, label in ROLES.items()]
        self.language.choices = [SelectChoice(code, label) for code, label in LANGUAGES.items()]
        return self


class NewUserForm(UserForm):
    password, confirm = password_fields()


class PasswordForm(FlaskForm):
    password, confirm = password_fields()


def actor():
    return Actor(current_user._get_current_object())


def list_page(status=200, error=None):
    return render("users/index.html", "user_list", status=status,
                  users=list(users_with_counts()), error=error)


def redirect_or_list():
    if request.headers.get("HX-Request"):
        return list_page()
    return redirect(url_for("users.index"))


@bp.get("/")
def index():
    """Everyone who can sign in, then the deactivated, with role, language and what they own."""
    return list_page()


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new user with a first password they can change under Your settings."""
    form = NewUserForm().fill_choices()
    template = "users/form.html"
    if request.method == "GET":
        form.role.data, form.language.data = "rep", "en"
        return render(template, form=form, user=None)
    if not form.validate_on_submit():
        return render(template, status=422, form=form, user=None)
    try:
        create_user(actor(), email=form.email.data, name=form.name.data, role=form.role.data,
                    language=form.language.data, password=form.password.data)
    except RuleViolation as error:
        return render(template, status=422, form=form, user=None,
                      error=show_refusal(form, error))
    return redirect(url_for("users.index"))


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
def edit(user_id):
    """Change a user's name, e-mail, role or interface language."""
    user = get_or_404(User, user_id)
    form = UserForm(obj=user).fill_choices()
    template = "users/form.html"
    if request.method == "GET":
        return render(template, form=form, user=user)
    if not form.validate_on_submit():
        return render(template, status=422, form=form, user=user)
    try:
        update_user(user, actor(), email=form.email.data, name=form.name.data,
                    role=form.role.data, language=form.language.data)
    except RuleViolation as error:
        return render(template, status=422, form=form, user=user,
                      error=show_refusal(form, error))
    if user.id == current_user.id and not user.is_admin:
        # An admin who gave up the role can no longer see Settings.
        return redirect(landing_url(user))
    return redirect(url_for("users.index"))


@bp.route("/<int:user_id>/password", methods=["GET", "POST"])
def password(user_id):
    """Set a new password for a user who forgot theirs; the old one stops working."""
    user = get_or_404(User, user_id)
    form = PasswordForm()
    template = "users/password.html"
    if request.method == "GET":
        return render(template, form=form, user=user)
    if not form.validate_on_submit():
        return render(template, status=422, form=form, user=user)
    try:
        reset_password(user, actor(), form.password.data)
    except RuleViolation as error:
        return render(template, status=422, form=form, user=user,
                      error=show_refusal(form, error))
    flash(gettext("The password of %(name)s was changed.", name=user.name))
    return redirect(url_for("users.index"))


@bp.post("/<int:user_id>/deactivate")
def deactivate(user_id):
    """Stop a user from signing in; their companies and contacts keep them as owner."""
    try:
        deactivate_user(get_or_404(User, user_id), actor())
    except RuleViolation as error:
        return list_page(status=409, error=rule_message(error))
    return redirect_or_list()


@bp.post("/<int:user_id>/reactivate")
def reactivate(user_id):
    """Let a deactivated user sign in again."""
    reactivate_user(get_or_404(User, user_id), actor())
    return redirect_or_list()
