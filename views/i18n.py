"""Interface language per user (en, sv, nb) and template helpers for labels.

Lead statuses, categories and category groups are named in the reader's
language (R23) by one `ListNames` per request: each list is read once, on
first use, however many rows a page names.
"""
import datetime
import functools

from babel import dates as babel_dates
from flask import current_app, g, has_app_context, request, session
from flask_babel import (format_currency, format_date, format_datetime, get_locale,
                         get_timezone, get_translations, gettext)
from flask_login import current_user

from models import CATEGORY_GROUPS, LANGUAGES, ROLES
from models.names import ListNames
from models.schema import N_, TRIGGERS, CategorySuggestion
from models.search import Vocabulary

AUDIT_AREAS = {
    "categories": N_("Company categories"),
    "lead_statuses": N_("Lead statuses"),
    "users": N_("Users"),
    "workflow": N_("Lead categorization"),
    "web_forms": N_("Web forms"),
    "records": N_("Companies and contacts"),
    "api_tokens": N_("API tokens"),
    "webhooks": N_("Webhooks"),
}


def select_locale():
    """The signed-in user's language (the API token's user's), else the one chosen on
    the sign-in page, else the browser's best match."""
    token = g.get("api_token")
    if token is not None:
        return token.user.language
    if current_user and current_user.is_authenticated:
        return current_user.language
    if session.get("language") in LANGUAGES:
        return session["language"]
    return (request.accept_languages.best_match(list(LANGUAGES))
            or current_app.config["DEFAULT_LANGUAGE"])


def current_language():
    return get_locale().language if get_locale() else "en"


def request_vocabulary():
    """The lists (statuses, categories, users, groups) as this request reads them, once."""
    if "vocabulary" not in g:
        g.vocabulary = Vocabulary()
    return g.vocabulary


def list_names():
    """The lists named in the reader's language, for this request (R23)."""
    if "list_names" not in g:
        g.list_names = ListNames(current_language(), request_vocabulary())
    return g.list_names


def status_name(status):
    """A lead status's name (a row or an id) in the reader's language (R23)."""
    return list_names().status(status)


def status_description(status):
    """A lead status's description in the reader's language: the tooltip of R13."""
    return list_names().status_description(status)


def category_name(category):
    """A category's name (a row or an id) in the reader's language (R23)."""
    return list_names().category(category)


def category_description(category):
    return list_names().category_description(category)


def group_label(code):
    """A category group's name in the reader's language (R23)."""
    return list_names().group(code)


def message_params(params):
    """A refusal's parameters with the status or category it names (by its default
    name, as models/ raise them) named in the reader's language (R23)."""
    params = dict(params)
    vocabulary = request_vocabulary()
    for key, rows, name in (("status", vocabulary.statuses, status_name),
                            ("category", vocabulary.categories, category_name)):
        if isinstance(params.get(key), str):
            found = next((row for row in rows.values() if row.name == params[key]), None)
            if found is not None:
                params[key] = name(found)
    return params


def rule_name(item):
    """The readable name of a lead categorization rule, or of a suggestion's rule."""
    rule = item.rule if isinstance(item, CategorySuggestion) else item
    if rule is None:
        return ""
    if rule.trigger == "status_set":
        template = TRIGGERS["status_set"]
        return gettext(template, status=status_name(rule.lead_status_id))
    label = TRIGGERS.get(rule.trigger, rule.trigger)
    return gettext(label)


# How the history labels the authors that are not people (models: rule_label,
# WebForm.label, ImportJob.label), read back into the reader's language.
STATUS_RULE_PREFIX = TRIGGERS["status_set"].split("%(status)s")[0]
LABEL_PREFIXES = {"form": ("Web form: ", N_("Web form: %(name)s")),
                  "import": ("Import: ", N_("Import: %(name)s"))}


def reader():
    """(Locale, its name, time zone, catalog) of the reader, looked up once per request
    and locale (a `force_locale` block gets its own). A page words hundreds of times
    and translates hundreds of strings (a card's timeline, five per entry), and
    Flask-Babel looks the language, zone and catalog up again for each."""
    locale = get_locale()
    kept = g.get("reader")
    if kept is None or kept[0] is not locale:
        kept = g.reader = (locale, str(locale), get_timezone(), get_translations())
    return kept


def reader_time(moment, zone=None):
    """A stored moment (naive: UTC) in the reader's time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(zone or reader()[2])


def format_moment(moment, style="medium"):
    """A date and time as `format_datetime(moment, style)` words it, in the reader's
    language and time zone. A card's timeline shows many: for the "short" and
    "medium" styles Babel words each day and each time of day once per language
    (`_day_label`, `_time_label`), and they are joined the language's way."""
    if not moment:
        return ""
    if style not in ("short", "medium") or not isinstance(moment, datetime.datetime):
        return format_datetime(moment, style)
    _, locale, zone, _ = reader()
    local = reader_time(moment, zone)
    clock = local.time().replace(microsecond=0, tzinfo=None)
    if style == "short":
        clock = clock.replace(second=0)
    return (_joined(locale, style).replace("{0}", _time_label(locale, clock, style))
            .replace("{1}", _day_label(locale, local.date(), style)))


@functools.lru_cache(maxsize=64)
def _joined(locale, style):
    return str(babel_dates.get_datetime_format(style, locale=locale)).replace("'", "")


@functools.lru_cache(maxsize=8192)
def _time_label(locale, clock, style):
    return babel_dates.format_time(clock, style, locale=locale)


def when_due(moment, today_at):
    """A due time as a card shows it: "Thu 10:00" within the coming week, else with its
    date ("3 Dec 10:00"), in the reader's language and time zone.

    A board names hundreds of due times: each day is worded by Babel once per
    language (`_day_label`), the time of day is the same in every language."""
    days = (moment.date() - today_at.date()).days
    _, locale, zone, _ = reader()
    local = reader_time(moment, zone)
    pattern = "EEE" if 0 <= days < 7 else "d MMM"
    return f"{_day_label(locale, local.date(), pattern)} {local:%H:%M}"


@functools.lru_cache(maxsize=4096)
def _day_label(locale, day, pattern):
    return babel_dates.format_date(day, pattern, locale=locale)


def source_text(source, label):
    """The rule, web form or import that made a change, in the reader's language.

    Rule labels name the status their rule listens to by its default name
    at the time; it is named again in the reader's language when it is
    still a status's name.
    """
    label = label or ""
    if source == "rule":
        if label in TRIGGERS.values():
            return gettext(label)
        if label.startswith(STATUS_RULE_PREFIX):
            named = label[len(STATUS_RULE_PREFIX):]
            found = next((s for s in request_vocabulary().statuses.values()
                          if named in (s.name, s.name_en, s.name_sv, s.name_nb)), None)
            return gettext(TRIGGERS["status_set"],
                           status=status_name(found) if found else named)
        return label
    prefix, message = LABEL_PREFIXES.get(source, (None, None))
    if prefix and label.startswith(prefix):
        return gettext(message, name=label[len(prefix):])
    return label


def translations():
    """The catalog of the language in force (see reader)."""
    return reader()[3] if has_app_context() else get_translations()


def register(app):
    # The templates' _() and friends, as Flask-Babel installs them but through
    # translations() above.
    app.jinja_env.install_gettext_callables(
        gettext=lambda message: translations().ugettext(message),
        ngettext=lambda singular, plural, n: translations().ungettext(singular, plural, n),
        pgettext=lambda context, message: translations().upgettext(context, message),
        npgettext=lambda context, singular, plural, n: translations().unpgettext(
            context, singular, plural, n),
        newstyle=True)
    app.jinja_env.globals.update(
        group_label=group_label,
        group_choices=lambda: list_names().groups(),
        status_name=status_name,
        category_name=category_name,
        category_description=category_description,
        rule_name=rule_name,
        source_text=source_text,
        audit_area_label=lambda code: gettext(AUDIT_AREAS.get(code, code)),
        status_description=status_description,
        role_label=lambda code: gettext(ROLES.get(code, code)),
        current_language=current_language,
        CATEGORY_GROUPS=CATEGORY_GROUPS,
        LANGUAGES=LANGUAGES,
    )
    app.jinja_env.filters["datetime"] = format_moment
    app.jinja_env.filters["date"] = lambda value, fmt="medium": (
        format_date(value, fmt) if value else "")
    app.jinja_env.filters["when_due"] = when_due
    app.jinja_env.filters["money"] = lambda amount, currency: format_currency(amount, currency)
