"""Settings → Lists → Company categories (R1, R2, R4): add, edit, reorder, retire, and
name categories and category groups per language (R23)."""
from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from models import (CATEGORY_GROUPS, LANGUAGES, Actor, Category, Company, RuleViolation,
                    reorder_categories, restore_category, retire_category, save_category)
from models.categories import deactivation_impact, save_group_names
from models.names import DESCRIPTION_MAX, NAME_MAX, TRANSLATION_FIELDS
from models.schema import CategoryGroup

from .common import admin_only, get_or_404, render, rule_message, save_posted_order
from .i18n import group_label

bp = admin_only(Blueprint("categories", __name__, url_prefix="/settings/categories"))


def _name_field():
    return StringField(_l("Name"), validators=[Optional(), Length(max=NAME_MAX)])


def _description_field():
    return TextAreaField(_l("Description"), validators=[Optional(), Length(max=DESCRIPTION_MAX)])


class PerLanguage:
    """The name (and description) fields of each interface language (R23)."""

    def translations(self):
        """The per-language fields as the models take them."""
        return {field: self[field].data for field in TRANSLATION_FIELDS if field in self}

    def language_fields(self):
        """(language label, name field, description field or None) for each language."""
        return [(label, self[f"name_{code}"], self[f"description_{code}"]
                 if f"description_{code}" in self else None)
                for code, label in LANGUAGES.items()]


class CategoryForm(PerLanguage, FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    group = SelectField(_l("Category group"))
    lead_status_enabled = BooleanField(_l("Enable lead status"))
    description = TextAreaField(_l("Description"), validators=[Length(max=DESCRIPTION_MAX)])
    name_en, description_en = _name_field(), _description_field()
    name_sv, description_sv = _name_field(), _description_field()
    name_nb, description_nb = _name_field(), _description_field()
    # Set by the "Save anyway" button after the R11 warning was shown.
    confirmed = HiddenField()

    def fill_choices(self):
        self.group.choices = [SelectChoice(code, group_label(code)) for code in CATEGORY_GROUPS]
        return self


class GroupForm(PerLanguage, FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    name_en, name_sv, name_nb = _name_field(), _name_field(), _name_field()


def actor():
    return Actor(current_user._get_current_object())


def categories_with_counts(show_retired):
    """Every category with its number of companies, in list order."""
    # The count is a correlated subquery: one statement for the whole list.
    in_use = (Company.select(fn.COUNT(Company.id)).where(Company.category == Category.id))
    query = (Category.select(Category, in_use.alias("company_count"))
             .order_by(Category.sort_order, Category.name))
    return query if show_retired else query.where(Category.retired == False)  # noqa: E712


def list_page(status=200):
    show_retired = request.args.get("retired") == "1"
    return render("categories/index.html", "category_list", status=status,
                  categories=list(categories_with_counts(show_retired)),
                  groups=list(CategoryGroup.select()), show_retired=show_retired)


@bp.get("/")
def index():
    """The categories in list order, with their group and whether lead status is active."""
    return list_page()


def save(category, form):
    """Validate, warn about hidden lead statuses (R11), then save through the rules."""
    template = "categories/form.html"
    if not form.validate_on_submit():
        return render(template, status=422 if form.errors else 200, form=form,
                      category=category, impact=(0, 0))
    impact = deactivation_impact(category or Category(), form.group.data,
                                 form.lead_status_enabled.data)
    if any(impact) and form.confirmed.data != "1":
        # Ask first: the statuses stay but are no longer editable (R11).
        return render(template, status=200, form=form, category=category, impact=impact)
    try:
        save_category(category, actor(), name=form.name.data, group=form.group.data,
                      description=form.description.data,
                      lead_status_enabled=form.lead_status_enabled.data,
                      translations=form.translations())
    except RuleViolation as error:
        # The rule names the field it is about; the message goes next to it.
        name = error.params.get("field", "name")
        field = form[name] if name in form else form.name
        field.errors = [*field.errors, rule_message(error)]
        return render(template, status=422, form=form, category=category, impact=(0, 0))
    return redirect(url_for("categories.index"))


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new category; R2 is checked before anything is saved."""
    form = CategoryForm().fill_choices()
    if request.method == "GET":
        form.group.data = "potential"
        return render("categories/form.html", form=form, category=None, impact=(0, 0))
    return save(None, form)


@bp.route("/<int:category_id>/edit", methods=["GET", "POST"])
def edit(category_id):
    """Rename, re-group, describe a category or switch its lead status."""
    category = get_or_404(Category, category_id)
    form = CategoryForm(obj=category).fill_choices()
    if request.method == "GET":
        return render("categories/form.html", form=form, category=category, impact=(0, 0))
    return save(category, form)


@bp.post("/order")
def reorder():
    """Save the order the admin dragged the rows into."""
    return save_posted_order(reorder_categories, actor()) or list_page()


@bp.post("/<int:category_id>/retire")
def retire(category_id):
    """Hide a category from the choosers; its companies keep it (R4)."""
    retire_category(get_or_404(Category, category_id), actor())
    return redirect_or_list()


@bp.post("/<int:category_id>/restore")
def restore(category_id):
    """Offer a retired category again."""
    restore_category(get_or_404(Category, category_id), actor())
    return redirect_or_list()


def redirect_or_list():
    if request.headers.get("HX-Request"):
        return list_page()
    return redirect(url_for("categories.index", retired=request.args.get("retired")))


@bp.route("/groups/<code>/edit", methods=["GET", "POST"])
def edit_group(code):
    """Name a category group, by default and per language (the groups are fixed, R1)."""
    group = CategoryGroup.get_or_none(CategoryGroup.code == code)
    if group is None:
        abort(404)
    form = GroupForm(obj=group)
    template = "categories/group.html"
    if not form.validate_on_submit():
        return render(template, status=422 if form.errors else 200, form=form, group=group)
    try:
        save_group_names(group.code, actor(), form.name.data, form.translations())
    except RuleViolation as error:
        name = error.params.get("field", "name")
        field = form[name] if name in form else form.name
        field.errors = [*field.errors, rule_message(error)]
        return render(template, status=422, form=form, group=group)
    return redirect(url_for("categories.index"))
