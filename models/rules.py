"""The rules of SPEC.md (R7-R13, R20) on one record, as a view, a CLI command, a
web form or a test calls them: each is the set rule of `engine.py` on a set of
one, and the timeline that reads the history back."""
from peewee import JOIN

from . import engine
from .db import database
from .engine import Actor  # noqa: F401 - the names every caller imports
from .errors import InvalidFields, RuleViolation
from .prepared import PreparedShapes, whose
from .schema import N_, Category, Company, Contact, History, LeadStatus, User, now
from .values import clean_email, clean_name, clean_phone, clean_text, clean_url


def lead_status_is_active(contact):
    """R8: true only while the company's category is an enabled Potential customer one."""
    return contact.company.category.lead_status_active


# --- Companies and contacts (R7-R12, R20): the set rules of engine.py on one record ----

CONTACT_TEXT = {"title": 100, "utm_source": 100, "utm_medium": 100, "utm_campaign": 100,
                "utm_term": 100, "utm_content": 100}
NAME_MAX = 200
PERSON_NAME_MAX = 100


def _checked(values, checks):
    """`values` with each (field, check, keyword arguments) of `checks` applied to the
    fields present; every refusal is collected, so a form can show them all at once."""
    refusals = []
    for name, check, arguments in checks:
        if name in values:
            try:
                values[name] = check(values[name], field=name, **arguments)
            except RuleViolation as refusal:
                refusals.append(refusal)
    if len(refusals) == 1:
        raise refusals[0]
    if refusals:
        raise InvalidFields(refusals)
    return values


def company_fields(fields):
    """A company's own fields as they are stored, whoever writes them (forms, web forms,
    import, API): a visible name, a well-formed e-mail, an http(s) website. A
    refusal names its field."""
    return _checked(dict(fields), [
        ("name", clean_name, {"limit": NAME_MAX, "missing": N_("A company needs a name.")}),
        ("city", clean_text, {"limit": 100}), ("country", clean_text, {"limit": 100}),
        ("website", clean_url, {}), ("email", clean_email, {}), ("phone", clean_phone, {})])


def contact_fields(fields, new=False):
    """A contact's own fields as they are stored: names that show, a well-formed e-mail.

    A contact needs a name or an e-mail address (a web form lead may have
    only an address).
    """
    values = dict(fields)
    if new:
        values = {"first_name": "", "last_name": "", **values}
    name_rule = {"limit": PERSON_NAME_MAX, "required": False}
    values = _checked(values, [
        ("first_name", clean_name, name_rule), ("last_name", clean_name, name_rule),
        *((name, clean_text, {"limit": limit}) for name, limit in CONTACT_TEXT.items()),
        ("email", clean_email, {}), ("phone", clean_phone, {})])
    named = [values.get(name) for name in ("first_name", "last_name", "email")
             if new or name in values]
    if not any(named):
        raise RuleViolation(N_("A contact needs a name or an e-mail address."),
                            field="first_name")
    return values


def create_company(actor, **fields):
    """Create a company; its first category is recorded in its history (R20)."""
    fields = company_fields(fields)
    fields["category"] = getattr(fields["category"], "id", fields["category"])
    fields["owner"] = getattr(fields.get("owner"), "id", fields.get("owner"))
    [company_id] = engine.create_companies([fields], actor)
    return Company.get_by_id(company_id)


def update_company(company, actor, **fields):
    """Change a company's own fields (not its category: see move_company)."""
    fields = company_fields(fields)
    with database.atomic():
        for name, value in fields.items():
            setattr(company, name, value)
        company.updated_at = now()
        # Only what changes: a version read earlier must not be written back.
        company.save(only=[*fields, "updated_at", "name_key"])  # save() keeps name_key
        (Company.update(version=Company.version + 1)
         .where(Company.id == company.id).execute())
        company.version = Company.get_by_id(company.id).version
    return company


def change_company(company, actor, fields=None, category=None, version=None):
    """A company's own fields and, as a move (R10, R11, R20), its category: all or nothing.

    `version` is the company's version its writer last saw: StaleRecord when it
    has changed since.
    """
    with database.atomic():
        if version is not None and Company.get_by_id(company.id).version != version:
            raise engine.StaleRecord(company.id)
        if fields:
            update_company(company, actor, **fields)
        if category is not None:
            move_company(company, category, actor)
    return company


def update_contact(contact, actor, owner, **fields):
    """Change a contact's own fields and, recorded in its history, its owner: all or nothing."""
    fields = contact_fields(fields)
    with database.atomic():
        for name, value in fields.items():
            setattr(contact, name, value)
        contact.updated_at = now()
        contact.save()
        assign_owner(contact, owner, actor)
    return contact


def create_contact(company, actor, **fields):
    """R9: under a company whose category has lead status active, start at the initial status."""
    fields = contact_fields(fields, new=True)
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


def _history_query(by_contact, key_id, limit, before):
    # R27: a deleted contact's changes leave its company's timeline with it.
    query = (History.select(History, Contact.id, Contact.first_name, Contact.last_name)
             .join_from(History, Contact, JOIN.LEFT_OUTER)
             .where(History.contact.is_null() | Contact.deleted_at.is_null(),
                    History.kind != History.ACTIVITY,
                    (History.contact if by_contact else History.company) == key_id)
             .order_by(History.created_at.desc(), History.id.desc())
             .limit(limit))
    return query.where(History.created_at < before) if before is not None else query


_HISTORY = PreparedShapes(_history_query)


def timeline(company=None, contact=None, limit=30, before=None):
    """R20: the newest changes of a company (with its contacts) or of one contact (older
    than `before` when given). Activities (R24) are read from their own table.

    The statuses, categories and people the entries name are read by id in
    three small queries: one nine-way join cost PostgreSQL more to plan
    (8-50 ms) than to run.
    """
    entries = _HISTORY(*whose(contact, company), limit, before)
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

