"""R25: the next step on every board card; filters and sort by it; planning one."""
import datetime

import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, LeadStatus, create_company, create_contact
from models.activities import add_activity, complete_activity
from models.schema import now

from .conftest import HTMX


def soon(days, hour=10):
    return datetime.datetime.combine(datetime.date.today() + datetime.timedelta(days=days),
                                     datetime.time(hour, 0))


@pytest.fixture
def steps(sample, users):
    """Anna: a demo in two days; Bo: overdue since yesterday; Cai's customer is off the board."""
    add_activity(users["rep"], "follow_up", "Demo", contact=sample["anna"], due_at=soon(2))
    add_activity(users["manager"], "follow_up", "Call back", contact=sample["bo"],
                 due_at=soon(-1), owner=users["manager"])
    dag = create_contact(sample["lead"], Actor(users["rep"]), first_name="Dag", last_name="Ös")
    return {**sample, "dag": dag}


def card(page, contact):
    return page.split(f'id="card-{contact.id}"')[1].split("</li>")[0]


def test_r25_each_card_shows_its_next_step_overdue_in_red_none_marked(client, steps):
    page = client.get("/board?owner=all").data.decode()
    anna = card(page, steps["anna"])
    assert "Demo · " in anna and soon(2).strftime("%a") in anna and "10:00" in anna
    assert 'class="card-next"' in anna
    assert 'class="card-next overdue"' in card(page, steps["bo"]) and "Overdue" in card(page, steps["bo"])
    assert 'class="card-next none"' in card(page, steps["dag"]) and \
        "No next step" in card(page, steps["dag"])
    # "Plan next step" is a link in the card's menu, which loads when it opens.
    menu = client.get(f"/board/menu/{steps['dag'].id}", headers=HTMX).data.decode()
    assert f'href="/contacts/{steps["dag"].id}?plan=1#activity-form"' in menu
    assert 'aria-label="Plan the next step for Dag Ös"' in menu


@pytest.mark.parametrize("which, shown, hidden", [
    ("overdue", ["bo"], ["anna", "dag"]),
    ("none", ["dag"], ["anna", "bo"]),
    ("week", [], ["dag"]),
])
def test_r25_the_board_filters_by_next_step(client, steps, which, shown, hidden):
    page = client.get(f"/board?owner=all&next={which}").data.decode()
    for name in shown:
        assert f'id="card-{steps[name].id}"' in page
    for name in hidden:
        assert f'id="card-{steps[name].id}"' not in page
    if which == "overdue":
        # the column counts follow the filter: one open lead is overdue
        assert '<span id="count-' in page


def test_r25_a_bad_next_step_filter_is_no_filter(client, steps):
    page = client.get("/board?owner=all&next=nonsense").data.decode()
    assert all(f'id="card-{steps[n].id}"' in page for n in ("anna", "bo", "dag"))


def test_r25_the_board_sorts_by_next_step(client, steps):
    page = client.get("/board?owner=all&sort=next_step").data.decode()
    positions = [page.index(f'id="card-{steps[n].id}"') for n in ("dag", "bo", "anna")]
    assert positions == sorted(positions)  # none first, then the soonest


def test_r25_the_drop_toast_offers_to_plan_the_next_step(client, sample):
    anna = sample["anna"]
    response = client.post("/board/move", headers=HTMX, data={
        "contact": anna.id, "status": LeadStatus.get(name="Qualified").id,
        "version": anna.version})
    assert f'href="/contacts/{anna.id}?plan=1#activity-form"' in response.data.decode()
    card_page = client.get(f"/contacts/{anna.id}?plan=1").data.decode()
    assert '<option selected value="follow_up">' in card_page


def test_r25_the_board_reads_next_steps_without_a_query_per_card(client, users):
    def queries():
        with count_queries() as counter:
            assert client.get("/board?owner=all").status_code == 200
        return counter.count
    actor = Actor(users["rep"])
    company = create_company(actor, name="A", category=Category.get(name="Lead"))
    create_contact(company, actor, first_name="A", last_name="A", owner=users["rep"])
    few = queries()
    for number in range(30):
        contact = create_contact(company, actor, first_name="B", last_name=str(number),
                                 owner=users["rep"])
        add_activity(users["rep"], "follow_up", f"Step {number}", contact=contact,
                     due_at=now() + datetime.timedelta(days=number - 15))
    assert queries() == few


def test_r25_a_live_board_hears_of_a_new_follow_up(client, sample, users):
    """The activity's history row is in the feed: open boards redraw the card."""
    last = client.get("/events/poll?after=0").get_json()["last_id"]
    add_activity(users["rep"], "follow_up", "Demo", contact=sample["anna"], due_at=soon(1))
    news = client.get(f"/events/poll?after={last}").get_json()
    assert news["contacts"] == [sample["anna"].id]


@pytest.mark.parametrize("language, this_week, later", [
    ("en", "Thu 10:00", "17 Dec 14:30"),
    ("sv", "tors 10:00", "17 dec. 14:30"),
])
def test_r25_a_due_time_reads_in_the_readers_language_with_its_date_beyond_a_week(
        app, language, this_week, later):
    from flask_babel import force_locale

    from views.i18n import when_due
    monday = datetime.datetime(2026, 11, 30, 9, 0)
    with app.test_request_context(), force_locale(language):
        assert when_due(datetime.datetime(2026, 12, 3, 10, 0), monday) == this_week
        assert when_due(datetime.datetime(2026, 12, 17, 14, 30), monday) == later


def company_card(page, company):
    return page.split(f'id="company-card-{company.id}"')[1].split("</li>")[0]


def test_r25_a_company_card_shows_the_earliest_open_follow_up_on_it_or_its_contacts(
        client, users, sample):
    lead = sample["lead"]
    page = client.get("/board/companies").data.decode()
    assert 'class="card-next none"' in company_card(page, lead)
    assert "No next step" in company_card(page, lead)
    # On the company alone, then an earlier one on a contact (the later one, done,
    # and another company's do not count).
    add_activity(users["rep"], "follow_up", "Send the offer\nwith prices", company=lead,
                 due_at=soon(3))
    page = client.get("/board/companies").data.decode()
    assert "Send the offer · " in company_card(page, lead) and "with prices" not in page
    demo = add_activity(users["rep"], "follow_up", "Demo", contact=sample["bo"],
                        due_at=soon(-1))
    add_activity(users["rep"], "follow_up", "Other", contact=sample["cai"], due_at=soon(-5))
    page = client.get("/board/companies").data.decode()
    card = company_card(page, lead)
    assert 'class="card-next overdue"' in card and "Demo · " in card and "Overdue" in card
    complete_activity(demo, users["rep"])
    assert "Send the offer · " in company_card(client.get("/board/companies").data.decode(),
                                                 lead)


def test_r25_company_board_next_steps_take_one_query_however_many_cards(client, users):
    def queries():
        with count_queries() as counter:
            assert client.get("/board/companies").status_code == 200
        return counter.count
    rep, lead = Actor(users["rep"]), Category.get(name="Lead")
    company = create_company(rep, name="Första AB", category=lead)
    add_activity(users["rep"], "follow_up", "Call", company=company, due_at=soon(1))
    few = queries()
    for number in range(12):
        more = create_company(rep, name=f"Bolag {number}", category=lead)
        add_activity(users["rep"], "follow_up", "Call", company=more, due_at=soon(number))
    assert queries() == few


@pytest.fixture
def company_steps(users):
    """Three Lead companies: one overdue, one due in ten days, one with none."""
    rep, lead = Actor(users["rep"]), Category.get(name="Lead")
    late, later, idle = (create_company(rep, name=name, category=lead)
                         for name in ("Aalto Oy", "Berg AB", "Ceder AS"))
    add_activity(users["rep"], "follow_up", "Call", company=late, due_at=soon(-2))
    add_activity(users["rep"], "follow_up", "Offer", contact=create_contact(
        later, rep, first_name="Dan", last_name="Berg"), due_at=soon(10))
    return {"late": late, "later": later, "idle": idle}


@pytest.mark.parametrize("which, shown, hidden", [
    ("overdue", ["late"], ["later", "idle"]),
    ("none", ["idle"], ["late", "later"]),
    ("nonsense", ["late", "later", "idle"], []),
])
def test_r25_the_company_board_filters_by_next_step(client, company_steps, which, shown,
                                                    hidden):
    page = client.get(f"/board/companies?next={which}").data.decode()
    lead = Category.get(name="Lead").id
    assert f'<span id="count-{lead}" class="count">{len(shown)}</span>' in page
    assert page.count('<option value="overdue" selected>') == (which == "overdue")
    for name in shown:
        assert f'id="company-card-{company_steps[name].id}"' in page
    for name in hidden:
        assert f'id="company-card-{company_steps[name].id}"' not in page


def test_r25_the_company_board_sorts_by_next_step(client, company_steps):
    page = client.get("/board/companies?sort=next_step").data.decode()
    positions = [page.index(f'id="company-card-{company_steps[n].id}"')
                 for n in ("idle", "late", "later")]
    assert positions == sorted(positions)  # none first, then the soonest
    by_name = client.get("/board/companies?sort=name").data.decode()
    positions = [by_name.index(f'id="company-card-{company_steps[n].id}"')
                 for n in ("late", "later", "idle")]
    assert positions == sorted(positions)
