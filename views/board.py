"""The lead board: one column per lead status, cards dragged between them."""
from flask import Blueprint, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from models import Actor, Category, Company, Contact, LeadStatus, RuleViolation, User
from models.board import (CARDS_PER_COLUMN, SORTS, Undo, board_statuses,
                          category_column_counts, column_cards, column_counts,
                          company_board_categories, company_cards,
                          company_column_counts, days_in_status, move_card,
                          move_company_card, undo_move)
from models.categories import lead_board_category_ids
from models.schema import POTENTIAL
from models.search import (CompanySearch, ContactSearch, contacts_with_relations,
                           search_companies, search_contacts)

from .common import get_or_404, render, rule_message
from .errors import error_response

bp = Blueprint("board", __name__)

FILTERS = ("owner", "category", "q", "sort", "group")


def board_settings():
    """Filter and sort from the query string, else as this user last left the board."""
    remembered = session.get("board", {})
    if any(name in request.values for name in FILTERS):
        chosen = {name: request.values.get(name, "") for name in FILTERS}
        session["board"] = chosen
        return chosen
    return {name: remembered.get(name, "") for name in FILTERS}


def board_query(settings):
    """My leads by default: contacts whose lead status is active (R8), filtered."""
    owner = settings.get("owner") or "me"
    criteria = ContactSearch(text=settings.get("q", "")[:200])
    if owner == "me":
        criteria.owner_ids = [current_user.id]
    elif owner.isdigit():
        criteria.owner_ids = [int(owner)]
    if settings.get("category", "").isdigit():
        criteria.category_ids = [int(settings["category"])]
    # R8: only contacts whose status is active (grouped by category: every
    # Potential customer category); filtering on the (few) category ids lets
    # the database use the company (category, id) index.
    categories = lead_board_category_ids(include_inactive=settings.get("group") == "category")
    return search_contacts(criteria).where(Company.category.in_(categories))


def board_context(settings):
    query = board_query(settings)
    sort = settings.get("sort") if settings.get("sort") in SORTS else "name"
    grouping = "category" if settings.get("group") == "category" else "status"
    if grouping == "category":
        counts = category_column_counts(query)
        columns = [(category, counts.get(category.id, 0),
                    column_cards(query, category.id, sort, by=Company.category))
                   for category in company_board_categories()]
    else:
        counts = column_counts(query)
        columns = [(status, counts.get(status.id, 0), column_cards(query, status.id, sort))
                   for status in board_statuses()]
    return dict(columns=columns, grouping=grouping, settings=settings,
                labels=card_labels(grouping), sort=sort,
                per_column=CARDS_PER_COLUMN,
                owners=list(User.active_users()),
                categories=[c for c in Category.ordered() if c.lead_status_active],
                days_in_status=days_in_status, board_args=board_args(settings))


def board_args(settings):
    return {name: settings.get(name, "") for name in FILTERS if settings.get(name)}


def card_labels(grouping="status"):
    """Texts and URLs every card repeats, translated and built once per response."""
    return {
        "contact_url": url_for("contacts.show", contact_id=0)[:-1],
        "menu_url": url_for("board.menu_base"),
        "menu_query": "?group=category" if grouping == "category" else "",
        "days": gettext("%(days)s d"),
        "days_title": gettext("Days in this status"),
        "move": gettext("Move to…"),
        "move_aria": gettext("Move %(name)s to…"),
    }


@bp.get("/board")
@login_required
def index():
    """My leads as a board; the filter bar narrows it, and it remembers the choice."""
    settings = board_settings()
    block = "columns" if request.headers.get("HX-Target") == "board-columns" else None
    return render("board/index.html", block, **board_context(settings))


@bp.get("/board/column/<int:status_id>")
@login_required
def column(status_id):
    """More cards of one column (the columns show the first 50)."""
    status = get_or_404(LeadStatus, status_id)
    settings = board_settings()
    offset = max(0, request.args.get("offset", 0, type=int))
    sort = settings.get("sort") if settings.get("sort") in SORTS else "name"
    query = board_query(settings)
    cards = column_cards(query, status.id, sort, offset)
    total = column_counts(query).get(status.id, 0)
    return render("board/_more.html", more_url=url_for(
                      "board.column", status_id=status.id, offset=offset + len(cards),
                      **board_args(settings)),
                  cards=cards, total=total, next_offset=offset + len(cards),
                  days_in_status=days_in_status, labels=card_labels())


@bp.get("/board/menu/", endpoint="menu_base")
@bp.get("/board/menu/<int:contact_id>")
@login_required
def menu(contact_id=None):
    """The "Move to…" choices of one card: every other status that takes drops (R6),
    or every other Potential customer category when the board is grouped by category."""
    contact = get_or_404(contacts_with_relations(), contact_id or 0)
    if request.args.get("group") == "category":
        return render("board/_category_menu.html", contact=contact,
                      categories=company_board_categories())
    shown = request.args.get("shown", type=int)
    return render("board/_menu.html", contact=contact, statuses=board_statuses(),
                  shown_version=contact.version if shown is None else shown)


def card_response(contact, outcome=None, undo=None, status=200):
    """The moved card, fresh counts for every column, an undo toast and maybe a dialog."""
    settings = board_settings()
    query = board_query(settings)
    on_board = query.where(Contact.id == contact.id).exists()
    counts = column_counts(query)
    proposal = outcome.suggestion if outcome else None
    return render("board/_moved.html", status=status, contact=contact, on_board=on_board,
                  counts=counts, statuses=board_statuses(), undo=undo, proposal=proposal,
                  categories=list(Category.ordered()) if proposal else [],
                  company_name=contact.company.name, days_in_status=days_in_status,
                  labels=card_labels(),
                  oob_blocks=("dialog",))


@bp.post("/board/move")
@login_required
def move():
    """A drop (or "Move to…"): same rules as the contact card, refused on a stale card."""
    contact = Contact.get_or_none(Contact.id == request.form.get("contact", type=int))
    status = LeadStatus.get_or_none(LeadStatus.id == request.form.get("status", type=int))
    version = request.form.get("version", type=int)
    if contact is None or status is None or version is None:
        return error_response(422, gettext("That card or column does not exist any more."))
    contact = get_or_404(contacts_with_relations(), contact.id)
    try:
        outcome, undo = move_card(contact, status, version,
                                  Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    response = card_response(get_or_404(contacts_with_relations(), contact.id), outcome, undo)
    if request.form.get("via") == "menu":
        response.headers["HX-Trigger"] = "board-refresh"
    return response


@bp.post("/board/undo")
@login_required
def undo():
    """Put back the last move (and the category change a rule made with it)."""
    values = [request.form.get(name, type=int)
              for name in ("contact", "status", "category", "version")]
    if None in values or not Contact.select().where(Contact.id == values[0]).exists():
        return error_response(422, gettext("There is nothing to undo."))
    try:
        contact = undo_move(Undo(*values), Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    response = card_response(get_or_404(contacts_with_relations(), contact.id))
    # The card goes back to its old column: let the board redraw.
    response.headers["HX-Trigger"] = "board-refresh"
    return response


# --- Companies by category ---------------------------------------------------

COMPANY_FILTERS = ("owner", "q")


def company_board_settings():
    """The company board's own filter, remembered like the lead board's."""
    if any(name in request.values for name in COMPANY_FILTERS):
        session["company_board"] = {name: request.values.get(name, "")
                                     for name in COMPANY_FILTERS}
    remembered = session.get("company_board", {})
    return {name: remembered.get(name, "") for name in COMPANY_FILTERS}


def company_board_query(settings):
    """Companies of the Potential customer group, filtered by owner and name."""
    criteria = CompanySearch(text=settings.get("q", "")[:200],
                             category_groups=[POTENTIAL])
    owner = settings.get("owner") or "all"
    if owner == "me":
        criteria.owner_ids = [current_user.id]
    elif owner.isdigit():
        criteria.owner_ids = [int(owner)]
    return search_companies(criteria)


@bp.get("/board/companies")
@login_required
def companies():
    """Companies as a board, one column per Potential customer category."""
    settings = company_board_settings()
    query = company_board_query(settings)
    counts = company_column_counts(query)
    columns = [(category, counts.get(category.id, 0), company_cards(query, category.id))
               for category in company_board_categories()]
    block = "columns" if request.headers.get("HX-Target") == "board-columns" else None
    return render("board/companies.html", block, columns=columns, settings=settings,
                  owners=list(User.active_users()), per_column=CARDS_PER_COLUMN,
                  board_args={k: v for k, v in settings.items() if v})


@bp.post("/board/companies/move")
@login_required
def move_company_to():
    """A company dropped on a category column: moved with R10/R11, refused when stale."""
    company = Company.get_or_none(Company.id == request.form.get("company", type=int))
    category = Category.get_or_none(Category.id == request.form.get("category", type=int))
    shown = request.form.get("version", type=int)
    if company is None or category is None or shown is None:
        return error_response(422, gettext("That card or column does not exist any more."))
    try:
        company = move_company_card(company, category, shown,
                                    Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    settings = company_board_settings()
    query = company_board_query(settings)
    card = query.where(Company.id == company.id).first()
    return render("board/_company_moved.html", company=card,
                  counts=company_column_counts(query),
                  categories=company_board_categories())


@bp.get("/board/companies/column/<int:category_id>")
@login_required
def company_column(category_id):
    """More companies of one category column."""
    category = get_or_404(Category, category_id)
    settings = company_board_settings()
    offset = max(0, request.args.get("offset", 0, type=int))
    query = company_board_query(settings)
    cards = company_cards(query, category.id, offset)
    return render("board/_company_more.html", category=category, cards=cards,
                  total=company_column_counts(query).get(category.id, 0),
                  next_offset=offset + len(cards))


@bp.post("/board/move-category")
@login_required
def move_contact_company():
    """A contact dropped on a category column moves its company (R10, R11) and so every
    contact of that company: the whole board is redrawn."""
    contact = Contact.get_or_none(Contact.id == request.form.get("contact", type=int))
    category = Category.get_or_none(Category.id == request.form.get("category", type=int))
    shown = request.form.get("version", type=int)
    if contact is None or category is None or shown is None:
        return error_response(422, gettext("That card or column does not exist any more."))
    try:
        move_company_card(contact.company, category, shown,
                          Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    contact = get_or_404(contacts_with_relations(), contact.id)
    response = render("board/_card.html", contact=contact, days_in_status=days_in_status,
                      labels=card_labels("category"))
    response.headers["HX-Trigger"] = "board-refresh"
    return response


@bp.get("/board/category-column/<int:category_id>")
@login_required
def category_column(category_id):
    """More cards of one category column of the lead board."""
    category = get_or_404(Category, category_id)
    settings = board_settings()
    offset = max(0, request.args.get("offset", 0, type=int))
    sort = settings.get("sort") if settings.get("sort") in SORTS else "name"
    query = board_query(settings)
    cards = column_cards(query, category.id, sort, offset, by=Company.category)
    return render("board/_more.html", more_url=url_for(
                      "board.category_column", category_id=category.id,
                      offset=offset + len(cards), **board_args(settings)),
                  cards=cards, total=category_column_counts(query).get(category.id, 0),
                  next_offset=offset + len(cards), days_in_status=days_in_status,
                  labels=card_labels("category"))
