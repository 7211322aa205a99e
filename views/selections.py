"""Selections: the saved searches list, one selection's rows, rename, share, delete.

A private selection is somebody else's business: for anyone but its owner
every URL of it answers 404, as if it did not exist. Shared ones are seen
by everyone and changed only by their owner or an admin (403).
"""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from htmx_flask import make_response as htmx_response

from models import RuleViolation
from models.search import CriteriaError, parse_criteria
from models.selections import (KINDS, can_change, change_criteria, delete_selection,
                               rename_selection, save_selection, selection_matches,
                               visible_selection, visible_selections)

from .common import render, rule_message, wants_fragment
from .errors import error_response
from .i18n import request_vocabulary
from .search import (PER_PAGE, BadBulkInput, Listing, bulk_choices, criteria_args,
                     criteria_message, csv_response, describe_criteria, list_settings,
                     run_bulk, separator_from, export_job)

bp = Blueprint("selections", __name__)


def visible_or_404(selection_id):
    selection = visible_selection(selection_id, current_user)
    if selection is None:
        abort(404)
    return selection


def changeable_or_403(selection_id):
    selection = visible_or_404(selection_id)
    if not can_change(selection, current_user):
        abort(403)
    return selection


@bp.get("/selections")
@login_required
def index():
    """The user's own selections and the team's shared ones."""
    selections = list(visible_selections(current_user))
    return render("selections/index.html", "selections", selections=selections,
                  kinds=KINDS, can_change=lambda s: can_change(s, current_user))


@bp.post("/selections")
@login_required
def create():
    """Save the criteria of a search as a dynamic or static selection."""
    form = request.form
    state = dict(save_criteria=form.get("criteria", ""), save_name=form.get("name", ""),
                 save_kind=form.get("kind"), save_shared=bool(form.get("shared")))
    try:
        criteria = parse_criteria(form.get("criteria", ""))
        selection = save_selection(current_user._get_current_object(), form.get("name", ""),
                                   criteria, kind=form.get("kind", "dynamic"),
                                   shared=bool(form.get("shared")))
    except CriteriaError as error:
        return render("selections/new.html", "save_form", status=422,
                      save_error=criteria_message(error), **state)
    except RuleViolation as error:
        return render("selections/new.html", "save_form", status=422,
                      save_error=rule_message(error), **state)
    if not wants_fragment():
        return redirect(url_for("selections.show", selection_id=selection.id))
    return render("selections/new.html", "save_form", saved=selection,
                  **{**state, "save_name": "", "save_shared": False})


def selection_listing(selection, args, vocabulary):
    """The selection's rows as a result list (Listing), or a CriteriaError."""
    columns, sort, number = list_settings(args, selection.entity)
    matches = selection_matches(selection, current_user, vocabulary=vocabulary)
    page = matches.page(number, PER_PAGE, sort, vocabulary)
    return matches, Listing(
        selection.entity, columns, sort, page, "selections.show",
        endpoint_args={"selection_id": selection.id},
        bulk_url=url_for("selections.bulk", selection_id=selection.id),
        tick_all=args.get("tick") == "all",
        static_selection=selection if selection.is_static and can_change(
            selection, current_user) else None)


def selection_page(selection, args, status=200, block=None, **extra):
    """The selection page, or its results block for htmx."""
    vocabulary = request_vocabulary()
    problem, listing, criteria = "", None, None
    try:
        criteria = selection.parsed_criteria(vocabulary)
    except CriteriaError as error:
        problem = criteria_message(error)
    if not problem or selection.is_static:
        try:
            _, listing = selection_listing(selection, args, vocabulary)
            problem = ""
        except CriteriaError as error:
            problem = criteria_message(error)
    if listing is not None:
        listing.outcome = extra.pop("outcome", None)
        listing.bulk_error = extra.pop("bulk_error", "")
    if block is None and wants_fragment() and request.headers.get("HX-Target") == "results":
        block = "results"
    return render(
        "selections/show.html", block if wants_fragment() else None, status=status,
        selection=selection, listing=listing, problem=problem, kinds=KINDS,
        description=describe_criteria(criteria, vocabulary) if criteria else [],
        search_args=criteria_args(criteria) if criteria and not selection.is_static else None,
        may_change=can_change(selection, current_user),
        choices=bulk_choices(selection.entity, vocabulary, selection) if listing else None,
        **extra)


@bp.get("/selections/<int:selection_id>")
@login_required
def show(selection_id):
    """A selection's rows now: its criteria run again, or its members."""
    return selection_page(visible_or_404(selection_id), request.args)


@bp.get("/selections/<int:selection_id>/count")
@login_required
def count(selection_id):
    """How many rows the selection holds now (loaded lazily by the list)."""
    selection = visible_or_404(selection_id)
    if not wants_fragment():
        return selection_page(selection, request.args)
    try:
        number = selection_matches(selection, current_user).count()
    except CriteriaError as error:
        return render("selections/index.html", "count", number=None,
                      problem=criteria_message(error), selection=selection)
    return render("selections/index.html", "count", number=number, problem="",
                  selection=selection)


@bp.post("/selections/<int:selection_id>/bulk")
@login_required
def bulk(selection_id):
    """Bulk update on the selection's ticked or all rows; the list comes back with the report."""
    selection = visible_or_404(selection_id)
    args = request.form
    try:
        matches = selection_matches(selection, current_user)
        outcome = run_bulk(matches, request.form, selection)
    except CriteriaError as error:
        return selection_page(selection, args, 422, "results", bulk_error=criteria_message(error))
    except BadBulkInput as error:
        return selection_page(selection, args, 422, "results", bulk_error=str(error))
    except RuleViolation as error:
        return selection_page(selection, args, 422, "results", bulk_error=rule_message(error))
    return selection_page(selection, args, 200, "results", outcome=outcome)


@bp.route("/selections/<int:selection_id>/export.csv", methods=["GET", "POST"])
@login_required
def export(selection_id):
    """The selection's rows as CSV with the chosen columns: streamed (GET), or made by a
    job for a download when done (POST, offered for large selections)."""
    selection = visible_or_404(selection_id)
    try:
        matches = selection_matches(selection, current_user)
    except CriteriaError as error:
        return error_response(422, criteria_message(error))
    columns, sort, _ = list_settings(request.args, selection.entity)
    filename = "".join(c if c.isalnum() or c in "-_" else "-" for c in selection.name)[:60]
    if request.method == "POST":
        return export_job(matches, columns, sort, f"{filename or 'selection'}.csv",
                          separator_from(request.args), selection=selection.id)
    return csv_response(matches, columns, sort, f"{filename or 'selection'}.csv",
                        separator_from(request.args))


@bp.route("/selections/<int:selection_id>/edit", methods=["GET", "POST"])
@login_required
def edit(selection_id):
    """Rename a selection, share it with the team or make it private."""
    selection = changeable_or_403(selection_id)
    error = ""
    if request.method == "POST":
        try:
            rename_selection(selection, current_user._get_current_object(),
                             request.form.get("name", ""), bool(request.form.get("shared")))
        except RuleViolation as problem:
            error = rule_message(problem)
        else:
            flash(gettext("Selection saved."))
            return redirect(url_for("selections.show", selection_id=selection.id))
    return render("selections/edit.html", "form", status=422 if error else 200,
                  selection=selection, error=error,
                  name=request.form.get("name", selection.name) if error else selection.name)


@bp.post("/selections/<int:selection_id>/criteria")
@login_required
def update_criteria(selection_id):
    """Give a dynamic selection the criteria of the search it was opened in."""
    selection = changeable_or_403(selection_id)
    try:
        change_criteria(selection, current_user._get_current_object(),
                        parse_criteria(request.form.get("criteria", "")))
    except CriteriaError as error:
        return error_response(422, criteria_message(error))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    flash(gettext("The selection's criteria were changed."))
    return redirect(url_for("selections.show", selection_id=selection.id))


@bp.post("/selections/<int:selection_id>/delete")
@login_required
def delete(selection_id):
    """Delete a selection (its members go with it, the contacts stay)."""
    selection = changeable_or_403(selection_id)
    delete_selection(selection, current_user._get_current_object())
    flash(gettext("Selection “%(name)s” deleted.", name=selection.name))
    if request.headers.get("HX-Request"):
        return htmx_response("", 200, redirect=url_for("selections.index"))
    return redirect(url_for("selections.index"))

