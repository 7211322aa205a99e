"""Interface language per user (en, sv, nb) and template helpers for labels."""
from flask import current_app, request
from flask_babel import format_datetime, gettext
from flask_login import current_user

from models import CATEGORY_GROUPS, LANGUAGES, ROLES


def select_locale():
    """The signed-in user's language, else the browser's best match."""
    if current_user and current_user.is_authenticated:
        return current_user.language
    return (request.accept_languages.best_match(list(LANGUAGES))
            or current_app.config["DEFAULT_LANGUAGE"])


def group_label(code):
    return gettext(CATEGORY_GROUPS.get(code, code))


def register(app):
    app.jinja_env.globals.update(
        group_label=group_label,
        role_label=lambda code: gettext(ROLES.get(code, code)),
        CATEGORY_GROUPS=CATEGORY_GROUPS,
        LANGUAGES=LANGUAGES,
    )
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else "")
