"""R24, R25: activities on a contact or a company, and the contact's next step.

Every change of an activity goes through `_changed`, in the change's
transaction: it writes a History row (kind "activity", so the live feed
tells open boards) and recomputes the next step and the last activity kept
on the contact's row (`next_step_at`, `next_step_text`, `last_activity_at`).
One rule, one place: nothing else writes those columns.

Rights: anyone signed in may record an activity; its author, managers and
admins may edit or delete it; a follow-up is completed or reopened by its
owner, its author, managers and admins (a rep cannot complete someone
else's follow-up).
"""
import datetime

from peewee import JOIN, NodeList, fn

from .db import database
from .engine import Actor
from .errors import InvalidFields, RuleViolation
from .prepared import PreparedShapes, whose
from .schema import (ACTIVITY_KINDS, FOLLOW_UP, N_, Activity, Company, Contact, History, User,
                     now)
from .values import clean_text

TEXT_MAX = 10_000
NEXT_STEP_TEXT_MAX = 80  # what a board card shows of the follow-up's text
MANAGING_ROLES = ("admin", "manager")


# --- Input -------------------------------------------------------------------------------

def clean_kind(kind):
    if kind not in ACTIVITY_KINDS:
        raise RuleViolation(N_("Choose a kind of activity from the list."), field="kind")
    return kind


def clean_activity_text(text, kind):
    """Multi-line text without control characters, at most TEXT_MAX long; it must say
    something (a follow-up's text names the step: "Demo")."""
    text = clean_text(text, TEXT_MAX, "text", multiline=True,
                      too_long=N_("At most %(limit)s characters."))
    if not text:
        raise RuleViolation(N_("Write what the next step is.") if kind == FOLLOW_UP
                            else N_("Write something first."), field="text")
    return text


def parse_due(date_text, time_text=""):
    """A follow-up's due date and time from "2026-12-03" and "10:00" (the time may be
    left out: 09:00). An impossible date or time is refused with a clear message; a
    date in the past is allowed (the follow-up is simply overdue)."""
    date_text, time_text = str(date_text or "").strip(), str(time_text or "").strip()
    if not date_text:
        raise RuleViolation(N_("A follow-up needs a due date."), field="due_date")
    try:
        day = datetime.date.fromisoformat(date_text) if len(date_text) == 10 else None
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 9998:
        raise RuleViolation(N_("Enter a real date, like 2026-12-03."), field="due_date")
    if not time_text:
        return datetime.datetime.combine(day, datetime.time(9, 0))
    try:
        moment = datetime.time.fromisoformat(time_text) if len(time_text) in (5, 8) else None
    except ValueError:
        moment = None
    if moment is None:
        raise RuleViolation(N_("Enter a real time, like 10:00."), field="due_time")
    return datetime.datetime.combine(day, moment.replace(microsecond=0))


def _checked_fields(kind, text, due_at):
    """The fields of an activity as stored; every refusal at once."""
    refusals, values = [], {}
    for name, check in (("kind", lambda: clean_kind(kind)),
                        ("text", lambda: clean_activity_text(text, kind))):
        try:
            values[name] = check()
        except RuleViolation as refusal:
            refusals.append(refusal)
    if kind == FOLLOW_UP and due_at is None:
        refusals.append(RuleViolation(N_("A follow-up needs a due date."), field="due_date"))
    if len(refusals) == 1:
        raise refusals[0]
    if refusals:
        raise InvalidFields(refusals)
    values["due_at"] = due_at if kind == FOLLOW_UP else None
    return values


# --- Rights ------------------------------------------------------------------------------

def _user(actor):
    return actor.user if isinstance(actor, Actor) else actor


def can_edit(activity, user):
    """Its author, managers and admins edit or delete an activity."""
    return user is not None and (user.role in MANAGING_ROLES or activity.author_id == user.id)


def can_complete(activity, user):
    """A follow-up is done or reopened by its owner, its author, managers and admins."""
    return activity.kind == FOLLOW_UP and user is not None and (
        user.role in MANAGING_ROLES or user.id in (activity.owner_id, activity.author_id))


def can_assign_others(user):
    """Managers and admins give follow-ups to others; a rep's are the rep's own."""
    return user is not None and user.role in MANAGING_ROLES


class NotAllowed(RuleViolation):
    """The user may not make this change to this activity."""


def _check(allowed, message):
    if not allowed:
        raise NotAllowed(message)


def _owner_for(kind, owner, user):
    """The follow-up's owner: an active user; a rep may only give it to themself."""
    if kind != FOLLOW_UP:
        return None
    owner = owner or user
    owner_id = getattr(owner, "id", owner)
    if owner_id is None:
        return None
    if user is not None and owner_id != user.id and not can_assign_others(user):
        raise NotAllowed(N_("Only managers and admins give follow-ups to others."),
                            field="owner")
    if not User.select().where(User.id == owner_id, User.active == True).exists():  # noqa: E712
        raise RuleViolation(N_("Choose an active user."), field="owner")
    return owner_id


# --- Changes -----------------------------------------------------------------------------

def add_activity(actor, kind, text, contact=None, company=None, due_at=None, owner=None,
                 created_at=None):
    """R24: record an activity on `contact` (and its company) or on `company` alone.

    A contact or company that no longer exists is refused; so are an empty
    text, more than TEXT_MAX characters and a follow-up without a due time.
    """
    user = _user(actor)
    actor = actor if isinstance(actor, Actor) else Actor(actor)
    values = _checked_fields(kind, text, due_at)
    stamp = created_at or now()
    with database.atomic():
        if contact is not None:
            row = Contact.get_or_none(Contact.id == getattr(contact, "id", contact))
            if row is None:
                raise RuleViolation(N_("This contact no longer exists."))
            contact_id, company_id = row.id, row.company_id
        else:
            row = Company.get_or_none(Company.id == getattr(company, "id", company))
            if row is None:
                raise RuleViolation(N_("This company no longer exists."))
            contact_id, company_id = None, row.id
        activity = Activity.create(
            company=company_id, contact=contact_id, author=user, created_at=stamp,
            updated_at=stamp, owner=_owner_for(values["kind"], owner, user),
            source=actor.source, source_label=actor.label[:255], **values)
        _changed(activity, actor, stamp, "created")
    return activity


def edit_activity(activity, actor, text, due_at=None, owner=None):
    """Change an activity's text (and a follow-up's due time and owner)."""
    user = _user(actor)
    _check(can_edit(activity, user), N_("Only its author, managers and admins change this."))
    values = _checked_fields(activity.kind, text, due_at)
    with database.atomic():
        activity = _locked(activity)
        activity.text, activity.due_at = values["text"], values["due_at"]
        if activity.kind == FOLLOW_UP and owner is not None:
            activity.owner = _owner_for(activity.kind, owner, user)
        activity.updated_at = now()
        activity.save()
        _changed(activity, actor, activity.updated_at, "updated")
    return activity


def complete_activity(activity, actor, done=True):
    """Mark a follow-up done (or, with done=False, open again)."""
    user = _user(actor)
    if activity.kind != FOLLOW_UP:
        raise RuleViolation(N_("Only a follow-up can be done."))
    _check(can_complete(activity, user),
           N_("Only its owner, its author, managers and admins complete this follow-up."))
    with database.atomic():
        activity = _locked(activity)
        stamp = now()
        activity.done_at, activity.done_by = (stamp, user) if done else (None, None)
        activity.updated_at = stamp
        activity.save()
        _changed(activity, actor, stamp, "completed" if done else "reopened")
    return activity


def delete_activity(activity, actor):
    """Delete an activity for good (its author, managers and admins)."""
    _check(can_edit(activity, _user(actor)),
           N_("Only its author, managers and admins delete this."))
    with database.atomic():
        activity = _locked(activity)
        activity.delete_instance()
        _changed(activity, actor, now(), "deleted")


def _locked(activity):
    """The activity as stored now (refused when someone deleted it meanwhile)."""
    row = Activity.get_or_none(Activity.id == activity.id)
    if row is None:
        raise RuleViolation(N_("This activity no longer exists."))
    return row


ACTIONS = ("created", "updated", "completed", "reopened", "deleted")


def _changed(activity, actor, stamp, action):
    """What every change of an activity brings with it, in its transaction: the
    History row the live feed and the webhooks read (naming the activity and the
    action, one of ACTIONS), and the contact's next step (R25)."""
    actor = actor if isinstance(actor, Actor) else Actor(actor)
    History.create(kind=History.ACTIVITY, company=activity.company_id,
                   contact=activity.contact_id, actor=actor.user_id, source=actor.source,
                   source_label=actor.label[:255], created_at=stamp,
                   activity_id=activity.id, activity_action=action)
    if activity.contact_id is not None:
        refresh_next_steps([activity.contact_id])
    elif activity.kind == FOLLOW_UP:
        # A follow-up on the company alone is a next step of each of its contacts.
        refresh_next_steps([row[0] for row in Contact.select(Contact.id)
                            .where(Contact.company == activity.company_id).tuples()])


def refresh_next_steps(contact_ids):
    """R25: set each contact's next step, its earliest open follow-up on it or on its
    company alone (ties: the contact's own), and the time of its latest activity, from
    their activities: a few grouped reads, one write per distinct outcome (the
    contacts of a company with only its follow-up share one)."""
    contact_ids = sorted(set(contact_ids))
    if not contact_ids:
        return
    company_of = dict(Contact.select(Contact.id, Contact.company)
                      .where(Contact.id.in_(contact_ids)).tuples())
    own = earliest_follow_ups(Activity.contact, contact_ids)
    shared = earliest_follow_ups(Activity.company, set(company_of.values()),
                                 Activity.contact.is_null())
    # The latest thing done: a note, call or meeting when written, a follow-up when done.
    latest = dict(Activity.select(Activity.contact,
                                  fn.MAX(fn.COALESCE(Activity.done_at, Activity.created_at)))
                  .where(Activity.contact.in_(contact_ids),
                         (Activity.kind != FOLLOW_UP) | Activity.done_at.is_null(False))
                  .group_by(Activity.contact).tuples())
    outcomes = {}
    for contact_id in contact_ids:
        steps = [step for step in (own.get(contact_id), shared.get(company_of.get(contact_id)))
                 if step]
        due, text = min(steps, key=lambda step: step[0]) if steps else (None, "")
        outcome = (due, text, _as_datetime(latest.get(contact_id)))
        outcomes.setdefault(outcome, []).append(contact_id)
    for (due, text, last), ids in outcomes.items():
        (Contact.update(next_step_at=due, next_step_text=text, last_activity_at=last)
         .where(Contact.id.in_(ids)).execute())


def earliest_follow_ups(key, ids, *conditions):
    """{id: (due at, first line of the text)} of the earliest open follow-up per value
    of `key` (Activity.contact or Activity.company) among `ids`, where `conditions`
    hold too (ties: the older follow-up). One read, however many ids."""
    ids = sorted(set(ids) - {None})
    if not ids:
        return {}
    is_open = (Activity.kind == FOLLOW_UP) & Activity.done_at.is_null()
    first = (Activity.select(key.alias("key_id"), fn.MIN(Activity.due_at).alias("due_at"))
             .where(key.in_(ids), is_open, *conditions)
             .group_by(key).alias("first"))
    steps = {}
    for key_id, due_at, text in (
            Activity.select(key, Activity.due_at, Activity.text)
            .join(first, on=((key == first.c.key_id) & (Activity.due_at == first.c.due_at)))
            .where(is_open, *conditions).order_by(Activity.id.desc()).tuples()):
        steps[key_id] = (_as_datetime(due_at),
                         text.splitlines()[0][:NEXT_STEP_TEXT_MAX] if text else "")
    return steps


def company_next_steps(company_ids):
    """R25 on the company board: each company's next step, its earliest open follow-up
    on the company itself or on any of its contacts, as {company id: (due at, first line
    of the text)}."""
    return earliest_follow_ups(Activity.company, company_ids)


def attach_company_next_steps(companies):
    """The companies (board cards), each with its next step as `next_step_at` and
    `next_step_text`, as a contact's row has them."""
    steps = company_next_steps(company.id for company in companies)
    for company in companies:
        company.next_step_at, company.next_step_text = steps.get(company.id, (None, ""))
    return companies


def _as_datetime(value):
    """SQLite hands MAX(COALESCE(...)) back as text."""
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    return value


# --- Reading -----------------------------------------------------------------------------

def activities_of(contact=None, company=None, before=None, limit=30):
    """The newest activities of one contact, or of a company with its contacts'
    (newest first, those older than `before` when given), with their people."""
    return _ACTIVITIES(*whose(contact, company), limit, before)


def _activities_query(by_contact, key_id, limit, before):
    Author, Owner = User.alias(), User.alias()
    query = (Activity.select(Activity, Contact.id, Contact.first_name, Contact.last_name,
                             Author.id, Author.name, Owner.id, Owner.name)
             .join_from(Activity, Contact, join_type=JOIN.LEFT_OUTER, attr="contact")
             .join_from(Activity, Author, join_type=JOIN.LEFT_OUTER,
                        on=(Activity.author == Author.id), attr="author")
             .join_from(Activity, Owner, join_type=JOIN.LEFT_OUTER,
                        on=(Activity.owner == Owner.id), attr="owner")
             .where((Activity.contact if by_contact else Activity.company) == key_id)
             .order_by(Activity.created_at.desc(), Activity.id.desc())
             .limit(limit))
    return query.where(Activity.created_at < before) if before is not None else query


_ACTIVITIES = PreparedShapes(_activities_query)


def open_follow_ups(contact=None, company=None, limit=10):
    """The open follow-ups of a contact (or company), soonest first: the first `limit`
    (the timeline has the rest)."""
    return _FOLLOW_UPS(*whose(contact, company), limit)


_FOLLOW_UPS = PreparedShapes(lambda by_contact, key_id, limit: (
    Activity.select(Activity, User.id, User.name)
    .join_from(Activity, User, join_type=JOIN.LEFT_OUTER,
               on=(Activity.owner == User.id), attr="owner")
    .where(Activity.kind == FOLLOW_UP, Activity.done_at.is_null(),
           (Activity.contact if by_contact else Activity.company) == key_id)
    .order_by(Activity.due_at, Activity.id).limit(limit)))


NEXT_STEP_FILTERS = {"overdue": N_("Overdue"), "none": N_("No next step"),
                     "week": N_("Due this week")}


def next_step_condition(which, at=None, step=Contact.next_step_at):
    """R25: contacts (or companies, with `step` = `company_next_step_at()`) whose next
    step is overdue, missing, or due this week (Monday to Sunday, overdue ones of the
    week included); None for any other value."""
    at = at or now()
    if which == "overdue":
        return step < at
    if which == "none":
        return step.is_null()
    if which == "week":
        monday = datetime.datetime.combine(at.date() - datetime.timedelta(days=at.weekday()),
                                           datetime.time())
        return (step >= monday) & (step < monday + datetime.timedelta(days=7))
    return None


def company_next_step_at():
    """R25: a company's next step time as an SQL expression, the due time of its earliest
    open follow-up on it or on any of its contacts (NULL: none), to filter and sort the
    company board by; `company_next_steps` reads the same for a page of cards."""
    step = Activity.alias()
    return NodeList((step.select(fn.MIN(step.due_at))
                     .where(step.company == Company.id, step.kind == FOLLOW_UP,
                            step.done_at.is_null()),))


def is_overdue(due_at, at=None):
    """A follow-up (or next step) due before now is overdue (R25)."""
    return due_at is not None and due_at < (at or now())
