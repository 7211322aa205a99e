"""Sales on the company card (R14) and answers to category suggestions (R17)."""
import datetime

from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from htmx_flask import make_response as htmx_response
from wtforms import DateField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from models import Actor, Category, Contact, RuleViolation
from models.categorization import (accept_suggestion, decline_suggestion, mark_sale,
                                   register_sale, update_sale)
from models.sales import currency_for
from models.schema import CURRENCIES, SALE_STATUSES, CategorySuggestion, Sale

from .common import get_or_404, int_arg, render, rule_message
from .companies import company_card, company_query
from .errors import error_response
from .forms import owner_choices

bp = Blueprint("sales", __name__)


class SaleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    # Text, not a number field: the rules give the message for a bad amount.
    amount = StringField(_l("Amount"), validators=[InputRequired(), Length(max=30)])
    currency = SelectField(_l("Currency"), choices=[SelectChoice(c, c) for c in CURRENCIES])
    sale_date = DateField(_l("Date"), validators=[InputRequired()])
    owner = SelectField(_l("Owner"), coerce=int)
    contact = SelectField(_l("Contact"), coerce=int)
    status = SelectField(_l("Status"))

    def fill_choices(self, company):
        self.owner.choices = owner_choices()
        contacts = (Contact.select(Contact.id, Contact.first_name, Contact.last_name)
                    .where(Contact.company == company)
                    .order_by(Contact.last_name, Contact.first_name))
        self.contact.choices = [SelectChoice(0, "—")] + [SelectChoice(c.id, c.full_name)
                                                         for c in contacts]
        self.status.choices = [SelectChoice(code, gettext(label))
                               for code, label in SALE_STATUSES.items()]
        return self


def actor():
    return Actor(current_user._get_current_object())


def sale_values(form):
    """The form as arguments of register_sale / update_sale."""
    amount = (form.amount.data or "").strip().replace(" ", "").replace(",", ".")
    return dict(title=form.title.data, amount=amount, currency=form.currency.data,
                sale_date=form.sale_date.data,
                owner=form.owner.data or None,
                contact=Contact.get_or_none(Contact.id == form.contact.data)
                if form.contact.data else None,
                status=form.status.data)


def after_rules(company_id, outcome):
    """Back to the card; a proposal made for this user opens there as a dialog (R17)."""
    suggestion = outcome.suggestion.id if outcome.suggestion else None
    return redirect(url_for("companies.show", company_id=company_id, suggestion=suggestion))


def render_form(form, company, sale, status=200):
    return render("sales/form.html", status=status, form=form, company=company, sale=sale)


@bp.route("/companies/<int:company_id>/sales/new", methods=["GET", "POST"])
@login_required
def create(company_id):
    """Register a sale (R14); rule 3 may move the company or propose a move."""
    company = get_or_404(company_query(), company_id)
    form = SaleForm().fill_choices(company)
    if request.method == "GET":
        form.owner.data = current_user.id
        form.currency.data = currency_for(company.country, current_user.language)
        form.sale_date.data = datetime.date.today()
        form.status.data = "open"
        return render_form(form, company, None)
    if form.validate_on_submit():
        try:
            _, outcome = register_sale(company, actor(), **sale_values(form))
        except RuleViolation as error:
            form.amount.errors = [rule_message(error)]
        else:
            return after_rules(company.id, outcome)
    return render_form(form, company, None, status=422)


@bp.route("/sales/<int:sale_id>/edit", methods=["GET", "POST"])
@login_required
def edit(sale_id):
    """Edit a sale; changing its status to Sold or Lost is an event for the rules."""
    sale = get_or_404(Sale, sale_id)
    company = get_or_404(company_query(), sale.company_id)
    form = SaleForm(obj=sale).fill_choices(company)
    if request.method == "GET":
        form.owner.data = sale.owner_id or 0
        form.contact.data = sale.contact_id or 0
        form.amount.data = str(sale.amount)
        return render_form(form, company, sale)
    if form.validate_on_submit():
        try:
            _, outcome = update_sale(sale, actor(), **sale_values(form))
        except RuleViolation as error:
            form.amount.errors = [rule_message(error)]
        else:
            return after_rules(company.id, outcome)
    return render_form(form, company, sale, status=422)


@bp.post("/sales/<int:sale_id>/status")
@login_required
def set_status(sale_id):
    """Mark a sale Open, Sold or Lost; the card's parts the rules touched are refreshed."""
    sale = get_or_404(Sale, sale_id)
    company = get_or_404(company_query(), sale.company_id)
    try:
        outcome = mark_sale(sale, request.form.get("status", ""), actor())
    except RuleViolation as error:
        return error_response(422, rule_message(error))
    if not request.headers.get("HX-Request"):
        return after_rules(company.id, outcome)
    company = get_or_404(company_query(), company.id)
    blocks = ["sales", "suggestions", "timeline", "category_panel", "contacts_tab"]
    if outcome.suggestion:
        blocks.append("dialog")
    return company_card(company, blocks=blocks, proposal=outcome.suggestion)


def suggestion_answered(suggestion):
    """Pages showing the company change in many places: reload the current one."""
    if request.headers.get("HX-Request"):
        return htmx_response("", 200, refresh=True)
    return redirect(url_for("companies.show", company_id=suggestion.company_id))


@bp.post("/suggestions/<int:suggestion_id>/accept")
@login_required
def accept(suggestion_id):
    """Accept a proposed category, or the other category the user picked (R17)."""
    suggestion = get_or_404(CategorySuggestion, suggestion_id)
    category = None
    if request.form.get("category"):
        category = Category.get_or_none(Category.id == int_arg("category", values=request.form))
        if category is None:
            return error_response(422, gettext("Choose a category from the list."))
    try:
        accept_suggestion(suggestion, actor(), category)
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    return suggestion_answered(suggestion)


@bp.post("/suggestions/<int:suggestion_id>/decline")
@login_required
def decline(suggestion_id):
    """Keep the category; the answer is recorded (R17)."""
    suggestion = get_or_404(CategorySuggestion, suggestion_id)
    try:
        decline_suggestion(suggestion, actor())
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    return suggestion_answered(suggestion)
