"""R27: delete a contact or a company (with its contacts), restore it with everything
it had, and purge what has been deleted for 30 days.

A delete only marks the rows (`deleted_at`): `Contact.select()` and
`Company.select()` leave marked rows out (models/schema.py, SoftDeleted), so
every list, board, search, selection, export, picker and duplicate check of
the app forgets them at once, and the counter-row triggers (migration 0019)
count them out in the same statement. Nothing else of the record changes: a
restore clears the mark and the record is back with its history, sales,
selection memberships and web-form messages. Each delete and restore writes
History rows (the change feed tells open boards and dashboards) and an audit
entry, all in one transaction.
"""
import datetime

from peewee import JOIN, chunked, fn

from .audit import describe_changes, record_audit
from .db import database
from .engine import StaleRecord
from .errors import RuleViolation
from .schema import N_, Company, Contact, History, User, now

KEEP_DELETED = datetime.timedelta(days=30)
BATCH = 500
AREA = "records"
DELETERS = ("admin", "manager")


def may_delete(user):
    """R27: managers and admins delete and restore."""
    return user is not None and user.role in DELETERS


def _check_right(actor):
    if actor.user is not None and not may_delete(actor.user):
        raise RuleViolation(N_("Only managers and admins can delete and restore records."))


def _history(kind, at, actor, company_id, contact_ids=(None,)):
    rows = [{"kind": kind, "created_at": at, "company": company_id, "contact": contact_id,
             "actor": actor.user_id, "source": actor.source, "source_label": actor.label}
            for contact_id in contact_ids]
    for batch in chunked(rows, BATCH):
        History.insert_many(batch).execute()


def purge_date(deleted_at):
    """The day a record deleted at `deleted_at` is purged for good."""
    return (deleted_at + KEEP_DELETED).date()


def delete_contact(contact_id, actor, version=None):
    """R27: delete one contact: it leaves every list and count now, restorable for 30 days.

    `version`, when given, is the contact's version its writer last saw:
    StaleRecord when it has changed since.
    """
    _check_right(actor)
    with database.atomic():
        contact = Contact.get_or_none(Contact.id == contact_id)
        if contact is None:
            raise RuleViolation(N_("This contact does not exist or is deleted already."))
        if version is not None and contact.version != version:
            raise StaleRecord(contact.id)
        at = now()
        marked = (Contact.update(deleted_at=at, deleted_by=actor.user_id,
                                 deleted_with_company=None)
                  .where(Contact.id == contact.id, Contact.deleted_at.is_null()).execute())
        if not marked:  # deleted by someone else since it was read
            raise RuleViolation(N_("This contact does not exist or is deleted already."))
        _history(History.DELETED, at, actor, contact.company_id, [contact.id])
        record_audit(actor, AREA, "deleted", f"Contact {contact.id}")
    return contact


def delete_company(company_id, actor, version=None):
    """R27: delete a company with its contacts, in one transaction; returns how many
    contacts went with it. `version`: as for delete_contact."""
    _check_right(actor)
    with database.atomic():
        company = Company.get_or_none(Company.id == company_id)
        if company is None:
            raise RuleViolation(N_("This company does not exist or is deleted already."))
        if version is not None and company.version != version:
            raise StaleRecord(company.id)
        at = now()
        marked = (Company.update(deleted_at=at, deleted_by=actor.user_id)
                  .where(Company.id == company.id, Company.deleted_at.is_null()).execute())
        if not marked:
            raise RuleViolation(N_("This company does not exist or is deleted already."))
        contact_ids = [i for (i,) in Contact.select(Contact.id)
                       .where(Contact.company == company.id).order_by(Contact.id).tuples()]
        (Contact.update(deleted_at=at, deleted_by=actor.user_id, deleted_with_company=True)
         .where(Contact.company == company.id, Contact.deleted_at.is_null()).execute())
        # One row for the company (the company board) and one per contact (the lead
        # boards drop each card); more than the feed names at once is a refresh.
        _history(History.DELETED, at, actor, company.id, [None, *contact_ids])
        record_audit(actor, AREA, "deleted", f"Company {company.id}",
                     describe_changes({"contacts": None}, {"contacts": len(contact_ids)}))
    return len(contact_ids)


def restore_contact(contact_id, actor):
    """R27: bring a deleted contact back as it was."""
    _check_right(actor)
    with database.atomic():
        contact = Contact.deleted().where(Contact.id == contact_id).first()
        if contact is None:
            raise RuleViolation(N_("This contact is not among the deleted records: it was "
                                   "restored or purged."))
        if not Company.select().where(Company.id == contact.company_id).exists():
            raise RuleViolation(N_("Its company is deleted: restore the company first."))
        (Contact.update(deleted_at=None, deleted_by=None, deleted_with_company=None)
         .where(Contact.id == contact.id).execute())
        _history(History.RESTORED, now(), actor, contact.company_id, [contact.id])
        record_audit(actor, AREA, "restored", f"Contact {contact.id}")
    return contact


def restore_company(company_id, actor):
    """R27: bring a deleted company back with the contacts deleted with it (contacts
    deleted on their own before stay deleted); returns how many came back."""
    _check_right(actor)
    with database.atomic():
        company = Company.deleted().where(Company.id == company_id).first()
        if company is None:
            raise RuleViolation(N_("This company is not among the deleted records: it was "
                                   "restored or purged."))
        with_it = (Contact.company == company.id) & (Contact.deleted_with_company == True)  # noqa: E712,E501
        contact_ids = [i for (i,) in Contact.deleted(Contact.id).where(with_it)
                       .order_by(Contact.id).tuples()]
        Company.update(deleted_at=None, deleted_by=None).where(Company.id == company.id).execute()
        (Contact.update(deleted_at=None, deleted_by=None, deleted_with_company=None)
         .where(with_it).execute())
        _history(History.RESTORED, now(), actor, company.id, [None, *contact_ids])
        record_audit(actor, AREA, "restored", f"Company {company.id}",
                     describe_changes({"contacts": None}, {"contacts": len(contact_ids)}))
    return len(contact_ids)


def deleted_companies():
    """Deleted companies, newest deletion first, each with the number of contacts
    deleted with it (`contact_count`) and who deleted it (`deleted_by`)."""
    went_with = (Contact.deleted(fn.COUNT(Contact.id))
                 .where(Contact.company == Company.id,
                        Contact.deleted_with_company == True))  # noqa: E712
    return (Company.deleted(Company, User.name.alias("deleted_by_name"),
                            went_with.alias("contact_count"))
            .join(User, JOIN.LEFT_OUTER, on=(Company.deleted_by == User.id))
            .order_by(Company.deleted_at.desc(), Company.id.desc())
            .objects())  # every column on the company row


def deleted_contacts():
    """Contacts deleted on their own (not with their company), newest first, with
    their company's name and who deleted them."""
    return (Contact.deleted(Contact, Company.name.alias("company_name"),
                            User.name.alias("deleted_by_name"))
            .join(Company, on=(Contact.company == Company.id))
            .join_from(Contact, User, JOIN.LEFT_OUTER, on=(Contact.deleted_by == User.id))
            .where(Contact.deleted_with_company.is_null())
            .order_by(Contact.deleted_at.desc(), Contact.id.desc())
            .objects())  # every column on the contact row


def _references(model):
    """Every foreign key of the app's tables that points at `model` (peewee knows
    them all, so tables added later are covered without a change here)."""
    return list(model._meta.backrefs)


def _remove(model, ids):
    """Delete rows of `model` and what references them: cascading foreign keys by
    deleting the rows, nullable ones by clearing them (the database would do the
    same; doing it here keeps SQLite and PostgreSQL alike whatever the constraint)."""
    for field in _references(model):
        referencing = field.model
        if referencing in (Contact, Company):
            continue  # their own purge handles them
        if field.null and field.on_delete != "CASCADE":
            referencing.update({field: None}).where(field.in_(ids)).execute()
        else:
            referencing.delete().where(field.in_(ids)).execute()
    model.delete().where(model.id.in_(ids)).execute()


def purge_deleted(today=None, actor=None):
    """R27: remove for good what was deleted more than 30 days ago (a company with all
    its contacts). Returns (contacts, companies) purged."""
    cutoff = (today or now()) - KEEP_DELETED
    contacts = companies = 0
    with database.atomic():
        company_ids = [i for (i,) in Company.deleted(Company.id)
                       .where(Company.deleted_at < cutoff).tuples()]
        contact_ids = [i for (i,) in Contact.deleted(Contact.id)
                       .where((Contact.deleted_at < cutoff)
                              | Contact.company.in_(company_ids)).tuples()]
        for batch in chunked(contact_ids, BATCH):
            _remove(Contact, batch)
            contacts += len(batch)
        for batch in chunked(company_ids, BATCH):
            _remove(Company, batch)
            companies += len(batch)
        if contacts or companies:
            record_audit(actor, AREA, "purged", "", describe_changes(
                {"contacts": None, "companies": None},
                {"contacts": contacts, "companies": companies}))
    return contacts, companies
