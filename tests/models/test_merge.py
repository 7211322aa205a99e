"""R28: duplicates and merging two contacts or two companies into one."""
import datetime

import pytest
from peewee import ForeignKeyField, Model, TextField, fn

import models
from models import (Actor, Category, Company, Contact, History, User, create_company,
                    create_contact, set_lead_status, tally_counts)
from models.errors import RuleViolation
from models.merge import (MergeRedirect, duplicate_companies, duplicate_contacts, merge,
                          merged_into, possible_duplicates, version_of)
from models.schema import LeadStatus, Sale
from models.search import Criteria
from models.selections import STATIC, SelectionMember, add_members, save_selection
from models.trash import delete_contact


def exact_counts():
    rows = (Contact.select(Contact.owner, Contact.lead_status, Company.category,
                           fn.COUNT(Contact.id))
            .join(Company).group_by(Contact.owner, Contact.lead_status, Company.category))
    return {(o, s, c): n for o, s, c, n in rows.tuples()}


@pytest.fixture
def people(db):
    rep = User.create(email="rep@example.test", name="Rita", password_hash="-", role="rep")
    other = User.create(email="olle@example.test", name="Olle", password_hash="-", role="rep")
    manager = User.create(email="boss@example.test", name="Maja", password_hash="-",
                          role="manager")
    lead = Category.get(name="Lead")
    firma = create_company(Actor(rep), name="Firma AB", category=lead, owner=rep)
    anna = create_contact(firma, Actor(rep), first_name="Anna", last_name="Berg", owner=rep)
    mail = create_contact(firma, Actor(rep), first_name="A.", last_name="Berg",
                          email="Anna.Berg@firma.se", owner=rep, utm_source="mässa",
                          utm_campaign="vår")
    anna.email = "anna.berg@FIRMA.se"
    anna.save()
    return {"rep": rep, "other": other, "manager": manager, "firma": firma, "anna": anna,
            "mail": mail}


def versions(*records):
    return tuple(version_of(type(r).get_by_id(r.id)) for r in records)


def test_r28_duplicates_by_email_any_case_and_by_name_at_the_same_company(people):
    anna, mail, firma = people["anna"], people["mail"], people["firma"]
    twin = create_contact(firma, Actor(), first_name="anna", last_name="BERG")
    elsewhere = create_company(Actor(), name="Annan AB", category=Category.get(name="Lead"))
    create_contact(elsewhere, Actor(), first_name="Anna", last_name="Berg")  # not the same
    assert [c.id for c in duplicate_contacts(anna)] == [mail.id, twin.id]
    assert [c.id for c in duplicate_contacts(mail)] == [anna.id]
    pairs = set(possible_duplicates())
    assert pairs == {(anna.id, mail.id), (anna.id, twin.id)}
    delete_contact(twin.id, Actor())  # R27: deleted ones are no duplicates
    assert [c.id for c in duplicate_contacts(anna)] == [mail.id]
    same = create_company(Actor(), name="firma ab", category=Category.get(name="Customer"))
    assert [c.id for c in duplicate_companies(firma)] == [same.id]


def test_r28_merge_keeps_everything_of_both(people):
    rep, anna, mail, firma = people["rep"], people["anna"], people["mail"], people["firma"]
    set_lead_status(Contact.get_by_id(mail.id), LeadStatus.get(name="Contacting"), Actor(rep))
    sale = Sale.create(company=firma, contact=mail, title="Avtal", amount=100,
                       sale_date=datetime.date(2026, 1, 1))
    both = save_selection(rep, "Both", Criteria("contacts"), kind=STATIC)
    only_mail = save_selection(rep, "Mail", Criteria("contacts"), kind=STATIC)
    add_members(both, rep, [anna.id, mail.id])
    add_members(only_mail, rep, [mail.id])
    mail_history = History.select().where(History.contact == mail.id).count()
    anna_history = History.select().where(History.contact == anna.id).count()

    survivor = merge("contacts", anna.id, mail.id, {"first_name": "survivor"},
                     versions(anna, mail), Actor(rep))

    assert not Contact.everything().where(Contact.id == mail.id).exists()
    # Values: the survivor's where it has one, the duplicate's where it has none.
    assert (survivor.first_name, survivor.email, survivor.utm_source, survivor.utm_campaign) == \
        ("Anna", "anna.berg@FIRMA.se", "mässa", "vår")
    assert Sale.get_by_id(sale.id).contact_id == anna.id
    assert History.select().where(History.contact == anna.id).count() == \
        anna_history + mail_history + 1
    merged = History.get(History.kind == History.MERGED)
    assert (merged.contact_id, merged.source_label) == (anna.id, str(mail.id))
    # Selection memberships of both, once each.
    assert [m.contact_id for m in SelectionMember.select().where(
        SelectionMember.selection == both.id)] == [anna.id]
    assert [m.contact_id for m in SelectionMember.select().where(
        SelectionMember.selection == only_mail.id)] == [anna.id]
    assert merged_into("contacts", mail.id) == anna.id
    assert tally_counts(("owner", "status", "category")) == exact_counts()


def test_r28_chosen_values_win_and_owner_changes_are_in_the_history(people):
    anna, mail, other = people["anna"], people["mail"], people["other"]
    Contact.update(owner=other.id).where(Contact.id == mail.id).execute()
    survivor = merge("contacts", anna.id, mail.id,
                     {"first_name": "loser", "email": "loser", "owner": "loser"},
                     versions(anna, mail), Actor(people["manager"]))
    assert (survivor.first_name, survivor.email, survivor.owner_id) == \
        ("A.", "Anna.Berg@firma.se", other.id)
    assert History.select().where(History.kind == History.OWNER,
                                  History.to_owner == other.id).exists()
    assert tally_counts(("owner", "status", "category")) == exact_counts()


def test_r28_rows_of_tables_added_later_are_re_pointed_without_a_change(people):
    """The merge reads the foreign keys from the models: a new table is covered."""
    class Activity(Model):  # not a BaseModel: other tests list those as the app's tables
        contact = ForeignKeyField(Contact, backref="+", on_delete="CASCADE")
        note = TextField(default="")

        class Meta:
            table_name = "test_activity"
            database = models.database

    models.database.create_tables([Activity])
    try:
        note = Activity.create(contact=people["mail"].id, note="Ringde")
        merge("contacts", people["anna"].id, people["mail"].id, {},
              versions(people["anna"], people["mail"]), Actor())
        assert Activity.get_by_id(note.id).contact_id == people["anna"].id
    finally:
        models.database.drop_tables([Activity])
        Activity._meta.remove_ref(Activity.contact)  # out of Contact._meta.backrefs again


def test_r28_merging_two_companies_moves_the_contacts(people):
    rep, firma = people["rep"], people["firma"]
    copy = create_company(Actor(rep), name="Firma", category=Category.get(name="Customer"),
                          owner=rep, city="Umeå")
    moved = create_contact(copy, Actor(rep), first_name="Bo", last_name="Ek", owner=rep)
    survivor = merge("companies", firma.id, copy.id, {}, versions(firma, copy), Actor(rep))
    assert survivor.city == "Umeå" and survivor.name == "Firma AB"
    assert Contact.get_by_id(moved.id).company_id == firma.id
    assert merged_into("companies", copy.id) == firma.id
    assert tally_counts(("owner", "status", "category")) == exact_counts()


def test_r28_a_chain_of_merges_redirects_to_the_last_survivor(people):
    anna, mail, firma = people["anna"], people["mail"], people["firma"]
    third = create_contact(firma, Actor(), first_name="Anna", last_name="Berg")
    merge("contacts", anna.id, mail.id, {}, versions(anna, mail), Actor())
    merge("contacts", third.id, anna.id, {}, versions(third, anna), Actor())
    assert merged_into("contacts", mail.id) == third.id
    assert MergeRedirect.select().count() == 2


@pytest.mark.parametrize("case", ["itself", "deleted", "stale", "not_yours"])
def test_r28_bad_merges_are_refused_and_change_nothing(people, case):
    anna, mail = people["anna"], people["mail"]
    actor = Actor(people["rep"])
    seen = versions(anna, mail)
    loser = mail.id
    if case == "itself":
        loser = anna.id
        seen = versions(anna, anna)
    elif case == "deleted":
        delete_contact(mail.id, Actor(people["manager"]))
    elif case == "stale":
        set_lead_status(Contact.get_by_id(mail.id), LeadStatus.get(name="Contacting"), actor)
    elif case == "not_yours":
        Contact.update(owner=people["other"].id).where(Contact.id == mail.id).execute()
    before = (Contact.everything().count(), History.select().count(),
              tally_counts(("owner", "status", "category")))
    with pytest.raises(RuleViolation):
        merge("contacts", anna.id, loser, {}, seen, actor)
    assert (Contact.everything().count(), History.select().count(),
            tally_counts(("owner", "status", "category"))) == before
    assert MergeRedirect.select().count() == 0


def test_r28_r8_r20_the_survivor_takes_the_duplicates_lead_status_with_its_history(people):
    anna, mail, rep = people["anna"], people["mail"], people["rep"]
    contacting = LeadStatus.get(name="Contacting")
    set_lead_status(Contact.get_by_id(mail.id), contacting, Actor(rep))
    survivor = merge("contacts", anna.id, mail.id, {"lead_status": "loser"},
                     versions(anna, mail), Actor(rep))
    assert survivor.lead_status_id == contacting.id
    change = (History.select().where(History.kind == History.LEAD_STATUS,
                                     History.contact == anna.id)
              .order_by(History.id.desc()).first())
    assert (change.from_status.name, change.to_status_id, change.actor_id) == \
        ("Open", contacting.id, rep.id)
    assert tally_counts(("owner", "status", "category")) == exact_counts()


def test_r28_by_default_the_survivor_keeps_its_lead_status(people):
    anna, mail, rep = people["anna"], people["mail"], people["rep"]
    set_lead_status(Contact.get_by_id(mail.id), LeadStatus.get(name="Contacting"), Actor(rep))
    survivor = merge("contacts", anna.id, mail.id, {}, versions(anna, mail), Actor(rep))
    assert survivor.lead_status.name == "Open"


def test_r8_a_lead_status_where_it_is_not_active_is_refused_and_nothing_is_merged(people):
    anna, mail, rep = people["anna"], people["mail"], people["rep"]
    set_lead_status(Contact.get_by_id(mail.id), LeadStatus.get(name="Contacting"), Actor(rep))
    customer = create_company(Actor(rep), name="Kund AB", category=Category.get(name="Customer"))
    Contact.update(company=customer.id).where(Contact.id == anna.id).execute()
    with pytest.raises(RuleViolation, match="not active"):
        merge("contacts", anna.id, mail.id, {"lead_status": "loser"}, versions(anna, mail),
              Actor(rep))
    assert Contact.get_by_id(mail.id) and Contact.get_by_id(anna.id).lead_status.name == "Open"
    assert not History.select().where(History.kind == History.MERGED).exists()


def test_r6_a_retired_status_chosen_refuses_the_merge(people):
    anna, mail, rep = people["anna"], people["mail"], people["rep"]
    nurture = LeadStatus.get(name="Nurture")
    set_lead_status(Contact.get_by_id(mail.id), nurture, Actor(rep))
    LeadStatus.update(retired=True).where(LeadStatus.id == nurture.id).execute()
    with pytest.raises(RuleViolation):
        merge("contacts", anna.id, mail.id, {"lead_status": "loser"}, versions(anna, mail),
              Actor(rep))
    assert Contact.get_or_none(Contact.id == mail.id) is not None


def test_r10_a_company_merge_resets_the_contacts_coming_into_lead_status(people):
    """R10 as for a category change: contacts of a duplicate in a category without lead
    status get the initial status when they join a company where it is active."""
    rep, firma = people["rep"], people["firma"]
    qualified = LeadStatus.get(name="Qualified")
    copy = create_company(Actor(rep), name="Firma", category=Category.get(name="Customer"),
                          owner=rep)
    kept = create_contact(copy, Actor(rep), first_name="Bo", last_name="Ek", owner=rep)
    Contact.update(lead_status=qualified.id).where(Contact.id == kept.id).execute()  # R11
    merge("companies", firma.id, copy.id, {}, versions(firma, copy), Actor(rep))
    moved = Contact.get_by_id(kept.id)
    assert moved.lead_status.is_initial
    reset = History.get(History.kind == History.LEAD_STATUS, History.contact == kept.id)
    assert (reset.from_status_id, reset.company_id) == (qualified.id, firma.id)
    assert tally_counts(("owner", "status", "category")) == exact_counts()


def test_r10_a_company_merge_between_lead_status_categories_keeps_the_statuses(people):
    rep, firma = people["rep"], people["firma"]
    copy = create_company(Actor(rep), name="Firma", category=Category.get(name="Lead"),
                          owner=rep)
    kept = create_contact(copy, Actor(rep), first_name="Bo", last_name="Ek", owner=rep)
    set_lead_status(Contact.get_by_id(kept.id), LeadStatus.get(name="Qualified"), Actor(rep))
    merge("companies", firma.id, copy.id, {}, versions(firma, copy), Actor(rep))
    assert Contact.get_by_id(kept.id).lead_status.name == "Qualified"


def test_r28_the_feed_names_the_merged_away_contact_and_its_owner(people):
    """Open boards hear that the duplicate's card is gone (its old id and owner)."""
    from models.feed import changes_after, latest_change_id, summarize
    anna, mail, other = people["anna"], people["mail"], people["other"]
    Contact.update(owner=other.id).where(Contact.id == mail.id).execute()
    last = latest_change_id()
    merge("contacts", anna.id, mail.id, {}, versions(anna, mail), Actor(people["manager"]))
    news = summarize(changes_after(last))
    assert {anna.id, mail.id} <= set(news["contacts"]) and other.id in news["owners"]
    firma, rep = people["firma"], people["rep"]
    copy = create_company(Actor(rep), name="Firma", category=Category.get(name="Lead"),
                          owner=rep)
    last = latest_change_id()
    merge("companies", firma.id, copy.id, {}, versions(firma, copy), Actor(rep))
    assert {firma.id, copy.id} <= set(summarize(changes_after(last))["companies"])


def test_r28_company_names_match_in_any_letter_case_with_nordic_letters_too(people):
    """"Åkesson AB" and "åkesson ab" are the same name on SQLite as on PostgreSQL (SQLite's
    LOWER() folds only A-Z): created, renamed, merged or met by a web form."""
    from models import update_company
    from models.webforms import find_company_by_name
    lead, rep = Category.get(name="Lead"), people["rep"]
    first = create_company(Actor(rep), name="Åkesson AB", category=lead, owner=rep)
    second = create_company(Actor(rep), name="åkesson ab", category=lead, owner=rep)
    other = create_company(Actor(rep), name="Ökesson AB", category=lead, owner=rep)
    assert [c.id for c in duplicate_companies(first)] == [second.id]
    assert find_company_by_name("ÅKESSON AB").id == first.id
    update_company(other, Actor(rep), name="ÅKESSON  ab")
    assert [c.id for c in duplicate_companies(first)] == [second.id, other.id]
    survivor = merge("companies", second.id, first.id, {"name": "loser"},
                     versions(second, first), Actor(rep))
    assert (survivor.name, survivor.name_key) == ("Åkesson AB", "åkesson ab")
    assert [c.id for c in duplicate_companies(survivor)] == [other.id]


def test_r25_r28_after_a_merge_the_survivors_next_steps_include_the_duplicates(people):
    from models.activities import add_activity
    rep, anna, mail, firma = people["rep"], people["anna"], people["mail"], people["firma"]
    soon = datetime.datetime(2026, 12, 3, 10, 0)
    add_activity(rep, "follow_up", "Demo", contact=mail, due_at=soon)
    merge("contacts", anna.id, mail.id, {}, versions(anna, mail), Actor(rep))
    assert (Contact.get_by_id(anna.id).next_step_at,
            Contact.get_by_id(anna.id).next_step_text) == (soon, "Demo")
    # A company's follow-up comes along to the surviving company's contacts.
    copy = create_company(Actor(rep), name="Firma", category=Category.get(name="Lead"),
                          owner=rep)
    add_activity(rep, "follow_up", "Visit", company=copy, due_at=soon.replace(day=1))
    merge("companies", firma.id, copy.id, {}, versions(firma, copy), Actor(people["manager"]))
    assert Contact.get_by_id(anna.id).next_step_text == "Visit"
