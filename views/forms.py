"""The company and contact forms, with choices filled from the lists.

The forms check only what the browser sends (required fields, lengths,
choices). What a value must look like (an e-mail address, a website, a
phone number, a name that shows) is the models' rule
(models.rules.company_fields / contact_fields): its refusal is shown next
to the field it names (views.common.show_refusal).
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length

from models import Category, User

from .i18n import category_name, group_label


def category_choices(categories):
    """Categories as choices, named in the reader's language, under their group (R1, R23)."""
    return [SelectChoice(c.id, category_name(c), optgroup=group_label(c.group))
            for c in categories]


def owner_choices():
    return [SelectChoice(0, "—")] + [SelectChoice(u.id, u.name) for u in User.active_users()]


class CompanyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    category = SelectField(_l("Category"), coerce=int)
    owner = SelectField(_l("Owner"), coerce=int)
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    email = StringField(_l("E-mail"), validators=[Length(max=200)])
    website = StringField(_l("Website"), validators=[Length(max=200)])
    city = StringField(_l("City"), validators=[Length(max=100)])
    country = StringField(_l("Country"), validators=[Length(max=100)])

    def fill_choices(self, company=None):
        categories = list(Category.ordered())
        # A retired category stays selectable on the company that still has it.
        if company is not None and company.category.retired:
            categories.append(company.category)
        self.category.choices = category_choices(categories)
        self.owner.choices = owner_choices()
        return self


class ContactForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    title = StringField(_l("Title"), validators=[Length(max=100)])
    email = StringField(_l("E-mail"), validators=[Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    owner = SelectField(_l("Owner"), coerce=int)
    utm_source = StringField(_l("Source (utm_source)"), validators=[Length(max=100)])
    utm_medium = StringField(_l("Medium (utm_medium)"), validators=[Length(max=100)])
    utm_campaign = StringField(_l("Campaign (utm_campaign)"), validators=[Length(max=100)])

    def fill_choices(self):
        self.owner.choices = owner_choices()
        return self


def form_values(form):
    """The form's data as model fields: owner 0 means none, text stripped."""
    values = {}
    for name, field in form._fields.items():
        if name == "csrf_token":
            continue
        value = field.data
        if isinstance(field, StringField):
            # A field left out of the request arrives as None; store it empty.
            value = (value or "").strip()
        values[name] = (value or None) if name == "owner" else value
    return values
