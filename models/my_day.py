"""My day: what a user has to do today, each thing read with one query.

Follow-ups of theirs that are overdue or due today (R24, R25), leads handed
to them lately (by a person, a distribution flow or an import: R26's
assignments) and the category suggestions they caused that nobody answered
yet (R17).
"""
import datetime

from peewee import JOIN

from .schema import (FOLLOW_UP, Activity, Category, CategorySuggestion, Company, Contact,
                     History, now)

NEW_LEAD_DAYS = 7
MOST = 50  # items per section: a day's list, not an archive


def due_follow_ups(user, at=None):
    """The user's open follow-ups due before the end of today, the oldest first."""
    at = at or now()
    end_of_day = datetime.datetime.combine(at.date() + datetime.timedelta(days=1),
                                           datetime.time())
    return list(Activity
                .select(Activity, Contact.id, Contact.first_name, Contact.last_name,
                        Company.id, Company.name)
                .join_from(Activity, Contact, JOIN.LEFT_OUTER, attr="contact")
                .join_from(Activity, Company, attr="company")
                .where(Activity.owner == user.id, Activity.done_at.is_null(),
                       Activity.kind == FOLLOW_UP, Activity.due_at < end_of_day)
                .order_by(Activity.due_at, Activity.id)
                .limit(MOST))


def newly_assigned(user, at=None, days=NEW_LEAD_DAYS):
    """Leads given to the user in the last `days` days that are still theirs, newest
    first, with their next step (kept on the contact's row)."""
    since = (at or now()) - datetime.timedelta(days=days)
    return list(History
                .select(History.id, History.created_at, History.source, History.source_label,
                        Contact.id, Contact.first_name, Contact.last_name,
                        Contact.next_step_at, Contact.next_step_text, Company.id, Company.name)
                .join_from(History, Contact, attr="contact")
                .join_from(History, Company, attr="company")
                .where(History.kind == History.OWNER, History.to_owner == user.id,
                       History.created_at >= since, Contact.owner == user.id)
                .order_by(History.created_at.desc(), History.id.desc())
                .limit(MOST))


def my_pending_suggestions(user):
    """Category suggestions the user's changes caused that wait for an answer (R17)."""
    Proposed = Category.alias()
    return list(CategorySuggestion
                .select(CategorySuggestion, Company.id, Company.name, Proposed.id, Proposed.name)
                .join_from(CategorySuggestion, Company, attr="company")
                .join_from(CategorySuggestion, Proposed,
                           on=(CategorySuggestion.proposed_category == Proposed.id),
                           attr="proposed_category")
                .where(CategorySuggestion.caused_by == user.id,
                       CategorySuggestion.state == CategorySuggestion.PENDING)
                .order_by(CategorySuggestion.created_at.desc())
                .limit(MOST))
