"""Bulk update: set the lead status or the owner of many contacts (or companies) at once.

The rows come from a search or a selection (`models.search.Matches`),
optionally only the ticked ones. They are walked a chunk at a time in id
order from a cursor (companies for a lead status, since a company is the
unit the rules answer for; rows for an owner), and each chunk is one call of
the set rules in `engine.py` in one transaction: R8 and R30 skip rows, the
categorization rules answer per company (R15-R19; R17: a bulk update has
nobody at hand for a dialog, so a proposal waits on the company's card).

`bulk_step` does one chunk and returns the cursor to go on from, so a long
update can run as a job that commits its cursor with each chunk and goes on
after a restart (models/jobs.py); a short one runs every step at once. A
job sizes its chunks so each holds SQLite's write lock for about
CHUNK_SECONDS (ChunkPace), so colleagues keep working while it runs.
"""
import time
from dataclasses import asdict, dataclass, field

from . import engine
from .db import database, is_sqlite
from .engine import NOT_ACTIVE, NOT_YOURS, REASONS, Actor, RuleViolation  # noqa: F401
from .reminders import count_assignments
from .schema import N_, Category, Company, Contact, LeadStatus, User

COMPANIES_PER_CHUNK = 200
ROWS_PER_CHUNK = 1000
CHUNK_SECONDS = 0.2  # what a job's chunk aims to take (SQLite's write lock is held as long)
# On PostgreSQL a chunk locks only its own rows (and, from its UPDATE to its
# commit, the counter rows it changes), so it may take longer and cost less.
CHUNK_SECONDS_POSTGRESQL = 0.8
LISTED = 50  # rows a report names; its counts cover every row
MAX_TICKED = 1000
ACTIONS = ("status", "owner")


@dataclass
class Skipped:
    """A row left alone, named for the report."""
    contact_id: int | None
    name: str
    company_id: int
    company_name: str
    category_name: str
    reason: str
    category_id: int | None = None  # to name the category in the reader's language (R23)


@dataclass
class Suggested:
    """A pending suggestion a confirm rule left on a company (R17)."""
    id: int
    company_id: int
    company_name: str


@dataclass
class BulkReport:
    """What a bulk update did: counts, the first skipped rows, the rules' answers."""
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    missing: int = 0
    skipped_by_reason: dict = field(default_factory=dict)
    skipped_rows: list = field(default_factory=list)
    category_changes: int = 0
    suggestion_count: int = 0
    suggestions: list = field(default_factory=list)
    # The leads given to a new owner, told once at the end (reminders.count_assignments).
    assigned: dict = field(default_factory=dict)

    @property
    def skipped_not_listed(self):
        return self.skipped - len(self.skipped_rows)

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        data = dict(data or {})
        data["skipped_rows"] = [Skipped(**row) for row in data.get("skipped_rows", [])]
        data["suggestions"] = [Suggested(**row) for row in data.get("suggestions", [])]
        data["assigned"] = {int(owner): count
                            for owner, count in data.get("assigned", {}).items()}
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def take(self, part, entity, owner_id=None):
        """Count one chunk's engine report in, naming the first skipped rows; contacts
        given to `owner_id` are counted for telling them (R26)."""
        if owner_id is not None and entity == "contacts":
            count_assignments(((contact_id, owner_id) for contact_id in part.changed),
                              self.assigned)
        self.updated += len(part.changed)
        self.unchanged += part.unchanged
        self.skipped += len(part.skipped)
        for _, reason in part.skipped:
            self.skipped_by_reason[reason] = self.skipped_by_reason.get(reason, 0) + 1
        self.category_changes += len(part.moved)
        self.suggestion_count += len(part.suggestions)
        room = LISTED - len(self.skipped_rows)
        if room > 0 and part.skipped:
            self.skipped_rows += _named_skips(part.skipped[:room], entity)
        room = LISTED - len(self.suggestions)
        if room > 0 and part.suggestions:
            self.suggestions += _named_suggestions(part.suggestions[:room])


def _named_skips(skipped, entity):
    reasons = dict(skipped)
    if entity == "contacts":
        rows = (Contact.select(Contact.id, Contact.first_name, Contact.last_name, Company.id,
                               Company.name, Category.id, Category.name)
                .join(Company).join(Category)
                .where(Contact.id.in_(list(reasons))).order_by(Contact.id))
        return [Skipped(c.id, c.full_name, c.company.id, c.company.name,
                        c.company.category.name, reasons[c.id], c.company.category.id)
                for c in rows]
    rows = (Company.select(Company.id, Company.name, Category.id, Category.name).join(Category)
            .where(Company.id.in_(list(reasons))).order_by(Company.id))
    return [Skipped(None, c.name, c.id, c.name, c.category.name, reasons[c.id], c.category.id)
            for c in rows]


def _named_suggestions(ids):
    from .schema import CategorySuggestion
    rows = (CategorySuggestion.select(CategorySuggestion.id, Company.id, Company.name)
            .join(Company).where(CategorySuggestion.id.in_(list(ids)))
            .order_by(CategorySuggestion.id))
    return [Suggested(s.id, s.company.id, s.company.name) for s in rows]


def check_bulk(matches, action, target, ids=None):
    """Refuse what cannot run at all (before any row is touched, and again before each
    chunk of a job: a status retired or an owner deactivated meanwhile stops it)."""
    if action == "status":
        if matches.entity != "contacts":
            raise RuleViolation(N_("Lead status is set on contacts only."))
        if target.retired:
            raise RuleViolation(N_("The lead status %(status)s is retired."),
                                status=target.name)
    elif target is not None and not target.active:
        raise RuleViolation(N_("%(name)s no longer works here."), name=target.name)
    return _checked_ids(ids)


def bulk_target(action, target_id):
    """The status or owner a bulk update sets (None: no owner), read afresh."""
    if action == "status":
        return LeadStatus.get_or_none(LeadStatus.id == target_id)
    return User.get_or_none(User.id == target_id) if target_id else None


def bulk_step(matches, action, target, actor, cursor=0, ids=None, chunk=None, notify=True):
    """One chunk of a bulk update after `cursor`, in one transaction.

    Returns (the engine's report of the chunk, the cursor to go on from), the
    cursor None when every row is done. Rows are walked in id order (of the
    company for a lead status), so rows that stop matching once updated are
    never skipped or met twice. `chunk` overrides the chunk's size; `notify`
    False leaves telling a new owner to the caller (a job, once at its end).
    """
    matches = matches if ids is None else matches.restricted_to(ids)
    actor = Actor(actor.user, source="bulk", label=actor.label or "Bulk update")
    with database.atomic():
        if action == "status":
            # The company's id is bounded on both sides of the join, so the
            # database walks only this chunk's companies (PostgreSQL otherwise
            # read every company for each chunk: a third of a chunk's time).
            company_ids = [row[0] for row in (
                matches.ids().select(Contact.company)
                .where(Contact.company > cursor, Company.id > cursor)
                .group_by(Contact.company).order_by(Contact.company)
                .limit(chunk or COMPANIES_PER_CHUNK).tuples())]
            if not company_ids:
                return engine.Report(), None
            contacts = matches.ids().where(Contact.company.in_(company_ids),
                                           Company.id.in_(company_ids))
            report = engine.set_lead_status(contacts, target, actor, bulk=True)
            return report, company_ids[-1]
        model = matches.model
        row_ids = [row[0] for row in (matches.ids().where(model.id > cursor)
                                      .order_by(model.id).limit(chunk or ROWS_PER_CHUNK)
                                      .tuples())]
        if not row_ids:
            return engine.Report(), None
        report = engine.set_owner(row_ids, target, actor, model=model, bulk=True,
                                  notify=notify)
        return report, row_ids[-1]


class ChunkPace:
    """The size of a job's next chunk, so each takes about CHUNK_SECONDS
    (CHUNK_SECONDS_POSTGRESQL on PostgreSQL).

    A chunk costs less per row the larger it is (its rows share index pages,
    and every chunk has its fixed reads and a commit), so a job takes the
    largest chunks that keep the locks short for the others: each chunk's
    size follows the time the last one took, within a quarter and four times
    the default size.
    """

    def __init__(self, action):
        self.default = COMPANIES_PER_CHUNK if action == "status" else ROWS_PER_CHUNK
        self.size = self.default
        self.seconds = CHUNK_SECONDS if is_sqlite() else CHUNK_SECONDS_POSTGRESQL
        self.started = None

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        seconds = max(time.perf_counter() - self.started, 0.001)
        # Half the step (a square root): one slow chunk (a checkpoint running
        # beside it) does not halve the next one.
        wanted = self.size * min(max(self.seconds / seconds, 0.25), 4.0) ** 0.5
        self.size = int(min(max(wanted, self.default / 4), self.default * 4))
        return False


def missing_ticked(matches, ids):
    """How many ticked ids are not (or no longer) in the list."""
    if ids is None:
        return 0
    return len(set(ids)) - matches.restricted_to(ids).count()


def run_bulk_now(matches, action, target, actor, ids=None):
    """A whole bulk update at once (a small one; a large one runs as a job)."""
    ids = check_bulk(matches, action, target, ids)
    report = BulkReport(missing=missing_ticked(matches, ids))
    cursor = 0
    while cursor is not None:
        part, cursor = bulk_step(matches, action, target, actor, cursor, ids)
        report.take(part, "contacts" if action == "status" else matches.entity)
    return report


def bulk_set_lead_status(matches, status, actor, ids=None):
    """R8, R15-R17, R30: set `status` on the matching contacts (or the ticked `ids`)."""
    return run_bulk_now(matches, "status", status, actor, ids)


def bulk_set_owner(matches, owner, actor, ids=None):
    """R30: give the matching contacts or companies (or the ticked `ids`) to `owner`."""
    return run_bulk_now(matches, "owner", owner, actor, ids)


def _checked_ids(ids):
    if ids is None:
        return None
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise RuleViolation(N_("Tick at least one row, or choose all matching rows."))
    if len(ids) > MAX_TICKED:
        raise RuleViolation(N_("Tick at most %(max)s rows, or choose all matching rows."),
                            max=MAX_TICKED)
    return ids
