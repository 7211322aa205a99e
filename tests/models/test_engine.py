"""The set rules of models/engine.py: each rule lives once (R8-R22, R30).

The Hypothesis test applies random sequences of lead status, category, owner
and sale changes once through the set path (a bulk update walking chunks, a
set of companies moved or told of a sale) and once one by one through the
single path a card or a drag uses, and compares everything the rules write:
contacts, companies, suggestions, history and the counter rows.
"""
import datetime
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from models import Actor, Category, Company, Contact, History, LeadStatus, User
from models import create_company, create_contact, engine
from models.board import move_card, undo_move
from models.bulk import run_bulk_now
from models.categorization import _sale_event, save_rules, set_lead_status_with_rules
from models.rules import RuleViolation, assign_owner, move_company
from models.schema import CategorySuggestion
from models.search import Matches
from models.tally import LeadDaily, LeadTally

CATEGORIES = ["Lead", "Marketing qualified lead (MQL)", "Opportunity", "Customer",
              "Lost opportunity"]
STATUSES = ["Open", "Contacting", "Qualified", "Disqualified", "Nurture"]
TRIGGERS = ["sale_registered", "sale_sold", "sale_lost"]


def user(email, role):
    return User.create(email=email, name=email.split("@")[0], password_hash="-", role=role)


def configure(targets, confirms):
    """Rules 1-3 and rule 4 for every status, each to a target (or off) by the draw."""
    settings = {}
    keys = [(t, None) for t in TRIGGERS] + \
        [("status_set", LeadStatus.get(LeadStatus.name == s).id) for s in STATUSES]
    for key, target, confirm in zip(keys, targets, confirms):
        if target < len(CATEGORIES):
            settings[key] = {"enabled": True, "ask_confirm": confirm,
                             "target_category_id": Category.get(name=CATEGORIES[target]).id}
    save_rules(settings, Actor())


def build(owners):
    """Six companies over the categories, each with one to three contacts."""
    actor = Actor(owners[0])
    companies, contacts = [], []
    for number, (category, size) in enumerate(
            [("Lead", 3), ("Lead", 1), ("Marketing qualified lead (MQL)", 2),
             ("Opportunity", 2), ("Customer", 1), ("Lost opportunity", 2)]):
        company = create_company(actor, name=f"Bolag {number}",
                                 category=Category.get(name=category))
        companies.append(company.id)
        for person in range(size):
            contacts.append(create_contact(company, actor, first_name=f"P{number}",
                                           last_name=str(person),
                                           owner=owners[(number + person) % 2]).id)
    return companies, contacts


def pick(ids, mask):
    chosen = [i for n, i in enumerate(ids) if mask >> n & 1]
    return chosen or ids[:1]


def apply_set(step, companies, contacts, owners, actor):
    kind, mask, value = step
    if kind == "status":
        status = LeadStatus.get(LeadStatus.name == STATUSES[value % len(STATUSES)])
        ids = pick(contacts, mask)
        run_bulk_now(Matches("contacts", [Contact.id.in_(ids)]), "status", status, actor)
    elif kind == "owner":
        ids = pick(contacts, mask)
        run_bulk_now(Matches("contacts", [Contact.id.in_(ids)]), "owner",
                     owners[value % len(owners)], actor)
    elif kind == "category":
        category = Category.get(name=CATEGORIES[value % len(CATEGORIES)])
        engine.move_companies(pick(companies, mask), category, actor)
    else:
        engine.sale_event(TRIGGERS[value % len(TRIGGERS)], pick(companies, mask), actor)


def apply_single(step, companies, contacts, owners, actor):
    kind, mask, value = step
    if kind == "status":
        status = LeadStatus.get(LeadStatus.name == STATUSES[value % len(STATUSES)])
        for contact_id in sorted(pick(contacts, mask)):
            contact = Contact.get_by_id(contact_id)
            try:
                set_lead_status_with_rules(contact, status, actor)
            except RuleViolation:
                pass  # R8: the bulk update skips it
    elif kind == "owner":
        for contact_id in sorted(pick(contacts, mask)):
            assign_owner(Contact.get_by_id(contact_id), owners[value % len(owners)], actor)
    elif kind == "category":
        category = Category.get(name=CATEGORIES[value % len(CATEGORIES)])
        for company_id in sorted(pick(companies, mask)):
            move_company(Company.get_by_id(company_id), category, actor)
    else:
        for company_id in sorted(pick(companies, mask)):
            _sale_event(TRIGGERS[value % len(TRIGGERS)], Company.get_by_id(company_id), actor)


def who(source, label):
    """A bulk update records itself as the author (R20); the one-by-one path is the user."""
    return ("user", "") if source == "bulk" else (source, label)


def snapshot():
    """Everything the rules write, without ids of new rows and clock times."""
    history = list(History.select().order_by(History.id))
    per_record = defaultdict(list)
    for h in history:
        per_record[(h.kind, h.company_id, h.contact_id)].append(
            (h.from_status_id, h.to_status_id, h.from_category_id, h.to_category_id,
             h.from_owner_id, h.to_owner_id, h.actor_id, *who(h.source, h.source_label)))
    return {
        "contacts": list(Contact.select(Contact.id, Contact.lead_status, Contact.owner,
                                        Contact.version).order_by(Contact.id).tuples()),
        "companies": list(Company.select(Company.id, Company.category, Company.owner)
                          .order_by(Company.id).tuples()),
        "suggestions": Counter((*row[:-2], who(row[-2], "")[0], row[-1])
                               for row in CategorySuggestion.select(
            CategorySuggestion.company, CategorySuggestion.rule,
            CategorySuggestion.from_category, CategorySuggestion.proposed_category,
            CategorySuggestion.state, CategorySuggestion.source,
            CategorySuggestion.caused_by).tuples()),
        "history": dict(per_record),
        "tally": sorted(LeadTally.select(LeadTally.owner_key, LeadTally.status_key,
                                         LeadTally.category_id, LeadTally.n)
                        .where(LeadTally.n != 0).tuples()),
        "daily": sorted(LeadDaily.select(LeadDaily.owner_key, LeadDaily.category_id,
                                         LeadDaily.n).where(LeadDaily.n != 0).tuples()),
    }


STEPS = st.lists(st.tuples(st.sampled_from(["status", "status", "owner", "category", "sale"]),
                           st.integers(1, 2 ** 11 - 1), st.integers(0, 9)),
                 min_size=1, max_size=8)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, targets=st.lists(st.integers(0, 6), min_size=8, max_size=8),
       confirms=st.lists(st.booleans(), min_size=8, max_size=8))
def test_r8_r22_the_set_path_and_one_by_one_write_the_same(db, steps, targets, confirms):
    """R8, R10, R11, R15-R17, R19, R20: every rule lives once, so a change of many
    records equals the same change made one record at a time."""
    with db.atomic() as example:
        owners = [user("rita@example.test", "manager"), user("rob@example.test", "rep")]
        configure(targets, confirms)
        companies, contacts = build(owners)
        actor = Actor(owners[0])
        results = []
        for apply in (apply_set, apply_single):
            with db.atomic() as attempt:
                for step in steps:
                    apply(step, companies, contacts, owners, actor)
                results.append(snapshot())
                attempt.rollback()
        example.rollback()
    assert results[0] == results[1]


# --- Single rules the set functions keep ---------------------------------------------------

@pytest.fixture
def rep(db):
    return user("rep@example.test", "rep")


@pytest.fixture
def manager(db):
    return user("maja@example.test", "manager")


def lead_with(count, owner=None):
    company = create_company(Actor(), name="Fjällbo AB", category=Category.get(name="Lead"))
    return company, [create_contact(company, Actor(), first_name="P", last_name=str(n),
                                    owner=owner) for n in range(count)]


def test_r30_rep_bulk_changes_skip_other_peoples_leads(rep, manager):
    """R30: a rep's set change skips records they do not own; a manager's does not."""
    _, people = lead_with(3, owner=rep)
    Contact.update(owner=manager).where(Contact.id == people[2].id).execute()
    qualified = LeadStatus.get(LeadStatus.name == "Qualified")
    report = engine.set_lead_status([p.id for p in people], qualified, Actor(rep), bulk=True)
    assert report.changed == [people[0].id, people[1].id]
    assert report.skipped == [(people[2].id, engine.NOT_YOURS)]
    report = engine.set_owner([p.id for p in people], rep, Actor(rep), bulk=True)
    assert report.skipped == [(people[2].id, engine.NOT_YOURS)]
    report = engine.set_lead_status([p.id for p in people], qualified, Actor(manager),
                                    bulk=True)
    assert report.changed == [people[2].id] and report.unchanged == 2
    # One at a time (a drag, the card) R30 does not apply.
    assert engine.set_lead_status([people[2].id], LeadStatus.initial(), Actor(rep)).changed


def test_r20_undo_puts_the_status_date_back(rep):
    """Undo restores the status date as it was: an accidental drag does not make an old
    lead look fresh (and time in status stays right)."""
    _, [anna] = lead_with(1, owner=rep)
    long_ago = datetime.datetime(2026, 1, 5, 9, 30)
    Contact.update(status_changed_at=long_ago).where(Contact.id == anna.id).execute()
    contact = Contact.get_by_id(anna.id)
    outcome, undo = move_card(contact.id, LeadStatus.get(LeadStatus.name == "Qualified"),
                              contact.version, Actor(rep))
    assert Contact.get_by_id(anna.id).status_changed_at != long_ago
    restored = undo_move(undo, Actor(rep))
    assert restored.lead_status.name == "Open"
    assert restored.status_changed_at == long_ago
    move = History.select().where(History.contact == anna.id,
                                  History.to_status == undo.status_id).order_by(
        History.id.desc()).first()
    assert move.source_label == "Undo"


def test_new_ids_come_back_in_order_without_reserving_any(db):
    """RETURNING pairs each new row with its id; rows written meanwhile take no one's id."""
    category = Category.get(name="Lead")
    ids = engine.create_companies([{"name": f"Bolag {n}", "category": category.id}
                                   for n in range(1200)], Actor())
    assert ids == sorted(ids) and len(set(ids)) == 1200
    assert [Company.get_by_id(i).name for i in (ids[0], ids[700], ids[-1])] == \
        ["Bolag 0", "Bolag 700", "Bolag 1199"]
