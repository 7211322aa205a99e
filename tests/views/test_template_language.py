"""R23: a template's _() and ngettext() speak the language in force, looked up once
per request (views/i18n.translations) but never kept past a change of language."""
from flask import render_template_string
from flask_babel import force_locale, refresh

TEMPLATE = "{{ _('Done') }} / {{ ngettext('%(num)s contact', '%(num)s contacts', 2) }}"


def test_r23_templates_follow_the_language_in_force_within_one_request(app):
    with app.test_request_context(headers={"Accept-Language": "sv"}):
        assert render_template_string(TEMPLATE) == "Klar / 2 kontakter"
        with force_locale("nb"):
            assert render_template_string(TEMPLATE).startswith("Ferdig / ")
        with force_locale("en"):
            assert render_template_string(TEMPLATE) == "Done / 2 contacts"
        assert render_template_string(TEMPLATE) == "Klar / 2 kontakter"


def test_r23_a_refreshed_language_is_used_at_once(app):
    """A user who saves another language sees the next words in it (Flask-Babel's refresh)."""
    with app.test_request_context(headers={"Accept-Language": "sv"}) as context:
        assert render_template_string(TEMPLATE).startswith("Klar")
        context.request.environ["HTTP_ACCEPT_LANGUAGE"] = "nb"
        del context.request.accept_languages
        refresh()
        assert render_template_string(TEMPLATE).startswith("Ferdig")
