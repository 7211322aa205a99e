"""Dashboard tiles against a hand-built story with a fixed "today" (R8, R11, R17, R20).

The story, in days before TODAY (a Wednesday):

- Delta AB (Rolf's): a Lead 100 days ago; Dag Qualified at -99, the company
  an Opportunity at -98 and a Customer at -97.
- Alfa AB (Rita's) and Gamma AB (Rita's): Leads since -30 with Anna, Arne
  (Rita's), Axel (Rolf's) and Cleo (Rita's), all Open. Arne went
  Contacting at -28; Axel Contacting at -26 and Qualified at -25.
- Epsilon AS: a Partner since -30 with Eli (no lead status).
- Beta AB (Rolf's): an MQL since -20 with Bea (Rolf's) and Bo (nobody's),
  Open. Cleo Qualified at -20, Gamma an Opportunity at -15, Bea
  Contacting at -17.
- Five new contacts at Gamma (no lead status there): two this week, two
  last week, one the week before.
"""
import datetime
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

import models.dashboards
from models import (Actor, Category, Contact, History, LeadStatus, User, create_company,
                    create_contact, move_company, set_lead_status)
from models.dashboards import (CATALOGUE, MAX_STAYS, Dashboard, Tile, TileContext,
                               TileParamError, add_tile, can_edit, can_share, can_view,
                               compute_tile, create_dashboard, dashboard_tiles,
                               default_tiles, ensure_default_dashboard, reorder_tiles,
                               tile_cache_key, tile_drill, update_dashboard,
                               validate_params, visible_dashboards)
from models.feed import FeedHub, latest_change_id
from models.tile_cache import TileCache, fingerprint
from models.rules import RuleViolation
from models.schema import CategorySuggestion

TODAY = date(2025, 3, 12)


def days_ago(days, hour=12):
    return datetime.datetime.combine(TODAY - timedelta(days=days), datetime.time(hour))


class Clock:
    """Dates the history written since the last stamp, and the statuses it set."""

    def __init__(self):
        self.seen = latest_change_id()

    def stamp(self, when):
        changed = [h.contact_id for h in History.select().where(History.id > self.seen)
                   if h.contact_id]
        History.update(created_at=when).where(History.id > self.seen).execute()
        if changed:
            Contact.update(status_changed_at=when).where(Contact.id.in_(changed)).execute()
        self.seen = latest_change_id()


def make_user(email, name, role):
    user = User(email=email, name=name, role=role)
    user.set_password("secret password")
    user.save()
    return user


@pytest.fixture
def story(db):
    s = SimpleNamespace()
    s.mona = make_user("mona@example.test", "Mona Manager", "manager")
    s.rita = make_user("rita@example.test", "Rita Rep", "rep")
    s.rolf = make_user("rolf@example.test", "Rolf Rep", "rep")
    s.cat = {c.name: c for c in Category.select()}
    s.st = {x.name: x for x in LeadStatus.select()}
    lead, mql = s.cat["Lead"], s.cat["Marketing qualified lead (MQL)"]
    opportunity, customer = s.cat["Opportunity"], s.cat["Customer"]
    actor = Actor(s.mona)
    clock = Clock()

    def status(contact, name, when):
        set_lead_status(Contact.get_by_id(contact.id), s.st[name], actor)
        clock.stamp(when)

    def move(company, category, when):
        move_company(type(company).get_by_id(company.id), category, actor)
        clock.stamp(when)

    def person(company, first, owner=None, source="", campaign=""):
        company = type(company).get_by_id(company.id)  # its category as it is now
        return create_contact(company, actor, first_name=first, last_name="Test", owner=owner,
                              utm_source=source, utm_campaign=campaign)

    s.delta = create_company(actor, name="Delta AB", category=lead, owner=s.rolf)
    s.dag = person(s.delta, "Dag", s.rolf, "linkedin", "spring")
    clock.stamp(days_ago(100))
    status(s.dag, "Qualified", days_ago(99))
    move(s.delta, opportunity, days_ago(98))
    move(s.delta, customer, days_ago(97))

    s.alfa = create_company(actor, name="Alfa AB", category=lead, owner=s.rita)
    s.anna = person(s.alfa, "Anna", s.rita, "google", "spring")
    s.arne = person(s.alfa, "Arne", s.rita, "google", "brand")
    s.axel = person(s.alfa, "Axel", s.rolf, "linkedin", "spring")
    s.gamma = create_company(actor, name="Gamma AB", category=lead, owner=s.rita)
    s.cleo = person(s.gamma, "Cleo", s.rita, "google")
    s.epsilon = create_company(actor, name="Epsilon AS", category=s.cat["Partner"])
    s.eli = person(s.epsilon, "Eli")
    clock.stamp(days_ago(30))
    status(s.arne, "Contacting", days_ago(28))
    status(s.axel, "Contacting", days_ago(26))
    status(s.axel, "Qualified", days_ago(25))

    s.beta = create_company(actor, name="Beta AB", category=mql, owner=s.rolf)
    s.bea = person(s.beta, "Bea", s.rolf)
    s.bo = person(s.beta, "Bo", None, "newsletter")
    clock.stamp(days_ago(20))
    status(s.cleo, "Qualified", days_ago(20))
    move(s.gamma, opportunity, days_ago(15))
    status(s.bea, "Contacting", days_ago(17))

    s.new = [person(s.gamma, f"New{n}") for n in range(1, 6)]
    created = {s.dag.id: days_ago(100), s.bea.id: days_ago(20), s.bo.id: days_ago(20)}
    for contact in (s.anna, s.arne, s.axel, s.cleo, s.eli):
        created[contact.id] = days_ago(30)
    for contact, when in zip(s.new, [datetime.datetime(2025, 3, 10, 9, 0),
                                      datetime.datetime(2025, 3, 12, 8, 0),
                                      datetime.datetime(2025, 3, 9, 23, 59, 59),
                                      datetime.datetime(2025, 3, 3, 0, 0),
                                      datetime.datetime(2025, 3, 2, 12, 0)]):
        created[contact.id] = when
    for contact_id, when in created.items():
        Contact.update(created_at=when).where(Contact.id == contact_id).execute()

    CategorySuggestion.create(company=s.alfa, from_category=lead, proposed_category=mql)
    CategorySuggestion.create(company=s.gamma, from_category=lead, proposed_category=mql,
                              state=CategorySuggestion.DECLINED)
    return s


def tile(story, kind, user=None, **given):
    """(figures, params, context) of a `kind` tile seen by `user` (the manager) on TODAY."""
    ctx = TileContext(user or story.mona, today=TODAY)
    params = validate_params(kind, given, ctx)
    return compute_tile(kind, params, ctx), params, ctx


def counts(bars):
    return {bar.key: bar.count for bar in bars}


def status_key(story, name):
    return f"status:{story.st[name].id}"


def figures(kind, data):
    """Every (drill key, number) a tile shows."""
    if kind in ("status_counts", "category_counts", "group_counts", "overdue_reps",
                "no_next_step", "quiet"):
        return [(b.key, b.count) for b in data["bars"]] + [("total", data["total"])]
    if kind == "new_leads":
        return [(b.key, b.count) for b in data["spark"]] + [(data["so_far"].key,
                                                            data["so_far"].count)]
    if kind == "funnel":
        return [(stage["key"], stage["count"]) for stage in data["stages"]]
    if kind == "utm":
        return ([(b.key, b.count) for b in data["sources"]["bars"] + data["campaigns"]["bars"]]
                + [("total", data["total"])])
    if kind == "rep_status":
        return [(row["key"], row["total"]) for row in data["rows"]] + [
            (cell.key, cell.count) for row in data["rows"] for cell in row["cells"]]
    return [("total", data["total"])]


def assert_drills_agree(kind, data, params, ctx):
    shown = figures(kind, data)
    assert shown
    for key, number in shown:
        matches = tile_drill(kind, params, ctx, key).matches(ctx)
        assert matches.count() == number, (kind, key)
        assert matches.page(1, 100).total == number, (kind, key)


# --- Leads by lead status -------------------------------------------------------------

def test_r8_status_counts_count_the_board_leads_by_status(story):
    data, params, ctx = tile(story, "status_counts", scope="all")
    assert counts(data["bars"]) == {status_key(story, "Open"): 2,
                                    status_key(story, "Contacting"): 2,
                                    status_key(story, "Qualified"): 1,
                                    status_key(story, "Disqualified"): 0,
                                    status_key(story, "Nurture"): 0}
    assert [b.status.name for b in data["bars"]][:2] == ["Open", "Contacting"]
    assert data["total"] == 5 and data["board"] == {"owner": "all"}
    assert_drills_agree("status_counts", data, params, ctx)


def test_r11_hidden_statuses_still_count_for_wider_populations(story):
    potential, _, _ = tile(story, "status_counts", scope="all", population="potential")
    everyone, _, _ = tile(story, "status_counts", scope="all", population="all")
    # Cleo (at an Opportunity) and Dag (at a Customer) keep Qualified (R11).
    assert counts(potential["bars"])[status_key(story, "Qualified")] == 2
    assert counts(everyone["bars"])[status_key(story, "Qualified")] == 3
    assert everyone["total"] == 7


def test_status_counts_owner_scopes(story):
    mine, params, ctx = tile(story, "status_counts", user=story.rita, scope="me")
    assert mine["total"] == 2 and mine["board"] == {"owner": "me"}
    team, _, _ = tile(story, "status_counts", scope="team")
    assert team["total"] == 4  # Bo has no owner
    assert team["board"] is None
    assert_drills_agree("status_counts", mine, params, ctx)


def test_status_counts_of_chosen_statuses_only(story):
    data, params, ctx = tile(story, "status_counts", scope="all",
                             statuses=[story.st["Qualified"].id, story.st["Open"].id])
    assert [b.status.name for b in data["bars"]] == ["Open", "Qualified"]
    assert data["total"] == 3
    assert_drills_agree("status_counts", data, params, ctx)


# --- Companies -----------------------------------------------------------------------------

def test_companies_by_category_of_the_potential_customer_group(story):
    data, params, ctx = tile(story, "category_counts")
    assert [(b.category.name, b.count) for b in data["bars"]] == [
        ("Lead", 1), ("Marketing qualified lead (MQL)", 1), ("Opportunity", 1),
        ("Lost opportunity", 0)]
    assert data["total"] == 3
    assert_drills_agree("category_counts", data, params, ctx)
    mine, _, _ = tile(story, "category_counts", user=story.rita, scope="me")
    assert {b.category.name: b.count for b in mine["bars"] if b.count} == {
        "Lead": 1, "Opportunity": 1}


def test_companies_by_category_group(story):
    data, params, ctx = tile(story, "group_counts")
    assert counts(data["bars"]) == {"group:potential": 3, "group:customer": 1,
                                    "group:partner": 1, "group:lost": 0, "group:other": 0}
    assert_drills_agree("group_counts", data, params, ctx)


# --- New leads ----------------------------------------------------------------------------

def test_new_leads_this_week_against_the_same_part_of_last_week(story):
    """This week so far (Monday to today) against last week's Monday to Wednesday."""
    data, params, ctx = tile(story, "new_leads")
    assert (data["current"].count, data["so_far"].count, data["previous"].count) == (2, 1, 2)
    assert data["change"] == 1 and data["change_percent"] == 100
    # Oldest first: the eight weeks up to this one (Monday 10 March).
    assert [b.count for b in data["spark"]] == [0, 0, 0, 4, 2, 1, 2, 2]
    assert data["spans"][-1] == (date(2025, 3, 10), date(2025, 3, 16))
    assert data["spans"][-2] == (date(2025, 3, 3), date(2025, 3, 9))
    assert_drills_agree("new_leads", data, params, ctx)


def test_new_leads_on_a_monday_morning_compare_with_last_monday_morning(story):
    """Not "0 this week, -100%" against all of last week (item 9)."""
    ctx = TileContext(story.mona, today=date(2025, 3, 10),
                      now=datetime.datetime(2025, 3, 10, 8, 30))
    params = validate_params("new_leads", {}, ctx)
    data = compute_tile("new_leads", params, ctx)
    # Last week: New4 on Monday 00:00 (before 08:30) and New3 on Sunday.
    assert (data["so_far"].count, data["previous"].count) == (1, 2)
    assert data["change"] == data["current"].count - 1
    assert_drills_agree("new_leads", data, params, ctx)


def test_new_leads_by_month(story):
    """March 1-12 against February 1-12 (February's 13th onwards is not compared)."""
    data, params, ctx = tile(story, "new_leads", period="month")
    assert (data["current"].count, data["so_far"].count, data["previous"].count) == (5, 4, 6)
    assert data["change"] == 1 and data["change_percent"] == 25
    assert data["spans"][-1] == (date(2025, 3, 1), date(2025, 3, 31))
    assert_drills_agree("new_leads", data, params, ctx)


# --- Funnel (R20) ---------------------------------------------------------------------

def test_r20_funnel_from_history_counts_companies_reaching_each_stage(story):
    data, params, ctx = tile(story, "funnel", days=0)
    names = [stage["value"] if stage["kind"] == "group" else stage["value"].name
             for stage in data["stages"]]
    assert names == ["Lead", "Marketing qualified lead (MQL)", "Qualified", "Opportunity",
                     "customer"]
    # Alfa reached Qualified (so it counts as past MQL too), Beta MQL, Gamma
    # Opportunity, Delta Customer; Epsilon (a Partner) never entered.
    assert [stage["count"] for stage in data["stages"]] == [4, 4, 3, 2, 1]
    assert [stage["of_previous"] for stage in data["stages"]] == [None, 100, 75, 67, 50]
    assert_drills_agree("funnel", data, params, ctx)


def test_r20_funnel_period_and_owner(story):
    recent, params, ctx = tile(story, "funnel", days=90)
    assert [stage["count"] for stage in recent["stages"]] == [3, 3, 2, 1, 0]
    assert_drills_agree("funnel", recent, params, ctx)
    ritas, params, ctx = tile(story, "funnel", user=story.rita, days=0, scope="me")
    assert [stage["count"] for stage in ritas["stages"]] == [2, 2, 2, 1, 0]
    assert_drills_agree("funnel", ritas, params, ctx)


def test_funnel_with_stages_of_your_own(story):
    stages = [f"category:{story.cat['Lead'].id}", f"status:{story.st['Contacting'].id}",
              "group:customer"]
    data, params, ctx = tile(story, "funnel", days=0, stages=stages)
    # Contacting: Alfa (Arne, Axel) and Beta (Bea); Delta reached Customer.
    assert [stage["count"] for stage in data["stages"]] == [4, 3, 1]
    assert_drills_agree("funnel", data, params, ctx)


# --- Median days in status (R20) ----------------------------------------------------------

def medians(data):
    return {row["status"].name: row["median"] for row in data["rows"]}


def test_r20_median_days_in_each_status_from_history(story):
    data, _, _ = tile(story, "median_days", scope="all")
    # Open stays ended in the last 90 days: Arne 2, Bea 3, Axel 4, Cleo 10.
    assert medians(data) == {"Open": 3.5, "Contacting": 1.0, "Qualified": None,
                             "Disqualified": None, "Nurture": None}
    assert {row["status"].name: row["stays"] for row in data["rows"]}["Open"] == 4
    everything, _, _ = tile(story, "median_days", scope="all", days=0)
    assert medians(everything)["Open"] == 3.0  # Dag's day in Open, 99 days ago, too


def test_median_days_of_my_leads(story):
    data, _, _ = tile(story, "median_days", user=story.rita, scope="me")
    assert medians(data)["Open"] == 6.0  # Arne 2, Cleo 10


def test_median_days_reads_at_most_the_latest_stays(story, monkeypatch):
    import models.dashboards as dashboards
    monkeypatch.setattr(dashboards, "MAX_STAYS", 2)
    data, _, _ = tile(story, "median_days", scope="all")
    # The two latest Open stays: Bea (3 days, ended at -17) and Cleo (10, at -20).
    assert medians(data)["Open"] == 6.5
    assert MAX_STAYS == 500


# --- Sources ---------------------------------------------------------------------------------

def test_leads_by_utm_source_and_campaign(story):
    data, params, ctx = tile(story, "utm", top=2, days=0)
    assert counts(data["sources"]["bars"]) == {"source:": 7, "source:google": 3}
    assert data["sources"]["others"] == 3
    assert counts(data["campaigns"]["bars"]) == {"campaign:": 9, "campaign:spring": 3}
    assert data["campaigns"]["others"] == 1
    assert data["total"] == 13
    assert_drills_agree("utm", data, params, ctx)
    recent, params, ctx = tile(story, "utm")  # created in the last 30 days
    assert recent["total"] == 7 and counts(recent["sources"]["bars"]) == {
        "source:": 6, "source:newsletter": 1}
    assert_drills_agree("utm", recent, params, ctx)


# --- Stale leads ----------------------------------------------------------------------------

def test_stale_leads_are_listed_oldest_first(story):
    data, params, ctx = tile(story, "stale")
    assert data["total"] == 4
    assert [(row["contact"].first_name, row["days"]) for row in data["rows"]] == [
        ("Anna", 30), ("Arne", 28), ("Bo", 20), ("Bea", 17)]
    assert [s.name for s in data["statuses"]] == ["Open", "Contacting"]
    assert_drills_agree("stale", data, params, ctx)


def test_stale_counts_whole_days_in_status_like_the_board(story):
    exactly, _, _ = tile(story, "stale", days=20)
    assert exactly["total"] == 3  # Bo has been Open for exactly 20 days
    assert tile(story, "stale", days=21)[0]["total"] == 2
    assert len(tile(story, "stale", limit=1)[0]["rows"]) == 1


# --- Suggestions (R17) ------------------------------------------------------------------------

def test_r17_pending_category_suggestions(story):
    data, params, ctx = tile(story, "suggestions")
    assert data["total"] == 1
    assert [(row["company"].name, row["to"].name) for row in data["rows"]] == [
        ("Alfa AB", "Marketing qualified lead (MQL)")]
    assert_drills_agree("suggestions", data, params, ctx)
    assert tile(story, "suggestions", user=story.rita, scope="me")[0]["total"] == 1
    assert tile(story, "suggestions", user=story.rolf, scope="me")[0]["total"] == 0


# --- Per rep ------------------------------------------------------------------------------------

def rep_rows(story, data):
    return {(row["user"].name if row["user"] else None):
            {cell.status.name: cell.count for cell in row["cells"] if cell.count}
            for row in data["rows"]}


def test_leads_per_rep_by_status(story):
    data, params, ctx = tile(story, "rep_status")
    assert rep_rows(story, data) == {"Mona Manager": {},
                                     "Rita Rep": {"Open": 1, "Contacting": 1},
                                     "Rolf Rep": {"Contacting": 1, "Qualified": 1}}
    assert data["peak"] == 2
    assert_drills_agree("rep_status", data, params, ctx)
    everyone, params, ctx = tile(story, "rep_status", scope="all")
    assert rep_rows(story, everyone) == {"Rita Rep": {"Open": 1, "Contacting": 1},
                                         "Rolf Rep": {"Contacting": 1, "Qualified": 1},
                                         None: {"Open": 1}}
    assert_drills_agree("rep_status", everyone, params, ctx)


def test_a_number_of_leads(story):
    data, params, ctx = tile(story, "lead_count", population="all",
                             statuses=[story.st["Qualified"].id])
    assert data["total"] == 3
    assert tile(story, "lead_count", population="all", days=90,
                statuses=[story.st["Qualified"].id])[0]["total"] == 2
    assert_drills_agree("lead_count", data, params, ctx)


def test_every_kind_in_the_catalogue_computes_with_its_defaults(story):
    for kind in CATALOGUE:
        data, params, ctx = tile(story, kind)
        if kind != "median_days":
            assert_drills_agree(kind, data, params, ctx)


# --- Parameters -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, given, broken", [
    ("stale", {"statuses": [9999]}, "statuses"),
    ("stale", {"days": "0"}, "days"),
    ("stale", {"days": "many"}, "days"),
    ("stale", {"limit": 500}, "limit"),
    ("status_counts", {"scope": "galaxy"}, "scope"),
    ("status_counts", {"population": ["active"]}, "population"),
    ("funnel", {"days": 12}, "days"),
    ("funnel", {"stages": ["category:9999", "group:customer"]}, "stages"),
    ("funnel", {"stages": ["group:customer"]}, "stages"),
    ("funnel", {"stages": ["group:customer", "group:customer"]}, "stages"),
    ("utm", {"top": 1}, "top"),
    ("new_leads", {"period": "decade"}, "period"),
    ("lead_count", {"source": "nonsense"}, "source"),
    ("lead_count", {"title": "x" * 81}, "title"),
])
def test_broken_parameters_are_named(db, kind, given, broken):
    with pytest.raises(TileParamError) as raised:
        validate_params(kind, given, TileContext(None, today=TODAY))
    assert broken in raised.value.errors
    assert raised.value.message


def test_unreadable_settings_and_unknown_kinds(db):
    ctx = TileContext(None, today=TODAY)
    with pytest.raises(TileParamError, match="could not be read"):
        validate_params("stale", "{not json", ctx)
    with pytest.raises(TileParamError, match="Unknown kind of tile"):
        validate_params("horoscope", {}, ctx)


def test_defaults_fill_missing_parameters(db):
    ctx = TileContext(None, today=TODAY)
    params = validate_params("stale", {}, ctx)
    assert params["days"] == 14 and params["population"] == "active"
    assert [ctx.vocabulary.statuses[s].name for s in params["statuses"]] == [
        "Open", "Contacting"]
    assert validate_params("stale", {"days": "30", "statuses": ["3"]}, ctx)["days"] == 30


def test_a_saved_selection_source_needs_the_selections_module(db):
    ctx = TileContext(None, today=TODAY)
    try:
        import models.selections  # noqa: F401
    except ImportError:
        with pytest.raises(TileParamError, match="not available"):
            validate_params("lead_count", {"source": "1"}, ctx)
    else:
        with pytest.raises(TileParamError):
            validate_params("lead_count", {"source": "999999"}, ctx)


def test_a_saved_selection_as_a_tiles_source(story):
    from models.search import Criteria, Criterion
    from models.selections import STATIC, save_selection
    contacting = save_selection(story.rita, "Contacting", Criteria("contacts", (
        Criterion("lead_status", "in", [story.st["Contacting"].id]),)))
    data, params, ctx = tile(story, "status_counts", user=story.rita, population="all",
                             source=str(contacting.id))
    assert data["total"] == 2 and data["board"] is None  # Arne and Bea
    assert tile_drill("status_counts", params, ctx, "total").searchable
    assert_drills_agree("status_counts", data, params, ctx)
    ritas = save_selection(story.rita, "Rita's, frozen", Criteria("contacts", (
        Criterion("owner", "in", [story.rita.id]),)), kind=STATIC)
    set_lead_status(Contact.get_by_id(story.arne.id), story.st["Nurture"], Actor(story.rita))
    frozen, params, ctx = tile(story, "status_counts", user=story.rita, population="all",
                               source=ritas.id)
    assert {b.status.name: b.count for b in frozen["bars"] if b.count} == {
        "Open": 1, "Qualified": 1, "Nurture": 1}  # Anna, Cleo, Arne
    assert not tile_drill("status_counts", params, ctx, "total").searchable
    assert_drills_agree("status_counts", frozen, params, ctx)


def test_a_selection_source_must_be_visible_and_of_the_right_kind(story):
    from models.search import Criteria
    from models.selections import save_selection
    companies = save_selection(story.rita, "Companies", Criteria("companies", ()))
    with pytest.raises(TileParamError, match="does not list contacts"):
        tile(story, "status_counts", user=story.rita, source=companies.id)
    with pytest.raises(TileParamError, match="Unknown saved selection"):
        tile(story, "category_counts", user=story.rolf, source=companies.id)
    assert tile(story, "category_counts", user=story.rita, source=companies.id)[0]["total"] == 3


# --- Live refresh: figures kept per process ---------------------------------------------------

@pytest.fixture
def cache(story):
    hub = FeedHub(models.database.obj)
    yield TileCache(hub)
    hub.close()


def kept(cache, kind, params, ctx):
    """(figures, computed now?) as a dashboard request gets them."""
    computed = []
    key, depends_on, viewer = tile_cache_key(kind, params, ctx)
    cache.hub.sync()
    figures = cache.figures(key, depends_on, viewer,
                            lambda: computed.append(1) or compute_tile(kind, params, ctx))
    return figures, bool(computed)


def test_figures_are_kept_until_a_change_they_depend_on(story, cache):
    ctx = TileContext(story.mona, today=TODAY)
    params = validate_params("status_counts", {"scope": "all"}, ctx)
    first, computed = kept(cache, "status_counts", params, ctx)
    assert computed
    again, computed = kept(cache, "status_counts", params, ctx)
    assert not computed and again.fingerprint == first.fingerprint
    set_lead_status(Contact.get_by_id(story.anna.id), story.st["Nurture"], Actor(story.rita))
    fresh, computed = kept(cache, "status_counts", params, ctx)
    assert computed and fresh.fingerprint != first.fingerprint


def test_every_viewer_shares_the_figures_of_everyones_leads(story, cache):
    params = validate_params("status_counts", {"scope": "all"},
                             TileContext(story.mona, today=TODAY))
    kept(cache, "status_counts", params, TileContext(story.mona, today=TODAY))
    _, computed = kept(cache, "status_counts", params, TileContext(story.rita, today=TODAY))
    assert not computed


def test_figures_of_my_leads_are_mine_and_ignore_changes_to_others_leads(story, cache):
    ctx = TileContext(story.rita, today=TODAY)
    params = validate_params("status_counts", {"scope": "me"}, ctx)
    mine, _ = kept(cache, "status_counts", params, ctx)
    _, computed = kept(cache, "status_counts", params, TileContext(story.rolf, today=TODAY))
    assert computed  # Rolf's leads are not Rita's
    set_lead_status(Contact.get_by_id(story.bea.id), story.st["Nurture"], Actor(story.rolf))
    _, computed = kept(cache, "status_counts", params, ctx)
    assert not computed
    set_lead_status(Contact.get_by_id(story.anna.id), story.st["Nurture"], Actor(story.rita))
    fresh, computed = kept(cache, "status_counts", params, ctx)
    assert computed and fresh.fingerprint != mine.fingerprint


def test_category_tiles_ignore_status_changes_and_dated_tiles_start_anew_each_day(story, cache):
    ctx = TileContext(story.mona, today=TODAY)
    params = validate_params("category_counts", {}, ctx)
    kept(cache, "category_counts", params, ctx)
    set_lead_status(Contact.get_by_id(story.anna.id), story.st["Nurture"], Actor(story.rita))
    assert not kept(cache, "category_counts", params, ctx)[1]
    stale = validate_params("stale", {}, ctx)
    kept(cache, "stale", stale, TileContext(story.mona, today=TODAY - timedelta(1)))
    assert kept(cache, "stale", stale, ctx)[1]


def test_r17_suggestion_figures_follow_answers_that_leave_no_history(story, cache):
    ctx = TileContext(story.mona, today=TODAY)
    params = validate_params("suggestions", {}, ctx)
    kept(cache, "suggestions", params, ctx)
    assert not kept(cache, "suggestions", params, ctx)[1]
    CategorySuggestion.update(state=CategorySuggestion.DECLINED).execute()
    assert kept(cache, "suggestions", params, ctx)[1]


def test_a_renamed_status_changes_the_fingerprint_of_the_same_counts(story):
    ctx = TileContext(story.mona, today=TODAY)
    params = validate_params("status_counts", {"scope": "all"}, ctx)
    before = fingerprint(compute_tile("status_counts", params, ctx))
    assert fingerprint(compute_tile("status_counts", params, ctx)) == before
    LeadStatus.update(name="Brand new name").where(LeadStatus.id == story.st["Open"].id).execute()
    renamed = TileContext(story.mona, today=TODAY)
    assert fingerprint(compute_tile("status_counts", params, renamed)) != before


# --- Dashboards and who may change them ------------------------------------------------------

def test_first_open_makes_the_default_dashboard_once(story):
    first = ensure_default_dashboard(story.mona, "Overview")
    assert ensure_default_dashboard(story.mona, "Overview").id == first.id
    tiles = dashboard_tiles(first)
    assert [t.kind for t in tiles] == [
        "status_counts", "category_counts", "new_leads", "funnel", "median_days", "utm",
        "stale", "suggestions", "rep_status"]
    # Only what was chosen is stored; the rest follows the lists (stages...).
    assert tiles[0].stored_params == {"scope": "all"}
    rep_tiles = dashboard_tiles(ensure_default_dashboard(story.rita, "Overview"))
    assert {t.stored_params["scope"] for t in rep_tiles} == {"me"}
    assert [k for k, _ in default_tiles(story.rita)] == [t.kind for t in rep_tiles]


def test_each_user_has_their_own_and_managers_share(story):
    mine = create_dashboard(story.mona, "Marketing")
    assert can_view(mine, story.mona) and not can_view(mine, story.rita)
    assert can_share(story.mona) and not can_share(story.rita)
    update_dashboard(mine, story.mona, "Marketing", shared=True)
    assert can_view(mine, story.rita) and not can_edit(mine, story.rita)
    other_manager = make_user("max@example.test", "Max Manager", "manager")
    assert can_edit(mine, other_manager)
    assert [d.name for d in visible_dashboards(story.rita)] == ["Marketing"]
    ritas = create_dashboard(story.rita, "Mine")
    with pytest.raises(RuleViolation, match="Only managers"):
        update_dashboard(ritas, story.rita, "Mine", shared=True)
    assert not Dashboard.get_by_id(ritas.id).shared
    with pytest.raises(RuleViolation, match="needs a name"):
        create_dashboard(story.rita, "  ")


def test_tiles_are_added_validated_and_reordered(story):
    dashboard = create_dashboard(story.mona, "Marketing")
    ctx = TileContext(story.mona, today=TODAY)
    first = add_tile(dashboard, "utm", {"top": "5"}, ctx)
    second = add_tile(dashboard, "new_leads", {}, ctx)
    with pytest.raises(TileParamError):
        add_tile(dashboard, "utm", {"top": "500"}, ctx)
    assert Tile.select().where(Tile.dashboard == dashboard).count() == 2
    assert first.stored_params["top"] == 5
    reorder_tiles(dashboard, [second.id, 424242, first.id])
    assert [t.id for t in dashboard_tiles(dashboard)] == [second.id, first.id]


@pytest.mark.parametrize("kind", ["status_counts", "rep_status", "new_leads"])
@pytest.mark.parametrize("scope", ["me", "team", "all"])
@pytest.mark.parametrize("population", ["active", "potential", "all"])
def test_counts_from_the_counter_rows_equal_counting_the_contacts(story, monkeypatch, kind,
                                                                  scope, population):
    """These tiles count from lead_tally and lead_daily; a GROUP BY of the same contacts
    agrees."""
    from_tally, params, ctx = tile(story, kind, user=story.rita, scope=scope,
                                   population=population)
    assert models.dashboards._tally_scope(
        models.dashboards.base_for("contacts", params, ctx), ctx) is not None
    monkeypatch.setattr(models.dashboards, "_tally_scope", lambda base, ctx: None)
    counted, _, _ = tile(story, kind, user=story.rita, scope=scope, population=population)
    assert figures(kind, from_tally) == figures(kind, counted)
    assert any(number for _, number in figures(kind, counted))


# --- Follow-ups and activity (R24, R25) ---------------------------------------------------

def follow_ups(story):
    """Rita's Anna overdue, Rolf's Axel overdue, Rita's Cleo due next week."""
    from models.activities import add_activity
    add_activity(story.rita, "follow_up", "Call", contact=story.anna, due_at=days_ago(2))
    add_activity(story.rolf, "follow_up", "Demo", contact=story.axel, due_at=days_ago(0, 9))
    add_activity(story.rita, "follow_up", "Offer", contact=story.cleo, due_at=days_ago(-5))


def test_r25_overdue_follow_ups_per_rep_equal_their_drill_downs(story):
    follow_ups(story)
    data, params, ctx = tile(story, "overdue_reps", scope="all")
    assert counts(data["bars"]) == {f"owner:{story.rita.id}": 1, f"owner:{story.rolf.id}": 1}
    assert data["total"] == 2
    assert_drills_agree("overdue_reps", data, params, ctx)


def test_r25_leads_without_a_next_step_by_status_equal_their_drill_downs(story):
    before, _, _ = tile(story, "no_next_step", scope="all")
    follow_ups(story)
    data, params, ctx = tile(story, "no_next_step", scope="all")
    # Anna (Open) and Axel (Qualified) now have a next step; Cleo is no board lead.
    assert data["total"] == before["total"] - 2
    assert counts(data["bars"])[status_key(story, "Open")] == \
        counts(before["bars"])[status_key(story, "Open")] - 1
    assert_drills_agree("no_next_step", data, params, ctx)


def test_r24_days_since_the_last_activity_equal_their_drill_downs(story):
    from models.activities import add_activity
    data, params, ctx = tile(story, "quiet", scope="all", days=14)
    quiet_ids = {c.id for c in tile_drill("quiet", params, ctx, "total").matches(ctx).query()}
    assert story.anna.id in quiet_ids  # created 30 days ago, no activity since
    add_activity(story.rita, "note", "Called", contact=story.anna)
    Contact.update(last_activity_at=days_ago(3)).where(Contact.id == story.anna.id).execute()
    after, params, ctx = tile(story, "quiet", scope="all", days=14)
    assert after["total"] == data["total"] - 1
    assert [bar.label for bar in after["bars"]] == ["14–27", "28–55", "56+"]
    assert_drills_agree("quiet", after, params, ctx)


# --- Deleted records (R27) ----------------------------------------------------------------

def every_figure(story):
    """{kind: figures} of every kind of tile with its defaults, each checked against its
    drill-down (median days has none per figure: its stays are history)."""
    shown = {}
    for kind in CATALOGUE:
        data, params, ctx = tile(story, kind)
        if kind == "median_days":
            shown[kind] = medians(data)
            continue
        assert_drills_agree(kind, data, params, ctx)
        shown[kind] = figures(kind, data)
    return shown


def test_r27_deleted_records_leave_every_tile_and_drill_down_and_come_back(story):
    """A tile's numbers equal its drill-down's after a delete and after the restore; the
    deleted contact and company are counted nowhere, and the restore gives every number
    back."""
    from models.trash import delete_company, delete_contact, restore_company, restore_contact
    before = every_figure(story)
    manager = Actor(story.mona)
    delete_contact(story.axel.id, manager)  # Qualified at Alfa, Rolf's, from linkedin
    delete_company(story.beta.id, manager)  # an MQL with Bea (Contacting) and Bo (Open)
    after = every_figure(story)
    for kind in ("status_counts", "category_counts", "group_counts", "funnel", "utm",
                 "rep_status", "median_days"):
        assert after[kind] != before[kind], kind
    statuses = dict(figures("status_counts", tile(story, "status_counts")[0]))
    assert statuses[status_key(story, "Qualified")] == \
        dict(before["status_counts"])[status_key(story, "Qualified")] - 1
    assert statuses["total"] == dict(before["status_counts"])["total"] - 3
    assert dict(after["funnel"])["stage:0"] == dict(before["funnel"])["stage:0"] - 1
    restore_company(story.beta.id, manager)
    restore_contact(story.axel.id, manager)
    assert every_figure(story) == before


def test_r27_a_deleted_contact_s_history_leaves_the_funnel(story):
    """The funnel counts a company at a stage only by the history of its live contacts:
    Alfa reached Qualified only through Axel."""
    from models.trash import delete_contact
    stages = ["status:%d" % story.st["Qualified"].id]
    data, params, ctx = tile(story, "funnel", stages=["group:potential", *stages])
    qualified = data["stages"][1]["count"]
    delete_contact(story.axel.id, Actor(story.mona))
    data, params, ctx = tile(story, "funnel", stages=["group:potential", *stages])
    assert data["stages"][1]["count"] == qualified - 1
    assert_drills_agree("funnel", data, params, ctx)


def test_r28_kept_figures_are_computed_anew_after_a_merge(story, cache):
    """A merge removes a lead from the counts: the figures kept for open dashboards (also
    of the duplicate's owner alone) are not reused."""
    from models.merge import merge, version_of
    for user, scope in ((story.mona, "all"), (story.rolf, "me")):
        ctx = TileContext(user, today=TODAY)
        params = validate_params("status_counts", {"scope": scope}, ctx)
        kept(cache, "status_counts", params, ctx)
        assert not kept(cache, "status_counts", params, ctx)[1]
    anna, axel = Contact.get_by_id(story.anna.id), Contact.get_by_id(story.axel.id)
    merge("contacts", anna.id, axel.id, {}, (version_of(anna), version_of(axel)),
          Actor(story.mona))
    for user, scope in ((story.mona, "all"), (story.rolf, "me")):
        ctx = TileContext(user, today=TODAY)
        params = validate_params("status_counts", {"scope": scope}, ctx)
        fresh, computed = kept(cache, "status_counts", params, ctx)
        assert computed and fresh.data == compute_tile("status_counts", params, ctx)
