"""The counter rows the board and dashboard count from stay equal to a GROUP BY
of the live contacts, whatever changes them (triggers of migrations 0012, 0013
and 0019: deleted contacts are counted out, R27)."""
import datetime

from hypothesis import HealthCheck, given, settings, strategies as st
from peewee import fn

import models
from models import (Actor, Category, Company, Contact, LeadStatus, User, assign_owner,
                    create_company, create_contact, daily_counts, move_company,
                    set_lead_status, tally_counts)
from models.bulk import bulk_set_owner
from models.errors import RuleViolation
from models.search import Matches
from models.trash import delete_company, delete_contact, restore_company, restore_contact


def exact_counts():
    rows = (Contact.select(Contact.owner, Contact.lead_status, Company.category,
                           fn.COUNT(Contact.id))
            .join(Company).group_by(Contact.owner, Contact.lead_status, Company.category))
    return {(owner, status, category): n for owner, status, category, n in rows.tuples()}


def exact_daily(owner_id, category_ids):
    """Contacts created per day, of one owner in some categories, by a GROUP BY."""
    day = fn.DATE(Contact.created_at).coerce(False)
    rows = (Contact.select(day, fn.COUNT(Contact.id)).join(Company)
            .where(Contact.owner == owner_id, Company.category.in_(category_ids))
            .group_by(day).order_by(day).tuples())
    return [(d if isinstance(d, datetime.date) else datetime.date.fromisoformat(str(d)[:10]), n)
            for d, n in rows]


def test_counts_by_one_key_and_filters(db):
    rep = User.create(email="rep@example.test", name="Rep", password_hash="-")
    lead, customer = Category.get(name="Lead"), Category.get(name="Customer")
    first = create_company(Actor(), name="A", category=lead)
    other = create_company(Actor(), name="B", category=customer)
    for n in range(3):
        create_contact(first, Actor(), first_name="A", last_name=str(n), owner=rep)
    create_contact(first, Actor(), first_name="B", last_name="x")
    create_contact(other, Actor(), first_name="C", last_name="y", owner=rep)
    open_id = LeadStatus.initial().id
    assert tally_counts("status", category_ids=[lead.id], with_status=True) == {open_id: 4}
    assert tally_counts("owner") == {rep.id: 4, None: 1}
    assert tally_counts("status", owner_ids=[rep.id]) == {open_id: 3, None: 1}
    assert tally_counts("category", owner_ids=[rep.id]) == {lead.id: 3, customer.id: 1}
    assert tally_counts("status", category_ids=[]) == {}


START, END = datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)
OPS = st.lists(st.tuples(st.sampled_from(["status", "move", "owner", "bulk_owner", "new",
                                          "delete", "raw_update", "soft_delete",
                                          "delete_company", "restore"]),
                         st.integers(0, 5), st.integers(0, 5)), max_size=20)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_the_tally_matches_the_contacts_after_any_changes(db, ops):
    with models.database.atomic() as transaction:
        users = [User.create(email=f"u{n}@example.test", name=f"U{n}", password_hash="-")
                 for n in range(3)]
        categories = list(Category.ordered())
        statuses = list(LeadStatus.ordered())
        companies = [create_company(Actor(), name=f"C{n}", category=categories[n])
                     for n in range(3)]
        contacts = [create_contact(companies[n % 3], Actor(), first_name="X", last_name=str(n),
                                   owner=users[n % 3]) for n in range(6)]
        for n, contact in enumerate(contacts):  # created on a few different days
            Contact.update(created_at=datetime.datetime(2026, 3, 1 + n % 3, 9 + n)) \
                .where(Contact.id == contact.id).execute()
        for op, a, b in ops:
            contact = Contact.get_or_none(Contact.id == contacts[a].id)
            if op == "restore":  # R27: a restored contact or company counts again
                try:
                    restore_company(companies[b % 3].id, Actor())
                    restore_contact(contacts[a].id, Actor())
                except RuleViolation:
                    pass
            elif op == "delete_company" and Company.get_or_none(Company.id == companies[b % 3].id):
                delete_company(companies[b % 3].id, Actor())
            if contact is None or op in ("restore", "delete_company"):
                assert tally_counts(("owner", "status", "category")) == exact_counts(), op
                continue
            if op == "status" and contact.company.category.lead_status_active:
                set_lead_status(contact, statuses[b % len(statuses)], Actor())
            elif op == "move" and Company.get_or_none(Company.id == companies[a % 3].id):
                move_company(Company.get_by_id(companies[a % 3].id),
                             categories[b % len(categories)], Actor())
            elif op == "owner":
                assign_owner(contact, users[b % 3] if b < 3 else None, Actor())
            elif op == "bulk_owner":
                bulk_set_owner(Matches("contacts", [Contact.company == companies[a % 3].id]),
                               users[b % 3], Actor())
            elif op == "new" and Company.get_or_none(Company.id == companies[b % 3].id):
                contacts.append(create_contact(companies[b % 3], Actor(), first_name="N",
                                               last_name=str(len(contacts))))
            elif op == "delete":
                models.History.delete().where(models.History.contact == contact.id).execute()
                contact.delete_instance()
            elif op == "soft_delete":
                delete_contact(contact.id, Actor())
            elif op == "raw_update":
                # Writes that bypass the rules are counted too.
                Contact.update(company=companies[b % 3].id, lead_status=None,
                               created_at=datetime.datetime(2026, 3, 1 + b, 12)) \
                    .where(Contact.id == contact.id).execute()
            assert tally_counts(("owner", "status", "category")) == exact_counts(), op
            for user in users:
                for chosen in ([categories[0].id], [c.id for c in categories]):
                    assert sorted(daily_counts(START, END, [user.id], chosen)) == \
                        exact_daily(user.id, chosen), op
        transaction.rollback()
