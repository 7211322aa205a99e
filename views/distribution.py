"""Settings → Marketing → Distribution flows (R22): which reps get new leads, in which order."""
from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length

from models import Actor, RuleViolation, User
from models.distribution import (NAME_MAX, STRATEGIES, STRATEGY_HINTS, DistributionFlow,
                                 flow_members, flows_with_counts, members_with_open_counts,
                                 save_flow)
from models.values import as_int

from .common import admin_only, get_or_404, render, rule_message

bp = admin_only(Blueprint("distribution", __name__, url_prefix="/settings/distribution"))


class FlowForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    strategy = SelectField(_l("Strategy"))
    active = BooleanField(_l("Hand out leads"), default=True)

    def fill_choices(self):
        self.strategy.choices = [SelectChoice(code, gettext(label))
                                 for code, label in STRATEGIES.items()]
        return self


def chosen_members():
    """The ticked users in the order of their position numbers (then as listed)."""
    chosen = []
    for index, raw in enumerate(request.form.getlist("member")):
        user_id = as_int(raw)
        if user_id is None:
            continue
        position = request.form.get(f"position-{user_id}", type=float)
        chosen.append((position if position is not None else float("inf"), index, user_id))
    return [user_id for _, _, user_id in sorted(chosen)]


def member_rows(flow, member_ids=None):
    """Every user as a row of the member chooser: members first, in flow order."""
    if member_ids is None:
        member_ids = [m.user.id for m in flow_members(flow)] if flow else []
    users = {u.id: u for u in User.select().order_by(User.name)}
    rows = [(users[i], True, n + 1) for n, i in enumerate(member_ids) if i in users]
    rows += [(u, False, None) for u in users.values() if u.id not in member_ids and u.active]
    return rows


def form_page(flow, form, status=200, member_ids=None, error=None):
    members, upcoming = members_with_open_counts(flow) if flow else ([], None)
    return render("distribution/form.html", status=status, flow=flow, form=form,
                  rows=member_rows(flow, member_ids), hints=STRATEGY_HINTS,
                  strategies=STRATEGIES,
                  open_counts={m.user.id: m.open_count for m in members}, upcoming=upcoming,
                  error=error)


def save(flow, form):
    member_ids = chosen_members()
    if not form.validate_on_submit():
        return form_page(flow, form, 422, member_ids)
    try:
        flow = save_flow(flow, Actor(current_user._get_current_object()), form.name.data,
                         form.strategy.data, form.active.data, member_ids)
    except RuleViolation as error:
        name = error.params.get("field")
        if name in form:
            form[name].errors = [*form[name].errors, rule_message(error)]
            return form_page(flow, form, 422, member_ids)
        return form_page(flow, form, 422, member_ids, error=rule_message(error))
    return redirect(url_for("distribution.index"))


@bp.get("/")
def index():
    """The flows with their strategy and number of (active) reps."""
    return render("distribution/index.html", flows=list(flows_with_counts()),
                  strategies=STRATEGIES)


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new flow: a name, a strategy and the reps in the order leads go round."""
    form = FlowForm().fill_choices()
    if request.method == "GET":
        return form_page(None, form)
    return save(None, form)


@bp.route("/<int:flow_id>/edit", methods=["GET", "POST"])
def edit(flow_id):
    """Change a flow's reps, their order or its strategy; shows who is next."""
    flow = get_or_404(DistributionFlow, flow_id)
    form = FlowForm(obj=flow).fill_choices()
    if request.method == "GET":
        return form_page(flow, form)
    return save(flow, form)
