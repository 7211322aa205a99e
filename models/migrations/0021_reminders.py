"""Reminders (R26): in-app notices, the mail outbox and the daily digest.

- `notice`: what a user is told in the app (a lead assigned to them, the
  day's follow-ups), read or not; indexed for the header's unread count.
- `mail`: every reminder mail, kept as a row: the outbox admins read in
  Settings, and the queue of mails the job worker sends (state `pending`
  until sent, or kept in the outbox when no SMTP server is configured).
- `digest_day`: one row per user and day whose digest was made, unique, so
  a digest is never made twice for the same day, whichever worker runs it.
- `user.digest_time`: the time of day ("08:00", "" for none) the user wants
  the daily digest.
"""
from peewee import (CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, Model,
                    TextField)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(unique=True)

    class Notice(Base):
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        kind = CharField()
        payload = TextField(default="{}")
        created_at = DateTimeField()
        read_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("user", "read_at", "id"), False), (("user", "id"), False))

    class Mail(Base):
        user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
        notice = ForeignKeyField(Notice, null=True, backref="+", on_delete="SET NULL")
        to_address = CharField()
        language = CharField(default="en")
        subject = CharField(max_length=500)
        body = TextField()
        state = CharField(default="pending")
        attempts = IntegerField(default=0)
        error = CharField(max_length=500, default="")
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("state", "id"), False),)

    class DigestDay(Base):
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        day = DateField()
        created_at = DateTimeField()

        class Meta:
            indexes = ((("user", "day"), True),)

    db.create_tables([Notice, Mail, DigestDay])
    # Plain ADD COLUMN (as 0018): the migrator would rebuild SQLite's table.
    db.execute_sql("ALTER TABLE \"user\" ADD COLUMN digest_time VARCHAR(5) NOT NULL DEFAULT '08:00'")


def down(migrator, db):
    db.execute_sql('ALTER TABLE "user" DROP COLUMN digest_time')
    for table in ("digest_day", "mail", "notice"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
