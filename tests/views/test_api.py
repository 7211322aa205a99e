"""R31: the JSON API: tokens, rights, the rules as in the app, errors, OpenAPI."""
import hashlib
import json
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator
from playhouse.test_utils import count_queries

from models import Actor, Category, Company, Contact, History, LeadStatus, User, create_company
from models.api_tokens import ApiToken, TooManyRequests, authenticate_token, create_token
from models.categorization import save_rules
from models.schema import CategorySuggestion, Sale, now
from models.selections import save_selection
from models.search import parse_criteria
from views.openapi import OPERATIONS, document

from .conftest import sign_in


def token_for(user, scope="write"):
    return create_token(user, "Tests", scope, user)[1]


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def api(app, users):
    """A test client and the headers of the rep's write token."""
    return app.test_client(), bearer(token_for(users["rep"]))


def status_id(name):
    return LeadStatus.get(LeadStatus.name == name).id


def category_id(name):
    return Category.get(Category.name == name).id


# --- Tokens --------------------------------------------------------------------------

def test_r31_token_is_stored_only_as_its_hash(users):
    token, secret = create_token(users["rep"], "Zapier", "read", users["rep"])
    assert secret.startswith("tav_") and len(secret) > 40
    stored = ApiToken.get_by_id(token.id)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(list(ApiToken.select().tuples()))


def test_r31_no_token_or_a_session_alone_is_refused(app, users, sample):
    """A signed-in browser cannot use the API: only a token authenticates it."""
    browser = sign_in(app.test_client(), "rep@example.test")
    for client in (app.test_client(), browser):
        response = client.get("/api/v1/companies")
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
        assert "Bearer" in response.headers["WWW-Authenticate"]
    response = browser.patch(f"/api/v1/contacts/{sample['anna'].id}", json={"title": "CEO"})
    assert response.status_code == 401 and Contact.get_by_id(sample["anna"].id).title == ""


def test_r31_revoked_token_and_deactivated_user_stop_working(app, users, admin_client):
    client = app.test_client()
    secret = token_for(users["rep"])
    assert client.get("/api/v1/users", headers=bearer(secret)).status_code == 200
    token = ApiToken.get(ApiToken.user == users["rep"].id)
    assert token.last_used_at is not None
    admin_client.post(f"/api-tokens/{token.id}/revoke")
    assert client.get("/api/v1/users", headers=bearer(secret)).status_code == 401
    second = token_for(users["manager"])
    User.update(active=False).where(User.id == users["manager"].id).execute()
    assert client.get("/api/v1/users", headers=bearer(second)).status_code == 401


def test_r31_read_token_cannot_write(app, users, sample):
    client = app.test_client()
    headers = bearer(token_for(users["rep"], "read"))
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    response = client.patch(f"/api/v1/contacts/{sample['anna'].id}", headers=headers,
                            json={"title": "CEO"})
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert Contact.get_by_id(sample["anna"].id).title == ""


def test_r31_rate_limit_is_counted_in_the_database(users):
    """Every process shares one count per token: the row in the database."""
    secret = token_for(users["rep"])
    start = now()
    for _ in range(3):
        assert authenticate_token(secret, at=start, limit=3) is not None
    with pytest.raises(TooManyRequests) as refused:
        authenticate_token(secret, at=start + timedelta(seconds=20), limit=3)
    assert 1 <= refused.value.retry_after <= 40
    assert authenticate_token(secret, at=start + timedelta(seconds=61), limit=3) is not None


def test_r31_too_many_requests_is_a_429_with_retry_after(api, monkeypatch):
    client, headers = api
    monkeypatch.setattr("models.api_tokens.RATE_LIMIT", 2)
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    response = client.get("/api/v1/users", headers=headers)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert response.json["error"]["code"] == "rate_limited"


def test_r31_rep_makes_tokens_for_themselves_only(client, users):
    response = client.post("/api-tokens/", data={"name": "Mine", "scope": "read",
                                                 "user": users["admin"].id})
    assert response.status_code == 422
    assert ApiToken.select().count() == 0
    response = client.post("/api-tokens/", data={"name": "Mine", "scope": "read",
                                                 "user": users["rep"].id})
    page = response.data.decode()
    [token] = ApiToken.select()
    assert response.status_code == 200 and token.user_id == users["rep"].id
    secret = page.split('class="token-secret">')[1].split("<")[0]
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    # Shown once: the list afterwards holds only the prefix.
    assert secret not in client.get("/api-tokens/").data.decode()


def test_r31_admin_makes_a_token_for_anyone_and_rep_cannot_revoke_it(admin_client, client,
                                                                     users):
    response = admin_client.post("/api-tokens/", data={"name": "Sync", "scope": "write",
                                                       "user": users["manager"].id})
    assert response.status_code == 200
    token = ApiToken.get(ApiToken.name == "Sync")
    assert token.user_id == users["manager"].id and token.scope == "write"
    assert client.post(f"/api-tokens/{token.id}/revoke").status_code == 404
    assert ApiToken.get_by_id(token.id).revoked_at is None
    assert "Sync" not in client.get("/api-tokens/").data.decode()


# --- Reading ----------------------------------------------------------------------------

def test_r31_lists_page_by_cursor(api, users):
    client, headers = api
    for number in range(5):
        create_company(Actor(users["rep"]), name=f"Bolag {number}",
                       category=Category.get(name="Lead"))
    seen, after = [], 0
    while after is not None:
        page = client.get(f"/api/v1/companies?limit=2&after={after}", headers=headers).json
        assert len(page["data"]) <= 2
        seen += [company["id"] for company in page["data"]]
        after = page["next_after"]
    assert seen == sorted(seen) and len(seen) == 5


def test_r31_lists_filter_with_the_search_criteria(api, sample):
    client, headers = api
    criteria = json.dumps([{"field": "owner", "op": "in", "value": ["me"]}])
    page = client.get("/api/v1/contacts", query_string={"criteria": criteria},
                      headers=headers).json
    assert [c["id"] for c in page["data"]] == [sample["anna"].id]
    response = client.get("/api/v1/contacts", query_string={"criteria": '[{"field": "x"}]'},
                          headers=headers)
    assert response.status_code == 400 and response.json["error"]["field"] == "criteria"


def test_r31_contact_list_makes_the_same_queries_for_one_or_fifty(api, sample, users):
    client, headers = api
    with count_queries() as one:
        client.get("/api/v1/contacts?limit=1", headers=headers)
    for number in range(10):
        Contact.create(company=sample["lead"].id, first_name=f"P{number}", last_name="Q")
    with count_queries() as many:
        client.get("/api/v1/contacts?limit=50", headers=headers)
    assert many.count == one.count <= 5


def test_r31_selections_are_those_the_user_may_see(api, users, sample):
    client, headers = api
    criteria = parse_criteria({"version": 1, "entity": "contacts", "criteria": []})
    mine = save_selection(users["rep"], "Mine", criteria)
    theirs = save_selection(users["manager"], "Private", criteria)
    listed = client.get("/api/v1/selections", headers=headers).json["data"]
    assert [s["id"] for s in listed] == [mine.id]
    assert client.get(f"/api/v1/selections/{theirs.id}", headers=headers).status_code == 404
    items = client.get(f"/api/v1/selections/{mine.id}/items", headers=headers).json["data"]
    assert len(items) == 3


def test_r23_lists_are_named_in_the_token_users_language(app, users):
    swede = User.create(email="sv@example.test", name="Sven", role="rep", language="sv",
                        password_hash="x")
    response = app.test_client().get("/api/v1/lead-statuses",
                                     headers=bearer(token_for(swede)))
    assert "Öppen" in [status["name"] for status in response.json["data"]]
    response = app.test_client().get("/api/v1/contacts?after=x", headers=bearer(token_for(swede)))
    assert response.status_code == 400 and "after" in response.json["error"]["message"]


# --- Writing, through the same rules ------------------------------------------------------

def test_r8_status_where_lead_status_is_inactive_is_refused(api, sample):
    client, headers = api
    cai = sample["cai"]
    response = client.patch(f"/api/v1/contacts/{cai.id}", headers=headers,
                            json={"lead_status_id": status_id("Qualified")})
    assert response.status_code == 422
    assert Contact.get_by_id(cai.id).lead_status_id is None


def test_r20_status_change_writes_history_and_raises_the_version(api, sample, users):
    client, headers = api
    anna = client.get(f"/api/v1/contacts/{sample['anna'].id}", headers=headers).json
    response = client.patch(f"/api/v1/contacts/{anna['id']}", headers=headers, json={
        "lead_status_id": status_id("Contacting"), "version": anna["version"], "title": "CTO"})
    assert response.status_code == 200, response.json
    changed = response.json["contact"]
    assert changed["version"] > anna["version"] and changed["title"] == "CTO"
    history = History.get(History.contact == anna["id"], History.kind == "lead_status",
                          History.to_status == status_id("Contacting"))
    assert history.actor_id == users["rep"].id


def test_r31_stale_version_is_a_409_and_changes_nothing(api, sample):
    client, headers = api
    anna = sample["anna"]
    response = client.patch(f"/api/v1/contacts/{anna.id}", headers=headers, json={
        "lead_status_id": status_id("Qualified"), "title": "CEO", "version": anna.version + 5})
    assert response.status_code == 409 and response.json["error"]["code"] == "conflict"
    fresh = Contact.get_by_id(anna.id)
    assert (fresh.title, fresh.lead_status_id) == ("", anna.lead_status_id)


def test_r17_confirm_rule_makes_a_pending_suggestion(api, sample):
    client, headers = api
    save_rules({("status_set", status_id("Qualified")): {
        "enabled": True, "target_category_id": category_id("Opportunity"),
        "ask_confirm": True}}, Actor())
    response = client.patch(f"/api/v1/contacts/{sample['anna'].id}", headers=headers,
                            json={"lead_status_id": status_id("Qualified")})
    rules = response.json["rules"]
    assert rules["action"] == "propose" and rules["suggestion_id"]
    assert CategorySuggestion.get_by_id(rules["suggestion_id"]).state == "pending"


def test_r10_moving_a_company_by_api_resets_statuses(api, sample):
    client, headers = api
    customer = sample["customer"]
    response = client.patch(f"/api/v1/companies/{customer.id}", headers=headers,
                            json={"category_id": category_id("Lead")})
    assert response.status_code == 200 and response.json["category_id"] == category_id("Lead")
    assert Contact.get_by_id(sample["cai"].id).lead_status_id == status_id("Open")


def test_r15_sale_marked_sold_moves_the_company(api, sample):
    client, headers = api
    save_rules({("sale_sold", None): {"enabled": True,
                                      "target_category_id": category_id("Customer"),
                                      "ask_confirm": False}}, Actor())
    created = client.post("/api/v1/sales", headers=headers, json={
        "company_id": sample["lead"].id, "title": "Pilot", "amount": "1200.50",
        "currency": "SEK", "sale_date": "2026-11-20"})
    assert created.status_code == 201, created.json
    sale = created.json["sale"]
    assert sale["amount"] == "1200.50"
    marked = client.patch(f"/api/v1/sales/{sale['id']}", headers=headers,
                          json={"status": "sold"})
    assert marked.json["rules"]["action"] == "change"
    assert marked.json["sale"]["status"] == "sold"
    assert Category.get_by_id(
        Company.get_by_id(sample["lead"].id).category_id
    ).name == "Customer"


def test_r31_create_company_and_contact(api, users):
    client, headers = api
    company = client.post("/api/v1/companies", headers=headers, json={
        "name": "Nya AB", "category_id": category_id("Lead"), "owner_id": users["rep"].id})
    assert company.status_code == 201
    contact = client.post("/api/v1/contacts", headers=headers, json={
        "company_id": company.json["id"], "first_name": "Nils", "email": "nils@nya.se"})
    assert contact.status_code == 201
    assert contact.json["lead_status_id"] == status_id("Open")  # R9


@pytest.mark.parametrize("body, status, field", [
    ({"name": "X"}, 422, "category_id"),
    ({"name": "X", "category_id": 10 ** 30}, 422, "category_id"),
    ({"name": "X", "category_id": True}, 422, "category_id"),
    ({"name": 5, "category_id": 1}, 422, "name"),
    ({"name": "\u200b", "category_id": 1}, 422, "name"),
    ({"name": "X", "category_id": 1, "website": "javascript:alert(1)"}, 422, "website"),
    ({"name": "X", "category_id": 1, "nonsense": 1}, 422, "nonsense"),
])
def test_r31_bad_fields_are_named_and_nothing_is_saved(api, body, status, field):
    client, headers = api
    before = Category.select().count(), Company.select().count()
    response = client.post("/api/v1/companies", headers=headers, json=body)
    assert response.status_code == status and response.json["error"]["field"] == field
    assert (Category.select().count(),
            Company.select().count()) == before


@pytest.mark.parametrize("data, content_type, status", [
    ("{bad", "application/json", 400),
    ("[" * 5000 + "]" * 5000, "application/json", 400),
    ("[1]", "application/json", 400),
    ("title=CEO", "application/x-www-form-urlencoded", 400),
    (b"\xff", "application/json", 400),
    ('{"title": "' + "x" * 300_000 + '"}', "application/json", 413),
])
def test_r31_malformed_or_oversized_bodies_are_clear_errors(api, sample, data, content_type,
                                                            status):
    client, headers = api
    response = client.patch(f"/api/v1/contacts/{sample['anna'].id}", headers=headers,
                            data=data, content_type=content_type)
    assert response.status_code == status
    assert set(response.json["error"]) == {"code", "message", "field"}
    assert Contact.get_by_id(sample["anna"].id).title == ""


def test_r31_unknown_records_are_404(api):
    client, headers = api
    for path in ("/api/v1/contacts/99999", "/api/v1/sales/" + "9" * 30, "/api/v1/nothing"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


# --- OpenAPI --------------------------------------------------------------------------------

def openapi_path(rule):
    path = rule.rule.removeprefix("/api/v1")
    for name in rule.arguments:
        path = path.replace(f"<int:{name}>", "{%s}" % name)
    return path


def test_r31_openapi_describes_exactly_the_routes(app):
    routes = {(method.lower(), openapi_path(rule)) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(method, path) for method, path, *_ in OPERATIONS}
    assert routes == described
    doc = document()
    assert doc["openapi"].startswith("3.1")
    Draft202012Validator.check_schema({"$defs": doc["components"]["schemas"]})


def response_schema(method, path, status):
    doc = document()
    schema = doc["paths"][path][method]["responses"][str(status)]["content"][
        "application/json"]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]})


def test_r31_real_answers_match_the_openapi_schemas(api, sample, users):
    client, headers = api
    criteria = parse_criteria({"version": 1, "entity": "contacts", "criteria": []})
    selection = save_selection(users["rep"], "Mine", criteria)
    sale = client.post("/api/v1/sales", headers=headers, json={
        "company_id": sample["lead"].id, "title": "Pilot", "amount": 10, "currency": "SEK",
        "contact_id": sample["anna"].id}).json["sale"]
    activity = client.post(f"/api/v1/contacts/{sample['anna'].id}/activities", headers=headers,
                           json={"kind": "follow_up", "text": "Demo",
                                 "due_at": "2026-12-03T10:00"}).json
    ids = {"company_id": sample["lead"].id, "contact_id": sample["anna"].id,
           "sale_id": sale["id"], "selection_id": selection.id, "activity_id": activity["id"]}
    bodies = {("patch", "/companies/{company_id}"): {"city": "Umeå"},
              ("patch", "/contacts/{contact_id}"): {"title": "CEO"},
              ("patch", "/sales/{sale_id}"): {"status": "lost"},
              ("post", "/companies"): {"name": "Ny AB", "category_id": category_id("Lead")},
              ("post", "/contacts"): {"company_id": sample["lead"].id, "first_name": "Ny"},
              ("post", "/sales"): {"company_id": sample["lead"].id, "title": "T",
                                   "amount": "5"},
              ("post", "/contacts/{contact_id}/activities"): {"kind": "call",
                                                              "text": "Called"},
              ("patch", "/activities/{activity_id}"): {"text": "Demo at their office"},
              ("post", "/activities/{activity_id}/complete"): {"done": True}}
    manager = bearer(token_for(users["manager"]))
    # The deletes last (they take the records the others read): the activity, the contact,
    # then the company with its contacts; as the manager.
    order = ("/activities", "/contacts", "/companies")
    last = sorted(OPERATIONS, key=lambda o: (o[0] == "delete",
                                             [o[1].startswith(p) for p in order].index(True)
                                             if o[0] == "delete" else 0))
    for method, path, _, _, status, _, _ in last:
        url = "/api/v1" + path.format(**ids)
        response = client.open(url, method=method.upper(),
                               headers=manager if method == "delete" else headers,
                               json=bodies.get((method, path)))
        assert response.status_code == status, (method, path, response.json)
        if status == 204:
            assert response.data == b""
        else:
            response_schema(method, path, status).validate(response.json)
    error = client.get("/api/v1/contacts?limit=0", headers=headers)
    response_schema("get", "/contacts", 400).validate(error.json)
    assert Sale.select().count() == 2


def test_r31_reference_page_lists_every_operation(client):
    page = client.get("/api-reference").data.decode()
    for method, path, *_ in OPERATIONS:
        assert f"{method.upper()} /api/v1{path}" in page


def test_r31_company_fields_and_move_are_all_or_nothing(api, sample):
    client, headers = api
    customer = sample["customer"]
    response = client.patch(f"/api/v1/companies/{customer.id}", headers=headers, json={
        "city": "Umeå", "website": "javascript:x", "category_id": category_id("Lead")})
    assert response.status_code == 422 and response.json["error"]["field"] == "website"
    fresh = Company.get_by_id(customer.id)
    assert (fresh.city, fresh.category_id) == ("", category_id("Customer"))


def test_r31_token_list_makes_the_same_queries_for_one_or_many(admin_client, users):
    create_token(users["rep"], "One", "read", users["rep"])
    with count_queries() as one:
        admin_client.get("/api-tokens/")
    for number in range(5):
        create_token(users["manager"], f"T{number}", "write", users["manager"])
    with count_queries() as many:
        admin_client.get("/api-tokens/")
    assert many.count == one.count


# --- Activities (R24 through the API) -------------------------------------------------------

def test_r24_activities_are_recorded_changed_completed_and_deleted(api, sample, users):
    """The card's activity rules through the API: the contact's next step follows."""
    client, headers = api
    anna = sample["anna"]
    url = f"/api/v1/contacts/{anna.id}/activities"
    made = client.post(url, headers=headers, json={"kind": "follow_up", "text": "Demo",
                                                   "due_at": "2026-12-03T10:00"})
    assert made.status_code == 201
    follow_up = made.json
    assert (follow_up["kind"], follow_up["due_at"], follow_up["owner_id"]) == (
        "follow_up", "2026-12-03T10:00:00", users["rep"].id)
    assert Contact.get_by_id(anna.id).next_step_text == "Demo"
    note = client.post(url, headers=headers, json={"kind": "note", "text": "Likes fika"}).json
    listed = client.get(url + "?limit=1", headers=headers).json
    assert [a["id"] for a in listed["data"]] == [follow_up["id"]]
    assert listed["next_after"] == follow_up["id"]
    changed = client.patch(f"/api/v1/activities/{follow_up['id']}", headers=headers,
                           json={"due_at": "2026-12-04"})
    assert changed.json["due_at"] == "2026-12-04T09:00:00" and changed.json["text"] == "Demo"
    done = client.post(f"/api/v1/activities/{follow_up['id']}/complete", headers=headers)
    assert done.status_code == 200 and done.json["done_at"] is not None
    assert Contact.get_by_id(anna.id).next_step_at is None
    reopened = client.post(f"/api/v1/activities/{follow_up['id']}/complete", headers=headers,
                           json={"done": False})
    assert reopened.json["done_at"] is None
    assert client.delete(f"/api/v1/activities/{note['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/activities/{note['id']}", headers=headers).status_code == 404
    actions = [row.activity_action for row in History.select()
               .where(History.kind == History.ACTIVITY).order_by(History.id)]
    assert actions == ["created", "created", "updated", "completed", "reopened", "deleted"]


@pytest.mark.parametrize("data, status, field", [
    ({"kind": "follow_up", "text": "Demo"}, 422, "due_date"),
    ({"kind": "follow_up", "text": "Demo", "due_at": "2026-13-40"}, 422, "due_at"),
    ({"kind": "follow_up", "text": "Demo", "due_at": 5}, 422, "due_at"),
    ({"kind": "lunch", "text": "x"}, 422, "kind"),
    ({"kind": "note", "text": ""}, 422, "text"),
    ({"kind": "note", "text": "x", "colour": "red"}, 422, "colour"),
    ({"kind": "note", "text": "x", "owner_id": 99999}, 422, "owner_id"),
])
def test_r24_bad_activities_are_refused_and_nothing_saved(api, sample, data, status, field):
    client, headers = api
    response = client.post(f"/api/v1/contacts/{sample['anna'].id}/activities",
                           headers=headers, json=data)
    assert response.status_code == status and response.json["error"]["field"] == field
    assert not History.select().where(History.kind == History.ACTIVITY).exists()


def test_r24_only_author_managers_and_admins_change_an_activity(app, api, sample, users):
    """Rights as on the card: another rep may not edit, complete or delete (403)."""
    from models.activities import add_activity
    client, headers = api
    other = User.create(email="other@example.test", name="Other", role="rep", password_hash="x")
    theirs = add_activity(other, "note", "Mine", contact=sample["anna"])
    for method, path, data in (("PATCH", "", {"text": "Ours"}), ("DELETE", "", None),
                               ("POST", "/complete", None)):
        response = client.open(f"/api/v1/activities/{theirs.id}{path}", method=method,
                               headers=headers, json=data)
        assert response.status_code == (422 if path else 403), response.json
    manager = bearer(token_for(users["manager"]))
    assert client.patch(f"/api/v1/activities/{theirs.id}", headers=manager,
                        json={"text": "Ours"}).json["text"] == "Ours"


def test_r31_read_token_cannot_add_activities(app, users, sample):
    client = app.test_client()
    headers = bearer(token_for(users["rep"], scope="read"))
    response = client.post(f"/api/v1/contacts/{sample['anna'].id}/activities", headers=headers,
                           json={"kind": "note", "text": "x"})
    assert response.status_code == 403
    assert client.get(f"/api/v1/contacts/{sample['anna'].id}/activities",
                      headers=headers).status_code == 200


def test_r31_activity_list_makes_the_same_queries_for_one_or_many(api, sample, users):
    from models.activities import add_activity
    client, headers = api
    url = f"/api/v1/contacts/{sample['anna'].id}/activities"
    add_activity(users["rep"], "note", "One", contact=sample["anna"])
    with count_queries() as one:
        client.get(url, headers=headers)
    for number in range(20):
        add_activity(users["rep"], "call", f"Call {number}", contact=sample["anna"])
    with count_queries() as many:
        assert len(client.get(url, headers=headers).json["data"]) == 21
    assert many.count == one.count


# --- Deletes and company versions -----------------------------------------------------

def test_r27_managers_delete_by_api_and_reps_may_not(app, api, sample, users):
    """A delete through the API is the soft delete of the screens: restorable, in the trash."""
    client, rep = api
    manager = bearer(token_for(users["manager"]))
    anna, lead = sample["anna"], sample["lead"]
    assert client.delete(f"/api/v1/contacts/{anna.id}", headers=rep).status_code == 403
    assert client.delete(f"/api/v1/companies/{lead.id}", headers=rep).status_code == 403
    assert Contact.select().where(Contact.id == anna.id).exists()
    assert client.delete(f"/api/v1/contacts/{anna.id}", headers=manager).status_code == 204
    assert client.get(f"/api/v1/contacts/{anna.id}", headers=manager).status_code == 404
    assert client.delete(f"/api/v1/contacts/{anna.id}", headers=manager).status_code == 404
    assert Contact.deleted().where(Contact.id == anna.id).exists()
    assert client.delete(f"/api/v1/companies/{lead.id}", headers=manager).status_code == 204
    assert Company.deleted().where(Company.id == lead.id).exists()
    assert not Contact.select().where(Contact.company == lead.id).exists()


def test_r31_a_stale_delete_is_a_409_and_deletes_nothing(api, sample, users):
    client, _ = api
    manager = bearer(token_for(users["manager"]))
    anna = sample["anna"]
    etag = client.get(f"/api/v1/contacts/{anna.id}", headers=manager).headers["ETag"]
    client.patch(f"/api/v1/contacts/{anna.id}", headers=manager,
                 json={"lead_status_id": status_id("Qualified")})
    response = client.delete(f"/api/v1/contacts/{anna.id}",
                             headers={**manager, "If-Match": etag})
    assert response.status_code == 409
    assert Contact.select().where(Contact.id == anna.id).exists()


def test_r31_companies_carry_a_version_and_refuse_stale_writes(api, sample):
    """A company's version rises with every change (fields, category, owner); a write that
    names an older one, in the body or If-Match, is a 409 and changes nothing."""
    client, headers = api
    lead = sample["lead"]
    read = client.get(f"/api/v1/companies/{lead.id}", headers=headers)
    version = read.json["version"]
    assert read.headers["ETag"] == f'"{version}"'
    changed = client.patch(f"/api/v1/companies/{lead.id}", headers=headers,
                           json={"city": "Umeå", "version": version})
    assert changed.status_code == 200 and changed.json["version"] == version + 1
    assert changed.headers["ETag"] == f'"{version + 1}"'
    stale = client.patch(f"/api/v1/companies/{lead.id}", headers=headers,
                         json={"city": "Luleå", "version": version})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "conflict"
    stale = client.patch(f"/api/v1/companies/{lead.id}",
                         headers={**headers, "If-Match": f'"{version}"'},
                         json={"category_id": category_id("Customer")})
    assert stale.status_code == 409
    fresh = Company.get_by_id(lead.id)
    assert (fresh.city, fresh.category_id) == ("Umeå", category_id("Lead"))
    moved = client.patch(f"/api/v1/companies/{lead.id}",
                         headers={**headers, "If-Match": f'"{version + 1}"'},
                         json={"category_id": category_id("Customer")})
    assert moved.status_code == 200 and moved.json["version"] == version + 2
    bad = client.patch(f"/api/v1/companies/{lead.id}", headers={**headers, "If-Match": "x"},
                       json={"city": "Kiruna"})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "If-Match"
