"""Lead management: category groups, *enable lead status*, lead statuses
per contact, UTM lead source and the history of status and category changes.

Existing categories land in the group Other with lead status off; their
admins regroup them. The R3 default categories are not added here (only a
new database gets them), but the R5 default statuses are, because every
contact needs an initial status to start from (R6, R9).
"""
import datetime

from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField,
                    IntegerField, Model, TextField)

DEFAULT_STATUSES = [
    ("Open", "No sales contact made yet."),
    ("Contacting", "Sales is actively trying to reach the lead."),
    ("Qualified", "Meets the requirements to move on in the sales process."),
    ("Disqualified", "Does not meet the criteria."),
    ("Nurture", "Not ready now, may become relevant later."),
]


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(unique=True)

    class Category(Base):
        name = CharField()

    class Company(Base):
        name = CharField()

    class Contact(Base):
        first_name = CharField()

    class LeadStatus(Base):
        name = CharField()
        description = TextField(default="")
        sort_order = IntegerField(default=0)
        is_initial = BooleanField(default=False)
        retired = BooleanField(default=False)

    class History(Base):
        kind = CharField()
        created_at = DateTimeField(default=datetime.datetime.now)
        company = ForeignKeyField(Company, on_delete="CASCADE")
        contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE")
        from_status = ForeignKeyField(LeadStatus, null=True, backref="+")
        to_status = ForeignKeyField(LeadStatus, null=True, backref="+")
        from_category = ForeignKeyField(Category, null=True, backref="+")
        to_category = ForeignKeyField(Category, null=True, backref="+")
        actor = ForeignKeyField(User, null=True, backref="+")
        source = CharField(default="user")
        source_label = CharField(default="")

        class Meta:
            indexes = (
                (("contact", "created_at"), False),
                (("company", "created_at"), False),
                (("kind", "created_at"), False),
            )

    db.create_tables([LeadStatus, History])
    migrator.migrate(
        migrator.add_column("category", "group", CharField(default="other")),
        migrator.add_column("category", "lead_status_enabled", BooleanField(default=False)),
        migrator.add_column("contact", "lead_status_id",
                            ForeignKeyField(LeadStatus, null=True, field=LeadStatus.id)),
        migrator.add_column("contact", "status_changed_at", DateTimeField(null=True)),
        migrator.add_column("contact", "utm_source", CharField(default="")),
        migrator.add_column("contact", "utm_medium", CharField(default="")),
        migrator.add_column("contact", "utm_campaign", CharField(default="")),
        migrator.add_column("contact", "utm_term", CharField(default="")),
        migrator.add_column("contact", "utm_content", CharField(default="")),
        migrator.add_index("contact", ("utm_source",)),
    )
    LeadStatus.insert_many(
        [{"name": name, "description": description, "sort_order": order,
          "is_initial": order == 0}
         for order, (name, description) in enumerate(DEFAULT_STATUSES)]
    ).execute()


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("contact", "contact_utm_source"),
        *[migrator.drop_column("contact", column) for column in (
            "utm_content", "utm_term", "utm_campaign", "utm_medium", "utm_source",
            "status_changed_at", "lead_status_id")],
        migrator.drop_column("category", "lead_status_enabled"),
        migrator.drop_column("category", "group"),
    )
    db.execute_sql('DROP TABLE IF EXISTS "history"')
    db.execute_sql('DROP TABLE IF EXISTS "lead_status"')
