"""Interface language per user (en, sv, nb) and template helpers for labels."""
from flask import current_app, request
from flask_babel import format_currency, format_date, format_datetime, get_locale, gettext
from flask_login import current_user

from models import CATEGORY_GROUPS, LANGUAGES, ROLES
from models.schema import N_, TRIGGERS, CategorySuggestion

AUDIT_AREAS = {
    "categories": N_("Company categories"),
    "lead_statuses": N_("Lead statuses"),
    "users": N_("Users"),
    "workflow": N_("Lead categorization"),
    "web_forms": N_("Web forms"),
}


def select_locale():
    """The signed-in user's language, else the browser's best match."""
    if current_user and current_user.is_authenticated:
        return current_user.language
    return (request.accept_languages.best_match(list(LANGUAGES))
            or current_app.config["DEFAULT_LANGUAGE"])


def group_label(code):
    return gettext(CATEGORY_GROUPS.get(code, code))


def current_language():
    return get_locale().language if get_locale() else "en"


def status_name(status):
    """A lead status's name in the interface language (falls back to the default name)."""
    return status.name_in(current_language()) if status else ""


def status_description(status):
    """A lead status's description in the interface language: the tooltip of R13."""
    return status.description_in(current_language()) if status else ""


def rule_name(item):
    """The readable name of a lead categorization rule, or of a suggestion's rule."""
    rule = item.rule if isinstance(item, CategorySuggestion) else item
    if rule is None:
        return ""
    if rule.trigger == "status_set":
        template = TRIGGERS["status_set"]
        return gettext(template, status=status_name(rule.lead_status))
    label = TRIGGERS.get(rule.trigger, rule.trigger)
    return gettext(label)


def register(app):
    app.jinja_env.globals.update(
        group_label=group_label,
        status_name=status_name,
        rule_name=rule_name,
        audit_area_label=lambda code: gettext(AUDIT_AREAS.get(code, code)),
        status_description=status_description,
        role_label=lambda code: gettext(ROLES.get(code, code)),
        CATEGORY_GROUPS=CATEGORY_GROUPS,
        LANGUAGES=LANGUAGES,
    )
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else "")
    app.jinja_env.filters["date"] = lambda value, fmt="medium": (
        format_date(value, fmt) if value else "")
    app.jinja_env.filters["money"] = lambda amount, currency: format_currency(amount, currency)
