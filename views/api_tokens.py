"""API tokens (R31): admins make them for anyone, every user for themselves; shown once."""
from flask import Blueprint, abort, redirect, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length

from models import RuleViolation, User
from models.api_tokens import SCOPES, create_token, revoke_token, tokens_of

from .common import get_or_404, render, show_refusal

bp = Blueprint("api_tokens", __name__, url_prefix="/api-tokens")


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    scope = SelectField(_l("Access"), choices=[])
    user = SelectField(_l("User"), coerce=int, choices=[])

    def fill_choices(self, me):
        self.scope.choices = [SelectChoice(code, gettext(label)) for code, label in SCOPES.items()]
        users = User.active_users() if me.is_admin else [me]
        self.user.choices = [(user.id, f"{user.name} ({user.email})") for user in users]
        return self


def page(form, secret=None, status=200):
    me = current_user._get_current_object()
    tokens = list(tokens_of(None if me.is_admin else me))
    return render("api_tokens/index.html", form=form, tokens=tokens, secret=secret,
                  scopes=SCOPES, status=status)


@bp.get("/")
@login_required
def index():
    """The tokens one may see (an admin: everyone's) and a form for a new one."""
    form = TokenForm().fill_choices(current_user)
    form.user.data = current_user.id
    return page(form)


@bp.post("/")
@login_required
def create():
    """Make a token and show its secret this once; only its hash is kept."""
    me = current_user._get_current_object()
    form = TokenForm().fill_choices(me)
    if not form.validate_on_submit():
        return page(form, status=422)
    user = User.get_or_none(User.id == form.user.data)
    if user is None:
        abort(404)
    try:
        _, secret = create_token(user, form.name.data, form.scope.data, me)
    except RuleViolation as error:
        message = show_refusal(form, error)
        if message:
            form.name.errors.append(message)
        return page(form, status=422)
    fresh = TokenForm(formdata=None).fill_choices(me)
    fresh.user.data = me.id
    return page(fresh, secret=secret)


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id):
    """Revoke a token: it stops working at once."""
    token = get_or_404(tokens_of(), token_id)
    if not current_user.is_admin and token.user_id != current_user.id:
        abort(404)
    revoke_token(token, current_user._get_current_object())
    return redirect(url_for("api_tokens.index"))
