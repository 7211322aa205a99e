"""Server time of Tavla's main pages on a large deterministic dataset.

    .venv/bin/python bench/run.py --contacts 100000 [--database sqlite|postgresql]
        [--database-url URL] [--runs 30] [--out bench/results] [--keep]

Builds the demo data (seed 7) at the chosen scale plus one company with 50
contacts, in SQLite (bench/data/sqlite-<contacts>.db) or PostgreSQL (a
throwaway cluster from .ci/postgres in --pg-dir, or --database-url, which
the benchmark may empty). With --keep a dataset of the same scale is reused
and left in place (and the throwaway cluster left running); without it the
dataset is built afresh and thrown away at the end.

Then it times, through Flask's test client (routing, session, queries,
templates; no network), warmed up, over --runs requests each: the contact
card, the company card, a three-criteria search (live count; whole page),
the board's first render for a rep's "My leads" and a manager's everyone's
leads, a drop (a move and the move back, one sample each), every tile of
the manager's default dashboard, the whole dashboard (page + all tiles,
one after the other, as a browser loads it), each tile and the whole
dashboard again with the process's tile cache emptied before every request
(what a viewer waits for after a change the tile counts), and the CSV export of about
--export-rows rows (3 runs, only when the dataset has that many contacts).
Last, through the job queue with a consumer process (bench/jobs.py): a bulk
update of every contact's lead status, a rep's drops while it runs, and an
import of --import-rows new leads.
Every request's SQL is replayed on its own to split page time into SQL time
and app overhead (see bench/harness.py). The table goes to stdout and,
with the machine and versions in JSON, to <out>/<backend>-<contacts>.{md,json}.
"""
import argparse
import datetime
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from app import create_app  # noqa: E402
from bench import harness, jobs  # noqa: E402
from bench.harness import BIG_COMPANY, BIG_COMPANY_CONTACTS, DATA, log  # noqa: E402
from models.api_tokens import create_token  # noqa: E402
from models.dashboards import Dashboard, dashboard_tiles  # noqa: E402
from models.demo import DEMO_PASSWORD  # noqa: E402
from models.schema import Category, Company, Contact, LeadStatus, User  # noqa: E402

HTMX = {"HX-Request": "true"}
EXPORT_COLUMNS = ("company", "email", "category", "group", "status", "owner", "source",
                  "created")
EXPORT_RUNS = 3

# p95 targets in ms at 100,000 contacts, by the start of the page's name;
# app overhead (page - SQL) under OVERHEAD_TARGET on every page but the
# export. At a million every page but the export should stay under LARGE_TARGET,
# the whole dashboard under LARGE_DASHBOARD_TARGET.
TARGETS = {"contact card": 30, "drop": 30, "search": 100, "board": 100, "tile": 50,
           "api": 30}
OVERHEAD_TARGET = 10
LARGE_SCALE, LARGE_TARGET, LARGE_DASHBOARD_TARGET = 1_000_000, 100, 200


@dataclass
class Page:
    name: str
    request: Callable  # makes the request(s) of one sample
    runs: int
    restore: Callable = None  # for a write: called before each sample (see harness.measure)


def page_target(name, contacts):
    if name.startswith("CSV export"):
        return None
    if contacts >= LARGE_SCALE:
        return LARGE_DASHBOARD_TARGET if name.startswith("whole dashboard") else LARGE_TARGET
    return next((ms for prefix, ms in TARGETS.items() if name.startswith(prefix)), None)


def signed_in(app, email):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, f"cannot sign in as {email}"
    return client


def fetch(client, url, headers=None, status=200):
    """One GET, its whole body read (a streamed response too)."""
    response = client.get(url, headers=headers)
    response.get_data()
    response.close()
    assert response.status_code == status, (url, response.status_code)
    return response


def url_list(client, urls, headers=None):
    def load():
        for url, url_headers in urls:
            fetch(client, url, url_headers)
    return load


class Drop:
    """A card moved between the first two board columns and back, one move per call.

    Before each move `snapshot()` reads the card again (untimed) for its
    current `version`, which also checks that the previous move happened.
    """

    def __init__(self, client, contact, statuses):
        self.client, self.contact_id = client, contact.id
        self.home, self.away = statuses[0].id, statuses[1].id
        self.moves, self.checked = 0, {"contact": contact.id, "from_status": self.home,
                                       "to_status": self.away}
        self.status, self.version = None, None

    def expected(self):
        return self.away if self.moves % 2 else self.home

    def snapshot(self):
        """The card and its company as they are now; returns what puts them back."""
        with models.database.connection_context():
            contact = Contact.get_by_id(self.contact_id)
            company = Company.get_by_id(contact.company_id)
        assert contact.lead_status_id == self.expected(), "the drop did not move the card"
        if self.moves == 1:
            self.checked["status_after_move"] = contact.lead_status_id
        self.status, self.version = contact.lead_status_id, contact.version

        def restore():
            for model, row in ((Contact, contact), (Company, company)):
                (model.update({k: v for k, v in row.__data__.items() if k != "id"})
                 .where(model.id == row.id).execute())
        return restore

    def __call__(self):
        """One move; snapshot() must have run since the last one (it reads the version)."""
        target = self.away if self.moves % 2 == 0 else self.home
        response = self.client.post("/board/move", headers=HTMX, data={
            "contact": self.contact_id, "status": target, "version": self.version})
        assert response.status_code == 200, ("drop", response.status_code)
        self.moves += 1

    def finish(self):
        """Leave the card where it was (an odd number of moves puts it back once more)."""
        if self.moves % 2:
            self.snapshot()
            self()
        self.snapshot()
        self.checked["status_at_end"] = self.status


def export_after(rows):
    """The first day of the `rows` newest contacts: "created from" it matches about that many."""
    newest = (Contact.select(Contact.created_at).order_by(Contact.created_at.desc())
              .offset(rows - 1).limit(1).scalar())
    if isinstance(newest, str):
        newest = datetime.datetime.fromisoformat(newest)
    return newest.date().isoformat()


def pages(app, runs, export_rows):
    """Every Page in the order they are timed, and the Drop (to check and put back)."""
    with models.database.connection_context():
        rep = User.get(User.email == "rep@tavla.test")
        total = Contact.select().count()
        contact = Contact.select().order_by(Contact.id).offset(total // 2).get()
        company = Company.get(Company.name == BIG_COMPANY)
        statuses = list(LeadStatus.ordered())
        card = (Contact.select().join(Company).join(Category)
                .where(Contact.owner == rep, Category.lead_status_enabled == True,  # noqa: E712
                       Contact.lead_status == statuses[0])
                .order_by(Contact.id).first())
        busy = Contact.get(Contact.first_name == harness.BUSY_CONTACT[0],
                           Contact.last_name == harness.BUSY_CONTACT[1])
        exported_from = export_after(export_rows) if total >= export_rows else None
        # An API token of the rep's: the API takes no session (its use is counted in the
        # database on every request, which the page time holds).
        api_headers = {"Authorization": "Bearer " + create_token(rep, "Benchmark", "read",
                                                                  rep)[1]}
    rep_client = signed_in(app, "rep@tavla.test")
    manager_client = signed_in(app, "manager@tavla.test")

    # The manager's first visit makes their default dashboard.
    dashboard_url = manager_client.get("/dashboards").location
    with models.database.connection_context():
        tiles = dashboard_tiles(Dashboard.get_by_id(int(dashboard_url.rstrip("/").split("/")[-1])))
    with app.test_request_context():
        tile_urls = [(tile.kind, app.url_for("dashboards.tile", dashboard_id=tile.dashboard_id,
                                             tile_id=tile.id)) for tile in tiles]

    def empty_cache():
        app.extensions["tile_cache"].clear()  # returns None: nothing to put back

    def as_rep(url, headers=None):
        return url_list(rep_client, [(url, headers)])

    search = (f"f0=lead_status&o0=in&v0={statuses[0].id}&v0={statuses[1].id}"
              "&f1=category_group&o1=in&v1=potential&f2=owner&o2=in&v2=me")
    drop = Drop(rep_client, card, statuses)
    found = [
        Page("contact card", as_rep(f"/contacts/{contact.id}"), runs),
        Page(f"company card, {BIG_COMPANY_CONTACTS} contacts", as_rep(f"/companies/{company.id}"),
             runs),
        Page("search: live count, 3 criteria", as_rep(f"/search/count?{search}", HTMX), runs),
        Page("search: page with count and first 50", as_rep(f"/search?{search}"), runs),
        Page(f"contact card, {harness.CARD_ACTIVITIES} activities",
             as_rep(f"/contacts/{busy.id}"), runs),
        Page("board: my leads (rep)", as_rep("/board?owner=me"), runs),
        Page("board: my leads by next step (rep)", as_rep("/board?owner=me&sort=next_step"),
             runs),
        Page("board: everyone's leads (manager)",
             url_list(manager_client, [("/board?owner=all", None)]), runs),
        Page("drop: move or move back", drop, runs, drop.snapshot),
        Page("api: 100 contacts", url_list(app.test_client(), [
            (f"/api/v1/contacts?limit=100&after={contact.id}", api_headers)]), runs),
        *[Page(f"tile {kind} (manager)", url_list(manager_client, [(url, HTMX)]), runs)
          for kind, url in tile_urls],
        Page(f"whole dashboard (page + {len(tile_urls)} tiles)", url_list(
            manager_client, [(dashboard_url, None)] + [(url, HTMX) for _, url in tile_urls]),
            runs),
        # The same, each figure computed afresh: the cache emptied before every request.
        *[Page(f"tile {kind}, computed (manager)",
               url_list(manager_client, [(url, HTMX)]), runs, empty_cache)
          for kind, url in tile_urls],
        Page(f"whole dashboard, computed (page + {len(tile_urls)} tiles)", url_list(
            manager_client, [(dashboard_url, None)] + [(url, HTMX) for _, url in tile_urls]),
            runs, empty_cache),
    ]
    if exported_from:
        columns = "&".join(f"col={c}" for c in EXPORT_COLUMNS)
        with models.database.connection_context():
            rows = Contact.select().where(Contact.created_at >= exported_from).count()
        found.append(Page(f"CSV export, {rows:,} rows", as_rep(
            f"/search/export.csv?f0=created&o0=between&v0={exported_from}&v0="
            f"&cols=1&{columns}"), min(runs, EXPORT_RUNS)))
    return found, drop, (manager_client, rep_client)


def run(url, backend, contacts, runs, out, keep, export_rows, import_rows, jobs_only=False):
    """Build or reuse the dataset at `url`, time every page, write and return the report."""
    build_seconds = harness.prepare_dataset(url, contacts, keep)
    # The bulk update goes through the job at any scale (a small one would run at once).
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "BULK_IMMEDIATE_ROWS": 0})
    db = models.database.obj
    recorder = harness.Recorder(db)
    report = {"backend": backend, "contacts": contacts, "date": harness.now(),
              "commit": harness.git_commit(), "machine": harness.machine(db),
              "build_seconds": None if build_seconds is None else round(build_seconds, 1),
              "pages": {}, "checks": {}}
    plan, drop, (manager_client, rep_client) = pages(app, runs, export_rows)
    for page in plan if not jobs_only else []:
        log(f"timing {page.name} ...")
        result = harness.measure(recorder, page.request, page.runs, page.restore)
        overhead = None if page.name.startswith("CSV export") else OVERHEAD_TARGET
        report["pages"][page.name] = harness.judge(result, page_target(page.name, contacts),
                                                   overhead)
    if not jobs_only:
        drop.finish()
    if import_rows:
        # Last: these write to the whole dataset.
        report["jobs"] = jobs.time_jobs(url, manager_client, rep_client, import_rows,
                                        Path(out))
    report["machine"]["python_speed_us_end"] = harness.python_speed()
    report["checks"]["drop"] = drop.checked
    recorder.close()
    print(harness.write_report(report, out, suffix="-jobs" if jobs_only else ""))
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", help="use (and maybe empty) this database")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", default=str(harness.REPO / "bench" / "results"))
    parser.add_argument("--keep", action="store_true",
                        help="reuse a dataset of this scale and keep it for the next run")
    parser.add_argument("--export-rows", type=int, default=100_000,
                        help="rows the CSV export should have (skipped on fewer contacts)")
    parser.add_argument("--import-rows", type=int, default=50_000,
                        help="rows of the import timed through the job (0: no job rows)")
    parser.add_argument("--jobs-only", action="store_true",
                        help="time only the work through the job queue (written to "
                             "<backend>-<contacts>-jobs.md / .json)")
    parser.add_argument("--pg-dir", default="/tmp/tavla-bench-pg",
                        help="where the throwaway PostgreSQL cluster lives")
    args = parser.parse_args(argv)

    started_cluster, sqlite_file = False, None
    if args.database_url:
        url = args.database_url
        backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    elif args.database == "sqlite":
        backend, sqlite_file = "sqlite", DATA / f"sqlite-{args.contacts}.db"
        url = f"sqlite:///{sqlite_file}"
    else:
        backend = "postgresql"
        cluster, started_cluster = harness.start_cluster(args.pg_dir, args.keep)
        url = harness.scale_database(cluster, args.contacts)
    try:
        return run(url, backend, args.contacts, args.runs, args.out, args.keep, args.export_rows,
                   args.import_rows, args.jobs_only)
    finally:
        if models.database.obj is not None:
            models.database.obj.close()
        if sqlite_file and not args.keep:
            harness.empty_database(url)
        if started_cluster and not args.keep:
            harness.stop_cluster(args.pg_dir)
        elif backend == "postgresql" and args.database_url is None:
            log(f"postgresql: cluster left running; stop it with "
                f"TAVLA_PG_DIR={args.pg_dir} bash .ci/postgres stop")


if __name__ == "__main__":
    main()
