"""The test fixtures themselves: each test's database is a freshly migrated one."""
import datetime
import re

import models
from models import (Actor, Category, LeadStatus, create_company, create_contact,
                    reorder_lead_statuses, retire_lead_status, set_lead_status)

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def database_contents(db):
    """Every row of every table in its stored order, and where each sequence stands.

    Times are masked: the migration log records when each migration ran.
    """
    def is_time(value):  # SQLite returns times as text
        return isinstance(value, datetime.datetime) or (
            isinstance(value, str) and TIMESTAMP.match(value))

    def masked(row):
        return tuple("<time>" if is_time(value) else value for value in row)

    if models.is_sqlite():
        tables = [name for name, in db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        sequences = []  # SQLite keeps them in the sqlite_sequence table
    else:
        tables = db.get_tables()
        sequences = [db.execute_sql(f"SELECT '{name}', last_value, is_called FROM {name}")
                     .fetchone() for name, in db.execute_sql(
                         "SELECT quote_ident(sequencename) FROM pg_sequences "
                         "WHERE schemaname = 'public' ORDER BY 1")]
    rows = {table: [masked(row) for row in db.execute_sql(f'SELECT * FROM "{table}"')]
            for table in tables}
    return rows, sequences


def change_every_kind_of_row():
    """What tests do to a database: new rows, changed and retired default lists."""
    actor = Actor()
    company = create_company(actor, name="Smutsig AB", category=Category.get(name="Lead"))
    contact = create_contact(company, actor, first_name="Sara", last_name="Smuts")
    statuses = list(LeadStatus.ordered())
    set_lead_status(contact, statuses[2], actor)
    reorder_lead_statuses([s.id for s in reversed(statuses)], actor)
    retire_lead_status(statuses[-1], actor)
    Category.update(name="Omdöpt").where(Category.name == "Partner").execute()
    Category.delete().where(Category.name == "Lost opportunity").execute()


def test_each_test_gets_a_database_like_a_freshly_migrated_one(request, db, tmp_path):
    """The per-test reset (a file copy on SQLite, TRUNCATE and copy on PostgreSQL)
    leaves the same rows, row order and sequences as running every migration."""
    change_every_kind_of_row()
    postgres = request.getfixturevalue("postgres")
    if postgres:
        postgres.reset()
        reset = database_contents(postgres.db)
        postgres.migrate_from_scratch()
        fresh = database_contents(postgres.db)
    else:
        template = models.bind_database(
            f"sqlite:///{request.getfixturevalue('template_database')}")
        with template.connection_context():
            reset = database_contents(template)
        fresh_db = models.bind_database(f"sqlite:///{tmp_path / 'fresh.db'}")
        with fresh_db.connection_context():
            models.upgrade_database(fresh_db, "en")
            fresh = database_contents(fresh_db)
    assert reset == fresh
    rows, _ = fresh
    assert len(rows["category"]) == 6 and len(rows["lead_status"]) == 5
