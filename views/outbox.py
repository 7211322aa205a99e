"""The outbox (admins, R26): every reminder mail, sent or kept here when no SMTP server
is configured, so a newcomer reads them without a mail server."""
from flask import Blueprint

from models import paginate
from models.reminders import MAIL_STATES, Mail, outbox, settings

from .common import admin_only, get_or_404, page_number, render

bp = admin_only(Blueprint("outbox", __name__, url_prefix="/settings/outbox"))


@bp.get("/")
def index():
    """The mails, newest first, paged."""
    page = paginate(outbox(), page_number(), per_page=50)
    return render("outbox/index.html", "mails", page=page, states=MAIL_STATES,
                  smtp_host=settings.host)


@bp.get("/<int:mail_id>")
def show(mail_id):
    """One mail as it was (or would be) sent."""
    return render("outbox/show.html", mail=get_or_404(Mail, mail_id), states=MAIL_STATES)
