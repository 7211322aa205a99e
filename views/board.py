"""The lead board: one column per lead status (or category, or owner), cards
dragged between them; over "My leads" or any saved selection."""
import re
import secrets
from types import SimpleNamespace
from urllib.parse import urlencode

from flask import Blueprint, abort, g, redirect, request, session, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required

from models import Actor, Category, Company, Contact, LeadStatus, RuleViolation, User, paginate
from models.board import (CARDS_PER_COLUMN, COMPANY_SORTS, SORTS, CompanyUndo, Undo,
                          board_statuses,
                          cards_among, category_column_counts, column_cards, column_counts,
                          company_board_categories, company_cards, first_cards,
                          company_column_counts, days_in_status, move_card,
                          move_company_card, move_owner_card, off_board,
                          owner_column_counts, owner_columns, undo_company_move, undo_move)
from models.activities import (NEXT_STEP_FILTERS, attach_company_next_steps,
                               company_next_step_at, next_step_condition)
from models.categories import lead_board_category_ids
from models.schema import POTENTIAL, now
from models.search import (CompanySearch, ContactSearch, contact_with_relations,
                           search_companies, search_contacts)
from models.selections import selection_matches, visible_selection
from models.tally import tally_counts
from models.values import as_int

from .common import (contact_or_404, get_or_404, int_arg, page_number, render, rule_message,
                     wants_fragment)
from .contacts import contact_card_context
from .errors import error_response
from .i18n import category_name, list_names, status_name

bp = Blueprint("board", __name__)
bp.add_app_template_global(NEXT_STEP_FILTERS, "next_step_filters")

FILTERS = ("owner", "category", "q", "sort", "group", "next")
GROUPINGS = ("status", "category", "owner")
REMEMBERED_BOARDS = 20  # boards whose filters the session keeps (each selection is one)


def board_selection(entity="contacts"):
    """The saved selection a board shows (?selection=<id>), None for "My leads".

    Someone else's private selection, or one of the other entity, is a 404.
    """
    if not request.values.get("selection", ""):
        return None
    selection_id = int_arg("selection", values=request.values)
    selection = visible_selection(selection_id, current_user) if selection_id else None
    if selection is None or selection.entity != entity:
        abort(404)
    return selection


def remembered_settings(key, slot, filters):
    """Filters from the query string, else as this user last left this board.

    The session keeps them per board (`slot`: "mine" or a selection id).
    """
    boards = session.get(key)
    if not isinstance(boards, dict) or not all(isinstance(v, dict) for v in boards.values()):
        boards = {}
    # Only the query string: a drop's form fields (category, owner) name its target,
    # not the board's filter.
    if any(name in request.args for name in filters):
        chosen = {name: request.args.get(name, "")[:200] for name in filters}
        boards = {k: v for k, v in boards.items() if k != slot}
        boards[slot] = chosen
        session[key] = dict(list(boards.items())[-REMEMBERED_BOARDS:])
    remembered = boards.get(slot, {})
    return {name: remembered.get(name, "") for name in filters}


def board_settings(selection=None):
    settings = remembered_settings("board", str(selection.id) if selection else "mine", FILTERS)
    if settings["group"] not in GROUPINGS:
        settings["group"] = "status"
    if settings["sort"] not in SORTS:
        settings["sort"] = "name"
    if settings["next"] not in NEXT_STEP_FILTERS:
        settings["next"] = ""
    # My leads are the rep's own unless they chose otherwise; a selection
    # already says whose leads it holds; owner columns show everyone's.
    if not settings["owner"] or settings["group"] == "owner":
        settings["owner"] = "me" if selection is None and settings["group"] != "owner" else "all"
    settings["selection"] = str(selection.id) if selection else ""
    return settings


def board_scope(settings):
    """Whose leads (owner ids, None for everyone's) and which categories the board shows.

    R8: only contacts whose status is active (grouped by category: every
    Potential customer category); filtering on the (few) category ids lets
    the database use the company (category, id) index. Worked out once per
    request: the cards and the counts both need it.
    """
    key = (settings["owner"], settings["group"], settings.get("category", ""))
    scopes = g.setdefault("board_scopes", {})
    if key not in scopes:
        scopes[key] = _board_scope(settings)
    return scopes[key]


def _board_scope(settings):
    owner, category = as_int(settings["owner"]), as_int(settings.get("category", ""))
    owner_ids = [current_user.id] if settings["owner"] == "me" else [owner] if owner is not None \
        else None
    categories = lead_board_category_ids(include_inactive=settings["group"] == "category")
    if category is not None:
        categories = [c for c in categories if c == category]
    return owner_ids, categories


def board_query(settings, selection=None):
    """Contacts of the board: in its scope, in the selection, matching the filter text."""
    _, categories = board_scope(settings)
    return unscoped_query(settings, selection).where(Company.category.in_(categories))


def unscoped_query(settings, selection=None):
    """The board's contacts before R8 narrows them to active leads: whose, the selection's,
    matching the filter text."""
    owner_ids, _ = board_scope(settings)
    criteria = ContactSearch(text=settings.get("q", "")[:200], owner_ids=owner_ids or [])
    query = search_contacts(criteria)
    next_step = next_step_condition(settings.get("next", ""))
    if next_step is not None:
        query = query.where(next_step)
    if selection is not None:
        query = selection_matches(selection, current_user).narrow(query)
    return query


def not_shown_query(settings, selection):
    """Members of the selection (as filtered) that have no card on its board, and why.

    The filters (owner, text, category) leave members out of both; the rest are
    the members R8 or a retired status keeps off the board.
    """
    query = unscoped_query(settings, selection)
    if settings.get("category", "").isdigit():
        query = query.where(Company.category == int(settings["category"]))
    return off_board(query, settings["group"], board_scope(settings)[1])


COLUMN_FIELDS = {"status": Contact.lead_status, "category": Company.category,
                 "owner": Contact.owner}
GROUP_COUNTS = {"status": column_counts, "category": category_column_counts,
                "owner": owner_column_counts}


def board_counts(settings, selection, query, by):
    """{column key: exact count}. A board of owners and categories only is counted
    from the counter rows; text, a next-step filter or a selection needs a GROUP BY of
    its contacts."""
    if selection is None and not settings.get("q", "").strip() and not settings.get("next"):
        owner_ids, categories = board_scope(settings)
        return tally_counts(by, owner_ids, categories, with_status=by == "status")
    return GROUP_COUNTS[by](query)


def board_columns(settings, query, selection=None):
    """(column, exact count, first cards) per column of the chosen grouping."""
    sort, by = settings["sort"], settings["group"]
    counts = board_counts(settings, selection, query, by)
    if by == "category":
        columns = [(category, category.id) for category in company_board_categories()]
    elif by == "owner":
        columns = [(owner, owner.owner_id) for owner in owner_columns(counts)]
    else:
        columns = [(status, status.id) for status in board_statuses()]
    cards = first_cards(query, [column_id for _, column_id in columns], sort,
                        by=COLUMN_FIELDS[by], counts=counts)
    return [(column, counts.get(column_id, 0), first)
            for (column, column_id), first in zip(columns, cards)]


def board_context(settings, selection=None):
    query = board_query(settings, selection)
    # A selection's board accounts for every member: those without a card are counted.
    not_shown = not_shown_query(settings, selection).count() if selection is not None else 0
    return dict(columns=board_columns(settings, query, selection), grouping=settings["group"],
                not_shown=not_shown,
                settings=settings, selection=selection, live_owner=live_owner(settings),
                labels=card_labels(settings), sort=settings["sort"],
                per_column=CARDS_PER_COLUMN,
                owners=list(User.active_users()),
                categories=[c for c in Category.ordered() if c.lead_status_active],
                days_in_status=days_in_status, board_args=board_args(settings))


def live_owner(settings):
    """Whose leads' changes concern this board: an owner's id, or "all" (a selection's
    or everyone's board, or columns by owner)."""
    owner_ids, _ = board_scope(settings)
    if settings.get("selection") or owner_ids is None or len(owner_ids) != 1:
        return "all"
    return str(owner_ids[0])


def column_keys(settings, counts):
    """[(column key, count)] of the board's columns: status, category or owner ids (0: none)."""
    by = settings["group"]
    if by == "category":
        return [(c.id, counts.get(c.id, 0)) for c in company_board_categories()]
    if by == "owner":
        return [(o.id, counts.get(o.owner_id, 0)) for o in owner_columns(counts)]
    return [(s.id, counts.get(s.id, 0)) for s in board_statuses()]


def board_args(settings):
    """The query string that shows this board again (for "more", redraws and moves)."""
    return {name: settings[name] for name in FILTERS + ("selection",) if settings.get(name)}


def card_labels(settings):
    """Texts and URLs every card repeats, translated and built once per response (as
    attributes: a template reads them hundreds of times, and a dict's keys cost Jinja
    a failed attribute lookup each)."""
    args = board_args(settings)
    return SimpleNamespace(**{
        # A card's name opens the contact in the board's side panel (?contact=<id>).
        "preview_url": url_for("board.index", **args) + ("&" if args else "?") + "contact=",
        "menu_url": url_for("board.menu_base"),
        "menu_query": "?" + urlencode(args) if args else "",
        "days": gettext("%(days)s d"),
        "days_title": gettext("Days in this status"),
        "menu_aria": gettext("Actions for %(name)s"),
        "menu_title": gettext("Move to… and more"),
        "grouping": settings["group"],
        "sort": settings["sort"],
        "now": now(),
        "no_next_step": gettext("No next step"),
        "overdue": gettext("Overdue"),
        # Cards not in status columns say their status.
        "statuses": list_names().statuses() if settings["group"] != "status" else {},
        # A card does not repeat its column, nor the owner on one owner's board.
        "show_category": settings["group"] != "category",
        "show_owner": settings["owner"] == "all" and settings["group"] != "owner",
        "categories": list_names().categories(),
    })


def open_board():
    """The selection and settings of the board this request is about (read once)."""
    if "board" not in g:
        selection = board_selection()
        g.board = selection, board_settings(selection)
    return g.board


def card_preview(settings):
    """The side panel's context for ?contact=<id>: the contact card's own (status, next
    step, timeline, edited in place), or `contact` None when no such contact exists.
    None when no card is previewed."""
    if "contact" not in request.args:
        return None
    contact_id = int_arg("contact")
    contact = None if contact_id is None else \
        contact_with_relations(contact_id)
    context = contact_card_context(contact) if contact is not None else {}
    return dict(context, contact=contact, close_url=url_for("board.index", **board_args(settings)))


@bp.get("/board")
@login_required
def index():
    """My leads (or a saved selection) as a board; it remembers the filter bar's choice.

    ?contact=<id> opens that contact in the side panel (a link to share; Back closes it).
    """
    selection, settings = open_board()
    preview = card_preview(settings)
    missing = preview is not None and preview["contact"] is None
    if request.headers.get("HX-Target") == "card-preview" and wants_fragment():
        # Only the panel (htmx swaps a 200 only): the columns are already on screen.
        response = render("board/_preview.html", preview=preview)
    else:
        try:
            context = board_context(settings, selection)
        except RuleViolation as error:  # a dynamic selection whose stored criteria went bad
            return error_response(422, rule_message(error))
        blocks = None
        if request.headers.get("HX-Target") == "board-columns":
            blocks = ["columns", "owner_filter", "not_shown"] + (
                ["heading"] if selection is None else [])
        response = render("board/index.html", blocks, preview=preview, **context,
                          status=404 if missing and not blocks else 200)
    response.vary.add("HX-Target")
    return response


def more_cards(by, column_id, endpoint):
    """The next page of one column's cards (the columns show the first 50)."""
    selection, settings = open_board()
    offset = int_arg("offset", 0)
    query = board_query(settings, selection)
    total = board_counts(settings, selection, query, by).get(column_id, 0)
    cards = column_cards(query, column_id, settings["sort"], offset, by=COLUMN_FIELDS[by],
                         count=total)
    return render("board/_more.html", more_url=url_for(
                      endpoint, offset=offset + len(cards), **request.view_args,
                      **board_args(settings)),
                  cards=cards, total=total, next_offset=offset + len(cards),
                  days_in_status=days_in_status, labels=card_labels(settings))


@bp.get("/board/not-shown")
@login_required
def not_shown():
    """The members of a selection that are not on its board, each with the reason."""
    selection, settings = open_board()
    if selection is None:
        abort(404)
    try:
        page = paginate(not_shown_query(settings, selection).order_by(
            Contact.last_name, Contact.first_name, Contact.id), page_number(), per_page=50)
    except RuleViolation as error:  # a dynamic selection whose stored criteria went bad
        return error_response(422, rule_message(error))
    return render("board/not_shown.html", "rows", page=page, selection=selection,
                  settings=settings, board_args=board_args(settings))


@bp.get("/board/column/<int:status_id>")
@login_required
def column(status_id):
    return more_cards("status", get_or_404(LeadStatus, status_id).id, "board.column")


@bp.get("/board/category-column/<int:category_id>")
@login_required
def category_column(category_id):
    return more_cards("category", get_or_404(Category, category_id).id,
                      "board.category_column")


@bp.get("/board/owner-column/<int:owner_id>")
@login_required
def owner_column(owner_id):
    """More cards of one owner's column; owner 0 is "No owner"."""
    return more_cards("owner", get_or_404(User, owner_id).id if owner_id else None,
                      "board.owner_column")


MOST_IDS = 200  # contacts or companies one live update asks about


def id_list(name):
    """The ids of a comma-separated query argument; junk and overlong values are dropped."""
    ids = []
    for raw in request.args.get(name, "").split(",")[:MOST_IDS]:
        raw = raw.strip()
        if raw.isascii() and raw.isdigit() and len(raw) <= 18:
            ids.append(int(raw))
    return ids


@bp.get("/board/changes")
@login_required
def changes():
    """This board's cards of the contacts (and companies' contacts) a change elsewhere
    concerned, with every column's count: static/app.js puts them in place."""
    selection, settings = open_board()
    if not wants_fragment():
        return redirect(url_for("board.index", **board_args(settings)))
    try:
        query = board_query(settings, selection)
        found = cards_among(query, id_list("contacts"), id_list("companies"))
        counts = board_counts(settings, selection, query, settings["group"])
    except RuleViolation as error:  # a dynamic selection whose stored criteria went bad
        return error_response(422, rule_message(error))
    if found is None:
        return render("board/_changes.html", redraw=True)
    cards, looked_at = found
    return render("board/_changes.html", redraw=False, cards=cards,
                  looked_at=",".join(str(i) for i in sorted(looked_at)),
                  counts=column_keys(settings, counts), days_in_status=days_in_status,
                  labels=card_labels(settings))


@bp.get("/board/menu/", endpoint="menu_base")
@bp.get("/board/menu/<int:contact_id>")
@login_required
def menu(contact_id=None):
    """The "Move to…" choices of one card: every other column of the board's grouping
    (statuses that take drops (R6), Potential customer categories, or owners)."""
    contact = contact_or_404(contact_id or 0)
    selection, settings = open_board()
    args = board_args(settings)
    shown = int_arg("shown")
    version = contact.version if shown is None else shown
    if settings["group"] == "category":
        # A category drop moves the company: the category is the card's version.
        endpoint, field, version = "board.move_contact_company", "category", \
            contact.company.category_id
        choices = [(c.id, category_name(c)) for c in company_board_categories()
                   if c.id != contact.company.category_id]
    elif settings["group"] == "owner":
        endpoint, field = "board.assign", "owner"
        choices = [(o.id, o.name if o.id else gettext(o.name)) for o in owner_columns({})
                   if o.active and o.owner_id != contact.owner_id]
    else:
        endpoint, field = "board.move", "status"
        choices = [(s.id, status_name(s)) for s in board_statuses()
                   if s.id != contact.lead_status_id]
    card_url = url_for("contacts.show", contact_id=contact.id)
    links = [(card_url + "?plan=1#activity-form", gettext("Plan next step"),
              gettext("Plan the next step for %(name)s", name=contact.full_name)),
             (card_url, gettext("Open the contact"), None)]
    return render("board/_menu.html", card_field="contact", card_id=contact.id,
                  card_dom_id=f"card-{contact.id}", action=url_for(endpoint, **args),
                  field=field, choices=choices, version=version, links=links)


def moved_response(contact, by, undo=None, proposal=None, status=200):
    """A dropped card, fresh counts of every column out of band, an undo toast and
    maybe a rule's dialog. `by` is what the columns stand for ("status",
    "category" or "owner"); `undo` holds the toast's message, the URL that puts
    the move back and its form fields. An undo's answer closes the toast it came
    from; it has no card (`contact` None) when it put a company back."""
    selection, settings = open_board()
    query = board_query(settings, selection)
    on_board = contact is not None and query.where(Contact.id == contact.id).exists()
    counts = board_counts(settings, selection, query, by)
    if by == "owner":
        count_ids = {f"count-owner-{o.id}": counts.get(o.owner_id, 0)
                     for o in owner_columns(counts)}
    elif by == "category":
        count_ids = {f"count-{c.id}": counts.get(c.id, 0) for c in company_board_categories()}
    else:
        count_ids = {f"count-{s.id}": counts.get(s.id, 0) for s in board_statuses()}
    if undo is not None:
        undo = {"toast": f"undo-{secrets.token_hex(6)}", **undo}
    response = render("board/_moved.html", status=status, contact=contact, on_board=on_board,
                      counts=count_ids, undo=undo, proposal=proposal,
                      undone_toast=undone_toast(),
                      categories=list(Category.ordered()) if proposal else [],
                      company_name=contact.company.name if contact else "",
                      days_in_status=days_in_status,
                      labels=card_labels(settings), oob_blocks=("dialog",))
    if request.form.get("via") == "menu":
        response.headers["HX-Trigger"] = "board-refresh"
    return response


UNDO_TOAST = re.compile(r"undo-[0-9a-f]{12}")


def undone_toast():
    """The id of the undo toast whose Undo this request is, when it is one: the answer
    replaces that toast, so Undo cannot be pressed twice."""
    toast = request.form.get("toast", "")
    return toast if UNDO_TOAST.fullmatch(toast) else None


def gone():
    """The answer to a drop naming a card or column that does not exist (any more)."""
    return error_response(422, gettext("That card or column does not exist any more."))


def posted(model, name):
    """The row whose id the form names under `name`, or None."""
    return model.get_or_none(model.id == int_arg(name, values=request.form))


@bp.post("/board/move")
@login_required
def move():
    """A drop (or "Move to…"): same rules as the contact card, refused on a stale card."""
    contact_id, status = int_arg("contact", values=request.form), posted(LeadStatus, "status")
    version = int_arg("version", values=request.form)
    if contact_id is None or status is None or version is None:
        return gone()
    try:
        outcome, undo = move_card(contact_id, status, version,
                                  Actor(current_user._get_current_object()))
    except Contact.DoesNotExist:
        return gone()
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    contact = contact_or_404(contact_id)
    return moved_response(contact, "status", proposal=outcome.suggestion, undo=dict(
        message=gettext("%(name)s moved to %(status)s.", name=contact.full_name,
                        status=status_name(contact.lead_status)),
        url=url_for("board.undo", **board_args(open_board()[1])),
        fields={"contact": undo.contact_id, "status": undo.status_id,
                "category": undo.category_id, "version": undo.version},
        # R25: right after a status change, the next step is one click away.
        plan_url=url_for("contacts.show", contact_id=contact.id, plan=1,
                         _anchor="activity-form")))


@bp.post("/board/undo")
@login_required
def undo():
    """Put back the last move (and the category change a rule made with it)."""
    values = [int_arg(name, values=request.form)
              for name in ("contact", "status", "category", "version")]
    if None in values or not Contact.select().where(Contact.id == values[0]).exists():
        return error_response(422, gettext("There is nothing to undo."))
    try:
        contact = undo_move(Undo(*values), Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    response = moved_response(contact_or_404(contact.id), "status")
    # The card goes back to its old column: let the board redraw.
    response.headers["HX-Trigger"] = "board-refresh"
    return response


@bp.post("/board/assign")
@login_required
def assign():
    """A card dropped on an owner's column (owner 0: nobody) changes the contact's owner."""
    contact_id, owner_id = (int_arg(name, values=request.form) for name in ("contact", "owner"))
    owner = posted(User, "owner") if owner_id else None
    version = int_arg("version", values=request.form)
    if contact_id is None or owner_id is None or (owner_id and owner is None) or version is None:
        return gone()
    try:
        previous = move_owner_card(contact_id, owner, version,
                                   Actor(current_user._get_current_object()))
    except Contact.DoesNotExist:
        return gone()
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    contact = contact_or_404(contact_id)
    if request.form.get("undo"):
        response = moved_response(contact, "owner")
        response.headers["HX-Trigger"] = "board-refresh"
        return response
    return moved_response(contact, "owner", undo=dict(
        message=gettext("%(name)s given to %(owner)s.", name=contact.full_name,
                        owner=owner.name if owner else gettext("No owner")),
        url=url_for("board.assign", **board_args(open_board()[1])),
        fields={"contact": contact.id, "owner": previous or 0, "version": contact.version,
                "undo": 1}))


# --- Companies by category ---------------------------------------------------

COMPANY_FILTERS = ("owner", "q", "next", "sort")


def company_board_settings(selection=None):
    """The company board's own filter, remembered per board like the lead board's."""
    settings = remembered_settings("company_board", str(selection.id) if selection else "mine",
                                   COMPANY_FILTERS)
    settings["owner"] = settings["owner"] or "all"
    if settings["sort"] not in COMPANY_SORTS:
        settings["sort"] = "name"
    if settings["next"] not in NEXT_STEP_FILTERS:
        settings["next"] = ""
    settings["selection"] = str(selection.id) if selection else ""
    return settings


def company_board_query(settings, selection=None):
    """Companies of the Potential customer group (or of a saved company selection),
    filtered by owner, name and next step (R25)."""
    criteria = CompanySearch(text=settings.get("q", "")[:200],
                             category_groups=[POTENTIAL])
    owner = settings["owner"]
    if owner == "me":
        criteria.owner_ids = [current_user.id]
    elif as_int(owner) is not None:
        criteria.owner_ids = [as_int(owner)]
    query = search_companies(criteria)
    next_step = next_step_condition(settings.get("next"), step=company_next_step_at())
    if next_step is not None:
        query = query.where(next_step)
    if selection is not None:
        query = selection_matches(selection, current_user).narrow(query)
    return query


def company_board_args(settings):
    return {name: value for name, value in settings.items() if value}


def open_company_board():
    selection = board_selection("companies")
    settings = company_board_settings(selection)
    return settings, company_board_query(settings, selection), selection


@bp.get("/board/companies")
@login_required
def companies():
    """Companies as a board, one column per Potential customer category."""
    try:
        settings, query, selection = open_company_board()
        counts = company_column_counts(query)
        columns = [(category, counts.get(category.id, 0),
                    company_cards(query, category.id, sort=settings.get("sort")))
                   for category in company_board_categories()]
        attach_company_next_steps([card for _, _, cards in columns for card in cards])
    except RuleViolation as error:  # a dynamic selection whose stored criteria went bad
        return error_response(422, rule_message(error))
    block = "columns" if request.headers.get("HX-Target") == "board-columns" else None
    return render("board/companies.html", block, columns=columns, settings=settings,
                  selection=selection, owners=list(User.active_users()),
                  per_column=CARDS_PER_COLUMN,
                  board_args=company_board_args(settings))


@bp.post("/board/companies/move")
@login_required
def move_company_to():
    """A company dropped on a category column: moved with R10/R11, refused when stale."""
    company, category = posted(Company, "company"), posted(Category, "category")
    shown = int_arg("version", values=request.form)
    if company is None or category is None or shown is None:
        return gone()
    try:
        company, undo = move_company_card(company, category, shown,
                                          Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    settings, query, selection = open_company_board()
    card = query.where(Company.id == company.id).first()
    attach_company_next_steps([card] if card else [])
    response = render("board/_company_moved.html", company=card,
                      board_args=company_board_args(settings),
                      counts=company_column_counts(query),
                      categories=company_board_categories(),
                      undo=company_undo(company, category, undo, "board.undo_company_card",
                                        company_board_args(settings)))
    if request.form.get("via") == "menu":
        # The card stays where it is after a menu move: the board redraws.
        response.headers["HX-Trigger"] = "board-refresh"
    return response


@bp.get("/board/companies/menu/<int:company_id>")
@login_required
def company_menu(company_id):
    """The "Move to…" choices of a company card: the other Potential customer categories."""
    company = get_or_404(Company, company_id)
    settings, _, _ = open_company_board()
    shown = int_arg("shown")
    choices = [(c.id, category_name(c)) for c in company_board_categories()
               if c.id != company.category_id]
    return render("board/_menu.html", card_field="company", card_id=company.id,
                  card_dom_id=f"company-card-{company.id}",
                  action=url_for("board.move_company_to", **company_board_args(settings)),
                  field="category", choices=choices,
                  version=company.category_id if shown is None else shown,
                  links=[(url_for("companies.show", company_id=company.id),
                          gettext("Open the company"), None)])


def company_undo(company, category, undo, endpoint, args):
    """The toast of a company's move: what moved, with how many contacts, and its undo."""
    moved = Contact.select().where(Contact.company == company.id).count()
    return dict(
        message=ngettext("%(company)s moved to %(category)s with its %(num)s contact.",
                         "%(company)s moved to %(category)s with its %(num)s contacts.",
                         moved, company=company.name, category=category_name(category)),
        url=url_for(endpoint, **args),
        toast=f"undo-{secrets.token_hex(6)}",
        fields={"company": undo.company_id, "category": undo.category_id,
                "moved_to": undo.moved_to_id, "history": undo.history_id})


def posted_company_undo():
    """The CompanyUndo an undo form carries, or None when it cannot be read."""
    values = [request.form.get(name, type=int)
              for name in ("company", "category", "moved_to", "history")]
    return None if None in values else CompanyUndo(*values)


@bp.post("/board/companies/undo")
@login_required
def undo_company_card():
    """Put a company dropped on the company board back where it was."""
    undo = posted_company_undo()
    if undo is None or not Company.select().where(Company.id == undo.company_id).exists():
        return error_response(422, gettext("There is nothing to undo."))
    try:
        undo_company_move(undo, Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    settings, query, selection = open_company_board()
    response = render("board/_company_moved.html", company=None,
                      counts=company_column_counts(query),
                      categories=company_board_categories(), undo=None,
                      undone_toast=undone_toast())
    response.headers["HX-Trigger"] = "board-refresh"
    return response


@bp.get("/board/companies/column/<int:category_id>")
@login_required
def company_column(category_id):
    """More companies of one category column."""
    category = get_or_404(Category, category_id)
    settings, query, selection = open_company_board()
    offset = int_arg("offset", 0)
    cards = attach_company_next_steps(company_cards(query, category.id, offset,
                                                    sort=settings.get("sort")))
    return render("board/_company_more.html", category=category, cards=cards,
                  total=company_column_counts(query).get(category.id, 0),
                  next_offset=offset + len(cards), board_args=company_board_args(settings))


@bp.post("/board/move-category")
@login_required
def move_contact_company():
    """A contact dropped on a category column moves its company (R10, R11) and so every
    contact of that company: the whole board is redrawn."""
    contact, category = posted(Contact, "contact"), posted(Category, "category")
    shown = int_arg("version", values=request.form)
    if contact is None or category is None or shown is None:
        return gone()
    try:
        company, undo = move_company_card(contact.company, category, shown,
                                          Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    contact = contact_or_404(contact.id)
    response = moved_response(contact, "category", undo=company_undo(
        company, category, undo, "board.undo_contact_company", board_args(open_board()[1])))
    # Every card of the company moved with it: the board redraws.
    response.headers["HX-Trigger"] = "board-refresh"
    return response


@bp.post("/board/undo-category")
@login_required
def undo_contact_company():
    """Put back a company moved by dropping one of its contacts on a category column."""
    undo = posted_company_undo()
    if undo is None or not Company.select().where(Company.id == undo.company_id).exists():
        return error_response(422, gettext("There is nothing to undo."))
    try:
        undo_company_move(undo, Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    response = moved_response(None, "category")
    response.headers["HX-Trigger"] = "board-refresh"
    return response
