"""My day: follow-ups overdue and due today, new leads, suggestions I caused (R24-R26)."""
import datetime

from playhouse.test_utils import count_queries

from models import Actor, Category, assign_owner, create_contact
from models.activities import add_activity
from models.schema import Activity, CategorySuggestion, now

from .conftest import HTMX


def test_my_day_lists_my_due_follow_ups_new_leads_and_suggestions(client, sample, users):
    rep = users["rep"]
    add_activity(rep, "follow_up", "Overdue call", contact=sample["anna"],
                 due_at=now() - datetime.timedelta(days=2))
    add_activity(rep, "follow_up", "Next month", contact=sample["anna"],
                 due_at=now() + datetime.timedelta(days=30))
    add_activity(users["manager"], "follow_up", "Not mine", contact=sample["bo"],
                 due_at=now() - datetime.timedelta(hours=1), owner=users["manager"])
    assign_owner(sample["bo"], rep, Actor(users["manager"]))
    CategorySuggestion.create(company=sample["lead"], from_category=sample["lead"].category_id,
                              proposed_category=Category.get(name="Opportunity"), caused_by=rep)
    page = client.get("/my-day").data.decode()
    due = page.split('id="follow-ups-heading"')[1].split("</section>")[0]
    assert "Overdue call" in due and "Next month" not in due and "Not mine" not in due
    new_leads = page.split('id="new-leads-heading"')[1].split("</section>")[0]
    assert "Bo Ek" in new_leads
    suggestions = page.split('id="suggestions-heading"')[1].split("</section>")[0]
    assert "Fjällbo AB" in suggestions and "Opportunity" in suggestions


def test_a_follow_up_is_done_in_place_on_my_day(client, sample, users):
    follow_up = add_activity(users["rep"], "follow_up", "Call Anna", contact=sample["anna"],
                             due_at=now())
    response = client.post(f"/my-day/follow-ups/{follow_up.id}/done", headers=HTMX)
    assert response.status_code == 200 and "Call Anna" not in response.data.decode()
    assert Activity.get_by_id(follow_up.id).done_at is not None


def test_a_rep_cannot_complete_someone_elses_follow_up_from_my_day(client, sample, users):
    theirs = add_activity(users["manager"], "follow_up", "Theirs", contact=sample["bo"],
                          due_at=now(), owner=users["manager"])
    assert client.post(f"/my-day/follow-ups/{theirs.id}/done", headers=HTMX).status_code == 403
    assert client.post("/my-day/follow-ups/99999/done").status_code == 404
    assert Activity.get_by_id(theirs.id).done_at is None


def test_my_day_query_count_is_fixed(client, sample, users):
    def queries():
        with count_queries() as counter:
            assert client.get("/my-day").status_code == 200
        return counter.count
    few = queries()
    for number in range(20):
        contact = create_contact(sample["lead"], Actor(users["manager"]), first_name="N",
                                 last_name=str(number), owner=users["rep"])
        add_activity(users["rep"], "follow_up", f"Step {number}", contact=contact, due_at=now())
    assert queries() == few
