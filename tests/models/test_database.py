"""The SQLite settings the app relies on, concurrent writers (on a SQLite database of
their own in the PostgreSQL pass too), and the keys that read soft-deleted records.
"""
import datetime
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


def app_tables():
    """Every table model of the app (the subclasses of BaseModel, however deep), with the
    modules that add tables imported."""
    import app  # noqa: F401 - imports every module that defines a table
    found, todo = [], [models.BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            found.append(sub)
    return found


def test_r27_every_key_to_a_contact_or_company_reads_deleted_ones_too(db):
    """A RecordKey, not peewee's own ForeignKeyField (left as peewee made it): a sale or
    a history row still reads its deleted contact and company when followed."""
    from peewee import ForeignKeyAccessor, ForeignKeyField

    from models.schema import RecordKey, Sale, SoftDeleted
    from models.trash import delete_company
    keys = [f for model in app_tables() for f in model._meta.refs
            if isinstance(f.rel_model, type) and issubclass(f.rel_model, SoftDeleted)]
    assert len(keys) >= 13
    assert all(type(f) is RecordKey for f in keys), [f for f in keys if type(f) is not RecordKey]
    assert ForeignKeyField.accessor_class is ForeignKeyAccessor
    company = create_company(Actor(), name="Fjällbo AB", category=Category.get(name="Lead"))
    anna = create_contact(company, Actor(), first_name="Anna", last_name="Berg")
    sale = Sale.create(company=company, contact=anna, title="Avtal", amount=1,
                       sale_date=datetime.date(2026, 1, 1))
    delete_company(company.id, Actor())
    sale = Sale.get_by_id(sale.id)
    assert (sale.contact.full_name, sale.company.name) == ("Anna Berg", "Fjällbo AB")
    assert sale.contact.deleted_at is not None
