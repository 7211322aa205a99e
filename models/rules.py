"""The rules of SPEC.md (R7-R13, R20) on one record, as a view, a CLI command, a
web form or a test calls them: each is the set rule of `engine.py` on a set of
one, and the timeline that reads the history back."""
from peewee import JOIN

from . import engine
from .engine import Actor, RuleViolation  # noqa: F401 - the names every caller imports
from .schema import N_, Category, Company, Contact, History, LeadStatus, User


def lead_status_is_active(contact):
    """R8: true only while the company's category is an enabled Potential customer one."""
    return contact.company.category.lead_status_active


# --- Companies and contacts (R7-R12, R20): the set rules of engine.py on one record ----

def create_company(actor, **fields):
    """Create a company; its first category is recorded in its history (R20)."""
    fields["category"] = getattr(fields["category"], "id", fields["category"])
    fields["owner"] = getattr(fields.get("owner"), "id", fields.get("owner"))
    [company_id] = engine.create_companies([fields], actor)
    return Company.get_by_id(company_id)


def create_contact(company, actor, **fields):
    """R9: under a company whose category has lead status active, start at the initial status."""
    fields["owner"] = getattr(fields.get("owner"), "id", fields.get("owner"))
    [contact_id], _ = engine.create_contacts([{**fields, "company": company.id}], actor)
    return Contact.get_by_id(contact_id)


def set_lead_status(contact, status, actor):
    """R8, R6, R20: set a contact's lead status without asking the categorization rules
    (categorization.set_lead_status_with_rules does); returns False when nothing changed."""
    return change_lead_status(contact, status, actor, run_rules=False) is not None


def change_lead_status(contact, status, actor, **options):
    """The set rule on one contact: RuleViolation when R8 refuses it, None when it already
    had the status, else the engine's report. The contact object follows the change."""
    report = engine.set_lead_status([contact.id], status, actor, **options)
    if report.skipped:
        raise RuleViolation(
            N_("Lead status is not active for the category of %(company)s."),
            company=contact.company.name)
    if not report.changed:
        return None
    contact.lead_status, contact.version = status, report.before[contact.id][2] + 1
    contact.status_changed_at = contact.updated_at = report.stamp
    return report


def assign_owner(contact, owner, actor):
    """Give `contact` to `owner` (None: nobody), recorded in its history.

    A deactivated user takes no new leads; returns False when nothing changed.
    """
    report = engine.set_owner([contact.id], owner, actor)
    if not report.changed:
        return False
    contact.owner = owner.id if owner else None
    contact.version = Contact.get_by_id(contact.id).version
    return True


def move_company(company, category, actor, reset_statuses=True):
    """R10, R11, R20: change a company's category and apply it to its contacts.

    Moving into a category with lead status active from one where it was not
    gives every contact the initial status; moving between two active
    categories keeps the statuses; moving out keeps the values (R11).
    `reset_statuses=False` is for undoing a move: the statuses R11 kept are
    the ones to come back to. Returns False when the company already had
    the category.
    """
    report = engine.move_companies([company.id], category, actor, reset_statuses)
    if not report.changed:
        return False
    company.category = category
    return True


def timeline(company=None, contact=None, limit=30):
    """R20: the newest changes of a company (with its contacts) or of one contact.

    The statuses, categories and people the entries name are read by id in
    three small queries: one nine-way join cost PostgreSQL more to plan
    (8-50 ms) than to run.
    """
    query = (History.select(History, Contact.id, Contact.first_name, Contact.last_name)
             .join_from(History, Contact, JOIN.LEFT_OUTER)
             .order_by(History.created_at.desc(), History.id.desc())
             .limit(limit))
    query = query.where(History.contact == contact) if contact is not None \
        else query.where(History.company == company)
    entries = list(query)
    lookups = ((LeadStatus, ("from_status", "to_status")),
               (Category, ("from_category", "to_category")),
               (User, ("actor", "from_owner", "to_owner")))
    for model, names in lookups:
        wanted = {getattr(e, f"{name}_id") for e in entries for name in names} - {None}
        rows = {row.id: row for row in model.select().where(model.id.in_(list(wanted)))}
        for entry in entries:
            for name in names:
                row = rows.get(getattr(entry, f"{name}_id"))
                if row is not None:
                    setattr(entry, name, row)
    return entries

