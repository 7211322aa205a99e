"""The SQLite settings the app relies on, and concurrent writers.

These run on a SQLite database of their own in the PostgreSQL pass too.
"""
import threading

import models
from models import Actor, Category, Contact, LeadStatus, create_company, create_contact


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(sqlite_db):
    assert sqlite_db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sqlite_db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert sqlite_db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_concurrent_writers_wait_instead_of_failing(sqlite_db):
    """Several threads writing at once: BEGIN IMMEDIATE + busy timeout, no 'database is locked'."""
    company = create_company(Actor(), name="Samtidig AB", category=Category.get(name="Lead"))
    contacts = [create_contact(company, Actor(), first_name="T", last_name=str(n))
                for n in range(4)]
    statuses = list(LeadStatus.ordered())
    errors = []

    def worker(contact_id):
        try:
            with models.database.connection_context():
                for round_number in range(15):
                    # Read, then write, in one transaction: with a deferred
                    # BEGIN two such transactions deadlock on the upgrade
                    # from read to write lock and one fails at once.
                    with models.database.atomic():
                        contact = Contact.get_by_id(contact_id)
                        status = statuses[(round_number + 1) % len(statuses)]
                        models.set_lead_status(contact, status, Actor())
        except Exception as error:  # the assertion below reports it
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(c.id,)) for c in contacts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert models.History.select().where(models.History.kind == "lead_status").count() \
        == 4 + 4 * 15
