"""Board moves: the contact card's rules, stale cards, undo."""
import datetime

import pytest
from playhouse.test_utils import count_queries

import models
from models import Actor, Category, Company, Contact, History, LeadStatus, RuleViolation
from models import create_company, create_contact
from models.board import (FEW_CARDS, SORTS, StaleCard, Undo, card_query, column_cards,
                          column_counts, first_cards, move_card, move_company_card,
                          undo_company_move, undo_move)
from models.categorization import save_rules
from models.search import ContactSearch, search_contacts


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


@pytest.fixture
def anna(db):
    company = create_company(Actor(), name="Fjällbo AB", category=Category.get(name="Lead"))
    return create_contact(company, Actor(), first_name="Anna", last_name="Berg")


def test_counts_and_columns_follow_the_query(anna):
    query = search_contacts(ContactSearch())
    assert column_counts(query) == {status("Open").id: 1}
    assert [c.id for c in column_cards(query, status("Open").id)] == [anna.id]


def test_r8_move_sets_status_and_raises_version(anna):
    shown = anna.version
    outcome, undo = move_card(anna, status("Contacting"), shown, Actor())
    fresh = Contact.get_by_id(anna.id)
    assert fresh.lead_status.name == "Contacting" and fresh.version == shown + 1
    assert undo == Undo(anna.id, status("Open").id, anna.company.category_id, fresh.version)


def test_stale_version_is_refused(anna):
    with pytest.raises(StaleCard):
        move_card(anna, status("Contacting"), anna.version - 1, Actor())
    assert Contact.get_by_id(anna.id).lead_status.name == "Open"


def test_r8_move_where_not_active_is_refused(anna):
    Company.update(category=Category.get(name="Customer")).execute()
    with pytest.raises(RuleViolation, match="not active"):
        move_card(Contact.get_by_id(anna.id), status("Contacting"), anna.version, Actor())


def test_r19_undo_puts_back_status_and_the_rules_category_change(anna):
    save_rules({("status_set", status("Disqualified").id): {
        "enabled": True, "target_category_id": Category.get(name="Lost opportunity").id}},
        Actor())
    colleague = create_contact(anna.company, Actor(), first_name="Bo", last_name="Ek")
    move_card(Contact.get_by_id(colleague.id), status("Contacting"), colleague.version, Actor())
    _, undo = move_card(Contact.get_by_id(anna.id), status("Disqualified"),
                        Contact.get_by_id(anna.id).version, Actor())
    assert Company.get_by_id(anna.company_id).category.name == "Lost opportunity"
    undo_move(undo, Actor())
    assert Company.get_by_id(anna.company_id).category.name == "Lead"
    assert Contact.get_by_id(anna.id).lead_status.name == "Open"
    # Going back did not reset the colleague to Open (no R10 on undo).
    assert Contact.get_by_id(colleague.id).lead_status.name == "Contacting"
    assert History.select().where(History.source_label == "Undo").count() == 2


def test_undo_after_another_change_is_refused(anna):
    _, undo = move_card(anna, status("Contacting"), anna.version, Actor())
    move_card(Contact.get_by_id(anna.id), status("Qualified"),
              Contact.get_by_id(anna.id).version, Actor())
    with pytest.raises(StaleCard):
        undo_move(undo, Actor())
    assert Contact.get_by_id(anna.id).lead_status.name == "Qualified"


def category(name):
    return Category.get(Category.name == name)


def test_r10_undoing_a_company_drop_puts_back_the_category_and_the_statuses_r10_reset(anna):
    """Opportunity -> Lead resets every contact to Open (R10); Undo gives each its status
    back, with the day it was set, so an old lead does not look new."""
    company = Company.get_by_id(anna.company_id)
    bo = create_contact(company, Actor(), first_name="Bo", last_name="Ek")
    move_card(anna, status("Qualified"), anna.version, Actor())
    long_ago = datetime.datetime(2025, 1, 2, 9, 30)
    History.update(created_at=long_ago).where(History.contact == anna.id).execute()
    Contact.update(status_changed_at=long_ago).where(Contact.id == anna.id).execute()
    move_company_card(company, category("Opportunity"), category("Lead").id, Actor())
    moved, undo = move_company_card(Company.get_by_id(company.id), category("Lead"),
                                    category("Opportunity").id, Actor())
    assert {c.lead_status.name for c in moved.contacts} == {"Open"}

    undo_company_move(undo, Actor())

    assert Company.get_by_id(company.id).category.name == "Opportunity"
    fresh = Contact.get_by_id(anna.id)
    assert (fresh.lead_status.name, fresh.status_changed_at) == ("Qualified", long_ago)
    assert Contact.get_by_id(bo.id).lead_status.name == "Open"  # Open before, Open now
    undone = History.select().where(History.source_label == "Undo")
    assert sorted((h.kind, h.contact_id) for h in undone) == [
        (History.CATEGORY, None), (History.LEAD_STATUS, anna.id)]


def test_a_company_drop_cannot_be_undone_after_another_change(anna):
    company = Company.get_by_id(anna.company_id)
    _, undo = move_company_card(company, category("Marketing qualified lead (MQL)"),
                                category("Lead").id, Actor())
    move_card(Contact.get_by_id(anna.id), status("Contacting"),
              Contact.get_by_id(anna.id).version, Actor())
    with pytest.raises(StaleCard, match="cannot be undone"):
        undo_company_move(undo, Actor())
    assert Company.get_by_id(company.id).category.name == "Marketing qualified lead (MQL)"
    assert Contact.get_by_id(anna.id).lead_status.name == "Contacting"


@pytest.fixture
def sqlite_db(tmp_path):
    """Query plans are SQLite's here, also in the PostgreSQL pass (its plans depend on
    table statistics, so an empty database would say little)."""
    database = models.bind_database(f"sqlite:///{tmp_path / 'plans.db'}")
    with database.connection_context():
        models.upgrade_database(database, "en")
        yield database


@pytest.mark.parametrize("sort", sorted(SORTS))
@pytest.mark.parametrize("by", ["status", "owner"])
def test_a_column_is_read_in_index_order_not_sorted_whole(sqlite_db, sort, by):
    """A column's first 50 cards come off an index in the board's sort: sorting all of
    an owner's contacts per column made the owner board cost 70 ms a column at 100k."""
    query = search_contacts(ContactSearch(owner_ids=[1])).where(Company.category.in_([1, 2]))
    column = Contact.owner if by == "owner" else Contact.lead_status
    sql, params = card_query(query, 1, sort, column).limit(50).sql()
    plan = " / ".join(row[-1] for row in sqlite_db.execute_sql(
        "EXPLAIN QUERY PLAN " + sql, params).fetchall())
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan


def sql_plan(database, query):
    sql, params = query.sql()
    return " / ".join(row[-1] for row in database.execute_sql(
        "EXPLAIN QUERY PLAN " + sql, params).fetchall())


def test_a_small_column_finds_its_contacts_through_the_owner_and_status_index(sqlite_db):
    """A rep's column of a few cards is not found by walking every owner's contacts of
    the status in the board's sort (at 100,000 contacts an empty one took 45 ms so)."""
    query = search_contacts(ContactSearch(owner_ids=[1])).where(Company.category.in_([1, 2]))
    for sort in sorted(SORTS):
        plan = sql_plan(sqlite_db, card_query(query, 1, sort, count=FEW_CARDS).limit(50))
        assert "INDEX contact_owner_id_lead_status_id_company_id (owner_id=? AND " \
            "lead_status_id=?)" in plan and "INTEGER PRIMARY KEY" in plan, (sort, plan)
        walked = sql_plan(sqlite_db, card_query(query, 1, sort, count=FEW_CARDS + 1).limit(50))
        assert "contact_owner_id_lead_status_id_company_id" not in walked, (sort, walked)


@pytest.fixture
def crowded_column(db):
    """Contacts of two owners in two statuses, with equal names, creation times, times in
    status and next steps (and none), so a sort's ties and empty values show."""
    owners = [models.User.create(email=f"o{n}@example.test", name=f"O{n}", password_hash="-")
              for n in range(2)]
    company = create_company(Actor(), name="Tiebreak AB", category=Category.get(name="Lead"))
    when = datetime.datetime(2026, 11, 1, 9, 0)
    for number in range(24):
        contact = create_contact(company, Actor(), first_name=("Eva", "Per")[number % 2],
                                 last_name=("Ek", "Berg", "Ek", "Al")[number % 4],
                                 owner=owners[number % 3 == 0])
        Contact.update(created_at=when + datetime.timedelta(hours=number % 3),
                       status_changed_at=None if number % 5 == 0 else when,
                       next_step_at=None if number % 4 == 0 else
                       when + datetime.timedelta(days=number % 2),
                       lead_status=status("Open") if number % 6 else status("Contacting"),
                       ).where(Contact.id == contact.id).execute()
    return owners


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_a_small_column_read_by_its_ids_has_the_cards_of_the_walked_one(crowded_column, sort):
    query = search_contacts(ContactSearch(owner_ids=[crowded_column[0].id]))
    column = status("Open").id
    walked = [c.id for c in column_cards(query, column, sort, limit=100)]
    assert len(walked) > 5
    for offset in (0, 3):
        read_whole = column_cards(query, column, sort, offset=offset, limit=4, count=len(walked))
        assert [c.id for c in read_whole] == walked[offset:offset + 4]
        assert read_whole[0].company.name == "Tiebreak AB"


def test_an_empty_column_is_not_asked_for(crowded_column):
    query = search_contacts(ContactSearch(owner_ids=[crowded_column[0].id]))
    columns = [status("Open").id, status("Contacting").id]
    counts = column_counts(query)
    assert counts.get(columns[1], 0) == 0 < counts[columns[0]]
    with count_queries() as uncounted:
        asked = first_cards(query, columns)
    with count_queries() as counted:
        cards = first_cards(query, columns, counts=counts)
    assert [[c.id for c in column] for column in cards] == \
        [[c.id for c in column] for column in asked]
    assert [len(column) for column in cards] == [counts[columns[0]], 0]
    assert counted.count == uncounted.count - 1


def test_a_card_holds_what_its_contact_holds(crowded_column, anna):
    """A card is read as a row, not a model: each field must be its contact's, an owner
    or none, and the name by the contact's own rule."""
    Contact.update(utm_source="linkedin", next_step_text="Call").where(
        Contact.id == anna.id).execute()
    query = search_contacts(ContactSearch())
    cards = [card for column in first_cards(query, list(column_counts(query)))
             for card in column]
    assert len(cards) == 25 and any(card.owner is None for card in cards)
    for card in cards:
        contact = Contact.get_by_id(card.id)
        assert (card.full_name, card.first_name, card.last_name, card.version,
                card.lead_status_id, card.status_changed_at, card.created_at,
                card.next_step_at, card.next_step_text, card.utm_source) == \
            (contact.full_name, contact.first_name, contact.last_name, contact.version,
             contact.lead_status_id, contact.status_changed_at, contact.created_at,
             contact.next_step_at, contact.next_step_text, contact.utm_source)
        assert (card.company_id, card.company.id, card.company.name,
                card.company.category_id, card.company.category.name) == \
            (contact.company_id, contact.company.id, contact.company.name,
             contact.company.category_id, contact.company.category.name)
        assert card.owner_id == contact.owner_id
        assert (card.owner and card.owner.name) == (contact.owner and contact.owner.name)
