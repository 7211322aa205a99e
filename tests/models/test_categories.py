"""Category administration: R1, R2, R4 and the R10/R11 effects of switching lead status."""
import pytest

from models import (Actor, AuditLog, Category, Contact, History, RuleViolation, create_company,
                    create_contact, reorder_categories, restore_category, retire_category,
                    save_category)
from models.categories import deactivation_impact


def category(name):
    return Category.get(Category.name == name)


def test_r1_r2_new_category_in_customer_group_cannot_enable_lead_status(db):
    with pytest.raises(RuleViolation, match="Potential customer"):
        save_category(None, Actor(), name="VIP customer", group="customer",
                      lead_status_enabled=True)
    assert not Category.select().where(Category.name == "VIP customer").exists()
    vip = save_category(None, Actor(), name="VIP customer", group="customer")
    assert (vip.group, vip.lead_status_enabled) == ("customer", False)


def test_r1_unknown_group_is_refused(db):
    with pytest.raises(RuleViolation, match="Unknown category group"):
        save_category(None, Actor(), name="Friends", group="friends")


@pytest.mark.parametrize("name", ["", "   ", "lead", "LEAD ", "x" * 101])
def test_names_are_required_unique_and_short(db, name):
    before = Category.select().count()
    with pytest.raises(RuleViolation):
        save_category(None, Actor(), name=name, group="potential")
    assert Category.select().count() == before


def test_new_category_goes_last_and_is_audited(db):
    event = save_category(None, Actor(), name="Event lead", group="potential",
                          lead_status_enabled=True, description="Met at a fair")
    assert list(Category.ordered())[-1] == event
    entry = AuditLog.get(AuditLog.subject == "Event lead")
    assert entry.action == "created" and "Met at a fair" in entry.details


def test_r10_switching_lead_status_on_gives_contacts_the_initial_status(db):
    opportunity = category("Opportunity")
    company = create_company(Actor(), name="Möjlig AB", category=opportunity)
    contact = create_contact(company, Actor(), first_name="A", last_name="B")
    assert contact.lead_status_id is None
    save_category(opportunity, Actor(), name="Opportunity", group="potential",
                  lead_status_enabled=True)
    assert Contact.get_by_id(contact.id).lead_status.name == "Open"
    assert History.select().where(History.contact == contact).count() == 1


def test_r11_switching_lead_status_off_keeps_values_and_reports_the_impact(db):
    lead = category("Lead")
    company = create_company(Actor(), name="Fjällbo AB", category=lead)
    create_contact(company, Actor(), first_name="A", last_name="B")
    assert deactivation_impact(lead, "potential", False) == (1, 1)
    assert deactivation_impact(lead, "other", True) == (1, 1)
    assert deactivation_impact(lead, "potential", True) == (0, 0)
    save_category(lead, Actor(), name="Lead", group="other")
    assert Contact.get().lead_status.name == "Open"
    assert not category("Lead").lead_status_enabled


def test_r4_reorder_puts_the_given_ids_first_and_keeps_the_rest(db):
    retire_category(category("Partner"))
    shown = [c.id for c in Category.ordered()]
    reorder_categories(list(reversed(shown)))
    names = [c.name for c in Category.ordered(include_retired=True)]
    assert names[:5] == ["Customer", "Lost opportunity", "Opportunity",
                         "Marketing qualified lead (MQL)", "Lead"]
    assert names[-1] == "Partner"


@pytest.mark.parametrize("ids", [[1, 1, 2], [1, 9999]])
def test_r4_reorder_refuses_unknown_or_repeated_ids(db, ids):
    before = [c.id for c in Category.ordered(include_retired=True)]
    with pytest.raises(RuleViolation):
        reorder_categories(ids)
    assert [c.id for c in Category.ordered(include_retired=True)] == before


def test_r4_retire_and_restore_keep_companies(db):
    partner = category("Partner")
    company = create_company(Actor(), name="Partnerbolaget AB", category=partner)
    retire_category(partner, Actor())
    assert partner not in list(Category.ordered())
    assert company.category_id == partner.id
    restore_category(partner, Actor())
    assert partner in list(Category.ordered())
    assert [e.action for e in AuditLog.select().order_by(AuditLog.id)] == ["retired", "restored"]
