"""My day: the signed-in user's follow-ups due, new leads and open suggestions."""
from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required

from models import RuleViolation
from models.activities import NotAllowed, complete_activity
from models.engine import Actor
from models.my_day import due_follow_ups, my_pending_suggestions, newly_assigned
from models.schema import Activity

from .common import get_or_404, render, rule_message
from .errors import error_response

bp = Blueprint("my_day", __name__)


def my_day_page(block=None):
    return render("my_day/index.html", block,
                  follow_ups=due_follow_ups(current_user),
                  new_leads=newly_assigned(current_user),
                  suggestions=my_pending_suggestions(current_user))


@bp.get("/my-day")
@login_required
def index():
    """Follow-ups overdue and due today, leads newly mine, suggestions I caused."""
    return my_day_page()


@bp.post("/my-day/follow-ups/<int:activity_id>/done")
@login_required
def done(activity_id):
    """Mark one of my follow-ups done right here; the list answers without it."""
    activity = get_or_404(Activity, activity_id)
    try:
        complete_activity(activity, Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(403 if isinstance(error, NotAllowed) else 409,
                              rule_message(error))
    if not request.headers.get("HX-Request"):
        return redirect(url_for("my_day.index"))
    return my_day_page("follow_ups")
