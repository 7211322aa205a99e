"""One blueprint per screen; `register` wires them and the shared hooks."""
from . import (activities, api, api_tokens, auth, board, categories, cli, companies, contacts,
               dashboards, distribution, errors, events, i18n, imports, jobs, merge, my_day,
               notices, openapi, outbox, personal, public_forms, sales, search, security,
               selections, settings, statuses, trash, users, webforms, webhooks, workflow)
from models.values import is_web_url

from .common import oob


def register(app):
    security.register(app)
    for module in (activities, auth, board, companies, contacts, dashboards, events, sales, search,
                   selections, settings, categories, statuses, users, workflow, webforms,
                   distribution, public_forms, imports, jobs, trash, merge, personal, my_day,
                   api_tokens, openapi, webhooks, notices, outbox):
        app.register_blueprint(module.bp)
    app.register_blueprint(api.bp)
    # Only a token authenticates the API (views.api.authenticate refuses every
    # request without one), so no browser session can be ridden through it.
    app.extensions["csrf"].exempt(api.bp)
    app.register_blueprint(cli.bp)
    errors.register(app)
    app.jinja_env.globals["oob"] = oob
    # Only http(s) addresses become links, whatever an old row may hold.
    app.jinja_env.globals["is_web_url"] = is_web_url
    app.jinja_env.globals["bell_trigger"] = notices.bell_trigger
    i18n.register(app)

    @app.after_request
    def vary_on_htmx(response):
        # The same URL answers with a fragment or a whole page (views.common.render).
        response.vary.add("HX-Request")
        return response
