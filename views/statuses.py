"""Settings → Lists → Lead statuses (R5, R6): add, rename, describe, order, retire."""
from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from models import (LANGUAGES, Actor, Contact, LeadStatus, RuleViolation, make_initial_status,
                    reorder_lead_statuses, restore_lead_status, retire_lead_status,
                    save_lead_status)
from models.categories import lead_board_category_ids
from models.statuses import DESCRIPTION_MAX, NAME_MAX, TRANSLATION_FIELDS
from models.tally import tally_counts

from .common import admin_only, get_or_404, render, rule_message, save_posted_order
from .errors import error_response
from .i18n import status_name

bp = admin_only(Blueprint("statuses", __name__, url_prefix="/settings/lead-statuses"))

AT_THE_END = 0


class LeadStatusForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    description = TextAreaField(_l("Description"), validators=[Length(max=DESCRIPTION_MAX)],
                                description=_l("Shown as a tooltip wherever the status is."))
    name_en = StringField(_l("Name"), validators=[Optional(), Length(max=NAME_MAX)])
    description_en = TextAreaField(_l("Description"),
                                   validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    name_sv = StringField(_l("Name"), validators=[Optional(), Length(max=NAME_MAX)])
    description_sv = TextAreaField(_l("Description"),
                                   validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    name_nb = StringField(_l("Name"), validators=[Optional(), Length(max=NAME_MAX)])
    description_nb = TextAreaField(_l("Description"),
                                   validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    # Only on the new-status form: where the status goes in the list.
    position_after = SelectField(_l("Place after"), coerce=int, default=AT_THE_END)

    def fill_choices(self):
        self.position_after.choices = [SelectChoice(AT_THE_END, gettext("At the end"))] + [
            SelectChoice(status.id, status_name(status)) for status in LeadStatus.ordered()]
        return self

    def translations(self):
        """The per-language fields as save_lead_status takes them."""
        return {field: getattr(self, field).data for field in TRANSLATION_FIELDS}

    def language_fields(self):
        """(language label, name field, description field) for each interface language."""
        return [(label, self[f"name_{code}"], self[f"description_{code}"])
                for code, label in LANGUAGES.items()]


def actor():
    return Actor(current_user._get_current_object())


def statuses_with_counts(show_retired):
    """Every lead status with its number of contacts, in list order."""
    # The count is a correlated subquery: one statement for the whole list.
    in_use = Contact.select(fn.COUNT(Contact.id)).where(Contact.lead_status == LeadStatus.id)
    query = (LeadStatus.select(LeadStatus, in_use.alias("contact_count"))
             .order_by(LeadStatus.sort_order, LeadStatus.id))
    return query if show_retired else query.where(LeadStatus.retired == False)  # noqa: E712


def list_page(status=200):
    show_retired = request.args.get("retired") == "1"
    # What the boards count (R8): from the counter rows, one query.
    active = tally_counts("status", None, lead_board_category_ids())
    return render("statuses/index.html", "status_list", status=status,
                  statuses=list(statuses_with_counts(show_retired)), active_counts=active,
                  show_retired=show_retired)


def redirect_or_list():
    if request.headers.get("HX-Request"):
        return list_page()
    return redirect(url_for("statuses.index", retired=request.args.get("retired")))


@bp.get("/")
def index():
    """The lead statuses in list order, with their description, usage and the initial one."""
    return list_page()


def save(status, form):
    """Validate the form, then save through the rules; refusals show next to their field."""
    template = "statuses/form.html"
    if not form.validate_on_submit():
        return render(template, status=422 if form.errors else 200, form=form,
                      lead_status=status)
    position_after = form.position_after.data if "position_after" in form else None
    try:
        save_lead_status(status, actor(), name=form.name.data,
                         description=form.description.data,
                         translations=form.translations(),
                         position_after=position_after or None)
    except RuleViolation as error:
        name = error.params.get("field", "name")
        field = form[name] if name in form else form.name
        field.errors = [*field.errors, rule_message(error)]
        return render(template, status=422, form=form, lead_status=status)
    return redirect(url_for("statuses.index"))


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new lead status, placed after a chosen one or last (R5)."""
    form = LeadStatusForm().fill_choices()
    if request.method == "GET":
        return render("statuses/form.html", form=form, lead_status=None)
    return save(None, form)


@bp.route("/<int:status_id>/edit", methods=["GET", "POST"])
def edit(status_id):
    """Rename a status, describe it (the tooltip of R13) and name it per language."""
    status = get_or_404(LeadStatus, status_id)
    form = LeadStatusForm(obj=status)
    del form.position_after  # a status is moved by dragging it in the list
    if request.method == "GET":
        return render("statuses/form.html", form=form, lead_status=status)
    return save(status, form)


@bp.post("/order")
def reorder():
    """Save the order the admin dragged the rows into (R5)."""
    return save_posted_order(reorder_lead_statuses, actor()) or list_page()


@bp.post("/<int:status_id>/retire")
def retire(status_id):
    """Stop offering a status; contacts and history keep it, the initial one stays (R6)."""
    try:
        retire_lead_status(get_or_404(LeadStatus, status_id), actor())
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    return redirect_or_list()


@bp.post("/<int:status_id>/restore")
def restore(status_id):
    """Offer a retired status again (R6)."""
    restore_lead_status(get_or_404(LeadStatus, status_id), actor())
    return redirect_or_list()


@bp.post("/<int:status_id>/initial")
def make_initial(status_id):
    """Make this the status new leads start with; there is always exactly one (R6, R9)."""
    try:
        make_initial_status(get_or_404(LeadStatus, status_id), actor())
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    return redirect_or_list()
