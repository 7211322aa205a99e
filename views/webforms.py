"""Settings → Marketing → Web forms (R21): forms, their embeddable snippet, submissions.

Admins only. The public side (the hosted page and the endpoint the
snippet posts to) is `views/public_forms.py`.
"""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from models import Actor, Category, RuleViolation, paginate
from models.distribution import DistributionFlow
from models.webforms import (DEFAULT_RATE_LIMIT, FORM_FIELDS, HONEYPOT, NAME_MAX, UTM_FIELDS,
                             WebForm, default_lead_category, forms_with_counts, renew_token,
                             save_web_form, set_web_form_enabled, submissions_of)

from .common import admin_only, get_or_404, page_number, render, rule_message
from .forms import category_choices

bp = admin_only(Blueprint("webforms", __name__, url_prefix="/settings/web-forms"))


class WebFormForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    category = SelectField(_l("Category of new companies"), coerce=int)
    flow = SelectField(_l("Distribution flow"), coerce=int)
    ask_name = BooleanField(_l("Ask"))
    required_name = BooleanField(_l("Required"))
    ask_email = BooleanField(_l("Ask"))
    required_email = BooleanField(_l("Required"))
    ask_company = BooleanField(_l("Ask"))
    required_company = BooleanField(_l("Required"))
    ask_phone = BooleanField(_l("Ask"))
    required_phone = BooleanField(_l("Required"))
    ask_message = BooleanField(_l("Ask"))
    required_message = BooleanField(_l("Required"))
    thank_you = TextAreaField(_l("Thank-you text"), validators=[Length(max=2000)])
    redirect_url = StringField(_l("Or send the visitor to this address"),
                               validators=[Optional(), Length(max=2000)])
    allowed_origins = TextAreaField(_l("Web sites that may post to the form"),
                                    validators=[Length(max=2000)])
    rate_limit = IntegerField(_l("Submissions per minute from one address"),
                              default=DEFAULT_RATE_LIMIT, validators=[InputRequired()])

    def fill_choices(self, web_form=None):
        categories = list(Category.ordered())
        if web_form is not None and web_form.category is not None \
                and web_form.category.retired:
            categories.append(web_form.category)
        self.category.choices = category_choices(categories)
        flows = DistributionFlow.select().order_by(DistributionFlow.name)
        self.flow.choices = [SelectChoice(0, gettext("None: leads get no owner"))] + [
            SelectChoice(f.id, f.name if f.active else f"{f.name} ({gettext('off')})")
            for f in flows]
        return self

    def load(self, web_form):
        """Fill the per-field switches from a form's configuration."""
        for name, spec in web_form.fields.items():
            self[f"ask_{name}"].data = spec["ask"]
            self[f"required_{name}"].data = spec["required"]
        self.category.data = web_form.category_id or 0
        self.flow.data = web_form.flow_id or 0
        return self

    def field_config(self):
        return {name: {"ask": self[f"ask_{name}"].data,
                       "required": self[f"required_{name}"].data} for name in FORM_FIELDS}


def actor():
    return Actor(current_user._get_current_object())


def form_page(web_form, form, status=200, error=None):
    return render("webforms/form.html", status=status, web_form=web_form, form=form,
                  labels=FORM_FIELDS, error=error)


def save(web_form, form):
    """Validate, then save through the model, which refuses with the field it is about."""
    if not form.validate_on_submit():
        return form_page(web_form, form, 422)
    try:
        saved = save_web_form(web_form, actor(), name=form.name.data,
                              category_id=form.category.data, flow_id=form.flow.data or None,
                              fields=form.field_config(), redirect_url=form.redirect_url.data,
                              thank_you=form.thank_you.data,
                              allowed_origins=form.allowed_origins.data,
                              rate_limit=form.rate_limit.data)
    except RuleViolation as error:
        name = error.params.get("field")
        if name in form:
            form[name].errors = [*form[name].errors, rule_message(error)]
            return form_page(web_form, form, 422)
        return form_page(web_form, form, 422, error=rule_message(error))
    return redirect(url_for("webforms.show", form_id=saved.id))


@bp.get("/")
def index():
    """Every web form with its category, flow and number of submissions."""
    return render("webforms/index.html", "form_list", forms=list(forms_with_counts()))


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new form: its fields, the category of new companies and the flow giving owners."""
    form = WebFormForm().fill_choices()
    if request.method == "GET":
        form.load(WebForm(category=default_lead_category()))
        form.rate_limit.data = DEFAULT_RATE_LIMIT
        return form_page(None, form)
    return save(None, form)


@bp.route("/<int:form_id>/edit", methods=["GET", "POST"])
def edit(form_id):
    """Change a form's fields, category, flow, answer or allowed web sites."""
    web_form = get_or_404(WebForm, form_id)
    form = WebFormForm(obj=web_form).fill_choices(web_form)
    if request.method == "GET":
        form.load(web_form)
        return form_page(web_form, form)
    return save(web_form, form)


@bp.get("/<int:form_id>")
def show(form_id):
    """The form's embeddable snippet, its hosted page and its settings at a glance."""
    web_form = get_or_404(WebForm, form_id)
    action = url_for("public_forms.submit", token=web_form.token, _external=True)
    snippet = render_template("webforms/_snippet.html", form=web_form, action=action,
                              labels=FORM_FIELDS, honeypot=HONEYPOT, utm_fields=UTM_FIELDS)
    return render("webforms/show.html", web_form=web_form, snippet=snippet.strip(),
                  hosted_url=url_for("public_forms.show", token=web_form.token,
                                     _external=True),
                  labels=FORM_FIELDS, submission_count=web_form.submissions.count())


@bp.post("/<int:form_id>/disable")
def disable(form_id):
    """Close a form: its page and endpoint answer that it is closed."""
    set_web_form_enabled(get_or_404(WebForm, form_id), False, actor())
    return redirect_or_list(form_id)


@bp.post("/<int:form_id>/enable")
def enable(form_id):
    """Open a closed form again."""
    set_web_form_enabled(get_or_404(WebForm, form_id), True, actor())
    return redirect_or_list(form_id)


@bp.post("/<int:form_id>/token")
def new_address(form_id):
    """Give the form a new secret address; pages with the old snippet stop working."""
    renew_token(get_or_404(WebForm, form_id), actor())
    return redirect(url_for("webforms.show", form_id=form_id))


def redirect_or_list(form_id):
    if request.headers.get("HX-Request"):
        return render("webforms/index.html", "form_list", forms=list(forms_with_counts()))
    if request.args.get("next") == "show":
        return redirect(url_for("webforms.show", form_id=form_id))
    return redirect(url_for("webforms.index"))


@bp.get("/<int:form_id>/submissions")
def submissions(form_id):
    """A form's submissions, newest first, each with its contact and UTM values."""
    web_form = get_or_404(WebForm, form_id)
    page = paginate(submissions_of(web_form), page_number(), per_page=25)
    return render("webforms/submissions.html", "submission_list", web_form=web_form,
                  page=page, labels=FORM_FIELDS)
