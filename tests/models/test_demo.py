"""Demo data (models/demo.py): a full, deterministic database that keeps the rules."""
import datetime
import shutil
from collections import Counter, defaultdict

import pytest
from peewee import JOIN

import models
from models import (Actor, Category, Company, Contact, History, LeadStatus, User,
                    create_company, create_contact)
from models.demo import DEMO_PASSWORD, DEMO_USERS, database_is_empty, load_demo
from models.webforms import WebForm, clean_submission, submit_web_form

TODAY = datetime.date(2026, 3, 15)


@pytest.fixture
def demo(db):
    return load_demo(contacts=1000, seed=7, today=TODAY)


def contacts_with_category():
    return list(Contact.select(Contact, Company, Category).join(Company).join(Category))


def history_by(key):
    """History rows of changes (not of activities, R24) grouped by `key` (a function of
    the row), oldest first."""
    rows = defaultdict(list)
    for row in History.select().where(History.kind != History.ACTIVITY).order_by(
            History.created_at, History.id):
        rows[key(row)].append(row)
    return rows


def demo_rows():
    """What two loads must agree on: name, company, status and creation time."""
    return list(Contact
                .select(Contact.first_name, Contact.last_name, Company.name, LeadStatus.name,
                        Contact.created_at)
                .join_from(Contact, Company)
                .join_from(Contact, LeadStatus, JOIN.LEFT_OUTER)
                .order_by(Contact.id)
                .tuples())


def test_demo_has_the_companies_and_exactly_the_contacts_asked_for(demo):
    assert Company.select().count() >= 200
    assert Contact.select().count() == 1000
    assert demo["companies"] == Company.select().count()
    assert demo["contacts"] == 1000
    # each demo activity (R24) writes its own history row for the live feed
    assert demo["history"] + demo["activities"] == History.select().count()
    sizes = Counter(contact.company_id for contact in Contact.select(Contact.company))
    assert len(sizes) == Company.select().count()
    assert 1 <= min(sizes.values()) and max(sizes.values()) <= 10


def test_demo_companies_use_every_category_mostly_the_active_ones(demo):
    used = Counter(company.category_id for company in Company.select(Company.category))
    categories = list(Category.ordered())
    assert {c.id for c in categories} == set(used)
    active = sum(used[c.id] for c in categories if c.lead_status_active)
    assert active > sum(used.values()) / 2


def test_demo_contacts_use_every_status_and_no_retired_one(demo):
    used = {c.lead_status_id for c in Contact.select(Contact.lead_status)} - {None}
    assert used == {s.id for s in LeadStatus.ordered()}


def test_r8_r9_r10_every_contact_in_an_active_category_has_a_status(demo):
    contacts = contacts_with_category()
    active = [c for c in contacts if c.company.category.lead_status_active]
    assert active and all(c.lead_status_id for c in active)
    assert all(c.status_changed_at for c in contacts if c.lead_status_id)


def test_r11_contacts_moved_out_of_the_funnel_keep_their_status(demo):
    inactive = [c for c in contacts_with_category()
                if not c.company.category.lead_status_active]
    kept = [c for c in inactive if c.lead_status_id]
    assert kept and len(kept) < len(inactive)
    moves = {row.company_id: row.created_at for row in
             History.select().where(History.kind == History.CATEGORY,
                                    History.from_category.is_null(False))}
    # The status was set while the company was still in the funnel.
    assert all(c.status_changed_at < moves[c.company_id] for c in kept)


def test_r20_the_last_status_row_is_the_current_status(demo):
    initial = LeadStatus.initial().id
    rows = history_by(lambda row: row.contact_id)
    for contact in Contact.select():
        chain = rows.get(contact.id, [])
        if contact.lead_status_id is None:
            assert chain == []
            continue
        assert chain[0].from_status_id is None and chain[0].to_status_id == initial
        assert chain[0].created_at == contact.created_at
        for before, after in zip(chain, chain[1:]):
            assert after.from_status_id == before.to_status_id
            assert after.created_at > before.created_at
        assert chain[-1].to_status_id == contact.lead_status_id
        assert chain[-1].created_at == contact.status_changed_at
    sources = Counter((row.source, row.source_label) for row in History.select())
    assert sources[("form", "Web form: Website contact")] > 0
    assert sources[("user", "")] > sources[("form", "Web form: Website contact")]


def test_r20_every_company_has_its_category_history(demo):
    rows = history_by(lambda row: row.company_id if row.kind == History.CATEGORY else None)
    for company in Company.select():
        chain = rows[company.id]
        assert chain[0].from_category_id is None
        assert chain[0].created_at == company.created_at
        assert chain[-1].to_category_id == company.category_id
        for before, after in zip(chain, chain[1:]):
            assert after.from_category_id == before.to_category_id
            assert after.created_at > before.created_at


def test_demo_history_and_rows_are_never_after_today(demo):
    moments = ([row.created_at for row in History.select(History.created_at)]
               + [c.created_at for c in Contact.select(Contact.created_at)]
               + [c.created_at for c in Company.select(Company.created_at)])
    assert max(moments).date() <= TODAY
    assert min(moments).date() >= TODAY - datetime.timedelta(days=300)


def test_demo_users_exist_and_log_in_with_the_demo_password(demo):
    users = {u.email: u for u in User.select()}
    for email, name, role, language in DEMO_USERS:
        assert (users[email].name, users[email].role, users[email].language) == (
            name, role, language)
    assert [role for *_, role, _ in DEMO_USERS].count("rep") == 6
    # One hash is shared, so checking each user costs one check per user.
    assert all(users[email].check_password(DEMO_PASSWORD) for email, *_ in DEMO_USERS)
    assert not users["admin@tavla.test"].check_password("wrong")
    assert demo["users"] == len(DEMO_USERS)


def test_demo_most_contacts_have_a_lead_source(demo):
    contacts = list(Contact.select())
    with_source = [c for c in contacts if c.utm_source]
    assert len(with_source) > 0.6 * len(contacts)
    assert all(c.utm_medium for c in with_source)
    assert {c.utm_source for c in with_source} == {
        "google", "linkedin", "newsletter", "webinar", "facebook", "referral", "event"}


def test_demo_is_deterministic(db, template_database, tmp_path):
    load_demo(contacts=300, seed=11, today=TODAY)
    first = demo_rows()
    second_path = tmp_path / "second.db"
    shutil.copy(template_database, second_path)
    second = models.bind_database(f"sqlite:///{second_path}")
    with second.connection_context():
        load_demo(contacts=300, seed=11, today=TODAY)
        assert demo_rows() == first
    # Another seed gives other data.
    third_path = tmp_path / "third.db"
    shutil.copy(template_database, third_path)
    third = models.bind_database(f"sqlite:///{third_path}")
    with third.connection_context():
        load_demo(contacts=300, seed=12, today=TODAY)
        assert demo_rows() != first


def test_database_is_empty_before_the_demo_and_not_after(db):
    assert database_is_empty()
    load_demo(contacts=20, today=TODAY)
    assert not database_is_empty()


def test_demo_adds_to_existing_rows_without_clashing_ids(db):
    owner = User.create(email="rep@tavla.test", name="Rita", password_hash="x")
    actor = Actor(owner)
    company = create_company(actor, name="Fjällbo AB", category=Category.get(name="Lead"))
    create_contact(company, actor, first_name="Maja", last_name="Berg")
    summary = load_demo(contacts=50, today=TODAY)
    # The existing rep is reused, not created again.
    assert summary["users"] == len(DEMO_USERS) - 1
    assert User.select().count() == len(DEMO_USERS)
    assert Contact.select().count() == 51
    assert Company.get_by_id(company.id).name == "Fjällbo AB"
    # Rows created after the demo still get fresh ids.
    later = create_company(actor, name="Later AB", category=Category.get(name="Lead"))
    assert later.id == Company.select().count()


def test_r22_a_web_lead_of_the_demo_gets_an_owner(demo):
    """The demo's web form hands new leads to its reps in turn (R21, R22)."""
    form = WebForm.get(WebForm.name == "Website contact")
    owners = []
    for number in range(3):
        submission = clean_submission(form, {"name": f"Visitor {number}",
                                             "email": f"visitor{number}@example.test"})
        owners.append(submit_web_form(form, submission).contact.owner_id)
    reps = {u.id for u in User.select().where(User.role == "rep")}
    assert None not in owners and set(owners) <= reps and len(set(owners)) == 3


def test_r25_demo_reps_have_follow_ups_some_overdue_some_today(demo):
    """The demo shows next steps on the board and work on My day at once."""
    from models.schema import Activity
    follow_ups = list(Activity.select().where(Activity.kind == "follow_up"))
    assert demo["activities"] == Activity.select().count() > 0
    assert any(f.due_at.date() < TODAY for f in follow_ups)
    assert any(f.due_at.date() == TODAY for f in follow_ups)
    assert Contact.select().where(Contact.next_step_at.is_null(False)).count() == \
        len({f.contact_id for f in follow_ups})


def test_demo_companies_carry_their_duplicate_matching_key(demo):
    from models.schema import name_key
    rows = list(Company.select(Company.name, Company.name_key).tuples())
    assert rows and all(key == name_key(name) for name, key in rows)
