"""Contacts: the contact card with its lead status edited in place, and forms."""
from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from models import (Actor, Category, LeadStatus, RuleViolation, User, create_contact,
                    lead_status_is_active, update_contact)
from models.activity import web_form_messages
from models.categorization import set_lead_status_with_rules
from models.merge import duplicate_contacts, merged_into
from models.search import contact_with_relations

from .activities import activity_context, parse_before
from .common import contact_or_404, get_or_404, int_arg, render, rule_message, show_refusal
from .companies import company_query
from .errors import error_response
from .forms import ContactForm, form_values
from .i18n import request_vocabulary

bp = Blueprint("contacts", __name__)


def contact_card(contact, blocks=None, status=200, **extra):
    """Render the contact card, or the blocks an htmx request needs."""
    return render("contacts/show.html", blocks, status=status,
                  **contact_card_context(contact, **extra))


def contact_card_context(contact, **extra):
    """What the contact card (and the board's side panel showing it) needs."""
    active = lead_status_is_active(contact)
    messages = web_form_messages(contact=contact, limit=3)
    if "timeline" not in extra:
        extra.update(activity_context(contact=contact, before=parse_before(
            request.args.get("before"))))
    context = dict(
        contact=contact,
        lead_status_active=active,
        # Retired statuses are not offered (R6) but the current one stays shown.
        statuses=[s for s in request_vocabulary().statuses.values() if not s.retired]
        if active else [],
        messages=messages,
        editing_status=False,
        form=None,
        proposal=None,
    )
    context.update(extra)
    return context


@bp.get("/contacts/<int:contact_id>")
@login_required
def show(contact_id):
    """The contact card: company, category, lead status (R8, R13), source, activities
    and the timeline (a page of older entries with ?before=, the block htmx asks for)."""
    contact = contact_with_relations(contact_id)
    if contact is None:
        # R28: a merged-away contact's address leads to the survivor.
        survivor = merged_into("contacts", contact_id)
        if survivor is None:
            abort(404)
        return redirect(url_for("contacts.show", contact_id=survivor), 301)
    return contact_card(contact, "timeline_page" if request.args.get("before") else None,
                        duplicates=list(duplicate_contacts(contact)))


@bp.get("/contacts/<int:contact_id>/lead-status")
@login_required
def lead_status(contact_id):
    """The lead status widget, shown or (with ?edit=1) as a chooser."""
    contact = contact_or_404(contact_id)
    editing = request.args.get("edit") == "1" and lead_status_is_active(contact)
    # Cancelled in place: focus goes back to the "Change" link it came from.
    return contact_card(contact, "lead_status", editing_status=editing,
                        focus_change=not editing and bool(request.headers.get("HX-Request")))


@bp.post("/contacts/<int:contact_id>/lead-status")
@login_required
def set_status(contact_id):
    """Set the lead status in place (R8, R6); the widget and the timeline update."""
    contact = contact_or_404(contact_id)
    status = LeadStatus.get_or_none(LeadStatus.id == int_arg("lead_status", values=request.form))
    if status is None:
        return error_response(422, gettext("Choose a lead status from the list."))
    try:
        outcome = set_lead_status_with_rules(contact, status,
                                             Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    if not request.headers.get("HX-Request"):
        if outcome.suggestion:
            return redirect(url_for("companies.show", company_id=contact.company_id,
                                    suggestion=outcome.suggestion.id))
        return redirect(url_for("contacts.show", contact_id=contact.id))
    contact = contact_or_404(contact_id)
    if outcome.action == "change":
        # A rule moved the company: category (and maybe the status field, R11)
        # changed, so the whole details panel is sent instead of the widget.
        response = contact_card(contact, ["details", "timeline"])
        response.headers["HX-Retarget"] = "#contact-details"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    if outcome.suggestion:
        return contact_card(contact, ["lead_status", "timeline", "dialog"],
                            proposal=outcome.suggestion, categories=list(Category.ordered()))
    return contact_card(contact, ["lead_status", "timeline"], focus_change=True)


@bp.route("/companies/<int:company_id>/contacts/new", methods=["GET", "POST"])
@login_required
def create(company_id):
    """A new contact under a company; it starts at the initial status when active (R9)."""
    company = get_or_404(company_query(), company_id)
    form = ContactForm().fill_choices()
    if request.method == "GET":
        form.owner.data = company.owner_id or current_user.id
    if form.validate_on_submit():
        try:
            contact = create_contact(company, Actor(current_user._get_current_object()),
                                     **form_values(form))
        except RuleViolation as error:
            show_refusal(form, error)
        else:
            return redirect(url_for("contacts.show", contact_id=contact.id))
    return render("contacts/form.html", "form", status=422 if form.errors else 200,
                  form=form, company=company, contact=None)


def save_contact(contact, form):
    """The edited details and, recorded in the history, a new owner: all or nothing."""
    values = form_values(form)
    owner_id = values.pop("owner")
    try:
        update_contact(contact, Actor(current_user._get_current_object()),
                       User.get_or_none(User.id == owner_id) if owner_id else None, **values)
    except RuleViolation as error:
        message = show_refusal(form, error)
        if message:
            form.owner.errors.append(message)
        return False
    return True


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id):
    """Edit a contact: in place on the card (htmx) or as its own page."""
    contact = contact_or_404(contact_id)
    form = ContactForm(obj=contact).fill_choices()
    if request.method == "GET":
        form.owner.data = contact.owner_id or 0
    if form.validate_on_submit() and save_contact(contact, form):
        if request.headers.get("HX-Request"):
            contact = contact_or_404(contact_id)
            return contact_card(contact, "details")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    status = 422 if form.errors else 200
    if request.headers.get("HX-Request"):
        return contact_card(contact, "details", status=status, form=form)
    return render("contacts/form.html", status=status, form=form, company=contact.company,
                  contact=contact)
