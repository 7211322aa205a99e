"""Bulk update of lead status and owner: R8 skips, rules per company (R15-R17)."""
import pytest

from models import Actor, Category, Company, Contact, History, LeadStatus, User
from models.bulk import NOT_ACTIVE, bulk_set_lead_status, bulk_set_owner
from models.categorization import save_rules
from models.rules import RuleViolation, create_company, create_contact
from models.schema import CategorySuggestion
from models.search import Criteria, Matches, parse_criteria, run_criteria


@pytest.fixture
def rita(db):
    """A manager: bulk changes of other people's leads are a manager's right (R30)."""
    return User.create(email="rita@example.test", name="Rita", password_hash="-",
                       role="manager")


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


def category(name):
    return Category.get(Category.name == name)


def company_with_contacts(name, category_name, count, owner=None):
    company = create_company(Actor(), name=name, category=category(category_name))
    return company, [create_contact(company, Actor(), first_name=f"{name[:3]}{n}",
                                    last_name="X", owner=owner) for n in range(count)]


def all_contacts():
    return run_criteria(Criteria())


def test_r8_mix_of_eligible_and_ineligible_contacts(rita):
    """Contacts at a customer (lead status not active) are skipped and reported."""
    lead, lead_people = company_with_contacts("Fjällbo AB", "Lead", 3)
    customer, customer_people = company_with_contacts("Kund AB", "Customer", 2)
    Contact.update(lead_status=status("Qualified")).where(
        Contact.company == customer).execute()  # R11: kept from earlier
    contacting = status("Contacting")
    Contact.update(lead_status=contacting).where(Contact.id == lead_people[0].id).execute()

    report = bulk_set_lead_status(all_contacts(), contacting, Actor(rita))

    assert (report.updated, report.unchanged, report.skipped) == (2, 1, 2)
    assert {row.name for row in report.skipped_rows} == {"Kun0 X", "Kun1 X"}
    assert {row.reason for row in report.skipped_rows} == {NOT_ACTIVE}
    assert report.skipped_rows[0].category_name == "Customer"
    assert Contact.select().where(Contact.lead_status == contacting).count() == 3
    assert Contact.select().where(Contact.company == customer,
                                  Contact.lead_status == status("Qualified")).count() == 2
    # R20: each change is in the history, made by the user through a bulk update.
    changes = History.select().where(History.to_status == contacting, History.source == "bulk")
    assert changes.count() == 2 and {h.actor_id for h in changes} == {rita.id}


def test_only_the_ticked_rows_and_missing_ones_are_counted(rita):
    _, people = company_with_contacts("Fjällbo AB", "Lead", 4)
    report = bulk_set_lead_status(all_contacts(), status("Nurture"), Actor(rita),
                                  ids=[people[0].id, people[2].id, 999999])
    assert (report.updated, report.missing) == (2, 1)
    assert {c.id for c in Contact.select().where(Contact.lead_status == status("Nurture"))} \
        == {people[0].id, people[2].id}


def test_ticked_rows_outside_the_list_are_not_touched(rita):
    _, inside = company_with_contacts("In AB", "Lead", 1)
    _, outside = company_with_contacts("Out AB", "Lead", 1)
    matches = run_criteria(parse_criteria({"version": 1, "criteria": [
        {"field": "name", "op": "contains", "value": "In 0"}]}))
    report = bulk_set_lead_status(matches, status("Qualified"), Actor(rita),
                                  ids=[inside[0].id, outside[0].id])
    assert (report.updated, report.missing) == (1, 1)
    assert Contact.get_by_id(outside[0].id).lead_status.name == "Open"


def enable_rule(target, ask_confirm, on="Qualified"):
    save_rules({("status_set", status(on).id): {
        "enabled": True, "target_category_id": category(target).id,
        "ask_confirm": ask_confirm}}, Actor())


def test_r17_confirm_rule_leaves_one_pending_suggestion_per_company(rita):
    enable_rule("Opportunity", ask_confirm=True)
    first, _ = company_with_contacts("Ett AB", "Lead", 3)
    second, _ = company_with_contacts("Två AB", "Lead", 2)

    report = bulk_set_lead_status(all_contacts(), status("Qualified"), Actor(rita))

    assert report.updated == 5
    assert [s.company_id for s in report.suggestions] == [first.id, second.id]
    pending = CategorySuggestion.select().where(CategorySuggestion.state == "pending")
    assert pending.count() == 2
    assert {(s.source, s.caused_by_id) for s in pending} == {("bulk", rita.id)}
    assert Company.get_by_id(first.id).category.name == "Lead"


def test_r15_r8_change_rule_moves_the_company_once_and_later_contacts_are_skipped(rita):
    """Rule 4 without confirm moves the company to Opportunity, where lead status is
    not active (R8): the company's remaining contacts are skipped."""
    enable_rule("Opportunity", ask_confirm=False)
    company, people = company_with_contacts("Ett AB", "Lead", 3)

    report = bulk_set_lead_status(all_contacts(), status("Qualified"), Actor(rita))

    assert (report.updated, report.skipped, report.category_changes) == (1, 2, 1)
    assert report.skipped_rows[0].category_name == "Opportunity"
    assert Company.get_by_id(company.id).category.name == "Opportunity"
    moves = History.select().where(History.kind == History.CATEGORY,
                                   History.company == company, History.source == "rule")
    assert moves.count() == 1


def test_a_rule_into_another_active_category_keeps_going(rita):
    enable_rule("Marketing qualified lead (MQL)", ask_confirm=False, on="Contacting")
    company, _ = company_with_contacts("Ett AB", "Lead", 3)
    report = bulk_set_lead_status(all_contacts(), status("Contacting"), Actor(rita))
    assert (report.updated, report.skipped, report.category_changes) == (3, 0, 1)
    assert Company.get_by_id(company.id).category.name.startswith("Marketing")


def test_retired_status_and_companies_are_refused(rita):
    company_with_contacts("Ett AB", "Lead", 1)
    nurture = status("Nurture")
    nurture.retired = True
    with pytest.raises(RuleViolation, match="retired"):
        bulk_set_lead_status(all_contacts(), nurture, Actor(rita))
    with pytest.raises(RuleViolation, match="contacts only"):
        bulk_set_lead_status(run_criteria(Criteria("companies")), status("Open"), Actor(rita))
    with pytest.raises(RuleViolation, match="Tick at least one"):
        bulk_set_lead_status(all_contacts(), status("Open"), Actor(rita), ids=[])


def test_all_matching_rows_are_walked_in_chunks(rita, monkeypatch):
    """Companies are read a chunk at a time and contacts that stop matching are not lost."""
    import models.bulk
    monkeypatch.setattr(models.bulk, "COMPANIES_PER_CHUNK", 2)
    for number in range(5):
        company_with_contacts(f"Bolag {number} AB", "Lead", 2)
    open_ones = run_criteria(parse_criteria({"version": 1, "criteria": [
        {"field": "lead_status", "op": "in", "value": [status("Open").id]}]}))
    report = bulk_set_lead_status(open_ones, status("Contacting"), Actor(rita))
    assert report.updated == 10
    assert open_ones.count() == 0


def test_owner_bulk_update_for_contacts_and_companies(rita, monkeypatch):
    import models.bulk
    monkeypatch.setattr(models.bulk, "ROWS_PER_CHUNK", 2)
    rob = User.create(email="rob@example.test", name="Rob", password_hash="-")
    company, people = company_with_contacts("Ett AB", "Customer", 5, owner=rita)
    Contact.update(owner=rob).where(Contact.id == people[0].id).execute()

    versions = {c.id: c.version for c in Contact.select()}
    report = bulk_set_owner(all_contacts(), rob, Actor(rita))
    assert (report.updated, report.unchanged, report.skipped) == (4, 1, 0)
    assert {c.owner_id for c in Contact.select()} == {rob.id}
    # Each change is in the history (open boards hear of it) and outdates shown cards.
    rows = History.select().where(History.kind == History.OWNER)
    assert sorted((r.contact_id, r.from_owner_id, r.to_owner_id, r.actor_id) for r in rows) == \
        [(p.id, rita.id, rob.id, rita.id) for p in people[1:]]
    assert [c.version - versions[c.id] for c in Contact.select().order_by(Contact.id)] == \
        [0, 1, 1, 1, 1]

    report = bulk_set_owner(run_criteria(Criteria("companies")), rita, Actor(rita),
                            ids=[company.id, 424242])
    assert (report.updated, report.missing) == (1, 1)
    assert Company.get_by_id(company.id).owner_id == rita.id

    rob.active = False
    with pytest.raises(RuleViolation, match="no longer works here"):
        bulk_set_owner(all_contacts(), rob, Actor(rita))


def test_static_selection_rows_can_be_bulk_updated(rita):
    _, people = company_with_contacts("Ett AB", "Lead", 3)
    members = Matches("contacts", [Contact.id.in_([people[0].id, people[1].id])])
    report = bulk_set_lead_status(members, status("Qualified"), Actor(rita))
    assert report.updated == 2
