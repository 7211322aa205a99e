"""Tavla: the application factory. It wires extensions, database and blueprints."""
import os
import secrets

from flask import Flask, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

import models
import views
from models.feed import FeedHub
from models.tile_cache import TileCache
from views.auth import configure_login
from views.i18n import select_locale

babel = Babel()
csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()


def create_app(config=None):
    """Build the app: defaults, then TAVLA_* / DATABASE_URL from the environment, then `config`."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=f"sqlite:///{os.path.join(app.instance_path, 'tavla.db')}",
        DEFAULT_LANGUAGE="en",
        MAX_CONTENT_LENGTH=256 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        BABEL_TRANSLATION_DIRECTORIES=os.path.join(app.root_path, "views", "translations"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The live feed (models/feed.py, views/events.py): how often SQLite's
        # reader looks for news, how long a stream lasts before the browser
        # reconnects, and how many streams one server process holds.
        FEED_POLL_SECONDS=0.5,
        FEED_STREAM_SECONDS=300,
        FEED_MAX_STREAMS=1000,
        FEED_BUSY_POLL_SECONDS=30,  # how often a tab past the limit asks instead
    )
    app.config.from_prefixed_env("TAVLA")
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)

    database = models.bind_database(app.config["DATABASE_URL"])
    app.extensions["feed"] = FeedHub(database, poll_seconds=app.config["FEED_POLL_SECONDS"],
                                     max_streams=app.config["FEED_MAX_STREAMS"])
    app.extensions["tile_cache"] = TileCache(app.extensions["feed"])

    @app.before_request
    def open_database():
        # Static files need no connection: a page's scripts and styles do not wait
        # for (or hold) one of the pool's connections.
        if request.endpoint != "static":
            database.connect(reuse_if_open=True)

    @app.teardown_request
    def close_database(exc):
        if not database.is_closed():
            database.close()

    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    configure_login(login_manager)
    views.register(app)
    return app


def _instance_secret(app):
    """A random secret key kept in the instance folder, so sessions survive restarts."""
    path = os.path.join(app.instance_path, "secret_key")
    if not os.path.exists(path):
        os.makedirs(app.instance_path, exist_ok=True)
        with open(path, "w") as handle:
            handle.write(secrets.token_hex(32))
    with open(path) as handle:
        return handle.read().strip()
