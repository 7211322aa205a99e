"""Marketing entry points (R21, R22): web forms and their submissions,
distribution flows with their reps and round-robin turn, and CSV imports
with their remembered column mappings.

Only new tables; existing rows are not touched.
"""
import datetime

from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField,
                    Model, TextField)

TABLES = ("import_job", "import_mapping", "web_form_submission", "web_form",
          "distribution_flow_member", "distribution_flow")


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

    class DistributionFlow(Base):
        name = CharField()
        strategy = CharField(default="round_robin")
        active = BooleanField(default=True)
        last_position = IntegerField(default=-1)
        created_at = DateTimeField(default=datetime.datetime.now)

    class DistributionFlowMember(Base):
        flow = ForeignKeyField(DistributionFlow, on_delete="CASCADE")
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        position = IntegerField(default=0)

        class Meta:
            indexes = ((("flow", "user"), True),)

    class WebForm(Base):
        name = CharField()
        token = CharField(unique=True)
        field_config = TextField(default="{}")
        category = ForeignKeyField(Category, null=True, backref="+", on_delete="SET NULL")
        flow = ForeignKeyField(DistributionFlow, null=True, on_delete="SET NULL")
        redirect_url = TextField(default="")
        thank_you = TextField(default="")
        allowed_origins = TextField(default="")
        rate_limit = IntegerField(default=5)
        enabled = BooleanField(default=True)
        created_at = DateTimeField(default=datetime.datetime.now)

    class WebFormSubmission(Base):
        form = ForeignKeyField(WebForm, on_delete="CASCADE")
        contact = ForeignKeyField(Contact, null=True, backref="+", on_delete="SET NULL")
        company = ForeignKeyField(Company, null=True, backref="+", on_delete="SET NULL")
        created_contact = BooleanField(default=False)
        payload = TextField(default="{}")
        utm_source = CharField(default="")
        utm_medium = CharField(default="")
        utm_campaign = CharField(default="")
        utm_term = CharField(default="")
        utm_content = CharField(default="")
        ip_hash = CharField(default="")
        created_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            indexes = ((("form", "ip_hash", "created_at"), False),
                       (("form", "created_at"), False))

    class ImportMapping(Base):
        name = CharField(unique=True)
        mapping = TextField(default="{}")
        created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
        created_at = DateTimeField(default=datetime.datetime.now)

    class ImportJob(Base):
        created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
        created_at = DateTimeField(default=datetime.datetime.now)
        filename = CharField(default="")
        encoding = CharField(default="")
        delimiter = CharField(default=",")
        content = TextField(default="")
        mapping = TextField(default="{}")
        category = ForeignKeyField(Category, null=True, backref="+", on_delete="SET NULL")
        flow = ForeignKeyField(DistributionFlow, null=True, backref="+", on_delete="SET NULL")
        state = CharField(default="uploaded")
        total_rows = IntegerField(default=0)
        processed_rows = IntegerField(default=0)
        created_count = IntegerField(default=0)
        updated_count = IntegerField(default=0)
        unchanged_count = IntegerField(default=0)
        refused_count = IntegerField(default=0)
        report = TextField(default="[]")
        error = TextField(default="")
        started_at = DateTimeField(null=True)
        heartbeat_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)

    db.create_tables([DistributionFlow, DistributionFlowMember, WebForm, WebFormSubmission,
                      ImportMapping, ImportJob])


def down(migrator, db):
    for table in TABLES:
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
