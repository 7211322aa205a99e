"""R29: everything held about a person, exported (JSON) or erased; admins only,
both audited without the personal data itself.

The export reads the contact and every row of every table that references it,
found through peewee's metadata (`Contact._meta.backrefs`), so a table added
later is exported without a change here. What counts as personal text in
those tables is a small registry, `PERSONAL_FIELDS`: a module that adds a
table with free text about a person registers its fields
(`register_personal_fields(Activity, "note")`) and the erase blanks them too.

Erasing keeps the contact row (its company, owner, lead status, dates and
history stay, so counts, boards and dashboards stay right) and blanks its
name, e-mail, phone, title and UTM values and the registered text of the rows
that reference it; its name becomes "#<id>".
"""
import datetime
import decimal
import json

from playhouse.shortcuts import model_to_dict

from .audit import record_audit
from .db import database
from .errors import RuleViolation
from .schema import N_, Activity, Contact, now
from .webforms import WebFormSubmission

SCHEMA = "tavla.person/1"
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Per model: its fields that hold what a person wrote or is (blanked by erase).
PERSONAL_FIELDS = {
    # next_step_text repeats the text of the contact's next follow-up (R25).
    Contact: ("first_name", "last_name", "title", "email", "phone", "next_step_text", *UTM),
    WebFormSubmission: ("payload", "ip_hash", *UTM),
    Activity: ("text",),  # notes, calls, meetings and follow-ups (R24)
}


# The readable page names each table and field of the export in the reader's
# language (the JSON keeps the keys). A key shared by several tables means the
# same in each; a table added later adds its own with register_labels.
TABLE_LABELS = {
    "activity": N_("Activities"), "history": N_("History"), "sale": N_("Sales"),
    "selection_member": N_("Selection memberships"),
    "web_form_submission": N_("Web-form messages"),
}
FIELD_LABELS = {
    "id": N_("Number"), "company": N_("Company"), "contact": N_("Contact"),
    "first_name": N_("First name"), "last_name": N_("Last name"), "title": N_("Title"),
    "email": N_("E-mail"), "phone": N_("Phone"), "owner": N_("Owner"),
    "lead_status": N_("Lead status"), "status_changed_at": N_("Lead status since"),
    "utm_source": N_("UTM source"), "utm_medium": N_("UTM medium"),
    "utm_campaign": N_("UTM campaign"), "utm_term": N_("UTM term"),
    "utm_content": N_("UTM content"), "created_at": N_("Created"),
    "updated_at": N_("Last changed"), "version": N_("Version"),
    "deleted_at": N_("Deleted"), "deleted_by": N_("Deleted by"),
    "deleted_with_company": N_("Deleted with its company"), "erased_at": N_("Erased"),
    "next_step_at": N_("Next step due"), "next_step_text": N_("Next step"),
    "last_activity_at": N_("Last activity"),
    # activities
    "kind": N_("Kind"), "author": N_("Written by"), "text": N_("Text"), "due_at": N_("Due"),
    "done_at": N_("Done at"), "done_by": N_("Done by"), "source": N_("Made by"),
    "source_label": N_("Made by (name)"),
    # history
    "actor": N_("Changed by"), "from_status": N_("From lead status"),
    "from_status_since": N_("In that status since"), "to_status": N_("To lead status"),
    "from_category": N_("From category"), "to_category": N_("To category"),
    "from_owner": N_("From owner"), "to_owner": N_("To owner"),
    "activity_id": N_("Activity"), "activity_action": N_("What happened to the activity"),
    # sales
    "amount": N_("Amount"), "currency": N_("Currency"), "sale_date": N_("Date"),
    "status": N_("Status"),
    # selection memberships
    "selection": N_("Selection"), "added_at": N_("Added"),
    # web-form messages
    "form": N_("Web form"), "created_contact": N_("Created the contact"),
    "ip_hash": N_("Sender's address (hashed)"), "payload": N_("What was sent"),
}


def register_labels(table_name, table_label, **field_labels):
    """Name a table added later (and its fields) on the readable page."""
    TABLE_LABELS[table_name] = table_label
    FIELD_LABELS.update(field_labels)


def field_label(key):
    """The untranslated readable name of an exported field (its key when it has none)."""
    return FIELD_LABELS.get(key, key)


def table_label(name):
    """The untranslated readable name of an exported table."""
    return TABLE_LABELS.get(name, name)


def register_personal_fields(model, *fields):
    """Mark more fields of `model` (a table referencing contacts) as personal text."""
    PERSONAL_FIELDS[model] = tuple(dict.fromkeys((*PERSONAL_FIELDS.get(model, ()), *fields)))


def _check_admin(actor):
    if actor.user is not None and not actor.user.is_admin:
        raise RuleViolation(N_("Only admins can export or erase a person's data."))


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _row(model, row):
    data = {k: _plain(v) for k, v in model_to_dict(row, recurse=False).items()}
    if model is WebFormSubmission and isinstance(data.get("payload"), str):
        try:  # what the visitor typed, as an object rather than a string of JSON
            data["payload"] = json.loads(data["payload"])
        except ValueError:
            pass
    return data


def find_person(contact_id):
    """The contact, deleted or not (a person may ask after a delete), or None."""
    return Contact.everything().where(Contact.id == contact_id).first()


def person_data(contact):
    """Everything held about one contact as plain data (the export's schema)."""
    related = {}
    for field in sorted(Contact._meta.backrefs, key=lambda f: f.model._meta.table_name):
        model = field.model
        rows = model.select().where(field == contact.id).order_by(model._meta.primary_key)
        related.setdefault(model._meta.table_name, []).extend(_row(model, r) for r in rows)
    company = contact.company
    return {"schema": SCHEMA, "exported_at": now().isoformat(),
            "contact": _row(Contact, contact),
            "company": {"id": company.id, "name": company.name},
            "related": related}


def export_person(contact_id, actor):
    """R29: the export of one person, audited (the entry names the id only)."""
    _check_admin(actor)
    contact = find_person(contact_id)
    if contact is None:
        raise RuleViolation(N_("This person is not in the database."))
    with database.atomic():
        record_audit(actor, "records", "exported", f"Contact {contact.id}")
    return person_data(contact)


def erase_person(contact_id, actor):
    """R29: remove a person's name, e-mail, phone, UTM values and the personal text of
    every registered table; counts and history stay. Refused the second time."""
    _check_admin(actor)
    with database.atomic():
        contact = find_person(contact_id)
        if contact is None:
            raise RuleViolation(N_("This person is not in the database."))
        if contact.erased_at is not None:
            raise RuleViolation(N_("This person's data was erased already."))
        blank = {name: _blank(Contact, name) for name in PERSONAL_FIELDS[Contact]}
        blank.update(last_name=f"#{contact.id}", erased_at=now(), updated_at=now())
        Contact.update(blank).where(Contact.id == contact.id).execute()
        for field in Contact._meta.backrefs:
            names = PERSONAL_FIELDS.get(field.model)
            if names:
                (field.model.update({n: _blank(field.model, n) for n in names})
                 .where(field == contact.id).execute())
        record_audit(actor, "records", "erased", f"Contact {contact.id}")
    return find_person(contact_id)


def _blank(model, name):
    field = model._meta.fields[name]
    default = field.default() if callable(field.default) else field.default
    return "{}" if name == "payload" else (default if default is not None else "")
