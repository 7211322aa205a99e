"""The lead board: columns per lead status over any contact query, and moves.

A drop goes through the same functions as the contact card (R8, R10-R19);
the contact's version guards against a drop based on a stale card.
"""
import datetime
from dataclasses import dataclass

from peewee import JOIN, Case, fn

from . import engine
from .activities import company_next_step_at
from .categorization import outcome_of
from .db import database, is_sqlite
from .prepared import Prepared
from .rules import Actor, RuleViolation, assign_owner, move_company
from .schema import N_, Category, Company, Contact, History, LeadStatus, User, now

CARDS_PER_COLUMN = 50
# A column of at most this many contacts is read whole and sorted, a larger one in
# its sort off an index (see card_query).
FEW_CARDS = 1000

SORTS = {
    "name": (Contact.last_name, Contact.first_name, Contact.id),
    # Longest in the current status first: the ones that need attention.
    "days": (Contact.status_changed_at.asc(nulls="first"), Contact.id),
    "created": (Contact.created_at.desc(), Contact.id.desc()),
    # R25: cards without a next step first (they need one planned), then the soonest.
    "next_step": (Contact.next_step_at.asc(nulls="first"), Contact.id),
}


class StaleCard(RuleViolation):
    """The card was moved or changed by someone else since it was shown."""


def board_statuses():
    """R6: retired statuses are no columns and no drop targets."""
    return list(LeadStatus.ordered())


def off_board(query, grouping, category_ids):
    """The contacts of `query` (a board's contacts before its R8 scope) without a card on
    the board: their company's category has no active lead status (R8), or, in status
    columns, they have no lead status or a retired one (R6)."""
    on_board = Company.category.in_(list(category_ids))
    if grouping == "status":
        on_board &= (Contact.lead_status.is_null(False)
                     & Contact.lead_status.in_([s.id for s in board_statuses()]))
    return query.where(~on_board)


def _conditions(query):
    """The WHERE of a contact query, to reuse it in a leaner select."""
    return [query._where] if query._where is not None else []


def category_column_counts(query):
    """{category id: number of contacts} for a board grouped by the company's category."""
    lean = (Contact.select(Company.category, fn.COUNT(Contact.id))
            .join(Company).join(Category)
            .where(*_conditions(query))
            .group_by(Company.category))
    return dict(lean.tuples())


def column_counts(query):
    """{status id: exact number of contacts} for the whole query, in one GROUP BY.

    The board's own query joins status and owner for the cards; the count
    only needs contact and company, so those joins are dropped and the
    count comes from the (owner, status, company) indexes.
    """
    lean = (Contact.select(Contact.lead_status, fn.COUNT(Contact.id))
            .join(Company).join(Category)
            .where(*_conditions(query), Contact.lead_status.is_null(False))
            .group_by(Contact.lead_status))
    return dict(lean.tuples())


def owner_column_counts(query):
    """{owner id (None: nobody): number of contacts} for a board grouped by owner."""
    lean = (Contact.select(Contact.owner, fn.COUNT(Contact.id))
            .join(Company).join(Category)
            .where(*_conditions(query))
            .group_by(Contact.owner))
    return dict(lean.tuples())


def owner_columns(counts):
    """The columns of a board grouped by owner: every active user, a deactivated one
    only while they still hold leads shown (so those can be handed on), and nobody."""
    users = (User.select(User.id, User.name, User.active)
             .where((User.active == True) | User.id.in_([i for i in counts if i]))  # noqa: E712
             .order_by(User.name, User.id))
    return [OwnerColumn(u.id, u.name, u.active) for u in users] + \
        [OwnerColumn(0, N_("No owner"), True)]


@dataclass(frozen=True)
class OwnerColumn:
    """One owner's column; id 0 stands for contacts without an owner."""
    id: int
    name: str
    active: bool

    @property
    def owner_id(self):
        return self.id or None


def card_query(query, column_id, sort="name", by=Contact.lead_status, count=None):
    """A column's cards, in the board's sort.

    `by` is what the columns stand for: the lead status, the company's
    category or the owner; `column_id` None is the column of contacts
    without one.

    A column walks an index in its sort and stops at the page's last card.
    One of at most FEW_CARDS contacts (its exact `count`, when known) is read
    by its contacts' ids instead, through the narrow (owner, status, company)
    index, and sorted: the walk would pass over every other owner's contacts
    of the status to find one rep's few (the per-owner sorted indexes are
    gone, migration 0027). Both give the same cards.

    Only the columns a card shows are read: building hundreds of full rows
    of five models costs more than the database does.
    """
    order = SORTS.get(sort, SORTS["name"])
    if count is not None and count <= FEW_CARDS:
        members = (Contact.select(Contact.id).join(Company).join(Category)
                   .where(*_conditions(query), by == column_id))
        return _card_select(None).where(Contact.id.in_(members)).order_by(*order)
    return _card_select(query).where(by == column_id).order_by(*order)


class Named:
    """A card's category or owner: its id and name."""
    __slots__ = ("id", "name")

    def __init__(self, key, name):
        self.id, self.name = key, name


class CardCompany:
    """A card's company: its id, name and category."""
    __slots__ = ("category", "category_id", "id", "name")

    def __init__(self, key, name, category_id, category):
        self.id, self.name, self.category_id, self.category = key, name, category_id, category


class Card:
    """A contact as its board card shows it, built from a row of `_card_select`.

    A board draws hundreds of cards; building a Contact, a Company, a Category
    and a User for each took the app longer than the database took to read
    them. The attributes are the model's, so the card template also draws a
    Contact (a card just moved), and the name is the model's own rule.
    """
    __slots__ = (
        "company",
        "company_id",
        "created_at",
        "first_name",
        "id",
        "last_name",
        "lead_status_id",
        "next_step_at",
        "next_step_text",
        "owner",
        "owner_id",
        "status_changed_at",
        "utm_source",
        "version",
    )
    full_name = Contact.full_name

    def __init__(self, row):
        (self.id, self.first_name, self.last_name, self.version, self.lead_status_id,
         self.status_changed_at, self.utm_source, self.created_at, self.next_step_at,
         self.next_step_text, self.company_id, self.owner_id, company_id, company_name,
         category_id, _, category_name, owner_id, owner_name) = row
        self.company = CardCompany(company_id, company_name, category_id,
                                   Named(category_id, category_name))
        self.owner = Named(owner_id, owner_name) if owner_id is not None else None


def _cards(rows):
    return [Card(row) for row in rows]


def _card_select(query):
    """The columns a card shows (see Card), as tuples."""
    select = (Contact
              .select(Contact.id, Contact.first_name, Contact.last_name, Contact.version,
                      Contact.lead_status, Contact.status_changed_at, Contact.utm_source,
                      Contact.created_at, Contact.next_step_at, Contact.next_step_text,
                      Contact.company, Contact.owner, Company.id,
                      Company.name, Company.category, Category.id, Category.name, User.id,
                      User.name)
              .join(Company).join(Category)
              .join_from(Contact, User, JOIN.LEFT_OUTER, on=(Contact.owner == User.id))
              .tuples())
    conditions = _conditions(query) if query is not None else []
    return select.where(*conditions) if conditions else select


def cards_among(query, contact_ids=(), company_ids=(), most=500):
    """The cards of the board `query` among these contacts and the contacts of these
    companies (a live update after a change elsewhere), and every contact id that
    was looked at: those not among the cards have left the board.

    None when the companies hold more than `most` contacts: redraw instead.
    """
    looked_at = set(contact_ids)
    if company_ids:
        looked_at |= {row[0] for row in Contact.select(Contact.id)
                      .where(Contact.company.in_(list(company_ids)))
                      .limit(most + 1).tuples()}
    if len(looked_at) > most:
        return None
    cards = _cards(_card_select(query).where(Contact.id.in_(sorted(looked_at)))
                   .order_by(Contact.id)) if looked_at else []
    return cards, looked_at


def column_cards(query, column_id, sort="name", offset=0, limit=CARDS_PER_COLUMN,
                 by=Contact.lead_status, count=None):
    """One page of a column of `count` contacts (see card_query); an empty one is not
    asked for."""
    if count == 0:
        return []
    return _cards(card_query(query, column_id, sort, by, count).offset(offset).limit(limit))


def first_cards(query, column_ids, sort="name", by=Contact.lead_status, counts=None):
    """The first page of each column's cards, as [cards] in the order of `column_ids`;
    `counts` ({column id: exact count}) leaves the empty ones unasked and reads the
    small ones by their ids (card_query). The columns' queries differ only in the
    column: their SQL is written once per plan."""
    def prepared(count):
        return Prepared(lambda column_id: card_query(query, column_id, sort, by, count)
                        .limit(CARDS_PER_COLUMN))
    walk, few = prepared(None), prepared(FEW_CARDS)
    cards = []
    for column_id in column_ids:
        count = None if counts is None else counts.get(column_id, 0)
        if column_id is None or count == 0:
            cards.append(column_cards(query, column_id, sort, by=by, count=count))
        else:
            cards.append(_cards((few if count is not None and count <= FEW_CARDS
                                 else walk)(column_id)))
    return cards


def move_owner_card(contact, owner, version, actor):
    """Drop `contact` (or the contact of that id) on `owner`'s column (None: nobody) if
    the card shown was current. Returns the owner it had, for the undo.
    """
    with database.atomic():
        contact = locked_contact(getattr(contact, "id", contact))
        _check_fresh(contact, version)
        previous = contact.owner_id
        assign_owner(contact, owner, actor)
    return previous


def days_in_status(contact, today=None):
    """Whole days since the contact's status last changed (0 when unknown)."""
    if not contact.status_changed_at:
        return 0
    today = today or datetime.date.today()
    return max(0, (today - contact.status_changed_at.date()).days)


@dataclass(frozen=True)
class Undo:
    """What a move changed, so it can be put back while nothing else happened."""
    contact_id: int
    status_id: int
    category_id: int
    version: int


def locked_contact(contact_id):
    """The contact with its company and category, read inside the caller's write
    transaction; on PostgreSQL its row stays locked until the transaction ends (SQLite's
    BEGIN IMMEDIATE already keeps other writers out), so the version checked is the
    version written over."""
    query = (Contact.select(Contact, Company, Category).join(Company).join(Category)
             .where(Contact.id == contact_id))
    if not is_sqlite():
        query = query.for_update(of=Contact)
    return query.get()


def _check_fresh(contact, version):
    if contact.version != version:
        raise StaleCard(N_("%(name)s was changed by someone else meanwhile; the card shows "
                           "the current state now."), name=contact.full_name)


def move_card(contact, status, version, actor):
    """Drop `contact` (or the contact of that id) on `status` if the card shown was
    current; returns (outcome, undo). Contact.DoesNotExist for an unknown id.

    The version is compared inside the write transaction: two drops of the
    same card at the same moment cannot both be accepted.
    """
    contact_id = getattr(contact, "id", contact)
    with database.atomic():
        try:
            report = engine.set_lead_status([contact_id], status, actor,
                                            expected={contact_id: version})
        except engine.StaleRecord:
            _check_fresh(Contact.get_by_id(contact_id), version)
        if contact_id not in report.before:
            raise Contact.DoesNotExist(contact_id)
        if report.skipped:
            company = Company.select(Company.name).join(Contact).where(
                Contact.id == contact_id).get()
            raise RuleViolation(
                N_("Lead status is not active for the category of %(company)s."),
                company=company.name)
    previous_status, previous_category, previous_version = report.before[contact_id]
    # The change raised the version; a rule's category move leaves it (R11 keeps
    # statuses between two lead-status categories).
    return outcome_of(report if report.changed else None), Undo(
        contact_id, previous_status, previous_category,
        previous_version + (1 if report.changed else 0))


def undo_move(undo, actor):
    """Put back a move and the category change a rule made with it (R19 both ways).

    The company goes back without R10's reset: the statuses R11 kept are
    exactly the ones it had. The contact's status date goes back to what it
    was before the move (kept in the move's history row), so an undone drag
    does not make an old lead look fresh.
    """
    with database.atomic():
        contact = locked_contact(undo.contact_id)
        if contact.version != undo.version:
            raise StaleCard(N_("%(name)s has changed since; the move cannot be undone."),
                            name=contact.full_name)
        company = contact.company
        if company.category_id != undo.category_id:
            last_move = (History.select()
                         .where(History.company == company, History.kind == History.CATEGORY)
                         .order_by(History.id.desc()).first())
            if last_move is None or last_move.source != "rule":
                raise RuleViolation(N_("The company's category was changed by hand since; "
                                       "the move cannot be undone."))
            engine.move_companies([company.id], Category.get_by_id(undo.category_id),
                                  Actor(actor.user, label="Undo"), reset_statuses=False)
            contact = locked_contact(contact.id)
        status = LeadStatus.get_by_id(undo.status_id)
        move = (History.select(History.from_status, History.from_status_since)
                .where(History.contact == contact.id, History.kind == History.LEAD_STATUS)
                .order_by(History.id.desc()).first())
        since = move.from_status_since if move and move.from_status_id == status.id \
            else engine.KEEP
        report = engine.set_lead_status([contact.id], status, Actor(actor.user, label="Undo"),
                                        run_rules=False, since=since)
        if report.skipped:
            raise RuleViolation(
                N_("Lead status is not active for the category of %(company)s."),
                company=company.name)
    return Contact.get_by_id(contact.id)


# --- Companies by category ---------------------------------------------------

def company_board_categories():
    """The columns of a company board: the Potential customer categories in use (R1)."""
    return [c for c in Category.ordered() if c.group == "potential"]


COMPANY_SORTS = ("name", "next_step")


def company_cards(query, category_id, offset=0, limit=CARDS_PER_COLUMN, sort="name"):
    """One page of a category column of companies, by name or (R25) by next step as the
    lead board sorts: none first (they need one planned), then the soonest."""
    order = (Company.name, Company.id)
    if sort == "next_step":
        order = (company_next_step_at().asc(nulls="first"),) + order
    return list(query.where(Company.category == category_id)
                .order_by(*order).offset(offset).limit(limit))


def company_column_counts(query):
    """{category id: number of companies} over the whole query."""
    lean = (Company.select(Company.category, fn.COUNT(Company.id))
            .join(Category)
            .where(*_conditions(query))
            .group_by(Company.category))
    return dict(lean.tuples())


def _locked_company(company_id):
    query = Company.select().where(Company.id == company_id)
    return (query if is_sqlite() else query.for_update()).get()


def _newest_change(company_id):
    return (History.select(fn.MAX(History.id)).where(History.company == company_id)
            .scalar() or 0)


@dataclass(frozen=True)
class CompanyUndo:
    """What a company's move changed, so it can be put back while nothing else happened:
    the category it came from and went to, and the newest history row the move wrote."""
    company_id: int
    category_id: int
    moved_to_id: int
    history_id: int


def move_company_card(company, category, shown_category_id, actor):
    """A company dropped on a category column: R10/R11 apply; a stale card is refused
    (checked inside the write transaction, like a contact's drop).

    Returns the company as moved and what undo_company_move needs.
    """
    with database.atomic():
        company = _locked_company(company.id)
        if company.category_id != shown_category_id:
            raise StaleCard(N_("%(name)s was moved by someone else meanwhile; the board "
                               "shows the current state now."), name=company.name)
        previous = company.category_id
        move_company(company, category, actor)
        undo = CompanyUndo(company.id, previous, category.id, _newest_change(company.id))
    return Company.get_by_id(company.id), undo


def undo_company_move(undo, actor):
    """Put a company back in the category it was dropped from, while nothing else changed.

    The move's own history rows say what R10 did: the statuses it reset go back to
    what they were, with the day they were set, so a lead does not look new
    (R19: recorded like any change, labelled Undo).
    """
    with database.atomic():
        company = _locked_company(undo.company_id)
        if company.category_id != undo.moved_to_id or \
                _newest_change(company.id) != undo.history_id:
            raise StaleCard(N_("%(name)s has changed since; the move cannot be undone."),
                            name=company.name)
        move_row = (History.select()
                    .where(History.company == company.id, History.kind == History.CATEGORY,
                           History.id <= undo.history_id)
                    .order_by(History.id.desc()).first())
        if move_row is None or move_row.to_category_id != undo.moved_to_id or \
                move_row.from_category_id != undo.category_id:
            raise StaleCard(N_("%(name)s has changed since; the move cannot be undone."),
                            name=company.name)
        resets = list(History.select()
                      .where(History.company == company.id,
                             History.kind == History.LEAD_STATUS,
                             History.id > move_row.id, History.id <= undo.history_id))
        mover = Actor(actor.user, label="Undo")
        move_company(company, Category.get_by_id(undo.category_id), mover, reset_statuses=False)
        if resets:
            _restore_statuses(resets, move_row.id, mover)
    return Company.get_by_id(company.id)


def _restore_statuses(resets, before_id, actor):
    """Give the contacts of R10's `resets` back the status they had, and its day."""
    ids = [row.contact_id for row in resets]
    # When each contact got the status it goes back to: its last change before the move.
    since = dict(History.select(History.contact, fn.MAX(History.created_at))
                 .where(History.contact.in_(ids), History.kind == History.LEAD_STATUS,
                        History.id < before_id)
                 .group_by(History.contact).tuples())
    back = {row.contact_id: row.from_status_id for row in resets}
    (Contact.update(lead_status=Case(Contact.id, list(back.items()), None),
                    status_changed_at=Case(Contact.id, list(since.items()), None)
                    if since else None,
                    version=Contact.version + 1)
     .where(Contact.id.in_(ids)).execute())
    changed_at = now()
    History.insert_many([
        {"kind": History.LEAD_STATUS, "company": row.company_id, "contact": row.contact_id,
         "from_status": row.to_status_id, "to_status": row.from_status_id,
         "created_at": changed_at, "actor": actor.user.id if actor.user else None,
         "source": actor.source, "source_label": actor.label}
        for row in resets]).execute()
