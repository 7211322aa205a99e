"""Dashboards through the test client: tiles one by one, drill-downs, live refresh, rights."""
import re
from html import unescape

import pytest
from playhouse.test_utils import count_queries

from models import (Actor, Category, Contact, LeadStatus, create_company, create_contact,
                    set_lead_status)
from models.dashboards import Dashboard, Tile, TileContext, add_tile, create_dashboard

from .conftest import HTMX, make_user, sign_in

DEFAULT_KINDS = ["status_counts", "category_counts", "new_leads", "funnel", "median_days",
                 "utm", "stale", "suggestions", "rep_status"]


@pytest.fixture
def manager(app, users):
    return sign_in(app.test_client(), "manager@example.test")


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


def open_default(client):
    """Open /dashboards; returns (dashboard id, {kind: tile id})."""
    response = client.get("/dashboards")
    assert response.status_code == 302
    dashboard_id = int(response.location.rstrip("/").split("/")[-1])
    tiles = {t.kind: t.id for t in Tile.select().where(Tile.dashboard == dashboard_id)}
    return dashboard_id, tiles


def fragment(client, dashboard_id, tile_id, **args):
    return client.get(f"/dashboards/{dashboard_id}/tiles/{tile_id}", headers=HTMX,
                      query_string=args)


def fingerprint(body):
    return re.search(r'data-fingerprint="([^"]*)"', body).group(1)


def table_figures(body):
    """(label, number, drill URL) of every row of the tiles' screen-reader tables."""
    rows = re.findall(r'<tr><th scope="row">(.*?)</th>\s*<td><a href="([^"]+)">([^<]*)</a>',
                      body, re.S)
    return [(unescape(label.strip()), number.strip(), unescape(href))
            for label, href, number in rows]


def drilled_total(client, href):
    """The number of rows the drill-down of `href` lists (Search screen or drill page)."""
    response = client.get(href, follow_redirects=True)
    assert response.status_code == 200, href
    body = response.data.decode()
    found = (re.search(r'data-total="(\d+)"', body)  # the drill page
             or re.search(r'<output id="live-count"[^>]*>\s*(\d+) ', body))  # Search
    assert found, f"no total on {href}"
    return int(found.group(1))


# --- The default dashboard and its tiles ------------------------------------------------

def test_first_visit_makes_the_default_dashboard_with_a_box_per_tile(manager, sample):
    dashboard_id, tiles = open_default(manager)
    assert sorted(tiles) == sorted(DEFAULT_KINDS)
    page = manager.get(f"/dashboards/{dashboard_id}").data.decode()
    # Each box loads its own fragment; the page computes no figures.
    assert page.count('hx-trigger="load"') == 9
    assert 'sse-connect="/events"' in page and "Add tile" in page
    assert open_default(manager)[0] == dashboard_id
    assert Dashboard.select().count() == 1


def test_dashboard_is_first_in_the_main_menu(manager):
    page = manager.get("/companies").data.decode()
    nav = page.split('class="mainnav"')[1]
    assert nav.index("Dashboard") < nav.index(">Board<")


@pytest.mark.parametrize("kind", DEFAULT_KINDS)
def test_each_tile_loads_alone_as_fragment_and_as_page(manager, sample, kind):
    dashboard_id, tiles = open_default(manager)
    response = fragment(manager, dashboard_id, tiles[kind])
    body = response.data.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<section class="tile tile-{kind}"')
    assert 'data-fingerprint="' in body and "tile-problem" not in body
    page = manager.get(f"/dashboards/{dashboard_id}/tiles/{tiles[kind]}")
    assert page.status_code == 200 and b"<html" in page.data and b"tile-body" in page.data


@pytest.mark.parametrize("kind", DEFAULT_KINDS)
def test_a_tile_costs_the_same_queries_however_much_data(app, manager, users, sample, kind):
    dashboard_id, tiles = open_default(manager)
    fragment(manager, dashboard_id, tiles[kind])
    app.extensions["tile_cache"].clear()  # computed each time: the cost of the figures
    with count_queries() as few:
        fragment(manager, dashboard_id, tiles[kind])
    rep = Actor(users["rep"])
    lead = Category.get(name="Lead")
    for number in range(6):
        company = create_company(rep, name=f"Extra {number}", category=lead,
                                 owner=users["manager"])
        for person in range(4):
            contact = create_contact(company, rep, first_name="P", last_name=str(person),
                                     owner=users["rep"], utm_source=f"src{person}",
                                     utm_campaign=f"c{number}")
            set_lead_status(Contact.get_by_id(contact.id), status("Contacting"), rep)
    app.extensions["tile_cache"].clear()
    app.extensions["feed"].sync()  # the feed's reading of the new rows is not the tile's cost
    with count_queries() as many:
        fragment(manager, dashboard_id, tiles[kind])
    assert many.count == few.count <= 12


def test_status_tile_agrees_with_the_board(manager, sample):
    dashboard_id, tiles = open_default(manager)
    body = fragment(manager, dashboard_id, tiles["status_counts"]).data.decode()
    shown = {label: number for label, number, _ in table_figures(body)}
    board = manager.get("/board?owner=all").data.decode()
    for name in ("Open", "Contacting", "Qualified"):
        board_count = re.search(rf'id="count-{status(name).id}" class="count">(\d+)<', board)
        assert shown[name] == board_count.group(1)
    assert 'href="/board?owner=all"' in body


# --- Drill-downs -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["status_counts", "category_counts", "new_leads", "funnel",
                                  "utm", "stale", "suggestions", "rep_status"])
def test_drill_down_lists_exactly_the_tiles_number(manager, users, sample, kind):
    rep = Actor(users["rep"])
    set_lead_status(Contact.get_by_id(sample["bo"].id), status("Contacting"), rep)
    dashboard_id, tiles = open_default(manager)
    body = fragment(manager, dashboard_id, tiles[kind]).data.decode()
    figures = table_figures(body)
    for number in re.findall(r'class="tile-number"><a href="([^"]+)">(\d+)</a>', body):
        figures.append(("total", number[1], unescape(number[0])))
    assert figures
    for label, number, href in figures:
        assert drilled_total(manager, href) == int(number.split()[0]), (kind, label)


def test_drill_down_pages_are_pages_and_fragments(manager, sample):
    dashboard_id, tiles = open_default(manager)
    href = f"/dashboards/{dashboard_id}/tiles/{tiles['stale']}/drill?key=total"
    page = manager.get(href)
    assert page.status_code == 200 and b"<html" in page.data
    assert b"No change of lead status for 14 days or more" in page.data
    part = manager.get(href, headers=HTMX).data.decode()
    assert part.lstrip().startswith('<div id="drill-results"')
    assert manager.get(href.replace("total", "nonsense")).status_code == 422


# --- Broken tiles stay in their box ------------------------------------------------------------

@pytest.mark.parametrize("kind, params, message", [
    ("stale", '{"statuses": [9999]}', "Unknown lead status: 9999"),
    ("funnel", '{"stages": ["category:777", "group:customer"]}', "Unknown funnel stage"),
    ("utm", '{"top": "lots"}', "Bars must be a whole number"),
    ("status_counts", "{not json", "could not be read"),
    ("horoscope", "{}", "Unknown kind of tile"),
])
def test_a_broken_parameter_shows_its_error_in_its_own_box(manager, sample, kind, params,
                                                           message):
    dashboard_id, tiles = open_default(manager)
    broken = Tile.create(dashboard=dashboard_id, kind=kind, params=params, position=99)
    response = fragment(manager, dashboard_id, broken.id)
    body = response.data.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<section class="tile tile-{kind} has-problem" '
                                    f'id="tile-{broken.id}"')
    assert 'class="tile-problem" role="alert"' in body and message in unescape(body)
    assert fragment(manager, dashboard_id, broken.id, fp="").status_code == 200
    healthy = fragment(manager, dashboard_id, tiles["status_counts"]).data.decode()
    assert "tile-problem" not in healthy
    page = manager.get(f"/dashboards/{dashboard_id}/tiles/{broken.id}")
    assert page.status_code == 200 and message in unescape(page.data.decode())


def test_a_tile_that_fails_shows_the_failure_in_its_box(manager, sample, monkeypatch):
    import models.dashboards as dashboards

    def explode(params, ctx):
        raise RuntimeError("boom")
    dashboard_id, tiles = open_default(manager)
    spec = dashboards.CATALOGUE["utm"]
    monkeypatch.setitem(dashboards.CATALOGUE, "utm",
                        dashboards.TileKind(**{**spec.__dict__, "compute": explode}))
    response = fragment(manager, dashboard_id, tiles["utm"])
    assert response.status_code == 200 and b"could not be computed" in response.data
    assert fragment(manager, dashboard_id, tiles["stale"]).status_code == 200


def test_saving_a_broken_parameter_is_refused_in_the_form(manager, sample):
    dashboard_id, tiles = open_default(manager)
    url = f"/dashboards/{dashboard_id}/tiles/{tiles['stale']}"
    before = Tile.get_by_id(tiles["stale"]).params
    response = manager.post(url, headers=HTMX, data={"days": "0", "limit": "8",
                                                     "scope": "all"})
    body = response.data.decode()
    assert response.status_code == 422
    assert f'id="tile-{tiles["stale"]}"' in body and "field-error" in body
    assert "No change for (days) must be a whole number from 1 to 365." in unescape(body)
    assert Tile.get_by_id(tiles["stale"]).params == before


# --- Live refresh -----------------------------------------------------------------------------

def refresh(client, dashboard_id, shown):
    """The dashboard's one request after news from the feed: {tile id: fingerprint shown}."""
    return client.get(f"/dashboards/{dashboard_id}/refresh", headers=HTMX,
                      query_string=[("fp", f"{tile}:{fp}") for tile, fp in shown.items()])


def shown_now(client, dashboard_id, tile_ids):
    return {tile: fingerprint(fragment(client, dashboard_id, tile).data.decode())
            for tile in tile_ids}


def test_one_refresh_answers_204_then_only_the_tiles_a_change_touched(manager, users, sample):
    dashboard_id, tiles = open_default(manager)
    shown = shown_now(manager, dashboard_id, tiles.values())
    assert refresh(manager, dashboard_id, shown).status_code == 204
    set_lead_status(Contact.get_by_id(sample["anna"].id), status("Qualified"),
                    Actor(users["rep"]))
    response = refresh(manager, dashboard_id, shown)
    body = response.data.decode()
    assert response.status_code == 200
    redrawn = set(map(int, re.findall(r'id="tile-(\d+)"[^>]*hx-swap-oob="true"', body)))
    assert tiles["status_counts"] in redrawn
    # The category tile does not show lead statuses: not sent again.
    assert tiles["category_counts"] not in redrawn
    assert fingerprint_of(body, tiles["status_counts"]) != shown[tiles["status_counts"]]


def fingerprint_of(body, tile_id):
    return re.search(rf'id="tile-{tile_id}"[^>]*data-fingerprint="([^"]*)"', body).group(1)


def test_a_single_tile_answers_204_while_its_figures_are_the_ones_shown(manager, users, sample):
    dashboard_id, tiles = open_default(manager)
    seen = shown_now(manager, dashboard_id, [tiles["status_counts"]])[tiles["status_counts"]]
    assert fragment(manager, dashboard_id, tiles["status_counts"], fp=seen).status_code == 204
    set_lead_status(Contact.get_by_id(sample["anna"].id), status("Qualified"),
                    Actor(users["rep"]))
    fresh = fragment(manager, dashboard_id, tiles["status_counts"], fp=seen)
    assert fresh.status_code == 200 and fingerprint(fresh.data.decode()) != seen


def test_my_tiles_ignore_changes_to_other_peoples_leads(client, users, sample):
    dashboard_id, tiles = open_default(client)  # the rep: "my leads" tiles
    shown = shown_now(client, dashboard_id, [tiles["status_counts"]])
    set_lead_status(Contact.get_by_id(sample["bo"].id), status("Qualified"),
                    Actor(users["manager"]))  # nobody's contact
    assert refresh(client, dashboard_id, shown).status_code == 204
    set_lead_status(Contact.get_by_id(sample["anna"].id), status("Qualified"),
                    Actor(users["manager"]))  # the rep's own
    assert refresh(client, dashboard_id, shown).status_code == 200


def test_managers_looking_at_the_same_tiles_share_one_computation(app, manager, users, sample):
    """Every open dashboard asks again after a change: the figures are computed once per
    server process, the other viewers get them from the process's tile cache."""
    other = make_user("second@example.test", "manager")
    second = sign_in(app.test_client(), other.email)
    first_id, first_tiles = open_default(manager)
    second_id, second_tiles = open_default(second)
    first_shown = shown_now(manager, first_id, first_tiles.values())
    second_shown = shown_now(second, second_id, second_tiles.values())
    set_lead_status(Contact.get_by_id(sample["anna"].id), status("Qualified"),
                    Actor(users["rep"]))
    with count_queries() as computing:
        assert refresh(manager, first_id, first_shown).status_code == 200
    with count_queries() as sharing:
        assert refresh(second, second_id, second_shown).status_code == 200
    assert sharing.count < computing.count / 2, (sharing.count, computing.count)


@pytest.mark.parametrize("query_string", [
    "fp=abc", "fp=99999999999999999999999:x", "fp=-1:x", "fp=%C2%B2:x", "",
])
def test_a_refresh_with_junk_names_no_tile_and_changes_nothing(manager, sample, query_string):
    dashboard_id, _ = open_default(manager)
    response = manager.get(f"/dashboards/{dashboard_id}/refresh?{query_string}", headers=HTMX)
    assert response.status_code == 204


def test_the_refresh_url_opened_in_the_browser_shows_the_dashboard(manager, sample):
    dashboard_id, _ = open_default(manager)
    response = manager.get(f"/dashboards/{dashboard_id}/refresh")
    assert response.status_code == 302
    assert response.location.endswith(f"/dashboards/{dashboard_id}")


# --- Building dashboards ----------------------------------------------------------------------

def test_add_a_tile_from_the_catalogue(manager, sample):
    dashboard_id, _ = open_default(manager)
    catalogue = manager.get(f"/dashboards/{dashboard_id}/catalogue", headers=HTMX)
    assert b"Leads by source and campaign" in catalogue.data
    form = manager.get(f"/dashboards/{dashboard_id}/tiles/new?kind=lead_count", headers=HTMX)
    assert form.status_code == 200 and b'name="kind" value="lead_count"' in form.data
    response = manager.post(f"/dashboards/{dashboard_id}/tiles", headers=HTMX, data={
        "kind": "lead_count", "title": "Qualified leads", "statuses": [status("Qualified").id],
        "days": "0", "population": "all", "scope": "all", "source": "all"})
    body = response.data.decode()
    added = Tile.select().order_by(Tile.id.desc()).get()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<section class="tile tile-lead_count loading" '
                                    f'id="tile-{added.id}"')
    assert '<div id="dashboard-panel" hx-swap-oob="true"></div>' in body
    assert added.stored_params["title"] == "Qualified leads"
    tile = fragment(manager, dashboard_id, added.id).data.decode()
    assert "Qualified leads" in tile


def test_adding_a_tile_with_a_broken_parameter_goes_back_to_the_panel(manager, sample):
    dashboard_id, tiles = open_default(manager)
    response = manager.post(f"/dashboards/{dashboard_id}/tiles", headers=HTMX,
                            data={"kind": "utm", "top": "99"})
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#dashboard-panel"
    assert Tile.select().where(Tile.dashboard == dashboard_id).count() == len(tiles)


def test_edit_reorder_and_remove_tiles(manager, sample):
    dashboard_id, tiles = open_default(manager)
    edit = manager.get(f"/dashboards/{dashboard_id}/tiles/{tiles['utm']}/edit", headers=HTMX)
    assert edit.status_code == 200 and b'name="top"' in edit.data
    saved = manager.post(f"/dashboards/{dashboard_id}/tiles/{tiles['utm']}", headers=HTMX,
                         data={"top": "3", "days": "30", "population": "all", "scope": "all",
                               "source": "all", "title": ""})
    assert saved.status_code == 200 and b"tile-body" in saved.data
    assert Tile.get_by_id(tiles["utm"]).stored_params["days"] == 30
    order = [tiles["stale"], tiles["utm"]] + [i for k, i in tiles.items()
                                              if k not in ("stale", "utm")]
    response = manager.post(f"/dashboards/{dashboard_id}/order", headers=HTMX,
                            data={"order": order})
    assert response.status_code == 204
    assert [t.id for t in Tile.select().where(Tile.dashboard == dashboard_id)
            .order_by(Tile.position)][:2] == order[:2]
    removed = manager.post(f"/dashboards/{dashboard_id}/tiles/{tiles['funnel']}/delete",
                           headers=HTMX)
    assert removed.status_code == 200 and removed.data == b""
    assert Tile.get_or_none(Tile.id == tiles["funnel"]) is None


def test_a_second_dashboard_renamed_and_shared(manager, client, users, sample):
    open_default(manager)
    response = manager.post("/dashboards", data={"name": "Marketing"})
    marketing = Dashboard.get(Dashboard.name == "Marketing")
    assert response.status_code == 303 and response.location.endswith(f"/{marketing.id}")
    assert b"No tiles yet" in manager.get(f"/dashboards/{marketing.id}").data
    assert manager.post("/dashboards", data={"name": ""}).status_code == 422
    manager.post(f"/dashboards/{marketing.id}", data={"name": "Marketing Q3", "shared": "1"})
    marketing = Dashboard.get_by_id(marketing.id)
    assert (marketing.name, marketing.shared) == ("Marketing Q3", True)
    page = client.get(f"/dashboards/{marketing.id}").data.decode()
    assert "Marketing Q3" in page and "read-only" in page and "Add tile" not in page


# --- Who may do what ------------------------------------------------------------------------

@pytest.fixture
def team_dashboard(users):
    dashboard = create_dashboard(users["manager"], "Team", [("stale", {})])
    dashboard.shared = True
    dashboard.save()
    return dashboard


def test_a_rep_sees_a_shared_dashboard_but_cannot_change_it(client, team_dashboard, sample):
    tile = Tile.get(Tile.dashboard == team_dashboard)
    base = f"/dashboards/{team_dashboard.id}"
    assert client.get(base).status_code == 200
    body = fragment(client, team_dashboard.id, tile.id).data.decode()
    assert "tile-body" in body and "tile-menu" not in body and 'class="handle"' not in body
    for url, data in [(base, {"name": "Mine now"}),
                      (f"{base}/delete", {}),
                      (f"{base}/order", {"order": [tile.id]}),
                      (f"{base}/tiles", {"kind": "lead_count"}),
                      (f"{base}/tiles/{tile.id}", {"days": "3"}),
                      (f"{base}/tiles/{tile.id}/delete", {})]:
        assert client.post(url, data=data, headers=HTMX).status_code == 403, url
    for url in (f"{base}/catalogue", f"{base}/tiles/new?kind=utm", f"{base}/tiles/{tile.id}/edit"):
        assert client.get(url).status_code == 403, url
    assert Dashboard.get_by_id(team_dashboard.id).name == "Team"
    assert Tile.get_by_id(tile.id).params == tile.params


def test_another_manager_may_edit_a_team_dashboard_but_not_delete_it(app, users,
                                                                     team_dashboard):
    make_user("max@example.test", "manager")
    other = sign_in(app.test_client(), "max@example.test")
    base = f"/dashboards/{team_dashboard.id}"
    assert other.post(base, data={"name": "Team, renamed", "shared": "1"}).status_code == 303
    assert other.post(f"{base}/delete").status_code == 403


def test_private_dashboards_and_their_tiles_are_not_found_by_others(client, users):
    private = create_dashboard(users["manager"], "Mine", [("stale", {})])
    tile = Tile.get(Tile.dashboard == private)
    assert client.get(f"/dashboards/{private.id}").status_code == 404
    assert client.get(f"/dashboards/{private.id}/tiles/{tile.id}").status_code == 404
    ctx = TileContext(users["rep"])
    own = create_dashboard(users["rep"], "Own")
    add_tile(own, "lead_count", {}, ctx)
    # A tile asked for under another dashboard's id is not found either.
    assert client.get(f"/dashboards/{own.id}/tiles/{tile.id}").status_code == 404


def test_a_rep_cannot_share_a_dashboard(client, users):
    own = create_dashboard(users["rep"], "Own")
    response = client.post(f"/dashboards/{own.id}", data={"name": "Own", "shared": "1"})
    assert response.status_code == 422 and b"Only managers" in response.data
    assert not Dashboard.get_by_id(own.id).shared


# --- Follow-ups and activity (R24, R25) --------------------------------------------------------

@pytest.mark.parametrize("kind", ["overdue_reps", "no_next_step", "quiet"])
def test_r25_follow_up_tiles_list_exactly_their_number_on_drill_down(manager, users, sample,
                                                                       kind):
    import datetime
    from models.activities import add_activity
    from models.schema import now
    add_activity(users["rep"], "follow_up", "Call", contact=sample["anna"],
                 due_at=now() - datetime.timedelta(days=1))
    Contact.update(created_at=now() - datetime.timedelta(days=40)).execute()
    dashboard_id, _ = open_default(manager)
    tile = Tile.create(dashboard=dashboard_id, kind=kind, params="{}", position=99)
    body = fragment(manager, dashboard_id, tile.id).data.decode()
    assert "tile-problem" not in body
    figures = table_figures(body)
    for number in re.findall(r'class="tile-number"><a href="([^"]+)">(\d+)</a>', body):
        figures.append(("total", number[1], unescape(number[0])))
    assert any(int(number) for _, number, _ in figures)
    for label, number, href in figures:
        assert drilled_total(manager, href) == int(number.split()[0]), (kind, label)
