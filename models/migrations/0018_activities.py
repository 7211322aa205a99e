"""R24-R25: activities, and each contact's next step kept on its row.

- `activity`: notes, calls, meetings and follow-ups on a contact or a company,
  indexed for the card timelines (contact / company by time) and for a
  user's open follow-ups by due time.
- `contact.next_step_at`, `next_step_text`, `last_activity_at`: the earliest
  open follow-up and the latest activity, kept by models/activities.py, so
  boards, filters, sorts and exports read them from the contact's row;
  indexed for the board's "next step" sort and its filters.
- Every web-form message already received becomes a note on its lead, as
  new ones do (R24), so the timelines read messages from one place.
"""
import datetime
import json

from peewee import (CharField, DateTimeField, ForeignKeyField, Model, PostgresqlDatabase,
                    TextField)


BOARD_INDEXES = {"contact_owner_next_step": "owner_id, next_step_at",
                 "contact_status_next_step": "lead_status_id, next_step_at",
                 "contact_owner_status_next_step": "owner_id, lead_status_id, next_step_at"}


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
        company = ForeignKeyField(Company)
        last_activity_at = DateTimeField(null=True)

    class Activity(Base):
        kind = CharField()
        company = ForeignKeyField(Company, backref="+", on_delete="CASCADE")
        contact = ForeignKeyField(Contact, null=True, backref="+", on_delete="CASCADE")
        author = ForeignKeyField(User, null=True, backref="+")
        owner = ForeignKeyField(User, null=True, backref="+")
        text = TextField(default="")
        due_at = DateTimeField(null=True)
        done_at = DateTimeField(null=True)
        done_by = ForeignKeyField(User, null=True, backref="+")
        source = CharField(default="user")
        source_label = CharField(default="")
        created_at = DateTimeField(default=datetime.datetime.now)
        updated_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            indexes = ((("contact", "created_at"), False),
                       (("company", "created_at"), False),
                       (("owner", "done_at", "due_at"), False))

    db.create_tables([Activity])
    # Plain ALTER TABLE ... ADD COLUMN on both databases: the migrator would
    # rebuild SQLite's contact table for the NOT NULL column, which the
    # counter triggers on it (0012, 0013) do not survive.
    timestamp = "TIMESTAMP" if isinstance(db, PostgresqlDatabase) else "DATETIME"
    for sql in (f"ALTER TABLE contact ADD COLUMN next_step_at {timestamp}",
                "ALTER TABLE contact ADD COLUMN next_step_text VARCHAR(255) NOT NULL DEFAULT ''",
                f"ALTER TABLE contact ADD COLUMN last_activity_at {timestamp}",
                "CREATE INDEX contact_next_step_at ON contact (next_step_at)",
                "CREATE INDEX contact_last_activity_at ON contact (last_activity_at)"):
        db.execute_sql(sql)
    # A board column sorted by next step reads its first cards off an index (as
    # 0011 does for the other sorts), cards without a next step first.
    nulls_first = " NULLS FIRST" if isinstance(db, PostgresqlDatabase) else ""
    for name, columns in BOARD_INDEXES.items():
        db.execute_sql(f"CREATE INDEX {name} ON contact ({columns}{nulls_first})")
    _messages_as_notes(db, Activity, Contact)


def _messages_as_notes(db, Activity, Contact):
    """Each web-form message received so far as a note on its lead (R24)."""
    if not db.table_exists("web_form_submission"):
        return
    cursor = db.execute_sql(
        "SELECT s.contact_id, s.company_id, s.payload, s.created_at, f.name "
        "FROM web_form_submission s JOIN web_form f ON f.id = s.form_id "
        "WHERE s.contact_id IS NOT NULL AND s.company_id IS NOT NULL ORDER BY s.id")
    notes, latest = [], {}
    for contact_id, company_id, payload, created_at, form_name in cursor.fetchall():
        try:
            message = (json.loads(payload or "{}").get("message") or "").strip()
        except (ValueError, AttributeError):
            message = ""
        if not message:
            continue
        if isinstance(created_at, str):
            created_at = datetime.datetime.fromisoformat(created_at)
        notes.append(dict(kind="note", company=company_id, contact=contact_id, text=message,
                          source="form", source_label=f"Web form: {form_name}"[:255],
                          created_at=created_at, updated_at=created_at))
        latest[contact_id] = max(created_at, latest.get(contact_id, created_at))
    with db.atomic():
        for start in range(0, len(notes), 500):
            Activity.insert_many(notes[start:start + 500]).execute()
        for contact_id, at in latest.items():
            Contact.update(last_activity_at=at).where(Contact.id == contact_id).execute()


def down(migrator, db):
    for name in ("contact_next_step_at", "contact_last_activity_at", *BOARD_INDEXES):
        db.execute_sql(f"DROP INDEX {name}")
    for column in ("last_activity_at", "next_step_text", "next_step_at"):
        db.execute_sql(f"ALTER TABLE contact DROP COLUMN {column}")
    db.execute_sql('DROP TABLE IF EXISTS "activity"')
