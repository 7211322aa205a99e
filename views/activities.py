"""Activities on the contact and company cards (R24): add, edit, complete, reopen and
delete in place. Every change answers with the card's activities panel and its
timeline (out of band), or, without htmx, goes back to the card."""
import datetime

from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice

from models import RuleViolation, User
from models.activities import (NotAllowed, add_activity, can_assign_others, can_complete, can_edit,
                               complete_activity, delete_activity, edit_activity,
                               open_follow_ups, parse_due)
from models.activity import card_timeline
from models.engine import Actor
from models.schema import ACTIVITY_KINDS, FOLLOW_UP, Activity, Company, Contact, now

from .common import contact_or_404, get_or_404, render, rule_message, show_refusal
from .errors import error_response

bp = Blueprint("activities", __name__)

TIMELINE_PAGE = 30


class ActivityForm(FlaskForm):
    """What the browser sends; the text, the due time and the owner are the model's rules."""
    kind = SelectField(_l("Kind"), default="note")
    text = TextAreaField(_l("What happened, or the next step"))
    due_date = StringField(_l("Due date"))
    due_time = StringField(_l("Time"))
    owner = SelectField(_l("Owner"), coerce=int, validate_choice=False)

    def fill_choices(self):
        """The kinds; the owners only for those who give follow-ups to others."""
        self.kind.choices = [(code, gettext(label)) for code, label in ACTIVITY_KINDS.items()]
        self.owner.choices = [SelectChoice(u.id, u.name) for u in User.active_users()] \
            if can_assign_others(current_user) else []
        return self


def new_activity_form(kind="note"):
    """An empty form: a follow-up due tomorrow at 09:00, for the user at hand."""
    form = ActivityForm(formdata=None).fill_choices()
    form.kind.data = kind
    form.due_date.data = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    form.due_time.data = "09:00"
    form.owner.data = current_user.id
    return form


def activity_context(contact=None, company=None, form=None, before=None):
    """What the activities panel and the timeline of a card need."""
    return dict(
        follow_ups=open_follow_ups(contact=contact, company=None if contact else company),
        activity_form=form or new_activity_form(
            "follow_up" if request.args.get("plan") == "1" else "note"),
        planning=request.args.get("plan") == "1",
        assign_others=can_assign_others(current_user),
        timeline=card_timeline(contact=contact, company=None if contact else company,
                               limit=TIMELINE_PAGE, before=before),
    )


bp.add_app_template_global(ACTIVITY_KINDS, "activity_kinds")
bp.add_app_template_global(now, "now")


@bp.app_template_global()
def activity_rights(activity):
    """(may edit or delete, may complete) for the signed-in user, for the templates."""
    return can_edit(activity, current_user), can_complete(activity, current_user)


def parse_before(value):
    """The `before` of a timeline page: an ISO time, else None (the newest page)."""
    try:
        return datetime.datetime.fromisoformat(value[:32]) if value else None
    except ValueError:
        return None


def _card(activity=None, contact=None, company=None, form=None, status=200):
    """Answer a change with the card it was made on: the panel and the timeline for
    htmx, else a redirect back to the card (or the card page with the form's errors)."""
    response = _card_response(activity, contact, company, form, status)
    if request.headers.get("HX-Request"):
        # Whatever asked (a timeline entry's button, its edit form), the panel is
        # what is answered; the timeline comes out of band.
        response.headers["HX-Retarget"] = "#activities"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


def _card_response(activity, contact, company, form, status):
    if activity is not None:
        contact = activity.contact_id and Contact.get_or_none(Contact.id == activity.contact_id)
        company = None if contact else Company.get_or_none(Company.id == activity.company_id)
    if contact:
        from .contacts import contact_card
        contact = contact_or_404(contact.id)
        if not request.headers.get("HX-Request") and form is None:
            return redirect(url_for("contacts.show", contact_id=contact.id))
        return contact_card(contact, ["activities", "timeline"], status=status,
                            **activity_context(contact=contact, form=form))
    from .companies import company_card, company_query
    company = get_or_404(company_query(), company.id)
    if not request.headers.get("HX-Request") and form is None:
        return redirect(url_for("companies.show", company_id=company.id))
    return company_card(company, status=status, blocks=["activities", "timeline"],
                        **activity_context(company=company, form=form))


def _save_new(contact=None, company=None):
    form = ActivityForm().fill_choices()
    if not form.validate_on_submit():
        return _card(contact=contact, company=company, form=form, status=422)
    try:
        due_at = parse_due(form.due_date.data, form.due_time.data) \
            if form.kind.data == FOLLOW_UP else None
        add_activity(Actor(current_user._get_current_object()), form.kind.data,
                     form.text.data, contact=contact, company=company, due_at=due_at,
                     owner=form.owner.data or None)
    except RuleViolation as error:
        message = show_refusal(form, error)
        if message:
            form.text.errors = [*form.text.errors, message]
        return _card(contact=contact, company=company, form=form, status=422)
    return _card(contact=contact, company=company, form=new_activity_form()
                 if request.headers.get("HX-Request") else None)


@bp.post("/contacts/<int:contact_id>/activities")
@login_required
def contact_add(contact_id):
    """Record a note, call, meeting or follow-up on a contact (R24)."""
    return _save_new(contact=get_or_404(Contact, contact_id))


@bp.post("/companies/<int:company_id>/activities")
@login_required
def company_add(company_id):
    """Record a note, call, meeting or follow-up on a company (R24)."""
    return _save_new(company=get_or_404(Company, company_id))


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
def edit(activity_id):
    """Edit an activity's text (a follow-up's due time and owner too) in place."""
    activity = get_or_404(Activity, activity_id)
    if not can_edit(activity, current_user):
        return error_response(403, gettext("Only its author, managers and admins change this."))
    form = ActivityForm(obj=activity).fill_choices()
    if request.method == "GET":
        if activity.due_at:
            form.due_date.data = activity.due_at.date().isoformat()
            form.due_time.data = activity.due_at.strftime("%H:%M")
        form.owner.data = activity.owner_id or current_user.id
    elif form.validate_on_submit():
        try:
            due_at = parse_due(form.due_date.data, form.due_time.data) \
                if activity.kind == FOLLOW_UP else None
            edit_activity(activity, Actor(current_user._get_current_object()), form.text.data,
                          due_at=due_at, owner=form.owner.data or None)
        except RuleViolation as error:
            message = show_refusal(form, error)
            if message:
                form.text.errors = [*form.text.errors, message]
        else:
            return _card(activity)
    status = 422 if form.errors else 200
    return render("activities/edit.html", "form", status=status, form=form, activity=activity,
                  assign_others=can_assign_others(current_user))


def _act(activity_id, change):
    activity = get_or_404(Activity, activity_id)
    try:
        change(activity, Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(403 if isinstance(error, NotAllowed) else 409,
                              rule_message(error))
    return _card(activity)


@bp.post("/activities/<int:activity_id>/done")
@login_required
def done(activity_id):
    """Mark a follow-up done (its owner, author, managers, admins)."""
    return _act(activity_id, complete_activity)


@bp.post("/activities/<int:activity_id>/reopen")
@login_required
def reopen(activity_id):
    """Open a done follow-up again."""
    return _act(activity_id, lambda activity, actor: complete_activity(activity, actor, False))


@bp.post("/activities/<int:activity_id>/delete")
@login_required
def delete(activity_id):
    """Delete an activity (its author, managers, admins)."""
    return _act(activity_id, delete_activity)
