"""Reminders (R26): a user is told, in the app and by mail, of follow-ups due and of
leads assigned to them, at most once per thing, never when deactivated.

- An assignment (an owner change by someone else: a person, a bulk update, a
  distribution flow) writes one `Notice` and one `Mail` per new owner and
  batch, in the transaction of the change (`notify_assignments`, called by
  `engine.set_owner` and `engine.create_contacts`, the only writers of owners).
  An import or a bulk job counts its chunks' assignments with its progress and
  tells each owner once, when it ends or stops (`count_assignments`,
  `tell_assigned`).
- The daily digest: every minute a periodic task (models/tasks.py) makes the
  digests that are due (`send_due_digests`): each user whose chosen time of
  day has passed and who has no `DigestDay` row for today gets one (the
  unique row says the day is done, whichever worker got there first), with
  a notice and a mail only when follow-ups are overdue or due today.
- Mails are rows: `send_pending` claims each pending row (one UPDATE, so
  two workers never send the same mail) and sends it through SMTP when one
  is configured (`configure_mail`), or keeps it in the outbox, which admins
  read in Settings. A mail to a user deactivated meanwhile is not sent.

Texts are rendered here, in the recipient's language, with the app's
catalogs read by Babel (no Flask): `describe_notice` gives the subject and
lines both the mail and the in-app list show.
"""
import datetime
import json
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, fields
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache

from babel.dates import format_date, format_datetime, format_time
from babel.support import NullTranslations, Translations
from peewee import (JOIN, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField,
                    IntegrityError, TextField)

from .db import BaseModel, database
from .errors import RuleViolation
from .schema import LANGUAGES, N_, Company, Contact, User, now

log = logging.getLogger(__name__)

TRANSLATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "views", "translations")
SHOWN = 10  # leads named in one assignment notice; the rest are counted
MAX_ATTEMPTS = 5  # SMTP tries of one mail before it is marked failed
# The times of day a digest can be asked for ("" for none).
DIGEST_TIMES = tuple(f"{hour:02d}:{minute:02d}" for hour in range(5, 22) for minute in (0, 30))

MAIL_STATES = {
    "pending": N_("Waiting to be sent"),
    "sending": N_("Being sent"),
    "sent": N_("Sent"),
    "outbox": N_("In the outbox only"),
    "failed": N_("Failed"),
    "skipped": N_("Not sent: the user was deactivated"),
}


class Notice(BaseModel):
    """What a user is told in the app: a lead assignment or the day's follow-ups."""
    ASSIGNED = "assigned"
    DIGEST = "digest"

    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    kind = CharField()
    payload = TextField(default="{}")
    created_at = DateTimeField(default=now)
    read_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "read_at", "id"), False), (("user", "id"), False))

    @property
    def data(self):
        return json.loads(self.payload or "{}")


class Mail(BaseModel):
    """A reminder mail: the outbox, and the queue of mails to send."""
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    notice = ForeignKeyField(Notice, null=True, backref="+", on_delete="SET NULL")
    to_address = CharField()
    language = CharField(default="en")
    subject = CharField(max_length=500)
    body = TextField()
    state = CharField(default="pending")
    attempts = IntegerField(default=0)
    error = CharField(max_length=500, default="")
    created_at = DateTimeField(default=now)
    sent_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("state", "id"), False),)

    @property
    def state_label(self):
        return MAIL_STATES.get(self.state, self.state)


class DigestDay(BaseModel):
    """A user's digest of one day was made (unique: never twice)."""
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    day = DateField()
    created_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("user", "day"), True),)


TABLES = [Notice, Mail, DigestDay]


# --- Configuration -------------------------------------------------------------------------

@dataclass
class MailSettings:
    """Where mails go: an SMTP server when `host` is set, else the outbox only."""
    host: str = ""
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    username: str = ""
    password: str = ""
    sender: str = "Tavla <tavla@localhost>"
    base_url: str = "http://127.0.0.1:5000"
    timeout: float = 10.0


settings = MailSettings()

CONFIG_KEYS = {"host": "SMTP_HOST", "port": "SMTP_PORT", "security": "SMTP_SECURITY",
               "username": "SMTP_USERNAME", "password": "SMTP_PASSWORD",
               "sender": "MAIL_FROM", "base_url": "BASE_URL", "timeout": "SMTP_TIMEOUT"}


def configure_mail(config):
    """Take the mail settings from a mapping (the app's configuration: SMTP_HOST, ...)."""
    global settings
    values = {}
    for item in fields(MailSettings):
        key = CONFIG_KEYS[item.name]
        if config.get(key) not in (None, ""):
            values[item.name] = item.type(config[key]) if item.type in (int, float) \
                else str(config[key])
    settings = MailSettings(**values)
    if settings.security not in ("none", "starttls", "ssl"):
        raise ValueError("TAVLA_SMTP_SECURITY must be none, starttls or ssl")
    return settings


# --- Texts in the recipient's language ----------------------------------------------------------

@lru_cache(maxsize=None)
def catalog(language):
    """The app's translations for `language` (English: the msgids themselves)."""
    if language not in LANGUAGES or language == "en":
        return NullTranslations()
    return Translations.load(TRANSLATIONS, [language])


def _when(value, language, today):
    """A due time as the reader says it: the time alone today, else day and time."""
    if value.date() == today:
        return format_time(value, "HH:mm", locale=language)
    return format_datetime(value, "d MMM HH:mm", locale=language)


def describe_notice(kind, data, language):
    """(subject, lines) of a notice, in `language`: the mail's subject and body, and
    what the notices page shows."""
    translations = catalog(language)
    _, ngettext = translations.gettext, translations.ngettext
    if kind == Notice.ASSIGNED:
        count = data["count"]
        subject = ngettext("%(num)d lead was assigned to you",
                           "%(num)d leads were assigned to you", count) % {"num": count}
        lines = [(_("By %(who)s:") % {"who": data["by"]}) if data.get("by") else ""]
        lines += [f"- {name}, {company}" if company else f"- {name}"
                  for _id, name, company in data["contacts"]]
        rest = count - len(data["contacts"])
        if rest > 0:
            lines.append(ngettext("and %(num)d more", "and %(num)d more", rest) % {"num": rest})
        return subject, [line for line in lines if line]
    day = datetime.date.fromisoformat(data["day"])
    count = len(data["items"])
    subject = ngettext("%(num)d follow-up due: %(day)s", "%(num)d follow-ups due: %(day)s",
                       count) % {"num": count,
                                 "day": format_date(day, "EEEE d MMMM", locale=language)}
    lines = []
    for overdue, heading in ((True, _("Overdue")), (False, _("Due today"))):
        items = [item for item in data["items"] if item["overdue"] == overdue]
        if items:
            lines.append(heading)
            lines += [f"- {item['text'] or _('Follow-up')} · {item['name']}"
                      + (f", {item['company']}" if item["company"] else "")
                      + " · " + _when(datetime.datetime.fromisoformat(item["due_at"]),
                                      language, day)
                      for item in items]
    return subject, lines


def _mail_body(user, subject, lines, link):
    _ = catalog(user.language).gettext
    address = settings.base_url.rstrip("/") + link
    return "\n".join([_("Hello %(name)s,") % {"name": user.name}, "", subject, "", *lines, "",
                      _("Open Tavla: %(address)s") % {"address": address}, ""])


def _tell(user, kind, data, link, stamp):
    """One notice and its mail for `user` (inside the caller's transaction)."""
    notice = Notice.create(user=user.id, kind=kind, created_at=stamp,
                           payload=json.dumps(data, ensure_ascii=False))
    subject, lines = describe_notice(kind, data, user.language)
    Mail.create(user=user.id, notice=notice.id, to_address=user.email, language=user.language,
                subject=subject[:500], body=_mail_body(user, subject, lines, link),
                created_at=stamp)
    return notice


# --- Assignments ----------------------------------------------------------------------------

def notify_assignments(assignments, actor, stamp=None):
    """Tell each new owner of `assignments` ((contact id, owner id) pairs of one batch)
    with one notice and one mail, unless they gave the leads to themselves or are
    deactivated. Returns True when some mail waits to be sent."""
    return tell_assigned(count_assignments(assignments), actor, stamp)


def count_assignments(assignments, counted=None):
    """{owner id: [leads given, [the first SHOWN contact ids]]} of (contact id, owner id)
    pairs, added to `counted` (of earlier batches of the same work) when given."""
    counted = counted if counted is not None else {}
    for contact_id, owner_id in assignments:
        if owner_id is not None:
            count = counted.setdefault(owner_id, [0, []])
            count[0] += 1
            if len(count[1]) < SHOWN:
                count[1].append(contact_id)
    return counted


def tell_assigned(counted, actor, stamp=None):
    """One notice and one mail per owner of `counted` (see count_assignments), but
    not to the actor nor to a deactivated user. Returns True when some mail waits."""
    stamp = stamp or now()
    counted = {int(owner): count for owner, count in counted.items()
               if int(owner) != actor.user_id}
    if not counted:
        return False
    users = list(User.select().where(User.id.in_(list(counted)), User.active == True))  # noqa: E712
    if not users:
        return False
    shown = sorted({cid for user in users for cid in counted[user.id][1]})
    names = {row.id: (row.full_name or f"#{row.id}", row.company.name)
             for row in (Contact.select(Contact.id, Contact.first_name, Contact.last_name,
                                        Company.name)
                         .join(Company, attr="company").where(Contact.id.in_(shown)))}
    by = actor.user.name if actor.user is not None else actor.label
    for user in users:
        count, first = counted[user.id]
        contacts = [[cid, *names[cid]] for cid in first if cid in names]
        _tell(user, Notice.ASSIGNED, {"count": count, "contacts": contacts, "by": by},
              "/my-day", stamp)
    return True


def send_soon():
    """Ask a job worker to send the waiting mails now rather than at the next minute
    (a change made inside a longer transaction is sent by the minute's run)."""
    from .tasks import send_mails_now
    try:
        send_mails_now()
    except Exception:  # noqa: BLE001 - the queue is down: the minute's run sends them
        log.exception("Could not queue the reminder mails")


# --- The daily digest ------------------------------------------------------------------------

def digest_items(user, at):
    """The user's open follow-ups overdue or due today, as a notice lists them."""
    from .my_day import due_follow_ups
    items = []
    for activity in due_follow_ups(user, at):
        contact = activity.contact if activity.contact_id else None
        items.append({"id": activity.id, "text": activity.text[:200],
                      "name": (contact.full_name or f"#{contact.id}") if contact
                      else activity.company.name,
                      "company": activity.company.name if contact else "",
                      "due_at": activity.due_at.isoformat(),
                      "overdue": activity.due_at < datetime.datetime.combine(at.date(),
                                                                            datetime.time())})
    return items


def send_due_digests(at=None):
    """Make the digests due at `at` (now): at most one per user and day, only for
    active users whose chosen time has passed, a notice and mail only when
    something is due. Returns the number of digests with a mail."""
    at = at or now()
    today = at.date()
    done = DigestDay.select(DigestDay.user).where(DigestDay.day == today)
    due = list(User.select().where(User.active == True, User.digest_time != "",  # noqa: E712
                                   User.digest_time <= at.strftime("%H:%M"),
                                   User.id.not_in(done)).order_by(User.id))
    made = 0
    for user in due:
        try:
            with database.atomic():
                DigestDay.create(user=user.id, day=today, created_at=at)
                items = digest_items(user, at)
                if items:
                    _tell(user, Notice.DIGEST, {"day": today.isoformat(), "items": items},
                          "/my-day", at)
                    made += 1
        except IntegrityError:
            continue  # another worker made this user's digest of today
    return made


def set_digest_time(user, value):
    """The time of day the user's digest is made ("" for none)."""
    if value != "" and value not in DIGEST_TIMES:
        raise RuleViolation(N_("Choose a time from the list."), field="digest_time")
    User.update(digest_time=value).where(User.id == user.id).execute()
    user.digest_time = value


# --- Sending -----------------------------------------------------------------------------------

def _deliver(mail):
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = settings.sender
    message["To"] = mail.to_address
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="tavla")
    message.set_content(mail.body)
    message["Content-Language"] = mail.language  # after set_content, which clears Content-*
    if settings.security == "ssl":
        server = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                  context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with server:
        if settings.security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if settings.username:
            server.login(settings.username, settings.password)
        server.send_message(message)


def send_pending(limit=200):
    """Send (or keep in the outbox) the mails waiting; each is claimed first, so no
    mail goes twice. Returns {state: count} of what was done."""
    done = {}
    ids = [mail_id for (mail_id,) in Mail.select(Mail.id).where(Mail.state == "pending")
           .order_by(Mail.id).limit(limit).tuples()]
    for mail_id in ids:
        claimed = (Mail.update(state="sending", attempts=Mail.attempts + 1)
                   .where(Mail.id == mail_id, Mail.state == "pending").execute())
        if not claimed:
            continue  # another worker has it
        mail = (Mail.select(Mail, User).join(User, JOIN.LEFT_OUTER, attr="user")
                .where(Mail.id == mail_id).get())
        values = {"sent_at": now(), "error": ""}
        if mail.user is None or not mail.user.active:
            values.update(state="skipped", sent_at=None)
        elif not settings.host:
            values["state"] = "outbox"
        else:
            try:
                _deliver(mail)
                values["state"] = "sent"
            except (smtplib.SMTPException, OSError) as error:
                log.warning("Mail %s not sent: %s", mail.id, error)
                values.update(state="failed" if mail.attempts >= MAX_ATTEMPTS else "pending",
                              sent_at=None, error=str(error)[:500])
        Mail.update(**values).where(Mail.id == mail_id).execute()
        done[values["state"]] = done.get(values["state"], 0) + 1
    return done


# --- Reading ------------------------------------------------------------------------------------

def notices_of(user):
    """The user's notices, newest first (page them)."""
    return Notice.select().where(Notice.user == user.id).order_by(Notice.id.desc())


def unread_count(user):
    return Notice.select().where(Notice.user == user.id, Notice.read_at.is_null()).count()


def mark_read(user, notice_id=None):
    """Mark one notice of the user's (or all of them) read; another's is not found."""
    query = Notice.update(read_at=now()).where(Notice.user == user.id,
                                               Notice.read_at.is_null())
    if notice_id is not None:
        query = query.where(Notice.id == notice_id)
    return query.execute()


def outbox():
    """Every mail, newest first (admins read it in Settings)."""
    return Mail.select().order_by(Mail.id.desc())
