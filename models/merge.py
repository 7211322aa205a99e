"""R28: duplicates, and merging two contacts (or two companies) into one.

Suggestions: contacts with the same e-mail address (any letter case), and
contacts with the same name at the same company; companies with the same
name (any letter case).

A merge keeps the survivor, takes the values the user chose field by field,
and re-points EVERY row that referenced the duplicate to the survivor: the
foreign keys are read from peewee's metadata (`Model._meta.backrefs`), so a
table added later (activities, ...) follows without a change here. Rows a
unique index would then hold twice (a static selection holding both) are
kept once. The duplicate is removed, its id redirects to the survivor
(`merge_redirect`), the survivor's timeline says so, and the counter rows
follow by their triggers. One transaction; refused when either record
changed since the merge page was opened (their versions).
"""
from peewee import SQL, CharField, CompositeKey, DateTimeField, IntegerField, chunked, fn

from . import selections, webforms  # noqa: F401 - their tables reference contacts and companies
from .activities import refresh_next_steps
from .audit import record_audit
from .db import BaseModel, database
from .engine import BATCH, NOT_ACTIVE, reset_to_initial_status, set_lead_status, set_owner
from .errors import RuleViolation
from .schema import N_, Category, Company, Contact, History, LeadStatus, User, name_key, now

MERGERS = ("admin", "manager")  # anyone's records; reps their own leads
MOST_SUGGESTIONS = 10

CONTACT_FIELDS = {
    "first_name": N_("First name"), "last_name": N_("Last name"), "title": N_("Title"),
    "email": N_("E-mail"), "phone": N_("Phone"), "owner": N_("Owner"),
    "lead_status": N_("Lead status"), "utm_source": N_("UTM source"), "utm_medium": N_("UTM medium"),
    "utm_campaign": N_("UTM campaign"), "utm_term": N_("UTM term"),
    "utm_content": N_("UTM content"),
}
COMPANY_FIELDS = {
    "name": N_("Name"), "phone": N_("Phone"), "email": N_("E-mail"),
    "website": N_("Website"), "city": N_("City"), "country": N_("Country"),
    "owner": N_("Owner"),
}
ENTITIES = {"contacts": (Contact, CONTACT_FIELDS), "companies": (Company, COMPANY_FIELDS)}


class MergeRedirect(BaseModel):
    """Where a merged-away contact or company went."""
    entity = CharField(max_length=16)
    old_id = IntegerField()
    new_id = IntegerField()
    created_at = DateTimeField(default=now)

    class Meta:
        table_name = "merge_redirect"
        primary_key = CompositeKey("entity", "old_id")


def merged_into(entity, record_id):
    """The survivor's id when `record_id` was merged away, else None."""
    row = (MergeRedirect.select(MergeRedirect.new_id)
           .where(MergeRedirect.entity == entity, MergeRedirect.old_id == record_id).first())
    return row.new_id if row else None


def version_of(record):
    """What the merge page remembers of a record, to refuse a merge of changed ones."""
    stamp = record.updated_at.isoformat() if record.updated_at else ""
    return f"{getattr(record, 'version', 0)}-{stamp}"


def lead_status_choosable(survivor):
    """R8: the survivor may take the other's lead status only while lead status is active
    for its company's category."""
    return (Category.select().join(Company, on=(Company.category == Category.id))
            .where(Company.id == survivor.company_id).get().lead_status_active)


def may_merge(user, records):
    """R28: managers and admins merge anything; a rep only leads that are all theirs."""
    if user is None:
        return False
    return user.role in MERGERS or all(r.owner_id == user.id for r in records)


def duplicate_contacts(contact):
    """Live contacts that look like `contact`: the same e-mail, or the same name at
    the same company."""
    same_name = ((Contact.company == contact.company_id)
                 & (fn.LOWER(Contact.first_name) == contact.first_name.lower())
                 & (fn.LOWER(Contact.last_name) == contact.last_name.lower()))
    condition = same_name
    if contact.email:
        condition |= fn.LOWER(Contact.email) == contact.email.lower()
    return (Contact.select(Contact, Company).join(Company)
            .where(condition, Contact.id != contact.id)
            .order_by(Contact.id).limit(MOST_SUGGESTIONS))


def duplicate_companies(company):
    """Live companies with the same name, any letter case (Å and å too)."""
    return (Company.select()
            .where(Company.name_key == name_key(company.name), Company.id != company.id)
            .order_by(Company.id).limit(MOST_SUGGESTIONS))


def possible_duplicates():
    """Pairs of live contacts that look alike (same e-mail, or same name at the same
    company), the older one first: (first id, second id) rows, newest pair first."""
    other = Contact.alias()
    email_pairs = (Contact.select(Contact.id.alias("first"), other.id.alias("second"))
                   .join(other, on=((fn.LOWER(other.email) == fn.LOWER(Contact.email))
                                    & (other.id > Contact.id)))
                   .where(Contact.email != "", other.deleted_at.is_null()))
    name_pairs = (Contact.select(Contact.id.alias("first"), other.id.alias("second"))
                  .join(other, on=((other.company == Contact.company)
                                   & (fn.LOWER(other.last_name) == fn.LOWER(Contact.last_name))
                                   & (fn.LOWER(other.first_name) == fn.LOWER(Contact.first_name))
                                   & (other.id > Contact.id)))
                  .where(other.deleted_at.is_null()))
    return (email_pairs | name_pairs).order_by(SQL('"second"').desc()).tuples()


def _references(model):
    return list(model._meta.backrefs)


def _repoint(model, loser_id, survivor_id):
    """Every row referencing the loser now references the survivor; where a unique
    index would hold a row twice, the loser's copy goes."""
    for field in _references(model):
        table = field.model
        for columns, unique in table._meta.indexes:
            if not unique or field.name not in columns:
                continue
            twin = table.alias()
            same = [getattr(twin, name) == getattr(table, name)
                    for name in columns if name != field.name]
            taken = (twin.select(twin.id)
                     .where(getattr(twin, field.name) == survivor_id, *same))
            (table.delete()
             .where(field == loser_id, fn.EXISTS(taken)).execute())
        table.update({field: survivor_id}).where(field == loser_id).execute()


def merge(entity, survivor_id, loser_id, choices, versions, actor):
    """R28: merge the loser into the survivor. `choices` maps a field to "survivor" or
    "loser" (whose value wins; missing: the survivor's, or the loser's where the
    survivor has none); `versions` are (survivor, loser) as the page showed them.
    Returns the survivor."""
    model, fields = ENTITIES[entity]
    if survivor_id == loser_id:
        raise RuleViolation(N_("A record cannot be merged with itself."))
    with database.atomic():
        records = {r.id: r for r in model.select().where(model.id.in_([survivor_id, loser_id]))}
        if len(records) < 2:
            raise RuleViolation(N_("One of the two records was deleted or merged already: "
                                   "nothing was merged."))
        survivor, loser = records[survivor_id], records[loser_id]
        if actor.user is not None and not may_merge(actor.user, [survivor, loser]):
            raise RuleViolation(N_("Sales reps can merge only their own leads."))
        if (version_of(survivor), version_of(loser)) != tuple(versions):
            raise RuleViolation(N_("One of the two records was changed since this page was "
                                   "opened: look at them again, then merge."))
        values = {}
        for name in fields:
            mine, theirs = getattr(survivor, _column(model, name)), \
                getattr(loser, _column(model, name))
            pick = choices.get(name)
            if pick == "loser" or (pick is None and not mine and theirs):
                values[name] = theirs
        owner = values.pop("owner", survivor.owner_id)
        if owner != survivor.owner_id:
            new_owner = User.get_or_none(User.id == owner) if owner else None
            set_owner([survivor.id], new_owner, actor, model=model)
        if "lead_status" in values:
            _take_lead_status(survivor, values.pop("lead_status"),
                              choices.get("lead_status") == "loser", actor)
        moving_in = _contacts_moving_in(survivor, loser) if entity == "companies" else []
        _repoint(model, loser.id, survivor.id)
        model.delete().where(model.id == loser.id).execute()
        (MergeRedirect.update(new_id=survivor.id)
         .where(MergeRedirect.entity == entity, MergeRedirect.new_id == loser.id).execute())
        MergeRedirect.insert(entity=entity, old_id=loser.id, new_id=survivor.id).execute()
        if moving_in:
            # R10, as for a category change: the duplicate's contacts come from a
            # category where lead status was not active into one where it is.
            for batch in chunked(moving_in, BATCH):
                reset_to_initial_status(Contact.id.in_(batch), actor)
        values["updated_at"] = now()
        if "name" in values:
            values["name_key"] = name_key(values["name"])
        values["version"] = model.version + 1
        model.update(**values).where(model.id == survivor.id).execute()
        company_id = survivor.company_id if entity == "contacts" else survivor.id
        # R25: the survivor's follow-ups now include the duplicate's.
        refresh_next_steps([survivor.id] if entity == "contacts" else
                           [i for (i,) in Contact.select(Contact.id)
                            .where(Contact.company == survivor.id).tuples()])
        # from_owner: whose lead the duplicate was, so their open boards hear that
        # its card is gone (models/feed.py reads the old id from source_label).
        History.insert(kind=History.MERGED, created_at=now(), company=company_id,
                       contact=survivor.id if entity == "contacts" else None,
                       from_owner=loser.owner_id if entity == "contacts" else None,
                       actor=actor.user_id, source=actor.source,
                       source_label=str(loser.id)).execute()
        record_audit(actor, "records", "merged",
                     f"{'Contact' if entity == 'contacts' else 'Company'} {loser.id} → "
                     f"{survivor.id}")
    return model.get_by_id(survivor.id)


def _take_lead_status(survivor, status_id, chosen, actor):
    """The survivor takes the duplicate's lead status through the one status function
    (R6, R8, R15-R20 apply, the history is written). Where lead status is not active
    for the survivor (R8), a status the user chose is refused; one only filled in
    because the survivor had none is left alone."""
    if status_id is None:
        return
    status = LeadStatus.get_by_id(status_id)
    report = set_lead_status([survivor.id], status, actor)
    if chosen and any(reason == NOT_ACTIVE for _, reason in report.skipped):
        raise RuleViolation(N_("The lead status cannot be set here: lead status is not "
                               "active for this company's category. Nothing was merged."))


def _contacts_moving_in(survivor, loser):
    """R10: the duplicate company's contacts, when they move from a category where lead
    status was not active into the survivor's, where it is; else none."""
    categories = {c.id: c for c in Category.select().where(
        Category.id.in_([survivor.category_id, loser.category_id]))}
    if not categories[survivor.category_id].lead_status_active or \
            categories[loser.category_id].lead_status_active:
        return []
    return [i for (i,) in Contact.select(Contact.id).where(Contact.company == loser.id).tuples()]


def _column(model, name):
    field = model._meta.fields[name]
    return field.column_name if hasattr(field, "rel_model") else name
