"""Bulk update: set the lead status or the owner of many contacts at once.

The rows come from a search or a selection (`models.search.Matches`),
optionally only the ticked ones, and are read in chunks of companies, so
"all 100,000 matching rows" never sits in memory.

Each company is one transaction. A company is the unit the rules work on
(R15-R19: its category may move, or a suggestion be made), so its contacts,
the rule's answer and their history commit together; and committing per
company keeps SQLite's write lock short, so colleagues can keep working
while a long bulk update runs, and a failure part-way leaves every
finished company done and reported rather than undoing minutes of work.
"""
from dataclasses import dataclass, field
from itertools import groupby

from .categorization import set_lead_status_with_rules
from .db import database
from .rules import (Actor, RuleViolation, lead_status_is_active, record_owner_changes,
                    set_lead_status)
from .schema import N_, Category, Company, Contact, now

COMPANIES_PER_CHUNK = 200
ROWS_PER_CHUNK = 1000
LISTED_SKIPS = 50
MAX_TICKED = 1000

# Why a row was left alone.
NOT_ACTIVE = "not_active"
REASONS = {
    NOT_ACTIVE: N_("Lead status is not active for the company's category"),
}


@dataclass
class Skipped:
    contact_id: int
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
    skipped_rows: list = field(default_factory=list)
    category_changes: int = 0
    suggestions: list = field(default_factory=list)

    def skip(self, contact, reason):
        self.skipped += 1
        if len(self.skipped_rows) < LISTED_SKIPS:
            self.skipped_rows.append(Skipped(
                contact.id, contact.full_name, contact.company_id, contact.company.name,
                contact.company.category.name, reason, contact.company.category_id))

    @property
    def skipped_not_listed(self):
        return self.skipped - len(self.skipped_rows)


def _contacts_by_company(matches):
    """Yield (company, its matching contacts), a chunk of companies per query pair.

    Companies are walked in id order from the last one done (keyset), so
    contacts that stop matching once updated are never skipped or met twice.
    """
    last_company = 0
    while True:
        company_ids = [row[0] for row in (
            matches.ids().select(Contact.company)
            .where(Contact.company > last_company)
            .group_by(Contact.company)
            .order_by(Contact.company)
            .limit(COMPANIES_PER_CHUNK)
            .tuples())]
        if not company_ids:
            return
        contacts = matches.narrow(
            Contact.select(Contact, Company, Category).join(Company).join(Category)
            .where(Contact.company.in_(company_ids))
        ).order_by(Contact.company, Contact.id)
        for _, rows in groupby(contacts, key=lambda contact: contact.company_id):
            rows = list(rows)
            # One Company object for all its contacts, so a category moved by a
            # rule for the first contact is what the next ones see (R8).
            company = rows[0].company
            for contact in rows:
                contact.company = company
            yield company, rows
        last_company = company_ids[-1]


def _restricted(matches, ids):
    return matches if ids is None else matches.restricted_to(ids)


def _missing(matches, ids):
    """How many ticked ids are not (or no longer) in the list."""
    if ids is None:
        return 0
    found = matches.restricted_to(ids).count()
    return len(set(ids)) - found


def bulk_set_lead_status(matches, status, actor, ids=None):
    """R8, R15-R17: set `status` on the matching contacts (or the ticked `ids` among them).

    Contacts whose lead status is not active are skipped and reported (R8).
    The rules run per company: the first contact whose status changes goes
    through set_lead_status_with_rules, so a change rule moves the company
    once and a confirm rule leaves one pending suggestion on its card (R17:
    a bulk update has no user at hand for a dialog); the company's other
    contacts are then set without asking the rules again.
    """
    if matches.entity != "contacts":
        raise RuleViolation(N_("Lead status is set on contacts only."))
    if status.retired:
        raise RuleViolation(N_("The lead status %(status)s is retired."), status=status.name)
    ids = _checked_ids(ids)
    report = BulkReport(missing=_missing(matches, ids))
    actor = Actor(actor.user, source="bulk", label=actor.label or "Bulk update")
    for company, contacts in _contacts_by_company(_restricted(matches, ids)):
        with database.atomic():
            rules_asked = False
            for contact in contacts:
                if not lead_status_is_active(contact):
                    report.skip(contact, NOT_ACTIVE)
                elif contact.lead_status_id == status.id:
                    report.unchanged += 1
                elif rules_asked:
                    set_lead_status(contact, status, actor)
                    report.updated += 1
                else:
                    category_before = company.category_id
                    outcome = set_lead_status_with_rules(contact, status, actor)
                    rules_asked = True
                    report.updated += 1
                    if outcome.suggestion is not None:
                        report.suggestions.append(Suggested(
                            outcome.suggestion.id, company.id, company.name))
                    if company.category_id != category_before:
                        report.category_changes += 1
    return report


def bulk_set_owner(matches, owner, actor, ids=None):
    """Give the matching contacts or companies (or the ticked `ids`) the owner `owner`.

    Owners are no rule's business, so rows are updated a chunk at a time
    with one UPDATE each (contacts' changes recorded with one INSERT); rows
    that already have the owner are left alone.
    """
    if owner is not None and not owner.active:
        raise RuleViolation(N_("%(name)s no longer works here."), name=owner.name)
    ids = _checked_ids(ids)
    matches = _restricted(matches, ids)
    model = matches.model
    report = BulkReport(missing=_missing(matches, ids) if ids is not None else 0)
    owner_id = owner.id if owner else None
    last_id = 0
    while True:
        chunk = [(row_id, current) for row_id, current in (
            matches.ids().select(model.id, model.owner)
            .where(model.id > last_id).order_by(model.id).limit(ROWS_PER_CHUNK).tuples())]
        if not chunk:
            return report
        last_id = chunk[-1][0]
        changing = [row_id for row_id, current in chunk if current != owner_id]
        report.unchanged += len(chunk) - len(changing)
        if changing:
            with database.atomic():
                values = dict(owner=owner_id, updated_at=now())
                if model is Contact:
                    # Recorded like any owner change, so open boards hear of it.
                    record_owner_changes(changing, owner_id, actor)
                    values["version"] = Contact.version + 1
                report.updated += (model.update(**values)
                                   .where(model.id.in_(changing)).execute())


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

