"""Saved selections (dynamic criteria or a static member list) and the
indexes the Search screen needs at 100,000 contacts.

Measured with a search benchmark (now part of bench/run.py): without an index a search on a UTM campaign
or medium reads every contact; with (campaign, lead status, company) the
count of "campaign is X, status is one of ..., group is ..." comes from the
index alone (15 ms down to 2-5 ms on 100,000 contacts). The source has an
index since 0002; the owner / lead status / company ones come with the
board (0008).
"""
import datetime

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(unique=True)

    class Company(Base):
        name = CharField()

    class Contact(Base):
        first_name = CharField()

    class Selection(Base):
        name = CharField()
        owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        shared = BooleanField(default=False)
        kind = CharField(default="dynamic")
        entity = CharField(default="contacts")
        criteria = TextField(default="")
        created_at = DateTimeField(default=datetime.datetime.now)
        updated_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            indexes = ((("owner", "name"), False), (("shared", "name"), False))

    class SelectionMember(Base):
        selection = ForeignKeyField(Selection, backref="+", on_delete="CASCADE")
        contact = ForeignKeyField(Contact, null=True, backref="+", on_delete="CASCADE")
        company = ForeignKeyField(Company, null=True, backref="+", on_delete="CASCADE")
        added_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            indexes = ((("selection", "contact"), True), (("selection", "company"), True))

    db.create_tables([Selection, SelectionMember])
    migrator.migrate(
        migrator.add_index("contact", ("utm_campaign", "lead_status_id", "company_id")),
        migrator.add_index("contact", ("utm_medium", "lead_status_id", "company_id")),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("contact", "contact_utm_medium_lead_status_id_company_id"),
        migrator.drop_index("contact", "contact_utm_campaign_lead_status_id_company_id"),
    )
    for table in ("selection_member", "selection"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
