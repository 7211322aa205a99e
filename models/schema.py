"""The tables of Tavla. Rules that change them live in models/rules.py."""
import datetime
import unicodedata

from peewee import (BooleanField, CharField, DateField, DateTimeField, DecimalField,
                    ForeignKeyAccessor, ForeignKeyField, IntegerField, TextField)
from werkzeug.security import check_password_hash, generate_password_hash

from .db import BaseModel, after_this_commit, database


def N_(text):
    """Mark a string for translation; the views translate it when shown."""
    return text


def now():
    return datetime.datetime.now().replace(microsecond=0)


def name_key(text):
    """A name as duplicate matching compares it: Unicode case folded ("Åkesson AB" and
    "åkesson ab" alike, which SQLite's LOWER() is not), one form of each letter
    (NFKC) and single spaces. The one function that fills `Company.name_key`."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


# R1: the fixed category groups, in display order. The code is stored on the
# category; the label is translated where it is shown.
CATEGORY_GROUPS = {
    "potential": N_("Potential customer"),
    "customer": N_("Customer"),
    "partner": N_("Partner"),
    "lost": N_("Lost"),
    "other": N_("Other"),
}
POTENTIAL = "potential"

ROLES = {"admin": N_("Admin"), "manager": N_("Manager"), "rep": N_("Sales rep")}
LANGUAGES = {"en": "English", "sv": "Svenska", "nb": "Norsk (bokmål)"}


class User(BaseModel):
    email = CharField(unique=True)
    name = CharField()
    password_hash = CharField()
    role = CharField(default="rep")
    language = CharField(default="en")
    active = BooleanField(default=True)
    # R26: when the daily digest of follow-ups is made ("HH:MM", "" for none).
    digest_time = CharField(default="08:00")
    # Part of every session of this user: raising it ends them all (models.users).
    session_version = IntegerField(default=0)

    # Flask-Login asks these; they are plain attributes, not Flask imports.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        """What the session cookie holds: the id and the session version
        ("12.3"), so a raised version makes every older cookie worthless."""
        return f"{self.id}.{self.session_version}"

    @property
    def is_admin(self):
        return self.role == "admin"

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    @classmethod
    def active_users(cls):
        return cls.select().where(cls.active == True).order_by(cls.name)  # noqa: E712


class LoginFailure(BaseModel):
    """A failed sign-in: keyed hashes of the e-mail address tried and of the
    client address, never the addresses themselves (models.users throttles)."""
    account = CharField()
    address = CharField()
    created_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("account", "created_at"), False),
                   (("address", "created_at"), False),
                   (("created_at",), False))


class NamedInLanguages:
    """R23: a list entry with a default name (and description) and one per interface
    language; an empty one means "use the default"."""

    def name_in(self, language):
        """The name in `language`, falling back to the default name."""
        return getattr(self, f"name_{language}", "") or self.name

    def description_in(self, language):
        """The description in `language`, or the default one."""
        return getattr(self, f"description_{language}", "") or self.description


class CategoryGroup(NamedInLanguages, BaseModel):
    """R1, R23: one of the fixed category groups, with its names per language.

    The groups themselves are fixed (CATEGORY_GROUPS); admins name them.
    """
    code = CharField(unique=True)
    name = CharField()
    name_en = CharField(default="")
    name_sv = CharField(default="")
    name_nb = CharField(default="")
    description = ""


class Category(NamedInLanguages, BaseModel):
    name = CharField()
    group = CharField(default="other")
    lead_status_enabled = BooleanField(default=False)
    description = TextField(default="")
    sort_order = IntegerField(default=0)
    retired = BooleanField(default=False)
    # R23: names and descriptions per interface language ("" = the default above).
    name_en = CharField(default="")
    name_sv = CharField(default="")
    name_nb = CharField(default="")
    description_en = TextField(default="")
    description_sv = TextField(default="")
    description_nb = TextField(default="")

    @property
    def lead_status_active(self):
        """R8: lead status is active only in an enabled Potential customer category."""
        return self.group == POTENTIAL and self.lead_status_enabled

    @classmethod
    def ordered(cls, include_retired=False):
        query = cls.select().order_by(cls.sort_order, cls.name)
        return query if include_retired else query.where(cls.retired == False)  # noqa: E712


class LeadStatus(NamedInLanguages, BaseModel):
    name = CharField()
    description = TextField(default="")
    sort_order = IntegerField(default=0)
    is_initial = BooleanField(default=False)
    retired = BooleanField(default=False)
    # Names and descriptions per interface language; empty means "use the
    # default name / description above".
    name_en = CharField(default="")
    name_sv = CharField(default="")
    name_nb = CharField(default="")
    description_en = TextField(default="")
    description_sv = TextField(default="")
    description_nb = TextField(default="")

    @classmethod
    def ordered(cls, include_retired=False):
        query = cls.select().order_by(cls.sort_order, cls.id)
        return query if include_retired else query.where(cls.retired == False)  # noqa: E712

    @classmethod
    def initial(cls):
        return cls.get(cls.is_initial == True)  # noqa: E712


class SoftDeleted:
    """R27: a deleted row stays (restorable) until it is purged, but the app sees it
    nowhere: `select()` (and with it get, get_by_id, backrefs and every query
    built on them) leaves deleted rows out. `everything()` is the one way to
    see them: the Deleted list, restore, purge, merge and personal data."""

    @classmethod
    def select(cls, *fields):
        return super().select(*fields).where(cls.deleted_at.is_null())

    @classmethod
    def everything(cls, *fields):
        """Every row, deleted ones too."""
        return super().select(*fields)

    @classmethod
    def deleted(cls, *fields):
        """Only the deleted rows."""
        return super().select(*fields).where(cls.deleted_at.is_null(False))


class _RecordKeyAccessor(ForeignKeyAccessor):
    """Follows a RecordKey through everything(): a deleted record is read, with its
    `deleted_at` set, instead of failing."""

    def get_rel_instance(self, instance):
        value = instance.__data__.get(self.name)
        if value is not None and self.name not in instance.__rel__ and self.field.lazy_load:
            instance.__rel__[self.name] = (self.rel_model.everything()
                                           .where(self.field.rel_field == value).get())
        return super().get_rel_instance(instance)


class RecordKey(ForeignKeyField):
    """A foreign key to a contact or a company (SoftDeleted). A row that points at a
    deleted one (a sale, a web-form message, a history row) still reads it when
    followed (`sale.contact`). Every key to Contact or Company is one
    (tests/models/test_database.py checks the app's tables)."""
    accessor_class = _RecordKeyAccessor


class Company(SoftDeleted, BaseModel):
    name = CharField(index=True)
    # name_key(name), kept by every writer (save, the engine's inserts and updates,
    # the demo, merge): duplicates are matched on it, by index, on both databases.
    name_key = CharField(default="", index=True)
    category = ForeignKeyField(Category, backref="companies", index=True)
    owner = ForeignKeyField(User, null=True, backref="companies", index=True)
    phone = CharField(default="")
    email = CharField(default="")
    website = CharField(default="")
    city = CharField(default="")
    country = CharField(default="")
    created_at = DateTimeField(default=now, index=True)
    updated_at = DateTimeField(default=now)
    # R27: when it was deleted (None: it is not), and by whom.
    deleted_at = DateTimeField(null=True)
    deleted_by = ForeignKeyField(User, null=True, backref="+")
    # Raised by every change through the rules, so a stale write is refused (R31).
    version = IntegerField(default=0)

    def save(self, *args, **kwargs):
        self.name_key = name_key(self.name)
        return super().save(*args, **kwargs)


class Contact(SoftDeleted, BaseModel):
    # Indexes: see migrations (0025 keeps only the longest of those sharing a prefix).
    company = RecordKey(Company, backref="contacts", index=False)
    first_name = CharField()
    last_name = CharField(index=True)
    title = CharField(default="")
    email = CharField(default="", index=True)
    phone = CharField(default="")
    owner = ForeignKeyField(User, null=True, backref="contacts", index=False)
    # R7: the status is per contact. It stays when lead status becomes
    # inactive for the company's category (R11).
    lead_status = ForeignKeyField(LeadStatus, null=True, backref="contacts", index=False)
    status_changed_at = DateTimeField(null=True)
    utm_source = CharField(default="")
    utm_medium = CharField(default="")
    utm_campaign = CharField(default="")
    utm_term = CharField(default="")
    utm_content = CharField(default="")
    created_at = DateTimeField(default=now, index=True)
    updated_at = DateTimeField(default=now)
    # Raised by every lead status change (see rules.set_lead_status).
    version = IntegerField(default=0)
    # R27: when it was deleted (None: it is not), by whom, and whether it went
    # with its company (restoring the company brings exactly those back).
    deleted_at = DateTimeField(null=True)
    deleted_by = ForeignKeyField(User, null=True, backref="+")
    deleted_with_company = BooleanField(null=True)
    # R29: when the person's data was erased (their name is then "#<id>").
    erased_at = DateTimeField(null=True)
    # R25: the earliest open follow-up and the latest activity, kept by
    # models.activities (the one place that changes activities), so a board
    # card, a filter or a sort reads them from the row, not per card.
    next_step_at = DateTimeField(null=True, index=True)
    next_step_text = CharField(default="")
    last_activity_at = DateTimeField(null=True, index=True)

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def lead_source(self):
        """The UTM source / medium / campaign as one readable line."""
        return " / ".join(p for p in (self.utm_source, self.utm_medium, self.utm_campaign) if p)


# Told once after each commit that wrote History rows (webhooks send the changes at
# once this way): see on_history_committed.
_history_listeners = []


def on_history_committed(listener):
    """Call `listener()` after every commit of a transaction that wrote History rows.

    Every writer writes its History rows inside a transaction; a listener must
    not raise (the change is committed by then).
    """
    if listener not in _history_listeners:
        _history_listeners.append(listener)


def _tell_history_listeners():
    for listener in _history_listeners:
        listener()


class History(BaseModel):
    """R20: one row per change of a contact's lead status or a company's category,
    and of a contact's owner."""
    LEAD_STATUS = "lead_status"
    CATEGORY = "category"
    OWNER = "owner"
    # R27: a contact or company deleted or restored (the feed tells open pages).
    DELETED = "deleted"
    RESTORED = "restored"
    # R28: a duplicate merged into this contact or company (source_label: its old id).
    MERGED = "merged"
    # R24: an activity was added, changed, completed or deleted. The row tells the
    # live feed (open boards redraw the card's next step); the timeline reads
    # the activity itself.
    ACTIVITY = "activity"

    kind = CharField()
    created_at = DateTimeField(default=now)
    company = RecordKey(Company, backref="history", on_delete="CASCADE", index=False)
    contact = RecordKey(Contact, null=True, backref="history", on_delete="CASCADE",
                        index=False)
    from_status = ForeignKeyField(LeadStatus, null=True, backref="+", index=False)
    # Since when the contact had `from_status` (its status date before this
    # change): undo puts it back, and it is the time spent in that status.
    from_status_since = DateTimeField(null=True)
    to_status = ForeignKeyField(LeadStatus, null=True, backref="+")
    from_category = ForeignKeyField(Category, null=True, backref="+")
    to_category = ForeignKeyField(Category, null=True, backref="+")
    from_owner = ForeignKeyField(User, null=True, backref="+")
    to_owner = ForeignKeyField(User, null=True, backref="+")
    actor = ForeignKeyField(User, null=True, backref="+")
    # Who made the change when it was not a person: "user", "system", "rule",
    # "form", "import" or "demo", with a readable label (the rule's name...).
    source = CharField(default="user")
    source_label = CharField(default="")
    # Kind "activity": which activity, and what happened to it (ACTIVITY_ACTIONS);
    # a plain id, as the activity may be deleted since (migration 0024).
    activity_id = IntegerField(null=True)
    activity_action = CharField(default="")

    class Meta:
        indexes = (
            (("contact", "created_at"), False),
            (("company", "created_at"), False),
            (("kind", "created_at"), False),
        )

    # Peewee's ways of writing History rows go through these three (create too), and
    # engine.insert_rows calls after_write itself, so the listeners hear of every
    # change without a call in each writer.
    @classmethod
    def insert(cls, *args, **kwargs):
        cls.after_write()
        return super().insert(*args, **kwargs)

    @classmethod
    def insert_many(cls, *args, **kwargs):
        cls.after_write()
        return super().insert_many(*args, **kwargs)

    @classmethod
    def insert_from(cls, *args, **kwargs):
        cls.after_write()
        return super().insert_from(*args, **kwargs)

    @classmethod
    def after_write(cls):
        """Tell the listeners once this transaction, which writes History rows, commits."""
        if _history_listeners and database.in_transaction():
            after_this_commit("history", _tell_history_listeners)


class AuditLog(BaseModel):
    """Who changed which list entry or user, when, and how."""
    created_at = DateTimeField(default=now, index=True)
    actor = ForeignKeyField(User, null=True, backref="+")
    area = CharField()
    action = CharField()
    subject = CharField(default="")
    details = TextField(default="")


SALE_STATUSES = {"open": N_("Open"), "sold": N_("Sold"), "lost": N_("Lost")}
CURRENCIES = ("SEK", "NOK", "DKK", "EUR", "USD")


class Sale(BaseModel):
    """R14: a deal under a company, optionally with one of its contacts."""
    company = RecordKey(Company, backref="sales", on_delete="CASCADE")
    contact = RecordKey(Contact, null=True, backref="sales", on_delete="SET NULL")
    title = CharField()
    amount = DecimalField(max_digits=14, decimal_places=2)
    currency = CharField(default="SEK")
    sale_date = DateField(index=True)
    owner = ForeignKeyField(User, null=True, backref="+")
    status = CharField(default="open", index=True)
    created_at = DateTimeField(default=now)
    updated_at = DateTimeField(default=now)


class SaleEvent(BaseModel):
    """R14: a sale registered, marked Sold, Lost or open again; shown in the timelines."""
    REGISTERED = "registered"
    kind = CharField()
    sale = ForeignKeyField(Sale, backref="events", on_delete="CASCADE")
    company = RecordKey(Company, backref="+", on_delete="CASCADE")
    actor = ForeignKeyField(User, null=True, backref="+")
    created_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("company", "created_at"), False),)


# R15: the events lead categorization listens to, in settings order.
TRIGGERS = {
    "sale_sold": N_("Sale marked Sold"),
    "sale_lost": N_("Sale marked Lost"),
    "sale_registered": N_("Sale registered"),
    "status_set": N_("Lead status set to %(status)s"),
}


class CategorizationRule(BaseModel):
    """R15: one rule; the three sale rules exist once, rule 4 once per lead status."""
    trigger = CharField()
    lead_status = ForeignKeyField(LeadStatus, null=True, backref="+")
    enabled = BooleanField(default=False)
    target_category = ForeignKeyField(Category, null=True, backref="+")
    ask_confirm = BooleanField(default=False)

    class Meta:
        indexes = ((("trigger", "lead_status"), True),)


class CategorySuggestion(BaseModel):
    """R17: a rule's proposal waiting for a user to accept, change or decline it."""
    PENDING, ACCEPTED, DECLINED = "pending", "accepted", "declined"

    company = RecordKey(Company, backref="suggestions", on_delete="CASCADE")
    rule = ForeignKeyField(CategorizationRule, null=True, backref="+", on_delete="SET NULL")
    from_category = ForeignKeyField(Category, backref="+")
    proposed_category = ForeignKeyField(Category, backref="+")
    state = CharField(default="pending", index=True)
    source = CharField(default="user")
    source_label = CharField(default="")
    caused_by = ForeignKeyField(User, null=True, backref="+")
    created_at = DateTimeField(default=now)
    resolved_by = ForeignKeyField(User, null=True, backref="+")
    resolved_at = DateTimeField(null=True)
    chosen_category = ForeignKeyField(Category, null=True, backref="+")


ACTIVITY_KINDS = {"note": N_("Note"), "call": N_("Call"), "meeting": N_("Meeting"),
                  "follow_up": N_("Follow-up")}
FOLLOW_UP = "follow_up"


class Activity(BaseModel):
    """R24: a note, call, meeting or follow-up on a contact (and its company) or on a
    company alone. A follow-up has a due time, an owner and is done or not."""
    kind = CharField()
    company = RecordKey(Company, backref="activities", on_delete="CASCADE")
    contact = RecordKey(Contact, null=True, backref="activities", on_delete="CASCADE")
    author = ForeignKeyField(User, null=True, backref="+")
    owner = ForeignKeyField(User, null=True, backref="+")
    text = TextField(default="")
    due_at = DateTimeField(null=True)
    done_at = DateTimeField(null=True)
    done_by = ForeignKeyField(User, null=True, backref="+")
    # "user", or "form" for a visitor's message (R24), with the form's label.
    source = CharField(default="user")
    source_label = CharField(default="")
    created_at = DateTimeField(default=now)
    updated_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("contact", "created_at"), False),
                   (("company", "created_at"), False),
                   # My day and reminders: a user's open follow-ups by due time.
                   (("owner", "done_at", "due_at"), False))

    is_activity = True  # how a timeline tells an activity from a history row

    @property
    def is_follow_up(self):
        return self.kind == FOLLOW_UP

    @property
    def is_done(self):
        return self.done_at is not None


TABLES = [User, LoginFailure, CategoryGroup, Category, LeadStatus, Company, Contact, History,
          AuditLog, Sale, SaleEvent, CategorizationRule, CategorySuggestion, Activity]
