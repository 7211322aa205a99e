"""R24, R25: activities, their rights, and each contact's next step kept on its row."""
import datetime

import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, Contact, History, RuleViolation, User, create_company, \
    create_contact
from models.activities import (TEXT_MAX, NotAllowed, add_activity, complete_activity,
                               delete_activity, edit_activity, parse_due, refresh_next_steps)
from models.activity import card_timeline
from models.schema import Activity


def make(email, role):
    user = User(email=email, name=email.split("@")[0].title(), role=role)
    user.set_password("secret")
    user.save()
    return user


@pytest.fixture
def people(db):
    return {role: make(f"{role}@example.test", role) for role in ("rep", "other", "manager")} \
        | {"other": make("other.rep@example.test", "rep")}


@pytest.fixture
def anna(people):
    rep = Actor(people["rep"])
    company = create_company(rep, name="Fjällbo AB", category=Category.get(name="Lead"))
    return create_contact(company, rep, first_name="Anna", last_name="Berg",
                          owner=people["rep"])


def at(day, hour=10):
    return datetime.datetime(2026, 12, day, hour, 0)


def test_r24_a_note_is_recorded_with_a_history_row_for_the_live_feed(people, anna):
    before = History.select().count()
    note = add_activity(people["rep"], "note", "  Called, interested, wants a demo  ",
                        contact=anna)
    assert (note.text, note.company_id, note.author_id) == \
        ("Called, interested, wants a demo", anna.company_id, people["rep"].id)
    row = History.select().order_by(History.id.desc()).get()
    assert History.select().count() == before + 1
    assert (row.kind, row.contact_id, row.company_id) == ("activity", anna.id, anna.company_id)
    assert Contact.get_by_id(anna.id).last_activity_at == note.created_at


def test_r25_the_next_step_is_the_earliest_open_follow_up(people, anna):
    later = add_activity(people["rep"], "follow_up", "Send offer", contact=anna, due_at=at(10))
    demo = add_activity(people["rep"], "follow_up", "Demo\nbring the laptop", contact=anna,
                        due_at=at(3))
    contact = Contact.get_by_id(anna.id)
    assert (contact.next_step_at, contact.next_step_text) == (at(3), "Demo")
    complete_activity(demo, people["rep"])
    contact = Contact.get_by_id(anna.id)
    assert (contact.next_step_at, contact.next_step_text) == (at(10), "Send offer")
    assert contact.last_activity_at is not None
    complete_activity(Activity.get_by_id(demo.id), people["rep"], done=False)
    assert Contact.get_by_id(anna.id).next_step_text == "Demo"
    delete_activity(Activity.get_by_id(demo.id), people["rep"])
    edit_activity(Activity.get_by_id(later.id), people["rep"], "Send the offer", due_at=at(4))
    contact = Contact.get_by_id(anna.id)
    assert (contact.next_step_at, contact.next_step_text) == (at(4), "Send the offer")
    delete_activity(Activity.get_by_id(later.id), people["rep"])
    contact = Contact.get_by_id(anna.id)
    assert (contact.next_step_at, contact.next_step_text) == (None, "")


def test_r25_refresh_matches_a_fresh_computation_for_many_contacts(people, anna):
    bo = create_contact(anna.company, Actor(people["rep"]), first_name="Bo", last_name="Ek")
    add_activity(people["rep"], "follow_up", "Call back", contact=bo, due_at=at(7))
    Contact.update(next_step_at=None, next_step_text="").execute()
    refresh_next_steps([anna.id, bo.id])
    assert Contact.get_by_id(bo.id).next_step_text == "Call back"
    assert Contact.get_by_id(anna.id).next_step_at is None


def test_r25_a_follow_up_on_the_company_alone_is_each_contacts_next_step(people, anna):
    """Unless a contact's own comes first; done or deleted, it is no one's next step."""
    bo = create_contact(anna.company, Actor(people["rep"]), first_name="Bo", last_name="Ek")
    create_contact(create_company(Actor(people["rep"]), name="Nordvik AS",
                                  category=Category.get(name="Lead")),
                   Actor(people["rep"]), first_name="Cai", last_name="Lund")
    add_activity(people["rep"], "follow_up", "Demo for Anna", contact=anna, due_at=at(2))
    visit = add_activity(people["rep"], "follow_up", "Visit the office", company=anna.company,
                         due_at=at(5))

    def steps():
        return {c.first_name: (c.next_step_at, c.next_step_text) for c in Contact.select()}
    assert steps() == {"Anna": (at(2), "Demo for Anna"), "Bo": (at(5), "Visit the office"),
                       "Cai": (None, "")}
    edit_activity(Activity.get_by_id(visit.id), people["rep"], "Visit the office",
                  due_at=at(1))
    assert steps()["Anna"] == steps()["Bo"] == (at(1), "Visit the office")
    complete_activity(Activity.get_by_id(visit.id), people["rep"])
    assert steps()["Anna"] == (at(2), "Demo for Anna") and steps()["Bo"] == (None, "")
    complete_activity(Activity.get_by_id(visit.id), people["rep"], done=False)
    delete_activity(Activity.get_by_id(visit.id), people["rep"])
    assert steps()["Bo"] == (None, "")
    # A note on the company is no one's next step, nor their latest activity.
    add_activity(people["rep"], "note", "Nice office", company=anna.company)
    assert steps()["Bo"] == (None, "") and Contact.get_by_id(bo.id).last_activity_at is None
    assert steps()["Cai"] == (None, "")


def test_r25_a_company_follow_up_sets_its_contacts_next_steps_in_a_few_statements(people,
                                                                                  anna):
    """However many contacts the company has, those alike are written together."""
    def statements():
        with count_queries() as counter:
            add_activity(people["rep"], "follow_up", "Visit", company=anna.company,
                         due_at=at(5))
        return counter.count
    statements()  # anna.company is read once, then kept
    few = statements()
    for number in range(20):
        create_contact(anna.company, Actor(people["rep"]), first_name="B", last_name=str(number))
    assert statements() == few
    assert {c.next_step_text for c in Contact.select()} == {"Visit"}


def test_r24_a_past_due_date_is_allowed(people, anna):
    add_activity(people["rep"], "follow_up", "Late", contact=anna,
                 due_at=datetime.datetime(2020, 1, 1, 9))
    assert Contact.get_by_id(anna.id).next_step_at.year == 2020


@pytest.mark.parametrize("date, time, message", [
    ("2026-02-30", "10:00", "real date"), ("2026-13-01", "", "real date"),
    ("tomorrow", "", "real date"), ("", "", "needs a due date"),
    ("2026-12-03", "25:00", "real time"), ("2026-12-03", "10:00; DROP", "real time"),
    ("99999-01-01", "", "real date"),
])
def test_r24_impossible_due_dates_are_refused(date, time, message):
    with pytest.raises(RuleViolation, match=message):
        parse_due(date, time)


def test_parse_due_reads_date_and_time():
    assert parse_due("2026-12-03", "10:30") == datetime.datetime(2026, 12, 3, 10, 30)
    assert parse_due("2026-12-03") == datetime.datetime(2026, 12, 3, 9, 0)


@pytest.mark.parametrize("kind, text, due, message", [
    ("note", "   ", None, "Write something"),
    ("note", "x" * (100 * 1024), None, "At most"),
    ("note", "bad \x00 byte", None, "not allowed"),
    ("follow_up", "Demo", None, "needs a due date"),
    ("follow_up", "", at(3), "next step"),
    ("lunch", "Fika", None, "kind of activity"),
])
def test_r24_bad_activities_are_refused_and_nothing_is_saved(people, anna, kind, text, due,
                                                             message):
    history = History.select().count()
    with pytest.raises(RuleViolation, match=message):
        add_activity(people["rep"], kind, text, contact=anna, due_at=due)
    assert Activity.select().count() == 0 and History.select().count() == history


def test_r24_the_text_limit_is_ten_thousand_characters(people, anna):
    add_activity(people["rep"], "note", "x" * TEXT_MAX, contact=anna)
    assert Activity.select().count() == 1


def test_r24_an_activity_on_a_deleted_contact_is_refused(people, anna):
    Contact.delete_by_id(anna.id)
    with pytest.raises(RuleViolation, match="no longer exists"):
        add_activity(people["rep"], "note", "Hello", contact=anna.id)
    assert Activity.select().count() == 0


def test_r24_a_rep_cannot_complete_edit_or_delete_someone_elses_follow_up(people, anna):
    follow_up = add_activity(people["rep"], "follow_up", "Demo", contact=anna, due_at=at(3))
    for change in (complete_activity, delete_activity,
                   lambda a, u: edit_activity(a, u, "Mine now", due_at=at(4))):
        with pytest.raises(NotAllowed):
            change(follow_up, people["other"])
    stored = Activity.get_by_id(follow_up.id)
    assert (stored.done_at, stored.text) == (None, "Demo")
    complete_activity(stored, people["manager"])
    assert Activity.get_by_id(follow_up.id).done_by_id == people["manager"].id


def test_r24_only_managers_give_follow_ups_to_others(people, anna):
    with pytest.raises(NotAllowed):
        add_activity(people["rep"], "follow_up", "Demo", contact=anna, due_at=at(3),
                     owner=people["other"])
    given = add_activity(people["manager"], "follow_up", "Demo", contact=anna, due_at=at(3),
                         owner=people["other"])
    assert given.owner_id == people["other"].id
    complete_activity(given, people["other"])  # its owner completes it


def test_r24_activities_share_the_timeline_with_history_newest_first_paged(people, anna):
    for day in range(1, 8):
        add_activity(people["rep"], "call", f"Call {day}", contact=anna, created_at=at(day))
    first = card_timeline(contact=anna, limit=5)
    assert len(first.entries) == 5 and first.older is not None
    stamps = [e.created_at for e in first.entries]
    assert stamps == sorted(stamps, reverse=True)
    rest = card_timeline(contact=anna, limit=5, before=first.older)
    seen = [getattr(e, "text", None) for e in first.entries + rest.entries]
    assert [t for t in seen if t] == [f"Call {day}" for day in range(7, 0, -1)]
    # The status set when Anna was created is in the timeline; its activity rows are not.
    kinds = {e.kind for e in first.entries + rest.entries}
    assert "lead_status" in kinds and "activity" not in kinds
    company = card_timeline(company=anna.company, limit=50)
    assert sum(1 for e in company.entries if getattr(e, "is_activity", False)) == 7
