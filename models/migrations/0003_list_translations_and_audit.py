"""Lead status names and descriptions per interface language, and the audit
log of changes admins make to lists and users."""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, Model, TextField

LANGUAGES = ("en", "sv", "nb")


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(unique=True)

    class AuditLog(Base):
        created_at = DateTimeField(default=datetime.datetime.now, index=True)
        actor = ForeignKeyField(User, null=True, backref="+")
        area = CharField()
        action = CharField()
        subject = CharField(default="")
        details = TextField(default="")

    db.create_tables([AuditLog])
    operations = []
    for language in LANGUAGES:
        operations.append(migrator.add_column("lead_status", f"name_{language}",
                                              CharField(default="")))
        operations.append(migrator.add_column("lead_status", f"description_{language}",
                                              TextField(default="")))
    migrator.migrate(*operations)


def down(migrator, db):
    migrator.migrate(*[migrator.drop_column("lead_status", f"{kind}_{language}")
                       for language in LANGUAGES for kind in ("name", "description")])
    db.execute_sql('DROP TABLE IF EXISTS "audit_log"')
