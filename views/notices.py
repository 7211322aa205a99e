"""Notices (R26): the header's bell, the signed-in user's notices, marking them read."""
from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required

from models import paginate
from models.reminders import configure_mail, describe_notice, mark_read, notices_of, unread_count

from .common import page_number, render, wants_fragment
from .i18n import current_language

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.record_once
def configure_the_mail(state):
    """Mail settings (SMTP_HOST, ...) come from the app's configuration."""
    configure_mail(state.app.config)


def bell_trigger(live):
    """When the header's bell asks for the unread count again: each minute, or, on a
    page that holds the event stream, when the stream names the user (static/app.js
    sends tavla:notices: a lead was given to them) and every ten minutes for the rest
    (the daily digest). A thousand open boards ask 1.7 times a second, not 17."""
    return "tavla:notices from:document, every 600s" if live else "every 60s"


@bp.before_request
@login_required
def require_login():
    """Every notice page is the signed-in user's own."""


def _shown(page):
    """Each notice of the page with its subject and lines in the reader's language."""
    language = current_language()
    return [(notice, *describe_notice(notice.kind, notice.data, language))
            for notice in page.items]


@bp.get("/")
def index(bell_oob=False):
    """My notices, newest first, paged; unread ones marked."""
    page = paginate(notices_of(current_user), page_number(), per_page=20)
    return render("notices/index.html", "notices", page=page, shown=_shown(page),
                  unread=unread_count(current_user), bell_oob=bell_oob)


@bp.get("/bell")
def bell():
    """The header's link to the notices with the unread count (asked for by htmx)."""
    return render("notices/_bell.html", unread=unread_count(current_user),
                  live=request.args.get("live") == "1")


@bp.post("/<int:notice_id>/read")
def read(notice_id):
    """Mark one of my notices read (someone else's is left alone)."""
    mark_read(current_user, notice_id)
    return _after_reading()


@bp.post("/read")
def read_all():
    """Mark all my notices read."""
    mark_read(current_user)
    return _after_reading()


def _after_reading():
    """htmx gets the list again with the header's count; a browser without it the page."""
    if wants_fragment():
        return index(bell_oob=True)
    return redirect(url_for("notices.index", page=page_number()), code=303)
