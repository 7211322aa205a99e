"""View fixtures: an app on a fresh database, signed-in clients, sample data."""
import pytest

import models
from app import create_app
from models import Actor, Category, User, create_company, create_contact

PASSWORD = "correct horse battery"


@pytest.fixture
def app(database_url):
    # The feed is read when a request asks (sync), not by a poll in the background
    # whose queries would land in the tests' query counts.
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "tests", "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "FEED_POLL_SECONDS": 3600})
    models.database.connect(reuse_if_open=True)
    yield app
    app.extensions["feed"].close()  # its reader, if a test started it
    models.database.close()


def make_user(email, role, language="en", name=None):
    user = User(email=email, name=name or email.split("@")[0].title(), role=role,
                language=language)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def users(app):
    return {role: make_user(f"{role}@example.test", role) for role in ("admin", "manager", "rep")}


@pytest.fixture
def sample(users):
    """A lead company with two contacts and a customer company with one."""
    rep = Actor(users["rep"])
    lead = create_company(rep, name="Fjällbo AB", category=Category.get(name="Lead"),
                          owner=users["rep"])
    customer = create_company(rep, name="Kundgården AB", category=Category.get(name="Customer"))
    return {
        "lead": lead,
        "customer": customer,
        "anna": create_contact(lead, rep, first_name="Anna", last_name="Berg", owner=users["rep"]),
        "bo": create_contact(lead, rep, first_name="Bo", last_name="Ek", utm_source="linkedin"),
        "cai": create_contact(customer, rep, first_name="Cai", last_name="Lund"),
    }


def sign_in(client, email):
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.data
    return client


@pytest.fixture
def client(app, users):
    """A client signed in as the rep."""
    return sign_in(app.test_client(), "rep@example.test")


@pytest.fixture
def manager_client(app, users):
    """A client signed in as the manager (bulk changes of anyone's leads, R30)."""
    return sign_in(app.test_client(), "manager@example.test")


@pytest.fixture
def admin_client(app, users):
    return sign_in(app.test_client(), "admin@example.test")


HTMX = {"HX-Request": "true"}
