"""R24: activities on the contact and company cards, in place (htmx) and without it."""
import datetime
import re

import pytest
from playhouse.test_utils import count_queries

from models import Contact, History
from models.activities import add_activity
from models.schema import Activity

from .conftest import HTMX, sign_in


def post_activity(client, contact, headers=None, **data):
    return client.post(f"/contacts/{contact.id}/activities", data=data, headers=headers or {})


def test_r24_a_rep_logs_a_call_and_schedules_a_follow_up_in_place(client, sample):
    anna = sample["anna"]
    response = post_activity(client, anna, HTMX, kind="call",
                             text="Called, interested, wants a demo")
    assert response.status_code == 200
    body = response.data.decode()
    assert response.headers["HX-Retarget"] == "#activities"
    assert 'id="activities"' in body and 'id="timeline" class="card" hx-swap-oob="true"' in body
    assert "Called, interested, wants a demo" in body
    response = post_activity(client, anna, HTMX, kind="follow_up", text="Demo",
                             due_date="2026-12-03", due_time="10:00")
    assert response.status_code == 200
    contact = Contact.get_by_id(anna.id)
    assert (contact.next_step_at, contact.next_step_text) == (
        datetime.datetime(2026, 12, 3, 10, 0), "Demo")
    follow_up = Activity.get(Activity.kind == "follow_up")
    assert follow_up.owner_id == follow_up.author_id
    response = client.post(f"/activities/{follow_up.id}/done", headers=HTMX)
    assert response.status_code == 200 and Activity.get_by_id(follow_up.id).done_at
    assert Contact.get_by_id(anna.id).next_step_at is None


def test_without_htmx_an_activity_goes_back_to_the_card(client, sample):
    anna = sample["anna"]
    response = post_activity(client, anna, kind="note", text="Hello")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/contacts/{anna.id}")
    assert "Hello" in client.get(f"/contacts/{anna.id}").data.decode()


def test_r24_a_note_on_a_company_is_on_its_card(client, sample):
    lead = sample["lead"]
    response = client.post(f"/companies/{lead.id}/activities", headers=HTMX,
                           data={"kind": "meeting", "text": "Met the board"})
    assert response.status_code == 200 and "Met the board" in response.data.decode()
    assert "Met the board" in client.get(f"/companies/{lead.id}").data.decode()


@pytest.mark.parametrize("data, message", [
    ({"kind": "note", "text": "   "}, "Write something first."),
    ({"kind": "note", "text": "x" * (100 * 1024)}, "At most 10000 characters."),
    ({"kind": "follow_up", "text": "Demo", "due_date": "2026-02-30"}, "Enter a real date"),
    ({"kind": "follow_up", "text": "Demo", "due_date": "2026-12-03", "due_time": "24:61"},
     "Enter a real time"),
    ({"kind": "follow_up", "text": "Demo", "due_date": ""}, "A follow-up needs a due date."),
    ({"kind": "coffee", "text": "Fika"}, "Not a valid choice"),
])
def test_r24_bad_input_gets_a_clear_message_and_nothing_is_saved(client, sample, data, message):
    history = History.select().count()
    response = post_activity(client, sample["anna"], HTMX, **data)
    assert response.status_code == 422
    assert message in response.data.decode()
    assert Activity.select().count() == 0 and History.select().count() == history


def test_r24_an_activity_on_an_unknown_contact_is_404(client, sample):
    for contact_id in (999999, 2 ** 70):
        response = client.post(f"/contacts/{contact_id}/activities",
                               data={"kind": "note", "text": "Hi"})
        assert response.status_code == 404
    assert Activity.select().count() == 0


def test_r24_a_rep_cannot_complete_or_delete_someone_elses_follow_up(app, client, sample, users):
    manager_follow_up = add_activity(users["manager"], "follow_up", "Manager's call",
                                     contact=sample["anna"],
                                     due_at=datetime.datetime(2026, 12, 3, 9))
    for action in ("done", "delete"):
        response = client.post(f"/activities/{manager_follow_up.id}/{action}", headers=HTMX)
        assert response.status_code == 403
    assert client.get(f"/activities/{manager_follow_up.id}/edit").status_code == 403
    stored = Activity.get_by_id(manager_follow_up.id)
    assert stored.done_at is None
    manager = sign_in(app.test_client(), "manager@example.test")
    assert manager.post(f"/activities/{manager_follow_up.id}/done").status_code == 302


def test_an_activity_is_edited_in_place(client, sample):
    note = add_activity(sample["anna"].owner, "note", "Frist draft", contact=sample["anna"])
    form = client.get(f"/activities/{note.id}/edit", headers=HTMX).data.decode()
    assert "Frist draft" in form and "<html" not in form
    page = client.get(f"/activities/{note.id}/edit").data.decode()
    assert "<html" in page  # a real page on a direct visit
    response = client.post(f"/activities/{note.id}/edit", headers=HTMX, data={"text": "First"})
    assert response.status_code == 200 and Activity.get_by_id(note.id).text == "First"
    response = client.post(f"/activities/{note.id}/edit", headers=HTMX, data={"text": ""})
    assert response.status_code == 422 and Activity.get_by_id(note.id).text == "First"


def test_activity_text_is_escaped(client, sample):
    post_activity(client, sample["anna"], kind="note", text="<script>alert(1)</script>")
    page = client.get(f"/contacts/{sample['anna'].id}").data.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_r24_the_timeline_pages_to_older_entries(client, sample):
    anna = sample["anna"]
    for number in range(40):
        add_activity(anna.owner, "call", f"Call number {number:02}", contact=anna,
                     created_at=datetime.datetime(2026, 1, 1) + datetime.timedelta(hours=number))
    page = client.get(f"/contacts/{anna.id}").data.decode()
    assert "Call number 39" in page and "Call number 05" not in page and "Older entries" in page
    older = page.split('class="older"')[1].split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(older, headers=HTMX).data.decode()
    assert "Call number 05" in rest and "Call number 39" not in rest and "<html" not in rest
    assert "<html" in client.get(older).data.decode()


def test_contact_card_queries_do_not_grow_with_activities(client, sample):
    anna = sample["anna"]
    with count_queries() as few:
        client.get(f"/contacts/{anna.id}")
    for number in range(30):
        add_activity(anna.owner, "follow_up", f"Step {number}", contact=anna,
                     due_at=datetime.datetime(2026, 12, 1, 9))
    with count_queries() as many:
        client.get(f"/contacts/{anna.id}")
    assert few.count == many.count


def test_a_field_error_is_tied_to_its_field_for_screen_readers(client, sample):
    response = post_activity(client, sample["anna"], HTMX, kind="follow_up", text="Demo",
                             due_date="2026-02-30")
    assert response.status_code == 422
    body = response.data.decode()
    field = re.search(r'<input[^>]*id="due_date"[^>]*>', body).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="due_date-error"' in field
    assert re.search(r'<div id="due_date-error">\s*<p class="field-error">Enter a real date',
                     body)
