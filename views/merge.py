"""Duplicates and merging (R28): the "Possible duplicates" list and the merge screen
for two contacts or two companies."""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from models import Actor, Company, Contact, RuleViolation, User, paginate
from models.merge import (ENTITIES, lead_status_choosable, may_merge, merge,
                          possible_duplicates, version_of)

from .common import int_arg, page_number, render, rule_message
from .i18n import status_name

bp = Blueprint("merge", __name__)

PAIRS_PER_PAGE = 25


@bp.get("/contacts/duplicates")
@login_required
def duplicates():
    """Pairs of contacts that look like the same person, each with a merge link."""
    page = paginate(possible_duplicates(), page_number(), per_page=PAIRS_PER_PAGE)
    ids = {i for pair in page.items for i in pair}
    contacts = {c.id: c for c in Contact.select(Contact, Company).join(Company)
                .where(Contact.id.in_(sorted(ids)))} if ids else {}
    pairs = [(contacts[first], contacts[second]) for first, second in page.items
             if first in contacts and second in contacts]
    return render("merge/duplicates.html", "pairs", page=page, pairs=pairs)


def merge_pair(entity):
    """The two records a merge request names (survivor, loser), or a 404."""
    model, _ = ENTITIES[entity]
    survivor_id = int_arg("survivor", values=request.values)
    loser_id = int_arg("loser", values=request.values)
    records = {r.id: r for r in model.select().where(model.id.in_(
        [i for i in (survivor_id, loser_id) if i is not None]))}
    if survivor_id not in records or loser_id not in records:
        abort(404)
    return records[survivor_id], records[loser_id]


@bp.route("/merge/<any(contacts, companies):entity>", methods=["GET", "POST"])
@login_required
def merge_page(entity):
    """Compare two records field by field, choose the winning values, merge."""
    survivor_id = int_arg("survivor", values=request.values)
    if survivor_id is not None and survivor_id == int_arg("loser", values=request.values):
        return render("merge/refused.html", status=422, entity=entity,
                      message=gettext("A record cannot be merged with itself."))
    survivor, loser = merge_pair(entity)
    user = current_user._get_current_object()
    if not may_merge(user, [survivor, loser]):
        abort(403)
    _, fields = ENTITIES[entity]
    if request.method == "POST":
        choices = {name: request.form.get(f"pick_{name}") for name in fields
                   if request.form.get(f"pick_{name}") in ("survivor", "loser")}
        versions = (request.form.get("survivor_version", ""),
                    request.form.get("loser_version", ""))
        try:
            merged = merge(entity, survivor.id, loser.id, choices, versions, Actor(user))
        except RuleViolation as error:
            return render("merge/form.html", status=409, entity=entity, survivor=survivor,
                          loser=loser, fields=fields, rows=rows(entity, survivor, loser),
                          error=rule_message(error), version_of=version_of)
        flash(gettext("Merged: one record now holds everything both had."))
        endpoint = "contacts.show" if entity == "contacts" else "companies.show"
        key = "contact_id" if entity == "contacts" else "company_id"
        return redirect(url_for(endpoint, **{key: merged.id}))
    return render("merge/form.html", entity=entity, survivor=survivor, loser=loser,
                  fields=fields, rows=rows(entity, survivor, loser), error=None,
                  version_of=version_of)


def rows(entity, survivor, loser):
    """(field, label, survivor's value, loser's value, default pick) for the form; the
    lead status only where the survivor's category has it active (R8)."""
    _, fields = ENTITIES[entity]
    owners = {u.id: u.name for u in User.select().where(
        User.id.in_([i for i in (survivor.owner_id, loser.owner_id) if i]))}
    result = []
    for name, label in fields.items():
        if name == "owner":
            mine, theirs = owners.get(survivor.owner_id, ""), owners.get(loser.owner_id, "")
        elif name == "lead_status":
            if not lead_status_choosable(survivor):
                continue
            mine, theirs = (status_name(c.lead_status_id) if c.lead_status_id else ""
                            for c in (survivor, loser))
        else:
            mine, theirs = getattr(survivor, name), getattr(loser, name)
        pick = "loser" if (not mine and theirs) else "survivor"
        result.append((name, label, mine, theirs, pick))
    return result
