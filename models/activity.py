"""The timelines of the contact and company cards: the history of R20 with the
sale events (R14) and the messages visitors wrote in web forms (R21), newest
first. Each source is read with one query, however long the timeline."""
import datetime
from dataclasses import dataclass

from .rules import timeline
from .sales import sale_events
from .schema import Contact
from .webforms import WebForm, WebFormSubmission

MESSAGES_READ = 60  # submissions read to find the latest messages among them


@dataclass
class SaleEntry:
    """A sale registered or marked Sold, Lost or Open, as a timeline entry."""
    created_at: datetime.datetime
    action: str
    sale: object
    actor: object
    kind: str = "sale"
    source: str = "user"
    source_label: str = ""
    contact: object = None


@dataclass
class MessageEntry:
    """What a visitor wrote in a web form, as a timeline entry."""
    created_at: datetime.datetime
    message: str
    contact: object
    form_name: str
    kind: str = "message"
    source: str = "form"
    actor: object = None

    @property
    def source_label(self):
        return f"Web form: {self.form_name}"  # as WebForm.label names the form


def web_form_messages(contact=None, company=None, limit=10):
    """The latest messages visitors wrote in web forms, of one contact or company."""
    query = (WebFormSubmission
             .select(WebFormSubmission, WebForm.name, Contact.id, Contact.first_name,
                     Contact.last_name)
             .join_from(WebFormSubmission, WebForm)
             .join_from(WebFormSubmission, Contact, attr="contact")
             .where(Contact.deleted_at.is_null())  # R27: not a deleted contact's words
             .order_by(WebFormSubmission.created_at.desc(), WebFormSubmission.id.desc())
             .limit(MESSAGES_READ))
    query = query.where(WebFormSubmission.contact == contact) if contact is not None \
        else query.where(WebFormSubmission.company == company)
    messages = []
    for row in query:
        text = (row.values.get("message") or "").strip()
        if text:
            messages.append(MessageEntry(row.created_at, text, row.contact, row.form.name))
    return messages[:limit]


def card_timeline(company=None, contact=None, limit=30, messages=None):
    """R20's timeline of a company (with its contacts) or one contact, with the sale
    events and web-form messages that belong to it, newest first.

    `messages` are the web-form messages when the caller has read them already.
    """
    entries = list(timeline(company=company, contact=contact, limit=limit))
    sales = [SaleEntry(e.created_at, e.kind, e.sale, e.actor)
             for e in sale_events(company=company, contact=contact, limit=limit)]
    if messages is None:
        messages = web_form_messages(contact=contact, company=company, limit=limit)
    merged = sorted(entries + sales + messages, key=lambda e: e.created_at, reverse=True)
    return merged[:limit]
