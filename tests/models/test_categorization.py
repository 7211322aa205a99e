"""Sales and lead categorization: R14-R19."""
import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import models
from models import Actor, Category, Company, Contact, History, LeadStatus, RuleViolation, User
from models import create_company, create_contact
from models.categorization import (accept_suggestion, decline_suggestion, evaluate,
                                   Event, mark_sale, pending_suggestions, register_sale,
                                   rules_for_settings, save_rules, set_lead_status_with_rules)
from models.schema import CategorizationRule, CategorySuggestion, Sale

TODAY = datetime.date(2026, 11, 23)


def category(name):
    return Category.get(Category.name == name)


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


def configure(**rules):
    """configure(sale_sold=("Customer", False), status_set={"Qualified": ("Opportunity", True)})"""
    settings = {}
    for trigger, value in rules.items():
        if trigger == "status_set":
            for status_name, (target, confirm) in value.items():
                settings[("status_set", status(status_name).id)] = {
                    "enabled": True, "target_category_id": category(target).id,
                    "ask_confirm": confirm}
        else:
            target, confirm = value
            settings[(trigger, None)] = {"enabled": True,
                                         "target_category_id": category(target).id,
                                         "ask_confirm": confirm}
    save_rules(settings, Actor())


@pytest.fixture
def rep(db):
    user = User(email="rep@example.test", name="Rita Rep", role="rep")
    user.set_password("secret")
    user.save()
    return Actor(user)


@pytest.fixture
def lead_company(rep):
    return create_company(rep, name="Fjällbo AB", category=category("Lead"))


def sell(company, actor, status="open", amount="1000"):
    return register_sale(company, actor, title="Licences", amount=amount, currency="SEK",
                         sale_date=TODAY, status=status)


def test_r14_sale_belongs_to_company_with_title_amount_owner_date_status(lead_company, rep):
    contact = create_contact(lead_company, rep, first_name="Anna", last_name="Berg")
    sale, _ = register_sale(lead_company, rep, title=" Pilot ", amount="1234.5", currency="NOK",
                            sale_date=TODAY, owner=rep.user, contact=contact)
    sale = Sale.get_by_id(sale.id)
    assert (sale.company_id, sale.contact_id, sale.title, sale.amount, sale.currency,
            sale.owner_id, sale.status) == (lead_company.id, contact.id, "Pilot",
                                            Decimal("1234.50"), "NOK", rep.user.id, "open")


@pytest.mark.parametrize("amount", ["-1", "abc", "NaN", "Infinity", "1e15"])
def test_r14_sale_amount_must_be_a_number_of_zero_or_more(lead_company, rep, amount):
    with pytest.raises(RuleViolation):
        sell(lead_company, rep, amount=amount)
    assert Sale.select().count() == 0


def test_r14_sale_contact_must_work_at_the_company(lead_company, rep):
    other = create_company(rep, name="Annan AB", category=category("Lead"))
    stranger = create_contact(other, rep, first_name="S", last_name="T")
    with pytest.raises(RuleViolation, match="does not work"):
        register_sale(lead_company, rep, title="X", amount=1, currency="SEK", sale_date=TODAY,
                      contact=stranger)


def test_r15_rule1_sale_sold_moves_company_at_once(lead_company, rep):
    configure(sale_sold=("Customer", False))
    sale, outcome = sell(lead_company, rep)
    assert outcome.action == "none"
    outcome = mark_sale(sale, "sold", rep)
    assert outcome.action == "change"
    assert Company.get_by_id(lead_company.id).category.name == "Customer"
    move = History.select().where(History.kind == "category").order_by(History.id.desc()).get()
    assert (move.source, move.source_label, move.actor_id) == ("rule", "Sale marked Sold",
                                                              rep.user.id)


def test_r15_rule2_sale_lost(lead_company, rep):
    configure(sale_lost=("Lost opportunity", False))
    sale, _ = sell(lead_company, rep)
    mark_sale(sale, "lost", rep)
    assert Company.get_by_id(lead_company.id).category.name == "Lost opportunity"


def test_r15_rule3_sale_registered(lead_company, rep):
    configure(sale_registered=("Opportunity", False))
    sell(lead_company, rep)
    assert Company.get_by_id(lead_company.id).category.name == "Opportunity"


def test_r15_rule4_per_status_with_own_target(lead_company, rep):
    configure(status_set={"Qualified": ("Opportunity", False),
                          "Disqualified": ("Lost opportunity", False)})
    anna = create_contact(lead_company, rep, first_name="Anna", last_name="Berg")
    set_lead_status_with_rules(anna, status("Contacting"), rep)
    assert Company.get_by_id(lead_company.id).category.name == "Lead"
    outcome = set_lead_status_with_rules(anna, status("Disqualified"), rep)
    assert outcome.action == "change"
    assert Company.get_by_id(lead_company.id).category.name == "Lost opportunity"


def test_r15_switched_off_rule_does_nothing(lead_company, rep):
    configure(sale_sold=("Customer", False))
    rule = CategorizationRule.get(trigger="sale_sold")
    rule.enabled = False
    rule.save()
    sale, _ = sell(lead_company, rep)
    assert mark_sale(sale, "sold", rep).action == "none"
    assert Company.get_by_id(lead_company.id).category.name == "Lead"


def test_r16_customer_is_never_downgraded(rep):
    configure(sale_lost=("Lost opportunity", False), sale_registered=("Opportunity", False))
    customer = create_company(rep, name="Kund AB", category=category("Customer"))
    sale, _ = sell(customer, rep)
    mark_sale(sale, "lost", rep)
    assert Company.get_by_id(customer.id).category.name == "Customer"


def test_r16_rule4_needs_lead_status_active(lead_company, rep):
    """Rule 4 does not fire in a Potential customer category without lead status (R8)."""
    configure(status_set={"Qualified": ("Customer", False)})
    create_contact(lead_company, rep, first_name="A", last_name="B")
    models.move_company(lead_company, category("Opportunity"), rep)
    assert evaluate(Event("status_set", Company.get_by_id(lead_company.id),
                          status("Qualified"))).action == "none"


def test_r17_confirm_rule_becomes_a_suggestion_and_accepting_moves(lead_company, rep):
    configure(status_set={"Qualified": ("Opportunity", True)})
    contact = create_contact(lead_company, rep, first_name="A", last_name="B")
    outcome = set_lead_status_with_rules(contact, status("Qualified"), rep)
    assert outcome.action == "propose" and outcome.category.name == "Opportunity"
    assert Company.get_by_id(lead_company.id).category.name == "Lead"
    [suggestion] = pending_suggestions(lead_company)
    accept_suggestion(suggestion, rep)
    assert Company.get_by_id(lead_company.id).category.name == "Opportunity"
    assert CategorySuggestion.get_by_id(suggestion.id).state == "accepted"


def test_r17_user_may_pick_another_category_or_decline(lead_company, rep):
    configure(status_set={"Qualified": ("Opportunity", True)})
    contact = create_contact(lead_company, rep, first_name="A", last_name="B")
    first = set_lead_status_with_rules(contact, status("Qualified"), rep).suggestion
    accept_suggestion(first, rep, category=category("Marketing qualified lead (MQL)"))
    company = Company.get_by_id(lead_company.id)
    assert company.category.name == "Marketing qualified lead (MQL)"
    assert CategorySuggestion.get_by_id(first.id).chosen_category.name.startswith("Marketing")
    set_lead_status_with_rules(contact, status("Contacting"), rep)
    second = set_lead_status_with_rules(contact, status("Qualified"), rep).suggestion
    decline_suggestion(second, rep)
    assert CategorySuggestion.get_by_id(second.id).state == "declined"
    assert CategorySuggestion.get_by_id(second.id).resolved_by_id == rep.user.id
    assert Company.get_by_id(lead_company.id).category.name.startswith("Marketing")

def test_r17_pending_suggestion_accepted_later_and_stale_one_refused(lead_company, rep):
    configure(sale_registered=("Opportunity", True))
    sell(lead_company, rep)
    [suggestion] = pending_suggestions(lead_company)
    models.move_company(lead_company, category("Marketing qualified lead (MQL)"), rep)
    with pytest.raises(RuleViolation, match="changed since"):
        accept_suggestion(suggestion, rep)
    assert Company.get_by_id(lead_company.id).category.name.startswith("Marketing")
    decline_suggestion(suggestion, rep)
    assert list(pending_suggestions(lead_company)) == []
    with pytest.raises(RuleViolation, match="already been answered"):
        decline_suggestion(CategorySuggestion.get_by_id(suggestion.id), rep)


def test_r18_enabled_rule_without_target_refuses_the_save(db):
    before = [(r.trigger, r.enabled, r.target_category_id) for r in CategorizationRule.select()]
    with pytest.raises(RuleViolation, match="Choose a category"):
        save_rules({("sale_sold", None): {"enabled": True, "target_category_id": None}}, Actor())
    assert [(r.trigger, r.enabled, r.target_category_id)
            for r in CategorizationRule.select()] == before


@pytest.mark.parametrize("key, values", [
    (("sale_bought", None), {"enabled": False}),
    (("status_set", None), {"enabled": False}),
    (("status_set", 4242), {"enabled": False}),
    (("sale_sold", None), {"enabled": True, "target_category_id": 4242}),
])
def test_r18_forged_settings_are_refused(db, key, values):
    with pytest.raises(RuleViolation):
        save_rules({key: values}, Actor())


def test_r18_settings_list_every_status_for_rule4(db):
    rows = rules_for_settings()
    assert [r.trigger for r in rows[:3]] == ["sale_sold", "sale_lost", "sale_registered"]
    assert [r.lead_status.name for r in rows[3:]] == [s.name for s in LeadStatus.ordered()]


def test_r19_rule_change_applies_r10_and_does_not_trigger_rule4(rep):
    """A rule moving a company into a lead-enabled category resets statuses like a manual move."""
    configure(sale_registered=("Lead", False), status_set={"Open": ("Customer", False)})
    opportunity = create_company(rep, name="Möjlig AB", category=category("Opportunity"))
    contact = create_contact(opportunity, rep, first_name="A", last_name="B")
    sell(opportunity, rep)
    company = Company.get_by_id(opportunity.id)
    assert company.category.name == "Lead"
    assert Contact.get_by_id(contact.id).lead_status.name == "Open"  # R10 applied
    # The reset to Open did not fire rule 4 ("Open" -> Customer): rules don't chain.
    assert company.category.name != "Customer"


def test_r19_triggering_change_and_rule_change_are_one_transaction(lead_company, rep,
                                                                   monkeypatch):
    configure(status_set={"Qualified": ("Opportunity", False)})
    contact = create_contact(lead_company, rep, first_name="A", last_name="B")

    def broken_move(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr("models.engine.move_companies", broken_move)  # the rule's move (R19)
    with pytest.raises(RuntimeError):
        set_lead_status_with_rules(contact, status("Qualified"), rep)
    assert Contact.get_by_id(contact.id).lead_status.name == "Open"
    assert not History.select().where(History.to_status == status("Qualified")).exists()


EVENTS = st.lists(st.tuples(st.sampled_from(["register", "sold", "lost", "status", "move"]),
                            st.integers(0, 3), st.integers(0, 5)), max_size=25)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, targets=st.lists(st.integers(0, 5), min_size=8, max_size=8),
       confirms=st.lists(st.booleans(), min_size=8, max_size=8))
def test_r16_no_event_sequence_moves_a_company_out_of_another_group(rep, events, targets,
                                                                   confirms):
    """R16 (property): automation only ever moves companies that are potential customers."""
    with models.database.atomic() as transaction:
        categories = list(Category.ordered())
        statuses = list(LeadStatus.ordered())
        settings = {(t, None): {"enabled": True, "target_category_id": categories[targets[i]].id,
                                "ask_confirm": confirms[i]}
                    for i, t in enumerate(["sale_sold", "sale_lost", "sale_registered"])}
        for i, s in enumerate(statuses):
            settings[("status_set", s.id)] = {
                "enabled": True, "target_category_id": categories[targets[3 + i]].id,
                "ask_confirm": confirms[3 + i]}
        save_rules(settings, rep)
        companies = [create_company(rep, name=f"C{n}", category=categories[n]) for n in range(4)]
        contacts = [create_contact(c, rep, first_name="X", last_name=str(c.id)) for c in companies]
        sales = {}
        for kind, which, value in events:
            company = Company.get_by_id(companies[which].id)
            if kind == "register":
                sales[which], _ = register_sale(company, rep, title="S", amount=1,
                                                currency="SEK", sale_date=TODAY)
            elif kind in ("sold", "lost") and which in sales:
                mark_sale(Sale.get_by_id(sales[which].id), kind, rep)
            elif kind == "status":
                contact = Contact.get_by_id(contacts[which].id)
                if models.lead_status_is_active(contact):
                    set_lead_status_with_rules(contact, statuses[value % len(statuses)], rep)
            elif kind == "move":
                models.move_company(company, categories[value], rep)
        rule_moves = (History.select().where(History.kind == "category",
                                             History.source == "rule"))
        for move in rule_moves:
            assert move.from_category.group == "potential"
        transaction.rollback()
