"""Distribution flows: R22, new leads handed to reps by round-robin or by fewest open leads."""
import threading
from collections import Counter

import pytest

import models
from models import Actor, AuditLog, Category, Contact, History, LeadStatus, RuleViolation, User
from models import create_company, create_contact
from models.distribution import (DistributionFlow, members_with_open_counts,
                                 next_owners, save_flow)
from models.webforms import clean_submission, save_web_form, submit_web_form


def make_user(email, role="rep", active=True):
    user = User(email=email, name=email.split("@")[0].title(), role=role, active=active)
    user.set_password("secret password")
    user.save()
    return user


@pytest.fixture
def reps(db):
    return [make_user(f"rep{n}@example.test") for n in range(4)]


@pytest.fixture
def admin(db):
    return Actor(make_user("admin@example.test", "admin"))


def deactivate(user):
    user.active = False
    user.save()


def draw(flow, count=1):
    """Owners for `count` leads, in a write transaction like a submission's."""
    with models.database.atomic():
        return next_owners(flow, count)


def test_r22_round_robin_is_fair_over_100_leads_and_skips_a_deactivated_rep(reps, admin):
    """R22: each active rep gets 100/3 ± 1 of 100 leads; the deactivated rep gets none."""
    flow = save_flow(None, admin, "Nordics", "round_robin", True, [u.id for u in reps])
    deactivate(reps[1])
    counts = Counter(draw(flow)[0].id for _ in range(100))
    assert counts[reps[1].id] == 0
    for rep in (reps[0], reps[2], reps[3]):
        assert abs(counts[rep.id] - 100 / 3) <= 1
    assert sum(counts.values()) == 100


def test_r22_round_robin_follows_the_order_of_the_flow_and_wraps(reps, admin):
    order = [reps[2].id, reps[0].id, reps[3].id]
    flow = save_flow(None, admin, "Nordics", "round_robin", True, order)
    assert [u.id for u in draw(flow, 7)] == order * 2 + order[:1]
    # The turn is kept in the database: the next call goes on from there.
    assert [u.id for u in draw(flow, 2)] == order[1:3]


def test_r22_turn_survives_a_change_of_members(reps, admin):
    flow = save_flow(None, admin, "Nordics", "round_robin", True, [reps[0].id, reps[1].id])
    assert draw(flow)[0] == reps[0]
    # reps[0] got the last lead; with a new member placed first, reps[1] is next.
    flow = save_flow(flow, admin, "Nordics", "round_robin", True,
                     [reps[3].id, reps[0].id, reps[1].id])
    assert [u.id for u in draw(flow, 3)] == [reps[1].id, reps[3].id, reps[0].id]


def test_r22_a_reactivated_rep_gets_leads_again(reps, admin):
    flow = save_flow(None, admin, "Nordics", "round_robin", True, [reps[0].id, reps[1].id])
    deactivate(reps[1])
    assert {u.id for u in draw(flow, 4)} == {reps[0].id}
    reps[1].active = True
    reps[1].save()
    assert {u.id for u in draw(flow, 4)} == {reps[0].id, reps[1].id}


def test_r22_least_open_gives_the_lead_to_the_rep_with_fewest_open_leads(reps, admin):
    """R22 alternative strategy: contacts in the initial status (Open) count, others do not."""
    company = create_company(admin, name="Fjällbo AB", category=Category.get(name="Lead"))
    for n in range(3):
        create_contact(company, admin, first_name="Open", last_name=str(n), owner=reps[0])
    create_contact(company, admin, first_name="Open", last_name="B", owner=reps[1])
    qualified = create_contact(company, admin, first_name="Q", last_name="Q", owner=reps[2])
    qualified.lead_status = LeadStatus.get(name="Qualified")
    qualified.save()
    flow = save_flow(None, admin, "Fewest", "least_open", True,
                     [reps[0].id, reps[1].id, reps[2].id])
    # reps[2] has no open lead (Qualified does not count), then reps[1] and reps[2] tie
    # at one each and the order of the flow decides.
    assert [u.id for u in draw(flow, 4)] == [reps[2].id, reps[1].id, reps[2].id, reps[1].id]
    # Drawing assigns nobody yet, so the page still names the rep with no open lead.
    members, upcoming = members_with_open_counts(DistributionFlow.get_by_id(flow.id))
    assert [m.open_count for m in members] == [3, 1, 0]
    assert upcoming == reps[2]


def test_r22_least_open_counts_the_leads_already_assigned(reps, admin):
    flow = save_flow(None, admin, "Fewest", "least_open", True, [reps[0].id, reps[1].id])
    form = save_web_form(None, admin, "Demo", Category.get(name="Lead").id, flow.id,
                         {"name": {"ask": True, "required": True},
                          "email": {"ask": True, "required": False}})
    for n in range(10):
        submit_web_form(form, clean_submission(form, {"name": f"Lead {n}"}), ip_hash=str(n))
    owners = Counter(c.owner_id for c in Contact.select())
    assert owners == {reps[0].id: 5, reps[1].id: 5}


def test_r22_switched_off_flow_or_no_active_rep_assigns_nobody(reps, admin):
    flow = save_flow(None, admin, "Off", "round_robin", False, [reps[0].id])
    assert draw(flow, 3) == []
    flow = save_flow(None, admin, "Gone", "round_robin", True, [reps[1].id])
    deactivate(reps[1])
    assert draw(flow, 3) == []


def test_r22_concurrent_submissions_keep_the_turn_fair(reps, admin, database_url):
    """Four threads, each with its own connection, submit at once: the turn lives in the DB."""
    flow = save_flow(None, admin, "Nordics", "round_robin", True, [u.id for u in reps])
    form = save_web_form(None, admin, "Demo", Category.get(name="Lead").id, flow.id,
                         {"name": {"ask": True, "required": True},
                          "email": {"ask": True, "required": False}})
    errors = []

    def submit_many(thread):
        try:
            with models.database.connection_context():
                for n in range(10):
                    submission = clean_submission(form, {"name": f"T{thread} L{n}"})
                    submit_web_form(form, submission, ip_hash=f"{thread}-{n}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=submit_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(Counter(c.owner_id for c in Contact.select()).values()) == [10, 10, 10, 10]


def test_assignment_is_recorded_in_the_history_for_the_timeline(reps, admin):
    flow = save_flow(None, admin, "Nordics", "round_robin", True, [reps[2].id])
    form = save_web_form(None, admin, "Spring webinar", Category.get(name="Lead").id, flow.id,
                         {"name": {"ask": True, "required": True},
                          "email": {"ask": True, "required": False}})
    submit_web_form(form, clean_submission(form, {"name": "Anna Berg"}), ip_hash="x")
    contact = Contact.get()
    row = History.get(History.kind == History.OWNER)
    assert (row.contact_id, row.company_id, row.to_owner_id, row.actor_id, row.source,
            row.source_label) == \
        (contact.id, contact.company_id, reps[2].id, None, "form", "Web form: Spring webinar")
    timeline = list(models.timeline(contact=contact))
    assert [entry.to_owner.name for entry in timeline if entry.kind == History.OWNER] == \
        [reps[2].name]


@pytest.mark.parametrize("name, strategy, members, message", [
    ("", "round_robin", [], "needs a name"),
    ("x" * 101, "round_robin", [], "at most"),
    ("Flow", "random", [], "Unknown strategy"),
    ("Flow", "round_robin", [999], "Unknown user"),
])
def test_refused_flow_changes_save_nothing(admin, name, strategy, members, message):
    with pytest.raises(RuleViolation, match=message):
        save_flow(None, admin, name, strategy, True, members)
    assert DistributionFlow.select().count() == 0


def test_flow_changes_are_audited(reps, admin):
    flow = save_flow(None, admin, "Nordics", "round_robin", True, [reps[0].id])
    save_flow(flow, admin, "Nordics", "least_open", True, [reps[0].id, reps[1].id])
    entries = list(AuditLog.select().where(AuditLog.subject == "Distribution flow: Nordics")
                   .order_by(AuditLog.id))
    assert [e.action for e in entries] == ["created", "changed"]
    assert "least_open" in entries[1].details
