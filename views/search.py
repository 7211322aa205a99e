"""Search: criteria on contacts or companies, a live count, results with chosen
columns, bulk update and CSV export.

The criteria live in the query string, one row per criterion:
`f0=lead_status&o0=in&v0=1&v0=2&f1=owner&o1=in&v1=me` (a period is
`v2=<from>&v2=<to>`). The search form *is* that query string, so a result
list is a link that can be shared, reloaded or reached with back/forward,
and everything works without JavaScript. Forms that post (bulk update,
save as selection) carry the criteria as the versioned JSON of
models.search instead.
"""
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from flask import (Blueprint, Response, current_app, redirect, request, stream_with_context,
                   url_for)
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from models import Actor, RuleViolation
from models.bulk import (ACTIONS, REASONS, BulkReport, bulk_target, check_bulk,
                         run_bulk_now)
from models.export import Labels, csv_chunks
from models.tasks import start_bulk_job, start_export_job
from models.schema import N_
from models.search import (ENTITIES, FIELDS, MAX_CRITERIA, ME, OPERATORS, CriteriaError,
                           fields_for, normal_sort, parse_criteria,
                           run_criteria)
from models.selections import (add_matches, add_members, can_change, remove_members,
                               visible_selection, visible_selections)
from models.values import as_int

from .common import int_arg, render, rule_message, wants_fragment
from .errors import error_response
from .i18n import category_name, group_label, list_names, request_vocabulary, status_name

bp = Blueprint("search", __name__)

PER_PAGE = 50
IMMEDIATE_ROWS = 1000  # a bulk update of more rows runs as a job
EXPORT_DIRECT_ROWS = 20_000  # larger exports are offered as a job

# The columns of a result list, in display order; the name is always first.
COLUMNS = {
    "contacts": {
        "company": N_("Company"),
        "title": N_("Title"),
        "email": N_("E-mail"),
        "phone": N_("Phone"),
        "category": N_("Category"),
        "group": N_("Category group"),
        "status": N_("Lead status"),
        "owner": N_("Owner"),
        "source": N_("Source"),
        "created": N_("Created"),
        "next_step": N_("Next step"),
        "last_activity": N_("Last activity"),
    },
    "companies": {
        "category": N_("Category"),
        "group": N_("Category group"),
        "owner": N_("Owner"),
        "city": N_("City"),
        "country": N_("Country"),
        "email": N_("E-mail"),
        "phone": N_("Phone"),
        "website": N_("Website"),
        "contacts": N_("Contacts"),
        "created": N_("Created"),
    },
}
DEFAULT_COLUMNS = {
    "contacts": ["company", "category", "group", "status", "source", "owner", "created"],
    "companies": ["category", "group", "owner", "city", "contacts", "created"],
}
# Columns a list cannot be sorted by (computed per row).
UNSORTABLE = {"contacts": {"phone"}, "companies": {"phone", "email", "website", "contacts"}}
ROW_FIELD = re.compile(r"f(\d{1,2})")


# --- The criteria editor -----------------------------------------------------------

@dataclass
class EditorRow:
    """One criterion row as the form shows it: raw values, maybe incomplete."""
    index: int
    field: str
    op: str
    values: list
    error: str = ""

    @property
    def spec(self):
        return FIELDS[self.field]

    @property
    def complete(self):
        """A row is run once it has a value; until then it only waits in the editor."""
        if self.op == "empty":
            return True
        if self.op == "between":
            return any(v.strip() for v in self.values[:2])
        return any(v.strip() for v in self.values)

    def to_data(self):
        if self.op == "empty":
            value = None
        elif self.spec.kind in ("statuses", "categories", "groups", "owners"):
            value = [v for v in self.values if v.strip()]
        elif self.op == "between":
            ends = (self.values + ["", ""])[:2]
            value = {"from": ends[0].strip() or None, "to": ends[1].strip() or None}
        else:
            value = self.values[0] if self.values else ""
        return {"field": self.field, "op": self.op, "value": value}


def entity_from(args):
    entity = args.get("entity", "contacts")
    return entity if entity in ENTITIES else None


def editor_rows(args, entity):
    """The criterion rows of the query string, with the editor's add / remove / reset applied.

    An operator that belongs to another field is what a changed field
    select leaves behind, so it falls back to the field's first operator;
    a field or operator nobody knows is an error for the user to see.
    """
    rows, problems = [], []
    allowed = fields_for(entity)
    indexes = sorted({int(m.group(1)) for key in args if (m := ROW_FIELD.fullmatch(key))})
    reset = int_arg("reset", values=args)
    reset_value = int_arg("reset_value", values=args)
    removed = int_arg("remove", values=args)
    for index in indexes[:MAX_CRITERIA]:
        if index == removed:
            continue
        name, op = args.get(f"f{index}", ""), args.get(f"o{index}", "")
        values = [v[:200] for v in args.getlist(f"v{index}")][:200]
        if name not in allowed:
            problems.append(CriteriaError(
                N_("Unknown search field: %(name)s.") if name not in FIELDS
                else N_("%(field)s cannot be searched on %(entity)s."),
                field=name if name in FIELDS else None, name=name[:40], entity=entity))
            continue
        if op not in OPERATORS:
            problems.append(CriteriaError(N_("Unknown operator for %(field)s: %(op)s."),
                                          field=name, op=op[:40]))
            continue
        if index == reset or op not in FIELDS[name].ops:
            op, values = FIELDS[name].ops[0], []
        if index == reset_value:
            values = []
        if FIELDS[name].kind == "flag" and not values:
            values = ["true"]
        rows.append(EditorRow(index, name, op, values))
    added = args.get("add", "")
    if added in allowed and len(rows) < MAX_CRITERIA:
        index = max(indexes, default=-1) + 1
        rows.append(EditorRow(index, added, FIELDS[added].ops[0],
                              ["true"] if FIELDS[added].kind == "flag" else []))
    return rows, problems


def criteria_from_rows(entity, rows, vocabulary):
    """Run-ready criteria from the complete rows; the failing row gets the message."""
    complete = [row for row in rows if row.complete]
    data = {"version": 1, "entity": entity, "criteria": [row.to_data() for row in complete]}
    try:
        return parse_criteria(data, vocabulary)
    except CriteriaError as error:
        if error.index is not None:
            complete[error.index].error = criteria_message(error)
        raise


def criteria_args(criteria):
    """The query-string form of `criteria`, for links (url_for turns lists into repeats)."""
    args = {"entity": criteria.entity}
    for index, item in enumerate(criteria.items):
        args[f"f{index}"], args[f"o{index}"] = item.field, item.op
        value = item.value
        if isinstance(value, dict):
            value = [value.get("from") or "", value.get("to") or ""]
        elif isinstance(value, bool):
            value = "true" if value else "false"
        if value is not None:
            args[f"v{index}"] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return args


def criteria_message(error):
    """A criteria error in the user's language, with the field's translated label."""
    params = dict(error.params)
    params["field"] = gettext(params["field"]) if params.get("field") else ""
    if "entity" in params and params["entity"] in ENTITIES:
        params["entity"] = gettext(ENTITIES[params["entity"]]).lower()
    return gettext(error.message, **params)


def describe_criteria(criteria, vocabulary):
    """The criteria as readable lines, e.g. "Lead status is one of Open, Contacting"."""
    lines = []
    for item in criteria.items:
        spec, value = FIELDS[item.field], item.value
        if item.op == "empty":
            text = ""
        elif spec.kind == "statuses":
            text = ", ".join(status_name(v) or "?" for v in value)
        elif spec.kind == "categories":
            text = ", ".join(category_name(v) or "?" for v in value)
        elif spec.kind == "groups":
            text = ", ".join(group_label(v) for v in value)
        elif spec.kind == "owners":
            text = ", ".join(gettext("me") if v == ME
                             else getattr(vocabulary.users.get(v), "name", "?") for v in value)
        elif item.op == "between":
            text = gettext("%(start)s to %(end)s", start=value.get("from") or "…",
                           end=value.get("to") or "…")
        elif item.op == "last_days":
            text = ngettext("%(num)s day", "%(num)s days", value)
        elif spec.kind == "flag":
            text = gettext("yes") if value else gettext("no")
        else:
            text = f"“{value}”"
        lines.append(" ".join(part for part in (gettext(spec.label),
                                                gettext(OPERATORS[item.op]), text) if part))
    return lines


# --- Result lists (shared with selections) --------------------------------------------

@dataclass
class Listing:
    """A result list on screen: its rows, columns, sort and the URLs its controls use."""
    entity: str
    columns: list
    sort: str
    page: object
    endpoint: str
    endpoint_args: dict = field(default_factory=dict)
    keep: dict = field(default_factory=dict)
    bulk_url: str = ""
    bulk_fields: dict = field(default_factory=dict)
    tick_all: bool = False
    static_selection: object = None
    outcome: object = None
    bulk_error: str = ""

    @property
    def labels(self):
        return COLUMNS[self.entity]

    def sortable(self, column):
        return column not in UNSORTABLE[self.entity]

    def link_args(self, **changes):
        """Query arguments of this list, with `changes` (None drops one)."""
        args = {**self.keep, "cols": 1, "col": self.columns, "sort": self.sort}
        args.update(changes)
        return {k: v for k, v in args.items() if v is not None}

    def url(self, **changes):
        return url_for(self.endpoint, **self.endpoint_args, **self.link_args(**changes))

    def pager_args(self):
        """The pager's arguments: this list's, the page number aside."""
        return {**self.endpoint_args, **self.link_args(page=None, tick=None)}

    def sort_url(self, column):
        return self.url(sort=f"-{column}" if self.sort == column else column, page=None,
                        tick=None)

    def sorted_by(self, column):
        """"ascending" / "descending" when the list is sorted by `column` (aria-sort)."""
        if self.sort == column:
            return "ascending"
        if self.sort == f"-{column}":
            return "descending"
        return None

    def export_url(self, separator=None):
        return url_for(self.endpoint.rsplit(".", 1)[0] + ".export", **self.endpoint_args,
                       **self.link_args(page=None, sep=separator))


def list_settings(args, entity):
    """Columns, sort and page of a result list from its query string."""
    labels = COLUMNS[entity]
    chosen = [c for c in args.getlist("col") if c in labels]
    columns = list(dict.fromkeys(chosen)) if "cols" in args else DEFAULT_COLUMNS[entity]
    sort = normal_sort(entity, args.get("sort", "name"))
    number = int_arg("page", 1, values=args) or 1
    return columns, sort, number


def bulk_choices(entity, vocabulary, selection=None):
    """What a bulk update can set: active statuses (contacts), active owners, static selections."""
    statuses = [s for s in vocabulary.statuses.values() if not s.retired] \
        if entity == "contacts" else []
    owners = [u for u in vocabulary.users.values() if u.active]
    targets = [s for s in visible_selections(current_user, entity)
               if s.is_static and can_change(s, current_user)
               and (selection is None or s.id != selection.id)]
    return {"statuses": statuses, "owners": owners, "selections": targets}


class BadBulkInput(Exception):
    """A bulk form that cannot be understood: the message says what to fix."""


@dataclass
class BulkOutcome:
    """What a bulk form did: the action, what it set (status, owner, selection), the report."""
    action: str
    target: object
    report: BulkReport | None
    job: object = None  # a large update runs as a job (models/jobs.py)


def parse_bulk_form(form):
    """(action, target id, ticked ids or None for all matching) of a bulk update form."""
    action, _, target = form.get("action", "").partition(":")
    target = as_int(target) if target else None
    if action not in ("status", "owner", "add", "remove") or \
            (action != "remove" and target is None):
        raise BadBulkInput(gettext("Choose what to set from the list."))
    ids = None
    if form.get("scope", "ticked") != "all" or action == "remove":
        raw = form.getlist("id")
        if not raw:
            raise BadBulkInput(gettext("Tick at least one row, or choose all matching rows."))
        ids = [as_int(value) for value in raw]
        if None in ids:
            raise BadBulkInput(gettext("The ticked rows could not be read; nothing was "
                                       "changed."))
    return action, target, ids


def run_bulk(matches, form, selection=None):
    """Carry out a bulk form on `matches` (raises BadBulkInput or RuleViolation).

    A lead status or owner for more than IMMEDIATE_ROWS rows runs as a job;
    the answer then shows its progress.
    """
    action, target, ids = parse_bulk_form(form)
    user = current_user._get_current_object()
    actor = Actor(user, source="bulk", label="Bulk update")
    if action in ACTIONS:
        chosen = bulk_target(action, target)
        if chosen is None or (action == "status" and matches.entity != "contacts"):
            raise BadBulkInput(gettext("Choose a lead status from the list.")
                               if action == "status" else
                               gettext("Choose an owner from the list."))
        check_bulk(matches, action, chosen, ids)
        if ids is None:
            total = matches.count()
            if total > current_app.config.get("BULK_IMMEDIATE_ROWS", IMMEDIATE_ROWS):
                job = start_bulk_job(user, action, chosen.id, total,
                                     criteria=None if selection else form.get("criteria"),
                                     selection=selection.id if selection else None)
                return BulkOutcome(action, chosen, None, job)
        return BulkOutcome(action, chosen, run_bulk_now(matches, action, chosen, actor, ids))
    if action == "remove":
        if selection is None or not selection.is_static:
            raise BadBulkInput(gettext("Choose what to set from the list."))
        return BulkOutcome(action, selection,
                           BulkReport(updated=remove_members(selection, user, ids)))
    chosen = visible_selection(target, user)
    if chosen is None or chosen.entity != matches.entity:
        raise BadBulkInput(gettext("Choose a selection from the list."))
    if ids is None:
        return BulkOutcome(action, chosen, BulkReport(updated=add_matches(chosen, user, matches)))
    # Only ticked rows that are in this list are added.
    in_list = [row_id for row_id, in matches.restricted_to(ids).ids().tuples()]
    added = add_members(chosen, user, in_list) if in_list else 0
    return BulkOutcome(action, chosen, BulkReport(updated=added,
                                                  missing=len(set(ids)) - len(in_list)))


def bulk_summary(outcome):
    """The first line of a bulk report, in the user's language."""
    report, target = outcome.report, outcome.target
    if outcome.action == "status":
        return ngettext("%(num)s contact set to %(status)s.",
                        "%(num)s contacts set to %(status)s.", report.updated,
                        status=status_name(target))
    if outcome.action == "owner":
        return ngettext("%(num)s row given to %(owner)s.", "%(num)s rows given to %(owner)s.",
                        report.updated, owner=target.name if target else "?")
    if outcome.action == "remove":
        return ngettext("%(num)s row taken out of %(selection)s.",
                        "%(num)s rows taken out of %(selection)s.", report.updated,
                        selection=target.name)
    return ngettext("%(num)s row added to %(selection)s.",
                    "%(num)s rows added to %(selection)s.", report.updated,
                    selection=target.name)


# --- Export --------------------------------------------------------------------------

def export_labels(entity, columns):
    """The names an exported file shows, in the user's language."""
    header = [gettext("Name")]
    for column in columns:
        if column == "source":
            header += [gettext("UTM source"), gettext("UTM medium"), gettext("UTM campaign")]
        elif column != "contacts":
            header.append(gettext(COLUMNS[entity][column]))
    names = list_names()
    return Labels(header, names.statuses(), dict(names.groups()), names.categories())


def csv_response(matches, columns, sort, filename, separator):
    """Stream every matching row as CSV (models/export.py), a chunk at a time as the
    rows are read from the database."""
    labels = export_labels(matches.entity, columns)
    chunks = (data for data, _ in csv_chunks(matches, columns, sort, labels, separator))
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = attachment(filename)
    response.headers["Cache-Control"] = "no-store"
    return response


def export_job(matches, columns, sort, filename, separator, criteria=None, selection=None):
    """A large export as a job (its page offers the file when done)."""
    labels = export_labels(matches.entity, columns)
    job = start_export_job(current_user._get_current_object(), matches.count(),
                           [c for c in columns if c != "contacts"], sort,
                           {"header": labels.header, "statuses": labels.statuses,
                            "groups": labels.groups},
                           separator, filename, criteria=criteria, selection=selection)
    return redirect(url_for("jobs.show", job_id=job.id))


def attachment(filename):
    """Content-Disposition for a download; a name beyond ASCII also goes as RFC 5987."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "-"
                    for c in filename)
    if plain == filename:
        return f'attachment; filename="{plain}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename)}"


def separator_from(args):
    """"," or ";": asked for with ?sep=comma|semicolon, else by the user's language."""
    asked = args.get("sep")
    if asked in ("comma", "semicolon"):
        return "," if asked == "comma" else ";"
    return ";" if current_user.language in ("sv", "nb") else ","


# --- The Search screen -----------------------------------------------------------------

def search_context(args, block=None):
    """Everything the Search screen shows for the query string `args`.

    `block` names the fragment asked for: the criteria editor and the live
    count skip the result page.
    """
    vocabulary = request_vocabulary()
    entity = entity_from(args)
    problems = []
    if entity is None:
        problems.append(gettext("Unknown kind of search: %(entity)s.",
                                entity=args.get("entity", "")[:40]))
        entity = "contacts"
    rows, errors = editor_rows(args, entity)
    problems += [criteria_message(error) for error in errors]
    criteria, count, listing = None, None, None
    columns, sort, number = list_settings(args, entity)
    try:
        criteria = criteria_from_rows(entity, rows, vocabulary)
    except CriteriaError as error:
        problems.append(criteria_message(error))
    if criteria is not None and not problems:
        try:
            matches = run_criteria(criteria, current_user)
            if block in ("criteria", "live_count"):
                count = matches.count() if block == "live_count" else None
            else:
                page = matches.page(number, PER_PAGE, sort, vocabulary)
                count = page.total
                listing = Listing(
                    entity, columns, sort, page, "search.index",
                    keep=criteria_args(criteria), bulk_url=url_for("search.bulk"),
                    bulk_fields={"criteria": criteria.to_json()},
                    tick_all=args.get("tick") == "all")
        except CriteriaError as error:
            problems.append(criteria_message(error))
    editing = int_arg("selection", values=args)
    selection = visible_selection(editing, current_user) if editing else None
    if selection is not None and (not can_change(selection, current_user)
                                  or selection.is_static or selection.entity != entity):
        selection = None
    if listing is not None and selection is not None:
        listing.keep["selection"] = selection.id
    return dict(entity=entity, rows=rows, fields=fields_for(entity), operators=OPERATORS,
                vocabulary=vocabulary, criteria=criteria, problems=problems, count=count,
                listing=listing, columns=columns, sort=sort, entities=ENTITIES,
                editing_selection=selection,
                save_criteria=criteria.to_json() if criteria is not None else "",
                choices=bulk_choices(entity, vocabulary) if listing else None)


def search_screen(block=None, status=200, **extra):
    """The screen, or the block an htmx request asked for (results: with the carried state).

    The criteria editor and the live count put the shareable address of the
    criteria being edited in the address bar, replacing it rather than adding a
    Back step for every change.
    """
    editing = block if wants_fragment() else None
    context = search_context(request.args, editing)
    context.update(extra)
    if editing is None and request.headers.get("HX-Target") == "results":
        editing = ["results", "carried"]
    elif editing == "live_count":
        editing = ["live_count", "hints"]  # the rows' hints follow the values typed
    response = render("search/index.html", editing, status=status, **context)
    if block in ("criteria", "live_count") and wants_fragment():
        response.headers["HX-Replace-Url"] = editor_url(context["entity"], context["rows"])
    return response


CARRIED = ("cols", "col", "sort", "selection")  # what a result list adds to the criteria


def editor_url(entity, rows):
    """The Search screen's address for the criteria rows as they are being edited."""
    args = {"entity": entity}
    for row in rows:
        args[f"f{row.index}"], args[f"o{row.index}"] = row.field, row.op
        values = [value for value in row.values if value.strip()] \
            if row.spec.kind != "period" else row.values
        if values:
            args[f"v{row.index}"] = values
    for name in CARRIED:
        if name in request.args:
            args[name] = request.args.getlist(name)
    return url_for("search.index", **args)


@bp.get("/search")
@login_required
def index():
    """The Search screen: criteria, a live count, the results with the chosen columns."""
    return search_screen()


@bp.get("/search/criteria")
@login_required
def criteria_editor():
    """The criteria rows after adding, changing or removing one (the count follows)."""
    response = search_screen("criteria")
    # The live count listens for this and asks for the new number.
    response.headers["HX-Trigger"] = "criteria-changed"
    return response


@bp.get("/search/count")
@login_required
def count():
    """How many rows the criteria match, as they are being edited."""
    return search_screen("live_count")


@bp.post("/search/bulk")
@login_required
def bulk():
    """Set lead status or owner on the ticked or all matching rows; report what was skipped."""
    form = request.form
    vocabulary = request_vocabulary()
    try:
        criteria = parse_criteria(form.get("criteria", ""), vocabulary)
    except CriteriaError as error:
        return bulk_refused(criteria_message(error))
    matches = run_criteria(criteria, current_user)
    try:
        outcome = run_bulk(matches, form)
    except BadBulkInput as error:
        return bulk_refused(str(error), criteria)
    except RuleViolation as error:
        return bulk_refused(criteria_message(error) if isinstance(error, CriteriaError)
                            else rule_message(error), criteria)
    return results_after_bulk(criteria, outcome=outcome)


def results_after_bulk(criteria, status=200, outcome=None, error=""):
    """The search results again (the rows may have changed), with the bulk report."""
    form = request.form
    args = MultiDict()
    if criteria:
        for key, value in criteria_args(criteria).items():
            args.setlist(key, value if isinstance(value, list) else [value])
    args["sort"], args["page"] = form.get("sort", "name"), form.get("page", "1")
    if form.get("cols"):
        args["cols"] = "1"
        args.setlist("col", form.getlist("col"))
    context = search_context(args)
    if context["listing"] is not None:
        context["listing"].outcome = outcome
        context["listing"].bulk_error = error
    elif error:
        context["problems"].append(error)
    return render("search/index.html", "results", status=status, **context)


def bulk_refused(message, criteria=None):
    """Nothing was changed: the results come back with the message on top (422)."""
    return results_after_bulk(criteria, status=422, error=message)


@bp.route("/search/export.csv", methods=["GET", "POST"])
@login_required
def export():
    """The matching rows as CSV, with the chosen columns: streamed (GET), or made by a
    job for a download when done (POST, offered for large results)."""
    context_entity = entity_from(request.args) or "contacts"
    rows, errors = editor_rows(request.args, context_entity)
    try:
        if errors:
            raise errors[0]
        criteria = criteria_from_rows(context_entity, rows, request_vocabulary())
        matches = run_criteria(criteria, current_user)
    except CriteriaError as error:
        return error_response(422, criteria_message(error))
    columns, sort, _ = list_settings(request.args, context_entity)
    filename = gettext("contacts") if context_entity == "contacts" else gettext("companies")
    if request.method == "POST":
        return export_job(matches, columns, sort, f"{filename}.csv",
                          separator_from(request.args), criteria=criteria.to_json())
    return csv_response(matches, columns, sort, f"{filename}.csv", separator_from(request.args))


@bp.app_template_global()
def search_choices(kind, vocabulary, row):
    """(value, label) pairs a criterion row offers; retired or former ones only when chosen."""
    chosen = set(row.values)
    if kind == "groups":
        return list_names().groups()
    if kind == "statuses":
        return [(s.id, status_name(s) + (f" ({gettext('retired')})" if s.retired else ""))
                for s in vocabulary.statuses.values() if not s.retired or str(s.id) in chosen]
    if kind == "categories":
        return [(c.id, category_name(c) + (f" ({gettext('retired')})" if c.retired else ""))
                for c in vocabulary.categories.values()
                if not c.retired or str(c.id) in chosen]
    return [(ME, gettext("Me"))] + [(u.id, u.name) for u in vocabulary.users.values()
                                    if u.active or str(u.id) in chosen]


@bp.app_template_global()
def bulk_reason(reason):
    """Why a bulk update left a row alone, in the user's language."""
    return gettext(REASONS.get(reason, reason))


bp.add_app_template_global(bulk_summary, "bulk_summary")
bp.add_app_template_global(EXPORT_DIRECT_ROWS, "export_direct_rows")
