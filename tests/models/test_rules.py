"""The rules of SPEC.md, one or more tests each; the rule id is in every name."""
import pytest

from models import (CATEGORY_GROUPS, Actor, Category, Company, Contact, History, LeadStatus,
                    RuleViolation, User, assign_owner, create_company, create_contact,
                    delete_category,
                    lead_status_is_active, make_initial_status, move_company,
                    reorder_lead_statuses, restore_lead_status, retire_category,
                    retire_lead_status, set_category_group, set_lead_status,
                    set_lead_status_enabled, timeline)
from models.search import ContactSearch, search_contacts


@pytest.fixture
def rep(db):
    user = User(email="rep@example.test", name="Rita Rep", role="rep")
    user.set_password("secret")
    user.save()
    return Actor(user)


def category(name):
    return Category.get(Category.name == name)


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


@pytest.fixture
def lead_company(rep):
    return create_company(rep, name="Fjällbo AB", category=category("Lead"))


@pytest.fixture
def customer_company(rep):
    return create_company(rep, name="Kundgården AB", category=category("Customer"))


def test_r1_every_category_has_one_of_the_fixed_groups(db):
    groups = {c.group for c in Category.select()}
    assert groups <= set(CATEGORY_GROUPS)
    assert list(CATEGORY_GROUPS) == ["potential", "customer", "partner", "lost", "other"]
    partner = category("Partner")
    set_category_group(partner, "lost")
    assert category("Partner").group == "lost"
    with pytest.raises(RuleViolation):
        set_category_group(partner, "friends")


def test_r2_lead_status_can_be_enabled_only_in_potential_customer_group(db):
    opportunity = category("Opportunity")
    set_lead_status_enabled(opportunity, True)
    assert category("Opportunity").lead_status_enabled
    customer = category("Customer")
    with pytest.raises(RuleViolation, match="Potential customer"):
        set_lead_status_enabled(customer, True)
    assert not category("Customer").lead_status_enabled


def test_r2_regrouping_out_of_potential_customer_clears_the_flag(db):
    set_category_group(category("Lead"), "other")
    assert not category("Lead").lead_status_enabled


def test_r3_new_database_has_default_categories(db):
    rows = {c.name: (c.group, c.lead_status_enabled) for c in Category.select()}
    assert rows == {
        "Lead": ("potential", True),
        "Marketing qualified lead (MQL)": ("potential", True),
        "Opportunity": ("potential", False),
        "Lost opportunity": ("potential", False),
        "Customer": ("customer", False),
        "Partner": ("partner", False),
    }


def test_r4_category_in_use_is_retired_not_deleted(lead_company):
    lead = category("Lead")
    with pytest.raises(RuleViolation, match="in use"):
        delete_category(lead)
    retire_category(lead)
    assert lead not in list(Category.ordered())
    assert Company.get_by_id(lead_company.id).category_id == lead.id
    unused = Category.create(name="Unused")
    delete_category(unused)
    assert not Category.select().where(Category.name == "Unused").exists()


def test_r5_default_statuses_in_order_with_descriptions(db):
    statuses = list(LeadStatus.ordered())
    assert [s.name for s in statuses] == ["Open", "Contacting", "Qualified", "Disqualified",
                                          "Nurture"]
    assert statuses[0].description == "No sales contact made yet."
    assert all(s.description for s in statuses)


def test_r5_statuses_can_be_added_and_reordered(db):
    from models import add_lead_status
    new = add_lead_status("Meeting booked", "A first meeting is in the calendar.")
    assert list(LeadStatus.ordered())[-1] == new
    ids = [s.id for s in LeadStatus.ordered()]
    reorder_lead_statuses([ids[-1]] + ids[:-1])
    assert list(LeadStatus.ordered())[0].name == "Meeting booked"


def test_r6_exactly_one_initial_status_which_cannot_be_retired(db):
    assert LeadStatus.select().where(LeadStatus.is_initial == True).count() == 1  # noqa: E712
    with pytest.raises(RuleViolation):
        retire_lead_status(LeadStatus.initial())
    make_initial_status(status("Contacting"))
    assert LeadStatus.initial().name == "Contacting"
    assert LeadStatus.select().where(LeadStatus.is_initial == True).count() == 1  # noqa: E712


def test_r6_retired_status_keeps_contacts_and_is_restorable(lead_company, rep):
    contact = create_contact(lead_company, rep, first_name="Ola", last_name="Nordmann")
    nurture = status("Nurture")
    set_lead_status(contact, nurture, rep)
    retire_lead_status(nurture)
    assert nurture not in list(LeadStatus.ordered())
    assert Contact.get_by_id(contact.id).lead_status_id == nurture.id
    other = create_contact(lead_company, rep, first_name="Kari", last_name="Nordmann")
    with pytest.raises(RuleViolation, match="retired"):
        set_lead_status(other, nurture, rep)
    restore_lead_status(nurture)
    assert set_lead_status(other, nurture, rep)


def test_r7_status_is_per_contact(lead_company, rep):
    """R7: lead status is stored per contact; two contacts of one company differ."""
    anna = create_contact(lead_company, rep, first_name="Anna", last_name="Berg")
    bo = create_contact(lead_company, rep, first_name="Bo", last_name="Berg")
    set_lead_status(anna, status("Qualified"), rep)
    assert Contact.get_by_id(anna.id).lead_status.name == "Qualified"
    assert Contact.get_by_id(bo.id).lead_status.name == "Open"


def test_r8_status_active_only_in_enabled_potential_customer_category(lead_company,
                                                                      customer_company, rep):
    in_lead = create_contact(lead_company, rep, first_name="A", last_name="A")
    in_customer = create_contact(customer_company, rep, first_name="B", last_name="B")
    assert lead_status_is_active(in_lead)
    assert not lead_status_is_active(in_customer)
    with pytest.raises(RuleViolation, match="not active"):
        set_lead_status(in_customer, status("Qualified"), rep)
    # Potential customer but not enabled: still not active.
    move_company(lead_company, category("Opportunity"), rep)
    assert not lead_status_is_active(Contact.get_by_id(in_lead.id))


def test_r9_new_contact_gets_initial_status_only_when_active(lead_company, customer_company, rep):
    assert create_contact(lead_company, rep, first_name="A", last_name="A").lead_status.name \
        == "Open"
    assert create_contact(customer_company, rep, first_name="B",
                          last_name="B").lead_status_id is None


def test_r10_moving_into_enabled_category_resets_every_contact_to_initial(customer_company, rep):
    a = create_contact(customer_company, rep, first_name="A", last_name="A")
    b = create_contact(customer_company, rep, first_name="B", last_name="B")
    Contact.update(lead_status=status("Disqualified")).where(Contact.id == b.id).execute()
    move_company(customer_company, category("Lead"), rep)
    assert {c.lead_status.name for c in Contact.select().where(Contact.id << [a.id, b.id])} \
        == {"Open"}
    rows = History.select().where(History.kind == History.LEAD_STATUS)
    assert {(r.contact_id, r.from_status_id) for r in rows} == {
        (a.id, None), (b.id, status("Disqualified").id)}


def test_r10_moving_between_enabled_categories_keeps_statuses(lead_company, rep):
    a = create_contact(lead_company, rep, first_name="A", last_name="A")
    set_lead_status(a, status("Contacting"), rep)
    move_company(lead_company, category("Marketing qualified lead (MQL)"), rep)
    assert Contact.get_by_id(a.id).lead_status.name == "Contacting"


def test_r11_moving_out_keeps_value_hidden_and_searchable(lead_company, rep):
    a = create_contact(lead_company, rep, first_name="A", last_name="A")
    set_lead_status(a, status("Qualified"), rep)
    move_company(lead_company, category("Customer"), rep)
    kept = Contact.get_by_id(a.id)
    assert kept.lead_status.name == "Qualified"
    assert not lead_status_is_active(kept)
    found = search_contacts(ContactSearch(lead_status_ids=[status("Qualified").id]))
    assert [c.id for c in found] == [a.id]


def test_r12_contact_is_searched_by_its_company_category_and_group(lead_company,
                                                                   customer_company, rep):
    a = create_contact(lead_company, rep, first_name="A", last_name="A")
    b = create_contact(customer_company, rep, first_name="B", last_name="B")
    by_group = search_contacts(ContactSearch(category_groups=["customer"]))
    assert [c.id for c in by_group] == [b.id]
    by_category = search_contacts(ContactSearch(category_ids=[category("Lead").id]))
    assert [c.id for c in by_category] == [a.id]
    # The contact carries no category of its own: moving the company moves it.
    move_company(customer_company, category("Partner"), rep)
    assert [c.id for c in search_contacts(ContactSearch(category_groups=["partner"]))] == [b.id]


def test_r13_every_status_has_a_description_for_the_tooltip(db):
    """R13: the tooltip text is the status description (the card test checks the title)."""
    assert all(s.description.strip() for s in LeadStatus.ordered(include_retired=True))


def test_r20_status_and_category_changes_are_recorded(lead_company, rep):
    a = create_contact(lead_company, rep, first_name="A", last_name="A")
    set_lead_status(a, status("Contacting"), rep)
    move_company(lead_company, category("Customer"), Actor.system("Import"))
    rows = list(timeline(company=lead_company))
    latest = rows[0]
    assert (latest.kind, latest.from_category.name, latest.to_category.name,
            latest.source, latest.source_label) == ("category", "Lead", "Customer",
                                                     "system", "Import")
    changes = [(r.from_status.name if r.from_status else None, r.to_status.name)
               for r in timeline(contact=a)]
    assert changes == [("Open", "Contacting"), (None, "Open")]
    assert all(r.actor.email == "rep@example.test" for r in timeline(contact=a))


def test_r20_unchanged_values_record_nothing(lead_company, rep):
    a = create_contact(lead_company, rep, first_name="A", last_name="A")
    before = History.select().count()
    assert not set_lead_status(a, status("Open"), rep)
    assert not move_company(lead_company, category("Lead"), rep)
    assert History.select().count() == before


def test_r20_owner_changes_are_recorded_with_both_owners_and_who(lead_company, rep):
    ola = User.create(email="ola@example.test", name="Ola", password_hash="-")
    contact = create_contact(lead_company, rep, first_name="Anna", last_name="Berg")
    version = contact.version

    assert assign_owner(contact, ola, rep) is True
    assert assign_owner(contact, ola, rep) is False  # nothing changed, nothing recorded
    assert assign_owner(contact, None, rep) is True

    rows = list(History.select().where(History.kind == History.OWNER).order_by(History.id))
    assert [(r.from_owner_id, r.to_owner_id, r.actor_id) for r in rows] == \
        [(None, ola.id, rep.user.id), (ola.id, None, rep.user.id)]
    fresh = Contact.get_by_id(contact.id)
    assert fresh.owner_id is None and fresh.version == version + 2
    entries = [e for e in timeline(contact=contact) if e.kind == History.OWNER]
    assert entries[0].from_owner.name == "Ola" and entries[0].actor.name == "Rita Rep"


def test_r20_a_former_colleague_gets_no_new_leads(lead_company, rep):
    ola = User.create(email="ola@example.test", name="Ola", password_hash="-", active=False)
    contact = create_contact(lead_company, rep, first_name="Anna", last_name="Berg")
    with pytest.raises(RuleViolation, match="no longer works here"):
        assign_owner(contact, ola, rep)
    assert Contact.get_by_id(contact.id).owner_id is None
    assert not History.select().where(History.kind == History.OWNER).exists()
