"""Sales under companies, the lead categorization rules (R14-R19) and the
category suggestions waiting for someone to accept or decline them."""
import datetime

from peewee import (BooleanField, CharField, DateField, DateTimeField, DecimalField,
                    ForeignKeyField, Model)

FIXED_TRIGGERS = ("sale_sold", "sale_lost", "sale_registered")


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(unique=True)

    class Category(Base):
        name = CharField()

    class LeadStatus(Base):
        name = CharField()

    class Company(Base):
        name = CharField()

    class Contact(Base):
        first_name = CharField()

    class Sale(Base):
        company = ForeignKeyField(Company, on_delete="CASCADE")
        contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
        title = CharField()
        amount = DecimalField(max_digits=14, decimal_places=2)
        currency = CharField(default="SEK")
        sale_date = DateField(index=True)
        owner = ForeignKeyField(User, null=True, backref="+")
        status = CharField(default="open", index=True)
        created_at = DateTimeField(default=datetime.datetime.now)
        updated_at = DateTimeField(default=datetime.datetime.now)

    class CategorizationRule(Base):
        trigger = CharField()
        lead_status = ForeignKeyField(LeadStatus, null=True, backref="+")
        enabled = BooleanField(default=False)
        target_category = ForeignKeyField(Category, null=True, backref="+")
        ask_confirm = BooleanField(default=False)

        class Meta:
            indexes = ((("trigger", "lead_status"), True),)

    class CategorySuggestion(Base):
        company = ForeignKeyField(Company, on_delete="CASCADE")
        rule = ForeignKeyField(CategorizationRule, null=True, on_delete="SET NULL")
        from_category = ForeignKeyField(Category, backref="+")
        proposed_category = ForeignKeyField(Category, backref="+")
        state = CharField(default="pending", index=True)
        source = CharField(default="user")
        source_label = CharField(default="")
        caused_by = ForeignKeyField(User, null=True, backref="+")
        created_at = DateTimeField(default=datetime.datetime.now)
        resolved_by = ForeignKeyField(User, null=True, backref="+")
        resolved_at = DateTimeField(null=True)
        chosen_category = ForeignKeyField(Category, null=True, backref="+")

    db.create_tables([Sale, CategorizationRule, CategorySuggestion])
    CategorizationRule.insert_many([{"trigger": t} for t in FIXED_TRIGGERS]).execute()


def down(migrator, db):
    for table in ("category_suggestion", "categorization_rule", "sale"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
