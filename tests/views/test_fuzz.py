"""Whatever is sent, no route answers 500, and a refused request changes nothing.

Every route of `app.url_map` is driven by hostile input, anonymously and
as each role, with CSRF protection switched on (and a valid token where a
request is meant to get through): ids in the path that are huge (beyond
64 bits), negative, Unicode digits or 5,000 digits long; query strings,
form fields and headers (htmx's, Last-Event-ID, Origin) holding the same,
NUL, JSON of the wrong shape or nested deeply, CR/LF and dates at the end
of the calendar. Two passes: a sweep that sends each route the worst ids
as every role (so no route can be missed), and a Hypothesis property over
random combinations (derandomized: the same examples on every run, so CI
is stable). Each response must

- not be a server error;
- when it refuses (4xx), leave every table as it was (failed sign-ins are
  counted on purpose, in login_failure);
- when it redirects, stay on this site (no open redirect, no CR/LF);
- when it is HTML, carry the security headers.
"""
import hashlib
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
from app import create_app
from models import Actor, Category, User, create_company, create_contact
from models.dashboards import ensure_default_dashboard
from models.distribution import save_flow
from models.webforms import default_field_config, save_web_form

from .conftest import PASSWORD, make_user
from .test_security import assert_security_headers

ROLES = ("anonymous", "rep", "manager", "admin")
HUGE = "99999999999999999999"
PATH_IDS = ["1", "2", "3", "0", HUGE, str(2 ** 63), str(2 ** 63 - 1), str(2 ** 31), "-1",
            "\u00b2", "\u0663", "1" * 5000, "abc"]
SWEEP_IDS = ["1", HUGE, str(2 ** 63), "-1", "\u00b2"]
HOSTILE = [HUGE, str(2 ** 63), "-1", "\u00b2", "\u0663", "1" * 5000, "", " ", "0", "1", "2",
           "abc", "\x00", "a\x00b", "\r\nSet-Cookie: x=1", "/%09/evil.example/",
           "/\t/evil.example/", "//evil.example", "https://evil.example", "/\\evil.example",
           "javascript:alert(1)", "<script>alert(1)</script>", "'\"; DROP TABLE company; --",
           '{"version":1,"entity":[]}', '{"version":1,"entity":"contacts","criteria":'
           '[{"field":"category_group","op":"in","value":[[1]]}]}',
           "[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, "[[1]]", "{}", "null",
           "9999-12-31", "0001-01-01", "2024-02-30", "\u200b\u200b", "\u202e", "x" * 300,
           "me", "all", "status", "owner", "category", "-name", "stage:0", "period:99",
           "status:" + HUGE, "true", "false"]
# Query and form names the views read, and a few nobody reads.
NAMES = ["page", "offset", "owner", "selection", "status", "category", "q", "sort", "group",
         "group_by", "shown", "suggestion", "saved", "after", "fp", "key", "kind", "entity",
         "f0", "o0", "v0", "f1", "o1", "v1", "reset", "reset_value", "remove", "add", "col",
         "cols", "tick", "sep", "next", "edit", "contact", "company", "version", "order",
         "id", "criteria", "name", "action", "scope", "lead_status", "stages", "period",
         "days", "title", "source", "shared", "email", "password", "confirm", "first_name",
         "last_name", "website", "phone", "role", "language", "amount", "currency",
         "sale_date", "member", "strategy", "active", "redirect_url", "thank_you",
         "allowed_origins", "rate_limit", "flow", "remember_as", "column-0", "undo", "via",
         "description", "group_code", "rule-status_set-1-target", "rule-sale_sold-0-enabled",
         "message", "homepage", "utm_source", "nonsense"]
HEADERS = {
    "HX-Request": ["true"],
    "HX-Target": ["board-columns", "contacts-tab", "results", "x" * 300],
    "HX-Current-URL": ["http://localhost/contacts/1", "javascript:alert(1)", HUGE],
    "Last-Event-ID": ["\u00b2", "1" * 5000, "-1", HUGE, "3"],
    "Origin": ["https://evil.example", "null"],
    "Accept": ["application/json", "text/html"],
}
# Rows a refused request may add: a failed sign-in is counted on purpose.
# Counted sign-in failures, and the job queue's own tables on PostgreSQL, which the
# worker threads change on their own (heartbeats, periodic tasks): what a request asks
# of the queue is a `job` row, which is compared like any data.
CHANGES_ALLOWED = {"login_failure", "job_worker", "queue_counter", "queue_kv",
                   "queue_schedule", "queue_task"}
# An API token counts every request it makes (its rate limit and last use), refused or not:
# only its other columns are compared.
COUNTING_LEFT_OUT = {"api_token": "id, user_id, name, scope, token_hash, revoked_at"}


@pytest.fixture
def fuzz(database_url):
    """An app with CSRF protection on, sample data, and a signed-in client per role."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "fuzz", "TESTING": True,
                      "FEED_STREAM_SECONDS": 0, "FEED_POLL_SECONDS": 0})
    models.database.connect(reuse_if_open=True)
    users = {role: make_user(f"{role}@example.test", role) for role in ROLES[1:]}
    actor = Actor(users["rep"])
    lead = create_company(actor, name="Fjällbo AB", category=Category.get(name="Lead"),
                          owner=users["rep"])
    create_contact(lead, actor, first_name="Anna", last_name="Berg", owner=users["rep"])
    create_contact(lead, actor, first_name="Bo", last_name="Ek")
    flow = save_flow(None, Actor(users["admin"]), "Nordics", "round_robin", True,
                     [users["rep"].id])
    form = save_web_form(None, Actor(users["admin"]), "Spring", Category.get(name="Lead").id,
                         flow.id, default_field_config())
    for user in users.values():
        ensure_default_dashboard(user, "Overview")
    state = FuzzState(app, users, form.token)
    yield state
    models.database.close()


class FuzzState:
    def __init__(self, app, users, token):
        self.app, self.users, self.token = app, users, token
        self.roles = {role: (user.id, user.role) for role, user in users.items()}
        self.clients = {role: app.test_client() for role in ROLES}
        self.tokens = {}
        for role in ROLES[1:]:
            response = self.clients[role].post("/login", data={
                "email": f"{role}@example.test", "password": PASSWORD,
                "csrf_token": self.csrf_token("anonymous", "/login", role)})
            assert response.status_code == 302, response.data
        self.data = snapshot()

    def csrf_token(self, role, url="/account", client_role=None):
        """A CSRF token of the client's session, read from a page as a browser would."""
        page = self.clients[client_role or role].get(url).data.decode()
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def restore_accounts(self):
        """Undo what a request may have done to the fuzzing accounts themselves (a
        deactivation, a new role, a new password, a sign-out), so every example
        runs as the role it names."""
        for role, (user_id, user_role) in self.roles.items():
            User.update(active=True, role=user_role).where(User.id == user_id).execute()
            user = User.get_by_id(user_id)
            with self.clients[role].session_transaction() as session:
                session["_user_id"], session["_fresh"] = user.get_id(), True

    def request(self, role, method, path, query=None, form=None, headers=None, csrf=True):
        headers = dict(headers or {})
        client = self.clients[role]
        if method == "POST" and csrf:
            if role not in self.tokens:
                self.tokens[role] = self.csrf_token(role, "/login" if role == "anonymous"
                                                    else "/account")
            headers["X-CSRFToken"] = self.tokens[role]
        response = client.open(path, method=method, query_string=query or {}, data=form or {},
                               headers=headers)
        body = response.get_data()
        assert response.status_code < 500, (method, path, query, form, headers,
                                             response.status_code, body[:2000])
        after = snapshot()
        if response.status_code >= 400:
            changed = sorted(t for t in after if after[t] != self.data.get(t))
            assert not changed, ("a refused request changed data", changed, method, path,
                                 query, form, response.status_code)
        self.data = after
        if 300 <= response.status_code < 400:
            location = as_a_browser_reads(response.headers.get("Location", ""))
            assert location.startswith("/") and not location.startswith("//"), \
                (method, path, query, response.headers.get("Location"))
        if response.mimetype == "text/html":
            assert_security_headers(response,
                                    signed_in=role != "anonymous" and path != "/logout")
        if path in ("/logout", "/account", "/login") or "/settings/users/" in path:
            self.restore_accounts()
            self.tokens.clear()
            self.data = snapshot()
        return response


def as_a_browser_reads(location):
    """A Location as a browser follows it: tabs and line breaks dropped anywhere, spaces
    and control characters at the ends, a backslash taken for a slash."""
    location = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(0x21))))
    return location.replace("\\", "/")


def snapshot():
    """Every row of every table (but CHANGES_ALLOWED), as a digest per table:
    a refusal that changed something names the tables it changed."""
    db = models.database
    digests = {}
    for table in sorted(db.get_tables()):
        if table in CHANGES_ALLOWED:
            continue
        columns = COUNTING_LEFT_OUT.get(table, "*")
        rows = db.execute_sql(f'SELECT {columns} FROM "{table}"').fetchall()
        digests[table] = hashlib.sha256(repr(sorted(rows, key=repr)).encode()).hexdigest()[:16]
    return digests


def routes(app):
    """(rule, method) of every route but the static files: the GETs first, so that they
    find the sample data before the POSTs have deleted or changed it."""
    pairs = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD"}):
            if method == "OPTIONS" and rule.endpoint != "public_forms.preflight":
                continue
            pairs.append((rule, method))
    return sorted(pairs, key=lambda pair: (pair[1] != "GET", pair[0].rule, pair[1]))


def fill(rule, value, token):
    """The rule's path with every argument set to `value` (the web form token as given)."""
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(r"<(?:[a-z]+:)?%s>" % name, token if name == "token" else value, path)
    return path


def test_every_route_is_in_the_fuzz(fuzz):
    """The sweep and the property both take the routes from app.url_map: none is left out."""
    endpoints = {rule.endpoint for rule, _ in routes(fuzz.app)}
    assert {"companies.show", "board.move", "events.poll", "events.stream", "search.bulk",
            "public_forms.submit", "auth.login", "imports.upload"} <= endpoints
    assert len(endpoints) == len({r.endpoint for r in fuzz.app.url_map.iter_rules()}) - 1


# Criteria of the wrong shape (posted by bulk updates and "save as selection").
BAD_CRITERIA = ['{"version":1,"entity":[]}',
                '{"version":1,"entity":"contacts","criteria":[{"field":"category_group",'
                '"op":"in","value":[[1]]}]}',
                '{"version":1,"criteria":' + "[" * 5000 + "]" * 5000 + "}",
                '{"version":1,"entity":"contacts","criteria":[{"field":"created","op":'
                '"between","value":{"from":"2020-01-01","to":"9999-12-31"}}]}',
                '{"version":1,"entity":"contacts","criteria":[{"field":"name","op":'
                '"contains","value":"a\\u0000"}]}']


# Where `next` must not lead: read as a browser reads them, all are other sites.
OFF_SITE = ["/\t/evil.example/", "/\\evil.example", "/\r\n/evil.example", "//evil.example",
            "https://evil.example/"]


@pytest.mark.parametrize("role", ROLES)
def test_sweep_every_route_with_the_worst_ids(fuzz, role):
    """Every route, as every role, with huge, negative and Unicode-digit ids in the path,
    in the integer parameters and in the htmx and event headers; with criteria of
    the wrong shape, a period ending 9999-12-31, a `next` leading off the site and,
    in a request of its own, text holding NUL."""
    for rule, method in routes(fuzz.app):
        path = fill(rule, "1", fuzz.token)
        if method == "GET":
            fuzz.request(role, method, path, query={"q": "a\x00b", "f0": "name", "o0": "contains",
                                                    "v0": "a\x00b"})
        else:
            fuzz.request(role, method, path, form={"name": "a\x00b", "first_name": "\x00"})
        for index, value in enumerate(SWEEP_IDS):
            # Huge and negative ids in the path; the others with a path that
            # exists, so that the parameters reach the code reading them.
            path = fill(rule, value, value) if value in (HUGE, "-1") \
                else fill(rule, "1", fuzz.token)
            params = {name: value for name in ("offset", "owner", "selection", "status",
                                               "after", "page", "shown", "suggestion")}
            if method == "GET":
                params.update({"fp": f"{value}..", "key": f"status:{value}",
                               "f0": "created", "o0": "between",
                               "v0": ["2020-01-01", "9999-12-31"],
                               "next": OFF_SITE[index % len(OFF_SITE)]})
                fuzz.request(role, method, path, query=params,
                             headers={"HX-Request": "true", "Last-Event-ID": value})
            else:
                form = {name: value for name in ("contact", "status", "owner", "category",
                                                 "version", "lead_status", "id", "order")}
                form.update(criteria=BAD_CRITERIA[index % len(BAD_CRITERIA)],
                            action="owner:1", scope="all")
                fuzz.request(role, method, path, form=form, headers={"HX-Request": "true"})
                fuzz.request(role, method, path, form=form, csrf=False)


texts = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30),
                  st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str))


@st.composite
def requests(draw, pairs):
    rule, method = draw(st.sampled_from(pairs))
    role = draw(st.sampled_from(ROLES))
    path = fill(rule, draw(st.sampled_from(PATH_IDS)), draw(st.sampled_from(["TOKEN", "x",
                                                                            HUGE, "\u00b2"])))
    query = draw(st.dictionaries(st.sampled_from(NAMES), texts, max_size=4))
    form = draw(st.dictionaries(st.sampled_from(NAMES), texts, max_size=6)) \
        if method == "POST" else {}
    headers = draw(st.dictionaries(st.sampled_from(sorted(HEADERS)),
                                   st.sampled_from(range(5)), max_size=3))
    headers = {name: HEADERS[name][index % len(HEADERS[name])]
               for name, index in headers.items()}
    csrf = draw(st.booleans()) if method == "POST" else False
    return role, method, path, query, form, headers, csrf


def test_property_no_route_fails_or_half_saves_whatever_is_sent(fuzz):
    """Random combinations of path ids, query strings, form fields and headers."""
    pairs = routes(fuzz.app)

    @settings(max_examples=1200, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests(pairs))
    def check(example):
        role, method, path, query, form, headers, csrf = example
        path = path.replace("TOKEN", fuzz.token)
        fuzz.request(role, method, path, query=query, form=form, headers=headers, csrf=csrf)

    check()


def test_json_bodies_of_the_wrong_shape_are_refused(fuzz):
    """The public form reads JSON itself: deep nesting, wrong types or bad bytes are a 400."""
    client = fuzz.clients["anonymous"]
    for body in ("[" * 5000 + "]" * 5000, '{"name": {"a": 1}}', '{"name": [1]}', "null",
                 json.dumps({"name": "\x00", "email": "anna@fjallbo.se"}), b"\xff"):
        before = snapshot()
        response = client.post(f"/f/{fuzz.token}", data=body, content_type="application/json")
        assert 400 <= response.status_code < 500, (body[:40], response.status_code)
        assert snapshot() == before


API_BODIES = ["{bad", "[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, "null",
              "[1]", b"\xff", json.dumps({"title": "\x00"}), json.dumps({"version": 2 ** 70}),
              json.dumps({"company_id": HUGE, "category_id": -1, "owner_id": 1.5}),
              json.dumps({"lead_status_id": 2 ** 63, "version": "1"}),
              json.dumps({"name": ["x"], "category_id": {"a": 1}, "amount": "NaN",
                          "sale_date": "9999-99-99", "status": "won"}),
              json.dumps({"amount": 1e308, "currency": "XXX", "title": "x" * 5000}),
              json.dumps({"nonsense": 1})]


@pytest.mark.parametrize("scope", ["read", "write"])
def test_api_with_a_token_never_fails_on_bad_input(fuzz, scope, monkeypatch):
    """Every /api/v1/ route, with a valid token of each role: hostile ids, query
    strings and JSON bodies are a 4xx JSON error that changes nothing."""
    from models.api_tokens import create_token
    monkeypatch.setattr("models.api_tokens.RATE_LIMIT", 10 ** 6)  # every request gets in
    client = fuzz.app.test_client()
    api_routes = [(rule, method) for rule, method in routes(fuzz.app)
                  if rule.endpoint.startswith("api.")]
    assert api_routes
    for role in ROLES[1:]:
        user = fuzz.users[role]
        headers = {"Authorization": "Bearer " + create_token(user, "Fuzz", scope, user)[1]}
        fuzz.data = snapshot()
        for rule, method in api_routes:
            for value in PATH_IDS[:9]:
                path = fill(rule, value, value)
                queries = [{"after": value, "limit": value}, {"criteria": BAD_CRITERIA[1]},
                           {"criteria": "[" * 5000}, {"company_id": value, "q": "\x00"}]
                for query in queries:
                    if method == "GET":
                        response = client.get(path, query_string=query, headers=headers)
                        assert response.status_code < 500, (path, query, response.data[:500])
                for body in API_BODIES if method != "GET" else []:
                    response = client.open(path, method=method, data=body, headers=headers,
                                           content_type="application/json")
                    assert response.status_code < 500, (method, path, body[:60],
                                                        response.data[:500])
                    assert 400 <= response.status_code < 500 and response.status_code != 429, \
                        (method, path, body[:60])
                    assert response.is_json and "error" in response.json
                    assert snapshot() == fuzz.data, ("a refused API call changed data",
                                                     method, path, body[:60])
