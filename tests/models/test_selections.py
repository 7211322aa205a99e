"""Selections: dynamic ones re-run their criteria, static ones keep their members;
privacy, sharing and who may change them."""
import pytest

from models import Actor, Category, Contact, LeadStatus, User, move_company
from models.rules import RuleViolation, create_company, create_contact
from models.search import Criteria, CriteriaError, parse_criteria
from models.selections import (STATIC, Selection, SelectionMember, add_matches, add_members,
                               can_change, change_criteria, delete_selection, remove_members,
                               rename_selection, save_selection, selection_matches,
                               visible_selection, visible_selections)


def user(email, role="rep"):
    return User.create(email=email, name=email.split("@")[0].title(), role=role,
                       password_hash="-")


@pytest.fixture
def people(db):
    return {"rita": user("rita@example.test"), "rob": user("rob@example.test"),
            "ada": user("ada@example.test", "admin")}


@pytest.fixture
def leads(people):
    """A lead company with two open contacts of Rita and one of Rob."""
    actor = Actor(people["rita"])
    company = create_company(actor, name="Fjällbo AB", category=Category.get(name="Lead"))
    return [create_contact(company, actor, first_name=first, last_name="Berg", owner=owner)
            for first, owner in (("Anna", people["rita"]), ("Bo", people["rita"]),
                                 ("Cai", people["rob"]))]


def my_open_leads():
    open_ = LeadStatus.get(LeadStatus.name == "Open")
    return parse_criteria({"version": 1, "entity": "contacts", "criteria": [
        {"field": "lead_status", "op": "in", "value": [open_.id]},
        {"field": "category_group", "op": "in", "value": ["potential"]},
        {"field": "owner", "op": "in", "value": ["me"]}]})


def first_names(selection, viewer):
    return {c.first_name for c in selection_matches(selection, viewer).query()}


def test_dynamic_selection_reruns_its_criteria_and_static_keeps_its_members(people, leads):
    rita = people["rita"]
    dynamic = save_selection(rita, "My open leads", my_open_leads())
    static = save_selection(rita, "Frozen leads", my_open_leads(), kind=STATIC)
    assert first_names(dynamic, rita) == first_names(static, rita) == {"Anna", "Bo"}

    # Next week: Bo is contacted, Dan arrives, Anna's company becomes a customer.
    contacting = LeadStatus.get(LeadStatus.name == "Contacting")
    Contact.update(lead_status=contacting).where(Contact.id == leads[1].id).execute()
    newcomer = create_company(Actor(rita), name="Ny AB", category=Category.get(name="Lead"))
    create_contact(newcomer, Actor(rita), first_name="Dan", last_name="Ny", owner=rita)
    move_company(leads[0].company, Category.get(name="Customer"), Actor(rita))

    assert first_names(dynamic, rita) == {"Dan"}
    assert first_names(static, rita) == {"Anna", "Bo"}


def test_owner_me_in_a_shared_selection_is_the_user_who_opens_it(people, leads):
    shared = save_selection(people["rita"], "My open leads", my_open_leads(), shared=True)
    assert first_names(shared, people["rob"]) == {"Cai"}
    assert first_names(shared, people["rita"]) == {"Anna", "Bo"}


def test_a_static_selection_freezes_the_savers_own_leads(people, leads):
    static = save_selection(people["rita"], "Rita's", my_open_leads(), kind=STATIC, shared=True)
    assert first_names(static, people["rob"]) == {"Anna", "Bo"}


def test_private_selection_is_invisible_to_another_rep(people, leads):
    private = save_selection(people["rita"], "Mine", my_open_leads())
    shared = save_selection(people["rita"], "Team", my_open_leads(), shared=True)
    assert visible_selection(private.id, people["rob"]) is None
    assert visible_selection(shared.id, people["rob"]).name == "Team"
    assert [s.name for s in visible_selections(people["rob"])] == ["Team"]
    assert [s.name for s in visible_selections(people["rita"])] == ["Mine", "Team"]
    assert visible_selections(people["rita"], entity="companies").count() == 0
    # Not even an admin browses other people's private selections.
    assert visible_selection(private.id, people["ada"]) is None


def test_only_owner_or_admin_may_change(people, leads):
    shared = save_selection(people["rita"], "Team", my_open_leads(), shared=True)
    assert can_change(shared, people["rita"]) and can_change(shared, people["ada"])
    assert not can_change(shared, people["rob"])
    for attempt in (lambda: rename_selection(shared, people["rob"], "Mine now", True),
                    lambda: delete_selection(shared, people["rob"]),
                    lambda: change_criteria(shared, people["rob"], Criteria())):
        with pytest.raises(RuleViolation, match="Only the owner"):
            attempt()
    rename_selection(shared, people["ada"], "  Team   leads ", False)
    assert Selection.get_by_id(shared.id).name == "Team leads"
    assert not Selection.get_by_id(shared.id).shared


@pytest.mark.parametrize("name, message", [("", "Give the selection a name"),
                                           ("   ", "Give the selection a name"),
                                           ("x" * 121, "at most 120")])
def test_a_selection_needs_a_reasonable_name(people, name, message):
    with pytest.raises(RuleViolation, match=message):
        save_selection(people["rita"], name, Criteria())
    assert Selection.select().count() == 0


def test_unknown_kind_is_refused(people):
    with pytest.raises(RuleViolation, match="dynamic or static"):
        save_selection(people["rita"], "X", Criteria(), kind="frozen")


def test_static_members_added_and_removed_by_hand(people, leads):
    rita = people["rita"]
    static = save_selection(rita, "Hand-picked", parse_criteria(
        {"version": 1, "criteria": [{"field": "name", "op": "contains", "value": "Anna"}]}),
        kind=STATIC)
    assert first_names(static, rita) == {"Anna"}
    assert add_members(static, rita, [leads[1].id, leads[0].id, 987654]) == 1
    assert first_names(static, rita) == {"Anna", "Bo"}
    assert remove_members(static, rita, [leads[0].id]) == 1
    assert first_names(static, rita) == {"Bo"}
    search = selection_matches(save_selection(rita, "All", Criteria()), rita)
    assert add_matches(static, rita, search) == 2
    assert first_names(static, rita) == {"Anna", "Bo", "Cai"}
    with pytest.raises(RuleViolation, match="Only the owner"):
        add_members(static, people["rob"], [leads[0].id])
    with pytest.raises(RuleViolation, match="Tick at least one"):
        remove_members(static, rita, [])


def test_dynamic_selection_has_no_hand_picked_members(people, leads):
    dynamic = save_selection(people["rita"], "Dyn", Criteria())
    with pytest.raises(RuleViolation, match="only in a static selection"):
        add_members(dynamic, people["rita"], [leads[0].id])


def test_change_criteria_of_a_dynamic_selection(people, leads):
    dynamic = save_selection(people["rita"], "Dyn", Criteria())
    change_criteria(dynamic, people["rita"], my_open_leads())
    assert first_names(Selection.get_by_id(dynamic.id), people["rita"]) == {"Anna", "Bo"}
    with pytest.raises(RuleViolation, match="another kind"):
        change_criteria(dynamic, people["rita"], Criteria("companies"))
    static = save_selection(people["rita"], "Static", Criteria(), kind=STATIC)
    with pytest.raises(RuleViolation, match="keeps its members"):
        change_criteria(static, people["rita"], my_open_leads())


def test_delete_takes_the_members_along(people, leads):
    static = save_selection(people["rita"], "Static", Criteria(), kind=STATIC)
    assert SelectionMember.select().count() == 3
    delete_selection(static, people["rita"])
    assert Selection.select().count() == 0 and SelectionMember.select().count() == 0


def test_company_selections(people, leads):
    rita = people["rita"]
    criteria = parse_criteria({"version": 1, "entity": "companies", "criteria": [
        {"field": "category_group", "op": "in", "value": ["potential"]}]})
    static = save_selection(rita, "Leads", criteria, kind=STATIC)
    dynamic = save_selection(rita, "Leads now", criteria)
    move_company(leads[0].company, Category.get(name="Customer"), Actor(rita))
    assert [c.name for c in selection_matches(static, rita).query()] == ["Fjällbo AB"]
    assert selection_matches(dynamic, rita).count() == 0


def test_stored_criteria_that_no_longer_fit_give_a_message(people, leads):
    """A category deleted since the selection was saved: a clear message, not a crash."""
    spare = Category.create(name="Spare", group="other")
    selection = save_selection(people["rita"], "Spare ones", parse_criteria(
        {"version": 1, "criteria": [{"field": "category", "op": "in", "value": [spare.id]}]}))
    spare.delete_instance()
    with pytest.raises(CriteriaError, match="Unknown category"):
        selection_matches(selection, people["rita"])
    Selection.update(criteria='{"version": 1, "criteria": [{"field": "x"}]}').execute()
    with pytest.raises(CriteriaError, match="Unknown search field"):
        selection_matches(Selection.get_by_id(selection.id), people["rita"])
