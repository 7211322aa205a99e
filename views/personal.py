"""A person's data (R29), admins only: the readable page, the JSON export and erase."""
import json

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import Actor, RuleViolation
from models.personal import erase_person, export_person, field_label, find_person, table_label

from .common import render, role_required, rule_message
from .errors import error_response

bp = Blueprint("personal", __name__)


def actor():
    return Actor(current_user._get_current_object())


def person_or_404(contact_id):
    contact = find_person(contact_id)
    if contact is None:
        abort(404)
    return contact


@bp.get("/contacts/<int:contact_id>/personal-data")
@role_required("admin")
def show(contact_id):
    """Everything held about the person, readable, with the download and erase buttons."""
    contact = person_or_404(contact_id)
    data = export_person(contact.id, actor())
    return render("personal/show.html", contact=contact, data=data, field_label=field_label,
                  table_label=table_label)


@bp.get("/contacts/<int:contact_id>/personal-data.json")
@role_required("admin")
def download(contact_id):
    """The same as JSON (schema in the README), as a file."""
    contact = person_or_404(contact_id)
    body = json.dumps(export_person(contact.id, actor()), ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="person-{contact.id}.json"'
    return response


@bp.route("/contacts/<int:contact_id>/erase", methods=["GET", "POST"])
@role_required("admin")
def erase(contact_id):
    """Ask, then erase the person's data; counts and history stay."""
    contact = person_or_404(contact_id)
    if request.method == "GET":
        return render("personal/erase.html", contact=contact)
    try:
        erase_person(contact.id, actor())
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    flash(gettext("The person's data was erased."))
    return redirect(url_for("personal.show", contact_id=contact.id))
