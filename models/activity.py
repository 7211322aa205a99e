"""The timelines of the contact and company cards: the history of R20 with the
sale events (R14) and the activities (R24; the messages visitors wrote in web
forms are notes among them), newest first, a page at a time. Each source is
read with one query per page, however long the timeline."""
import datetime
from dataclasses import dataclass

from .activities import activities_of
from .prepared import PreparedShapes, whose
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
    messages = []
    for row in _MESSAGES(*whose(contact, company)):
        text = (row.values.get("message") or "").strip()
        if text:
            messages.append(MessageEntry(row.created_at, text, row.contact, row.form.name))
    return messages[:limit]


_MESSAGES = PreparedShapes(lambda by_contact, key_id: (
    WebFormSubmission
    .select(WebFormSubmission, WebForm.name, Contact.id, Contact.first_name, Contact.last_name)
    .join_from(WebFormSubmission, WebForm)
    .join_from(WebFormSubmission, Contact, attr="contact")
    .where(Contact.deleted_at.is_null(),  # R27: not a deleted contact's words
           (WebFormSubmission.contact if by_contact else WebFormSubmission.company) == key_id)
    .order_by(WebFormSubmission.created_at.desc(), WebFormSubmission.id.desc())
    .limit(MESSAGES_READ)))


@dataclass
class TimelinePage:
    """One page of a card's timeline; `older` is where the next page starts (None: the end)."""
    entries: list
    older: datetime.datetime | None


def card_timeline(company=None, contact=None, limit=30, before=None):
    """R20, R24: the one timeline of a company (with its contacts) or one contact: the
    history of status, category and owner changes, the sale events and the
    activities (web-form messages among them, as notes), newest first, a page of
    `limit` entries older than `before`.

    Each source is read once for the page. Entries of the same second as the
    page's last one all stay on this page, as the next page reads strictly
    older ones.
    """
    entries = list(timeline(company=company, contact=contact, limit=limit + 1, before=before))
    sales = [SaleEntry(e.created_at, e.kind, e.sale, e.actor)
             for e in sale_events(company=company, contact=contact, limit=limit + 1,
                                  before=before)]
    notes = activities_of(contact=contact, company=company if contact is None else None,
                          before=before, limit=limit + 1)
    merged = sorted(entries + sales + notes, key=lambda e: e.created_at, reverse=True)
    if len(merged) <= limit:
        return TimelinePage(merged, None)
    cut = merged[limit - 1].created_at
    page = merged[:limit] + [e for e in merged[limit:] if e.created_at == cut]
    return TimelinePage(page, cut)
