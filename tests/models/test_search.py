"""The query builder: every field and operator against a known dataset, the JSON
format and its errors, paging, sorting and the export rows (R11, R12, R17)."""
import datetime
import json

import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, Company, Contact, LeadStatus, User
from models.rules import RuleViolation, create_company, create_contact
from models.schema import CategorySuggestion
from models.search import (CRITERIA_VERSION, ContactSearch, Criteria, CriteriaError,
                           Criterion, Vocabulary, export_rows, parse_criteria, run_criteria,
                           search_contacts)

TODAY = datetime.date(2026, 3, 10)


def at(day):
    return datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(10))


@pytest.fixture
def data(db):
    """Three companies, five contacts; every field has a value that tells them apart."""
    rita = User.create(email="rita@example.test", name="Rita", password_hash="-")
    mona = User.create(email="mona@example.test", name="Mona", role="manager",
                       password_hash="-")
    actor = Actor(rita)
    lead, mql, customer = (Category.get(Category.name == name)
                           for name in ("Lead", "Marketing qualified lead (MQL)", "Customer"))
    status = {s.name: s for s in LeadStatus.select()}
    fjallbo = create_company(actor, name="Fjällbo AB", category=lead, owner=rita,
                             email="info@fjallbo.se", created_at=at("2026-01-10"))
    kund = create_company(actor, name="Kundgården AB", category=customer, owner=mona,
                          created_at=at("2026-02-15"))
    data_ab = create_company(actor, name="Mql Data AB", category=mql,
                             created_at=at("2026-03-01"))
    CategorySuggestion.create(company=data_ab, from_category=mql,
                              proposed_category=Category.get(Category.name == "Opportunity"))

    def contact(company, first, last, state, owner, created, email="", source=("", "", "")):
        person = create_contact(company, actor, first_name=first, last_name=last, owner=owner,
                                email=email, utm_source=source[0], utm_medium=source[1],
                                utm_campaign=source[2], created_at=at(created))
        Contact.update(lead_status=status[state] if state else None).where(
            Contact.id == person.id).execute()
        return person

    contact(fjallbo, "Anna", "Berg", "Open", rita, "2026-01-10", "anna@fjallbo.se",
            ("linkedin", "social", "spring-webinar"))
    contact(fjallbo, "Bo", "Ek", "Contacting", mona, "2026-02-01", "bo@fjallbo.se",
            ("google", "cpc", "brand-search"))
    # R11: Cai kept Qualified from when Kundgården was a lead; Dan never had a status.
    contact(kund, "Cai", "Lund", "Qualified", rita, "2026-02-15", "cai@kund.se")
    contact(kund, "Dan", "Ås", None, None, "2026-02-20")
    contact(data_ab, "Eva", "Dahl", "Open", rita, "2026-03-05", "eva@data.se",
            ("linkedin", "email", "spring-webinar-2"))
    return {"rita": rita, "mona": mona, "status": status, "lead": lead, "mql": mql,
            "customer": customer}


def names(matches):
    if matches.entity == "contacts":
        return {c.first_name for c in matches.query()}
    return {c.name for c in matches.query()}


def run(entity, *rows, user=None):
    criteria = parse_criteria({"version": 1, "entity": entity,
                               "criteria": [{"field": f, "op": o, "value": v}
                                            for f, o, v in rows]})
    return run_criteria(criteria, user, today=TODAY)


def ids_of(data, kind, *names_):
    return [data[kind][name].id if kind == "status" else data[name].id for name in names_]


CONTACT_CASES = [
    # R11: the status counts even where it is not active (Cai at a customer).
    ("lead_status", "in", ("status", "Open", "Qualified"), {"Anna", "Cai", "Eva"}),
    ("lead_status", "not_in", ("status", "Open"), {"Bo", "Cai", "Dan"}),
    ("lead_status", "empty", None, {"Dan"}),
    # R12: a contact is found by its company's category and group.
    ("category", "in", ("cat", "lead", "mql"), {"Anna", "Bo", "Eva"}),
    ("category", "not_in", ("cat", "lead"), {"Cai", "Dan", "Eva"}),
    ("category_group", "in", ["potential"], {"Anna", "Bo", "Eva"}),
    ("category_group", "in", ["customer", "partner"], {"Cai", "Dan"}),
    ("category_group", "not_in", ["potential"], {"Cai", "Dan"}),
    ("owner", "in", ("user", "mona"), {"Bo"}),
    ("owner", "in", ["me"], {"Anna", "Cai", "Eva"}),
    ("owner", "not_in", ["me"], {"Bo", "Dan"}),
    ("owner", "empty", None, {"Dan"}),
    ("created", "between", {"from": "2026-02-01", "to": "2026-02-15"}, {"Bo", "Cai"}),
    ("created", "between", {"from": "2026-02-16", "to": None}, {"Dan", "Eva"}),
    ("created", "between", {"from": None, "to": "2026-01-10"}, {"Anna"}),
    ("created", "last_days", 20, {"Dan", "Eva"}),
    ("name", "contains", "an", {"Anna", "Dan"}),
    ("name", "contains", "bo ek", {"Bo"}),
    ("email", "contains", "fjallbo", {"Anna", "Bo"}),
    ("email", "empty", None, {"Dan"}),
    ("utm_source", "eq", "linkedin", {"Anna", "Eva"}),
    ("utm_source", "contains", "goo", {"Bo"}),
    ("utm_source", "empty", None, {"Cai", "Dan"}),
    ("utm_medium", "eq", "cpc", {"Bo"}),
    ("utm_medium", "contains", "ial", {"Anna"}),
    ("utm_campaign", "eq", "spring-webinar", {"Anna"}),
    ("utm_campaign", "contains", "spring", {"Anna", "Eva"}),
    ("utm_campaign", "empty", None, {"Cai", "Dan"}),
    # R17: a pending suggestion on the company.
    ("pending_suggestion", "is", True, {"Eva"}),
    ("pending_suggestion", "is", False, {"Anna", "Bo", "Cai", "Dan"}),
]


def resolve(data, value):
    """("status", "Open") -> [id of Open]; ("cat", "lead") -> [id]; ("user", "mona") -> [id]."""
    if isinstance(value, tuple):
        kind, *keys = value
        if kind == "status":
            return [data["status"][k].id for k in keys]
        return [data[k].id for k in keys]
    return value


@pytest.mark.parametrize("field, op, value, expected", CONTACT_CASES,
                         ids=[f"{f}-{o}-{i}" for i, (f, o, _, _) in enumerate(CONTACT_CASES)])
def test_every_contact_field_and_operator(data, field, op, value, expected):
    assert names(run("contacts", (field, op, resolve(data, value)), user=data["rita"])) == \
        expected


COMPANY_CASES = [
    ("lead_status", "in", ("status", "Qualified"), {"Kundgården AB"}),
    ("lead_status", "not_in", ("status", "Open"), {"Kundgården AB"}),
    ("lead_status", "empty", None, set()),
    ("category", "in", ("cat", "lead"), {"Fjällbo AB"}),
    ("category", "not_in", ("cat", "lead"), {"Kundgården AB", "Mql Data AB"}),
    ("category_group", "in", ["potential"], {"Fjällbo AB", "Mql Data AB"}),
    ("category_group", "not_in", ["potential"], {"Kundgården AB"}),
    ("owner", "in", ["me"], {"Fjällbo AB"}),
    ("owner", "not_in", ["me"], {"Kundgården AB", "Mql Data AB"}),
    ("owner", "empty", None, {"Mql Data AB"}),
    ("created", "between", {"from": "2026-02-01", "to": "2026-03-01"},
     {"Kundgården AB", "Mql Data AB"}),
    ("created", "last_days", 10, {"Mql Data AB"}),
    ("name", "contains", "AB", {"Fjällbo AB", "Kundgården AB", "Mql Data AB"}),
    ("name", "contains", "data", {"Mql Data AB"}),
    ("email", "contains", "fjallbo", {"Fjällbo AB"}),
    ("email", "empty", None, {"Kundgården AB", "Mql Data AB"}),
    ("pending_suggestion", "is", True, {"Mql Data AB"}),
    ("pending_suggestion", "is", False, {"Fjällbo AB", "Kundgården AB"}),
]


@pytest.mark.parametrize("field, op, value, expected", COMPANY_CASES,
                         ids=[f"{f}-{o}-{i}" for i, (f, o, _, _) in enumerate(COMPANY_CASES)])
def test_every_company_field_and_operator(data, field, op, value, expected):
    assert names(run("companies", (field, op, resolve(data, value)), user=data["rita"])) == \
        expected


def test_criteria_all_have_to_hold(data):
    """The manager's story: open leads of a potential customer, owned by me, from a campaign."""
    open_contacting = resolve(data, ("status", "Open", "Contacting"))
    matches = run("contacts", ("lead_status", "in", open_contacting),
                  ("category_group", "in", ["potential"]), ("owner", "in", ["me"]),
                  ("utm_campaign", "eq", "spring-webinar"), user=data["rita"])
    assert names(matches) == {"Anna"}
    assert matches.count() == 1


def test_owner_me_is_whoever_runs_the_search(data):
    criteria = parse_criteria({"version": 1, "entity": "contacts",
                               "criteria": [{"field": "owner", "op": "in", "value": ["me"]}]})
    assert names(run_criteria(criteria, data["mona"])) == {"Bo"}
    assert names(run_criteria(criteria, data["rita"])) == {"Anna", "Cai", "Eva"}
    with pytest.raises(CriteriaError, match="needs a signed-in user"):
        run_criteria(criteria, None)


def test_json_round_trip(data):
    original = parse_criteria({"version": 1, "entity": "contacts", "criteria": [
        {"field": "lead_status", "op": "in", "value": ["1", 2, 2]},
        {"field": "owner", "op": "in", "value": ["me", str(data["mona"].id)]},
        {"field": "created", "op": "between", "value": {"from": "2026-01-01", "to": ""}},
        {"field": "utm_campaign", "op": "eq", "value": "  spring-webinar "},
        {"field": "pending_suggestion", "op": "is", "value": "false"},
        {"field": "lead_status", "op": "empty"},
    ]})
    stored = original.to_json()
    assert json.loads(stored)["version"] == CRITERIA_VERSION
    again = parse_criteria(stored)
    assert again == original
    assert again.items[0] == Criterion("lead_status", "in", [1, 2])
    assert again.items[1].value == ["me", data["mona"].id]
    assert again.items[2].value == {"from": "2026-01-01", "to": None}
    assert again.items[3].value == "spring-webinar"
    assert again.items[4].value is False
    assert Criteria().to_data() == {"version": 1, "entity": "contacts", "criteria": []}


@pytest.mark.parametrize("data_, message", [
    ("not json", "could not be read"),
    ("[]", "could not be read"),
    ({"entity": "contacts", "criteria": []}, "could not be read"),
    ({"version": "1", "criteria": []}, "could not be read"),
    ({"version": 2, "criteria": []}, "newer version"),
    ({"version": 1, "entity": "sales", "criteria": []}, "Unknown kind of search"),
    ({"version": 1, "criteria": {"field": "name"}}, "could not be read"),
    ({"version": 1, "criteria": ["name"]}, "could not be read"),
    ({"version": 1, "criteria": [{"field": "salary", "op": "eq", "value": 1}]},
     "Unknown search field: salary"),
    ({"version": 1, "criteria": [{"field": "name", "op": "regex", "value": "x"}]},
     "Unknown operator"),
    ({"version": 1, "entity": "companies",
      "criteria": [{"field": "utm_source", "op": "eq", "value": "x"}]}, "cannot be searched"),
    ({"version": 1, "criteria": [{"field": "lead_status", "op": "in", "value": [999]}]},
     "Unknown lead status: 999"),
    ({"version": 1, "criteria": [{"field": "lead_status", "op": "in", "value": ["x"]}]},
     "Unknown lead status: x"),
    ({"version": 1, "criteria": [{"field": "lead_status", "op": "in", "value": []}]},
     "at least one value"),
    ({"version": 1, "criteria": [{"field": "category", "op": "in", "value": [True]}]},
     "Unknown category"),
    ({"version": 1, "criteria": [{"field": "category_group", "op": "in", "value": ["vip"]}]},
     "Unknown category group: vip"),
    ({"version": 1, "criteria": [{"field": "owner", "op": "in", "value": ["you"]}]},
     "Unknown user: you"),
    ({"version": 1, "criteria": [{"field": "created", "op": "between",
                                  "value": {"from": "10/3/2026"}}]}, "YYYY-MM-DD"),
    ({"version": 1, "criteria": [{"field": "created", "op": "between", "value": {}}]},
     "start or an end date"),
    ({"version": 1, "criteria": [{"field": "created", "op": "between",
                                  "value": {"from": "2026-03-01", "to": "2026-01-01"}}]},
     "starts after it ends"),
    ({"version": 1, "criteria": [{"field": "created", "op": "last_days", "value": 0}]},
     "whole number"),
    ({"version": 1, "criteria": [{"field": "created", "op": "last_days", "value": "7.5"}]},
     "whole number"),
    ({"version": 1, "criteria": [{"field": "name", "op": "contains", "value": " "}]},
     "Enter a text"),
    ({"version": 1, "criteria": [{"field": "name", "op": "contains", "value": "x" * 201}]},
     "too long"),
    ({"version": 1, "criteria": [{"field": "name", "op": "contains", "value": ["x"]}]},
     "Enter a text"),
    ({"version": 1, "criteria": [{"field": "pending_suggestion", "op": "is",
                                  "value": "maybe"}]}, "yes or no"),
    ({"version": 1, "criteria": [{"field": "name", "op": "contains", "value": "x"}] * 21},
     "at most 20 criteria"),
])
def test_unknown_or_malformed_criteria_are_refused_with_a_message(db, data_, message):
    with pytest.raises(CriteriaError, match=message) as raised:
        parse_criteria(data_ if isinstance(data_, (str, dict)) else json.dumps(data_))
    assert isinstance(raised.value, RuleViolation)


def test_the_error_names_the_row_it_is_about(db):
    with pytest.raises(CriteriaError) as raised:
        parse_criteria({"version": 1, "criteria": [
            {"field": "name", "op": "contains", "value": "x"},
            {"field": "lead_status", "op": "in", "value": [4242]}]})
    assert (raised.value.index, raised.value.field) == (1, "lead_status")


def test_a_retired_status_can_still_be_searched(data):
    """R6, R11: retired values keep counting in search."""
    nurture = data["status"]["Nurture"]
    LeadStatus.update(retired=True).where(LeadStatus.id == nurture.id).execute()
    Contact.update(lead_status=nurture).where(Contact.first_name == "Dan").execute()
    assert names(run("contacts", ("lead_status", "in", [nurture.id]))) == {"Dan"}


def test_vocabulary_is_read_once_per_list(data):
    vocabulary = Vocabulary()
    rows = {"version": 1, "criteria": [
        {"field": "lead_status", "op": "in", "value": [1]},
        {"field": "lead_status", "op": "not_in", "value": [2]},
        {"field": "owner", "op": "in", "value": [data["rita"].id]}]}
    with count_queries() as counter:
        parse_criteria(rows, vocabulary)
        parse_criteria(rows, vocabulary)
    assert counter.count == 2


def test_page_counts_sorts_and_clamps(data):
    matches = run("contacts")
    page = matches.page(1, per_page=2, sort="name")
    assert page.total == 5 and [c.first_name for c in page.items] == ["Anna", "Eva"]
    assert [c.first_name for c in matches.page(3, 2, "name").items] == ["Dan"]
    assert [c.first_name for c in matches.page(99, 2, "name").items] == ["Dan"]
    newest = matches.page(1, 2, "-created")
    assert [c.first_name for c in newest.items] == ["Eva", "Dan"]
    by_status = [c.first_name for c in matches.page(1, 5, "status").items]
    assert by_status.index("Anna") < by_status.index("Bo") < by_status.index("Cai")
    assert matches.page(1, 2, "unknown").items[0].first_name == "Anna"
    assert run("contacts", ("name", "contains", "zz")).page(1, 50).items == []


@pytest.mark.parametrize("sort", ["name", "-name", "company", "title", "email", "category",
                                  "-group", "status", "-owner", "source", "created"])
def test_every_sort_gives_every_row_once(data, sort):
    matches = run("contacts")
    seen = [c.id for n in (1, 2, 3) for c in matches.page(n, 2, sort).items]
    assert sorted(seen) == sorted(c.id for c in Contact.select())


def test_a_page_costs_two_queries(data):
    matches = run("contacts", ("category_group", "in", ["potential"]))
    with count_queries() as counter:
        page = matches.page(1, 50, "status")
        [(c.company.name, c.company.category.name, c.lead_status, c.owner) for c in page.items]
    assert counter.count == 2


def test_export_rows_name_lookups_and_keep_parts(data):
    rows = list(export_rows(run("contacts", ("utm_source", "eq", "linkedin")),
                            ["name", "company", "group", "status", "owner", "source",
                             "created", "bogus"], sort="name"))
    assert rows[0][0] == ("Anna", "Berg")
    assert rows[0][1:5] == ("Fjällbo AB", "potential", data["status"]["Open"],
                            data["rita"])
    assert rows[0][5] == ("linkedin", "social", "spring-webinar")
    assert rows[0][6] == at("2026-01-10")
    assert [row[0][0] for row in rows] == ["Anna", "Eva"]
    companies = list(export_rows(run("companies"), ["name", "category", "owner"], "-name"))
    assert companies[0] == ("Mql Data AB", data["mql"], None)


def test_contact_search_keeps_its_filters(data):
    """The company card's filter (ContactSearch) runs on the same conditions."""
    status = data["status"]
    found = search_contacts(ContactSearch(lead_status_ids=[status["Open"].id],
                                          category_groups=["potential"],
                                          owner_ids=[data["rita"].id], text="a"))
    assert {c.first_name for c in found} == {"Anna", "Eva"}
    without = search_contacts(ContactSearch(without_status=True,
                                            lead_status_ids=[status["Qualified"].id]))
    assert {c.first_name for c in without} == {"Cai", "Dan"}
    dated = search_contacts(ContactSearch(created_from=datetime.date(2026, 2, 15),
                                          created_to=datetime.date(2026, 2, 20),
                                          utm_source=""))
    assert {c.first_name for c in dated} == {"Cai", "Dan"}
    assert {c.first_name for c in search_contacts(ContactSearch(text="50%_"))} == set()


def test_company_with_no_contacts_matches_status_not_one_of(data):
    lonely = create_company(Actor(), name="Tom AB", category=data["lead"])
    assert "Tom AB" in names(run("companies", ("lead_status", "not_in",
                                               [data["status"]["Open"].id])))
    assert "Tom AB" in names(run("companies", ("lead_status", "empty", None)))
    assert Company.get_by_id(lonely.id)


def test_r25_contacts_by_open_follow_up_and_last_activity(data):
    """Read from the contact's kept next step and last activity (R24, R25)."""
    from models.activities import add_activity, complete_activity
    rita = data["rita"]
    anna, bo, cai = (Contact.get(Contact.first_name == n) for n in ("Anna", "Bo", "Cai"))
    add_activity(rita, "follow_up", "Demo", contact=anna, due_at=at("2026-03-20"))
    add_activity(rita, "note", "Met at the fair", contact=bo, created_at=at("2026-02-01"))
    done = add_activity(rita, "follow_up", "Call", contact=cai, due_at=at("2026-03-01"),
                        created_at=at("2026-02-20"))
    complete_activity(done, rita)
    assert names(run("contacts", ("open_follow_up", "is", True))) == {"Anna"}
    assert names(run("contacts", ("open_follow_up", "is", False))) == {"Bo", "Cai", "Dan", "Eva"}
    assert names(run("contacts", ("last_activity", "between",
                                  {"from": None, "to": "2026-02-10"}))) == {"Bo"}
    assert names(run("contacts", ("last_activity", "between",
                                  {"from": "2026-02-11", "to": None}))) == {"Cai"}
    # A company has no such fields.
    with pytest.raises(RuleViolation):
        run("companies", ("open_follow_up", "is", True))
