"""The schema before lead management: users, categories, companies, contacts.

A database created by this step alone is what an upgraded customer has:
categories without groups, contacts without a lead status.
"""
import datetime

from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField,
                    IntegerField, Model, TextField)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(unique=True)
        name = CharField()
        password_hash = CharField()
        role = CharField(default="rep")
        language = CharField(default="en")
        active = BooleanField(default=True)

    class Category(Base):
        name = CharField()
        description = TextField(default="")
        sort_order = IntegerField(default=0)
        retired = BooleanField(default=False)

    class Company(Base):
        name = CharField(index=True)
        category = ForeignKeyField(Category, index=True)
        owner = ForeignKeyField(User, null=True, index=True)
        phone = CharField(default="")
        email = CharField(default="")
        website = CharField(default="")
        city = CharField(default="")
        country = CharField(default="")
        created_at = DateTimeField(default=datetime.datetime.now, index=True)
        updated_at = DateTimeField(default=datetime.datetime.now)

    class Contact(Base):
        company = ForeignKeyField(Company, index=True)
        first_name = CharField()
        last_name = CharField(index=True)
        title = CharField(default="")
        email = CharField(default="", index=True)
        phone = CharField(default="")
        owner = ForeignKeyField(User, null=True, index=True)
        created_at = DateTimeField(default=datetime.datetime.now, index=True)
        updated_at = DateTimeField(default=datetime.datetime.now)

    db.create_tables([User, Category, Company, Contact])


def down(migrator, db):
    for table in ("contact", "company", "category", "user"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
