"""The rules of SPEC.md (R1-R13, R20) as functions a view, a CLI command,
a web form or a test can call alike. Each write runs in one transaction."""
from dataclasses import dataclass

from peewee import JOIN

from .db import database
from .errors import InvalidFields, RuleViolation
from .schema import N_, Category, Company, Contact, History, LeadStatus, User, now
from .values import clean_email, clean_name, clean_phone, clean_text, clean_url


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user, or a rule / form / import with a label (R20)."""
    user: User | None = None
    source: str = "user"
    label: str = ""

    @classmethod
    def system(cls, label=""):
        return cls(source="system", label=label)


def lead_status_is_active(contact):
    """R8: true only while the company's category is an enabled Potential customer one."""
    return contact.company.category.lead_status_active


def _history(kind, company, actor, **changes):
    return History.create(kind=kind, company=company, actor=actor.user,
                          source=actor.source, source_label=actor.label, **changes)


# --- Companies and contacts (R7-R12, R20) ------------------------------------

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
    with database.atomic():
        company = Company.create(**fields)
        _history(History.CATEGORY, company, actor, to_category=company.category)
    return company


def update_company(company, actor, **fields):
    """Change a company's own fields (not its category: see move_company)."""
    fields = company_fields(fields)
    with database.atomic():
        for name, value in fields.items():
            setattr(company, name, value)
        company.updated_at = now()
        company.save()
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
    with database.atomic():
        contact = Contact(company=company, **fields)
        if company.category.lead_status_active:
            contact.lead_status = LeadStatus.initial()
            contact.status_changed_at = now()
        contact.save()
        if contact.lead_status_id:
            _history(History.LEAD_STATUS, company, actor, contact=contact,
                     to_status=contact.lead_status)
    return contact


def set_lead_status(contact, status, actor):
    """R8, R6, R20: set a contact's lead status; returns False when nothing changed."""
    if not lead_status_is_active(contact):
        raise RuleViolation(
            N_("Lead status is not active for the category of %(company)s."),
            company=contact.company.name)
    if status.retired:
        raise RuleViolation(N_("The lead status %(status)s is retired."), status=status.name)
    if contact.lead_status_id == status.id:
        return False
    with database.atomic():
        previous = contact.lead_status_id
        contact.lead_status = status
        contact.status_changed_at = now()
        contact.updated_at = now()
        contact.version = (contact.version or 0) + 1
        contact.save()
        _history(History.LEAD_STATUS, contact.company, actor, contact=contact,
                 from_status=previous, to_status=status)
    return True


def assign_owner(contact, owner, actor):
    """Give `contact` to `owner` (None: nobody), recorded in its history.

    A deactivated user takes no new leads; returns False when nothing changed.
    """
    owner_id = owner.id if owner else None
    if contact.owner_id == owner_id:
        return False
    if owner is not None and not owner.active:
        raise RuleViolation(N_("%(name)s no longer works here."), name=owner.name,
                            field="owner")
    with database.atomic():
        previous = contact.owner_id
        contact.owner = owner_id
        contact.updated_at = now()
        contact.version = (contact.version or 0) + 1
        contact.save(only=[Contact.owner, Contact.updated_at, Contact.version])
        _history(History.OWNER, contact.company_id, actor, contact=contact.id,
                 from_owner=previous, to_owner=owner_id)
    return True


def record_owner_changes(contact_ids, owner_id, actor):
    """Owner history rows for many contacts about to get `owner_id`, in one INSERT ... SELECT.

    Call it in the transaction of the UPDATE, before it, so `from_owner` is still the old one.
    """
    (History.insert_from(
        Contact.select(Contact.company, Contact.id, Contact.owner, owner_id, History.OWNER,
                       now(), actor.user.id if actor.user else None, actor.source, actor.label)
        .where(Contact.id.in_(contact_ids)),
        [History.company, History.contact, History.from_owner, History.to_owner,
         History.kind, History.created_at, History.actor, History.source,
         History.source_label])
     .execute())


def move_company(company, category, actor, reset_statuses=True):
    """R10, R11, R20: change a company's category and apply it to its contacts.

    Moving into a category with lead status active from one where it was not
    gives every contact the initial status; moving between two active
    categories keeps the statuses; moving out keeps the values (R11).
    `reset_statuses=False` is for undoing a move: the statuses R11 kept are
    the ones to come back to. Returns False when the company already had
    the category.
    """
    if category.id == company.category_id:
        return False
    if category.retired:
        raise RuleViolation(N_("The category %(category)s is retired."), category=category.name)
    previous = Category.get_by_id(company.category_id)
    with database.atomic():
        company.category = category
        company.updated_at = now()
        company.save()
        _history(History.CATEGORY, company, actor,
                 from_category=previous, to_category=category)
        if (reset_statuses and category.lead_status_active
                and not previous.lead_status_active):
            reset_contacts_to_initial_status(Contact.company == company, actor)
    return True


def reset_contacts_to_initial_status(which_contacts, actor):
    """R10: the contacts matching `which_contacts` get the initial status, each change recorded."""
    initial = LeadStatus.initial()
    changed_at = now()
    # One INSERT ... SELECT records every contact's change, then one UPDATE
    # makes it, so a company (or a whole category) costs two statements.
    (History.insert_from(
        Contact.select(Contact.company, Contact.id, Contact.lead_status,
                       initial.id, History.LEAD_STATUS, changed_at,
                       actor.user.id if actor.user else None, actor.source, actor.label)
        .where(which_contacts
               & ((Contact.lead_status.is_null()) | (Contact.lead_status != initial))),
        [History.company, History.contact, History.from_status, History.to_status,
         History.kind, History.created_at, History.actor, History.source,
         History.source_label])
     .execute())
    (Contact.update(lead_status=initial, status_changed_at=changed_at,
                    version=Contact.version + 1)
     .where(which_contacts)
     .execute())


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

