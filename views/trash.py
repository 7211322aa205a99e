"""Delete and restore (R27): the confirmation pages, and Settings → Deleted records for
managers and admins."""
from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user

from models import Actor, RuleViolation, paginate
from models.trash import (DELETERS, delete_company, delete_contact, deleted_companies,
                          deleted_contacts, purge_date, restore_company, restore_contact)

from .common import contact_or_404, get_or_404, page_number, render, role_required, rule_message
from .companies import company_query
from .errors import error_response

bp = Blueprint("trash", __name__)

KINDS = ("companies", "contacts")


def actor():
    return Actor(current_user._get_current_object())


@bp.route("/contacts/<int:contact_id>/delete", methods=["GET", "POST"])
@role_required(*DELETERS)
def delete_contact_page(contact_id):
    """Ask, then delete a contact (it can be restored for 30 days)."""
    contact = contact_or_404(contact_id)
    if request.method == "GET":
        return render("trash/confirm.html", contact=contact, company=contact.company)
    try:
        delete_contact(contact.id, actor())
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    flash(gettext("%(name)s was deleted. It can be restored from Deleted records for "
                  "30 days.", name=contact.full_name))
    return redirect(url_for("companies.show", company_id=contact.company_id))


@bp.route("/companies/<int:company_id>/delete", methods=["GET", "POST"])
@role_required(*DELETERS)
def delete_company_page(company_id):
    """Ask, then delete a company with its contacts (restorable for 30 days)."""
    company = get_or_404(company_query(), company_id)
    if request.method == "GET":
        return render("trash/confirm.html", contact=None, company=company,
                      contact_count=company.contacts.count())
    try:
        count = delete_company(company.id, actor())
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    if count:
        flash(ngettext("%(name)s and its contact were deleted. They can be restored from "
                       "Deleted records for 30 days.",
                       "%(name)s and its %(num)d contacts were deleted. They can be restored "
                       "from Deleted records for 30 days.", count, name=company.name))
    else:
        flash(gettext("%(name)s was deleted. It can be restored from Deleted records for "
                      "30 days.", name=company.name))
    return redirect(url_for("companies.index"))


@bp.get("/settings/deleted")
@role_required(*DELETERS)
def index():
    """Deleted companies or contacts, newest first, each with its restore button."""
    kind = request.args.get("kind", "companies")
    kind = kind if kind in KINDS else "companies"
    query = deleted_companies() if kind == "companies" else deleted_contacts()
    page = paginate(query, page_number(), per_page=25)
    return render("trash/index.html", "rows", page=page, kind=kind, kinds=KINDS,
                  purge_date=purge_date)


@bp.post("/settings/deleted/contacts/<int:contact_id>/restore")
@role_required(*DELETERS)
def restore_contact_page(contact_id):
    """Bring a deleted contact back with everything it had."""
    try:
        restore_contact(contact_id, actor())
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    flash(gettext("The contact was restored."))
    return redirect(url_for("contacts.show", contact_id=contact_id))


@bp.post("/settings/deleted/companies/<int:company_id>/restore")
@role_required(*DELETERS)
def restore_company_page(company_id):
    """Bring a deleted company back with the contacts deleted with it."""
    try:
        restore_company(company_id, actor())
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    flash(gettext("The company was restored."))
    return redirect(url_for("companies.show", company_id=company_id))
