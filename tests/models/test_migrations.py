"""Schema creation and upgrade: a new database and an upgraded one (R3, R5)."""
import datetime

import pytest

import models
from models import TABLES, Category, Company, Contact, LeadStatus, User
from models.setup import upgrade_database


@pytest.fixture
def empty_db(empty_database_url):
    db = models.bind_database(empty_database_url)
    db.connect()
    yield db
    db.close()


def test_r3_r5_new_database_gets_default_categories_and_statuses(empty_db):
    assert upgrade_database(empty_db, "en") is True
    assert Category.select().count() == 6
    assert [s.name for s in LeadStatus.ordered()][0] == "Open"


def test_r3_new_database_default_lists_in_the_chosen_language(empty_db):
    upgrade_database(empty_db, "sv")
    assert "Kund" in {c.name for c in Category.select()}
    assert [s.name for s in LeadStatus.ordered()][-1] == "Återbearbetning"


def test_r3_upgraded_database_keeps_its_data_and_gets_no_default_categories(empty_db):
    upgrade_database(empty_db, target="0001_initial")
    # An old database: its own categories, a company and a contact, no lead status.
    now = datetime.datetime(2025, 1, 1)
    p = empty_db.param
    empty_db.execute_sql("INSERT INTO category (name, description, sort_order, retired) "
                         "VALUES ('Prospect', '', 0, FALSE)")
    empty_db.execute_sql("INSERT INTO company (name, category_id, phone, email, website, city, "
                         f"country, created_at, updated_at) VALUES ('Gamla AB', 1, '', '', '', "
                         f"'', '', {p}, {p})", (now, now))
    empty_db.execute_sql("INSERT INTO contact (company_id, first_name, last_name, title, email, "
                         "phone, created_at, updated_at) VALUES (1, 'Greta', 'Gammal', '', '', "
                         f"'', {p}, {p})", (now, now))

    assert upgrade_database(empty_db, "en") is False

    assert [c.name for c in Category.select()] == ["Prospect"]
    assert Category.get().group == "other" and not Category.get().lead_status_enabled
    contact = Contact.get()
    assert (contact.full_name, contact.company.name, contact.lead_status_id) == \
        ("Greta Gammal", "Gamla AB", None)
    # R5/R6: statuses exist so the admin can enable lead status later.
    assert LeadStatus.initial().name == "Open"
    assert Company.select().count() == 1


def test_running_migrations_twice_changes_nothing(empty_db):
    upgrade_database(empty_db, "en")
    assert upgrade_database(empty_db, "en") is False
    assert Category.select().count() == 6


def all_tables():
    """Every table model of the app: the subclasses of BaseModel, however deep."""
    found, todo = [], [models.BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            found.append(sub)
    return found


def test_migrated_schema_matches_the_models(empty_db):
    upgrade_database(empty_db, "en")
    assert set(TABLES) <= set(all_tables())
    for model in all_tables():
        table = model._meta.table_name
        columns = {c.name for c in empty_db.get_columns(table)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, table
    User.create(email="x@example.test", name="X", password_hash="-")


def test_owner_history_rows_move_the_new_owner_out_of_the_actor_column(empty_db):
    """Before 0010 a distribution flow's "owner" row kept the new owner as its actor."""
    upgrade_database(empty_db, target="0009_dashboards")
    category = Category.create(name="Lead", group="potential", lead_status_enabled=True)
    # The user table of 0009 (no session_version yet, 0015): written as SQL.
    empty_db.execute_sql("INSERT INTO \"user\" (email, name, password_hash, role, language, "
                         "active) VALUES ('rep@example.test', 'Rep', 'x', 'rep', 'en', TRUE)")
    rep = User.select(User.id).get()
    company = Company.create(name="Fjällbo AB", category=category)
    contact = Contact.create(company=company, first_name="Anna", last_name="Berg", owner=rep)
    models.History.insert(kind="owner", company=company.id, contact=contact.id, actor=rep.id,
                          created_at=datetime.datetime(2025, 1, 1), source="form",
                          source_label="Web form: Spring").execute()

    upgrade_database(empty_db, "en")

    row = models.History.get()
    assert (row.to_owner_id, row.from_owner_id, row.actor_id) == (rep.id, None, None)
