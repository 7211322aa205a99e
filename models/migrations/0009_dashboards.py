"""Dashboards and their tiles, and the indexes the default tiles read through.

The history indexes serve the funnel (companies reaching a category or a
lead status, in a period) and the median days in status (the latest stays
leaving a status). The contact indexes let the tiles count from an index
alone, company included: per company (status, owner and creation date of
the contacts of the companies in some categories), by source and campaign
in group order, and the stale leads by status and time in status.
"""
import datetime

from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField,
                    Model, TextField)

INDEXES = (
    ("history", ("kind", "to_status_id", "created_at", "company_id")),
    ("history", ("kind", "to_category_id", "created_at", "company_id")),
    ("history", ("from_status_id", "created_at", "contact_id")),
    ("contact", ("company_id", "lead_status_id", "owner_id")),
    ("contact", ("company_id", "created_at")),
    ("contact", ("utm_source", "utm_campaign", "company_id", "created_at")),
    ("contact", ("lead_status_id", "status_changed_at", "company_id")),
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(unique=True)

    class Dashboard(Base):
        owner = ForeignKeyField(User, on_delete="CASCADE")
        name = CharField()
        shared = BooleanField(default=False)
        position = IntegerField(default=0)
        created_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            indexes = ((("owner", "position"), False),)

    class Tile(Base):
        dashboard = ForeignKeyField(Dashboard, on_delete="CASCADE")
        kind = CharField()
        params = TextField(default="{}")
        position = IntegerField(default=0)

        class Meta:
            indexes = ((("dashboard", "position"), False),)

    db.create_tables([Dashboard, Tile])
    migrator.migrate(*[migrator.add_index(table, columns) for table, columns in INDEXES])


def down(migrator, db):
    for table, columns in INDEXES:
        migrator.migrate(migrator.drop_index(table, "_".join((table,) + columns)))
    for table in ("tile", "dashboard"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
