"""Load test: reps dragging cards and managers watching dashboards, over real gunicorn.

    .venv/bin/python bench/load.py --database sqlite|postgresql [--contacts 20000]
        [--seconds 60] [--reps 50] [--managers 10] [--idle-tabs 1000] [--workers 4]
        [--url postgresql://...]

Builds a throwaway database with the demo data (PostgreSQL: a throwaway
cluster from .ci/postgres unless --url names an empty database), adds the
reps and managers and gives each rep a share of the contacts, and serves it
with the README's production command (`gunicorn -c gunicorn.conf.py -w N`,
gevent workers) on loopback, with --idle-tabs more event streams open (tabs
left open on a board: they only listen). Then, for
--seconds, every rep loops: load the board, pick a card (now and then from
everyone's board, so two reps really drop the same card), move it to another
column with the version it showed; a 409 (stale card, refused rule) is a
refusal, not an error. Every manager keeps /events open and, on each
`changed` event, asks its dashboard again as the page does: one request
naming each tile's fingerprint (204 when nothing shown changed, else the
changed tiles).

Prints requests/s, moves accepted and refused, p50/p95 per request kind and
the errors (5xx, connection errors, unexpected statuses) as a markdown table,
writes the same as JSON to bench/results/load-<backend>.json, then checks
that nothing was lost: every accepted move has its lead-status history row,
in the order the moves were made; every contact's lead status is the one its
last lead-status history row names; no two drops of the same card version
were both accepted; every manager's event stream named every changed
contact, and so did every idle tab's. Exits 1 when any check fails or any
error occurred.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

from peewee import fn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import models  # noqa: E402
from models import Contact, History, User  # noqa: E402
from models.demo import load_demo  # noqa: E402
from bench.harness import free_port, percentile, start_postgres, stop_postgres  # noqa: E402
from bench.streams import Streams  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

PASSWORD = "load-test-password"
SECRET_KEY = "load-test"
REQUEST_TIMEOUT = 30
# A card of the board (templates/board/_card.html) and a status column's drop target.
CARD = re.compile(r'<li class="card" id="card-(\d+)" data-id="\d+" data-version="(\d+)"\s+'
                  r'data-status="(\d+)"')
COLUMN = re.compile(r'data-target-field="status" data-target-id="(\d+)"')
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
TILE_URL = re.compile(r'hx-get="(/dashboards/\d+/tiles/(\d+))"')
REFRESH_URL = re.compile(r'data-refresh-url="(/dashboards/\d+/refresh)"')
FINGERPRINT = re.compile(r'id="tile-(\d+)"[^>]*data-fingerprint="([^"]*)"')
# What a request may answer without being an error, per kind.
EXPECTED = {"login": {200, 302}, "board": {200}, "board_everyone": {200}, "move": {200, 409},
            "dashboard": {200, 302}, "tile": {200}, "dashboard_refresh": {200, 204},
            "events": {200}}


# --- Measurements ----------------------------------------------------------------------

class Tally:
    """Latencies and outcomes of every request, shared by all simulated users."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)  # kind -> [ms]
        self.statuses = defaultdict(lambda: defaultdict(int))  # kind -> status -> n
        self.errors = []  # (kind, what)
        self.accepted = []  # (contact, status, version, started, finished)
        self.refused = 0
        self.counting = False  # only requests inside the timed window count

    def record(self, kind, started, status):
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            if self.counting:
                self.latencies[kind].append(elapsed)
                self.statuses[kind][status] += 1
            if status not in EXPECTED[kind]:
                self.errors.append((kind, f"HTTP {status}"))

    def error(self, kind, what):
        with self.lock:
            self.errors.append((kind, what))


class Client:
    """One simulated user: a cookie jar and a keep-alive connection."""

    def __init__(self, port, tally):
        self.port = port
        self.tally = tally
        self.cookies = {}
        self.csrf = ""
        self.connection = None

    def request(self, kind, method, path, form=None, headers=None):
        """(status, body); None after a connection error, which is counted as an error."""
        body = urlencode(form) if form is not None else None
        all_headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                       **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                             timeout=REQUEST_TIMEOUT)
            try:
                self.connection.request(method, path, body=body, headers=all_headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as problem:
                # gunicorn closes idle keep-alive connections: one retry on a
                # fresh connection, as a browser does.
                self.close()
                if attempt == 2:
                    self.tally.error(kind, repr(problem))
                    return None
            except (OSError, http.client.HTTPException) as problem:
                self.close()
                self.tally.error(kind, repr(problem))
                return None
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if (response.getheader("Connection") or "").lower() == "close":
            self.close()
        self.tally.record(kind, started, response.status)
        token = CSRF.search(text)
        if token:
            self.csrf = token.group(1)
        return response.status, text

    def login(self, email):
        page = self.request("login", "GET", "/login")
        if page is None:
            return False
        answer = self.request("login", "POST", "/login", form={
            "csrf_token": self.csrf, "email": email, "password": PASSWORD})
        return answer is not None and answer[0] == 302

    def htmx(self, kind, method, path, form=None):
        """A request as htmx makes it: HX-Request, and the CSRF token in a header."""
        return self.request(kind, method, path, form=form,
                            headers={"HX-Request": "true", "X-CSRFToken": self.csrf})

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


# --- Simulated users -------------------------------------------------------------------

def rep_loop(client, rng, tally, start, deadline, max_moves, everyone_share):
    """Load the board, pick a card, drop it on another column; until the deadline."""
    start.wait()
    moves = 0
    while time.monotonic() < deadline and moves < max_moves:
        everyone = rng.random() < everyone_share
        kind = "board_everyone" if everyone else "board"
        page = client.request(kind, "GET", "/board?owner=" + ("all" if everyone else "me"))
        if page is None or page[0] != 200:
            time.sleep(0.2)
            continue
        cards = [tuple(int(v) for v in found) for found in CARD.findall(page[1])]
        columns = [int(v) for v in COLUMN.findall(page[1])]
        if not cards or len(columns) < 2:
            continue
        # From everyone's board take one of the first cards of a column:
        # the ones every rep sees, so drops of the same card collide.
        contact, version, status = rng.choice(cards[:20] if everyone else cards)
        target = rng.choice([c for c in columns if c != status])
        started = time.monotonic()
        answer = client.htmx("move", "POST", "/board/move",
                             form={"contact": contact, "status": target, "version": version})
        moves += 1
        if answer is None:
            continue
        if answer[0] == 200:
            with tally.lock:
                tally.accepted.append((contact, target, version, started, time.monotonic()))
        elif answer[0] == 409:
            with tally.lock:
                tally.refused += 1


class Watcher:
    """A manager's dashboard page: an event stream, and the tiles asked again (in one
    request) on each event."""

    def __init__(self, client, tally):
        self.client = client
        self.tally = tally
        self.news = threading.Event()
        self.seen_contacts = set()
        self.heard_everything = False
        self.events = 0
        self.stream = None
        self.refresh_url = None
        self.tiles = {}  # tile id -> fingerprint shown
        self.stopping = False

    def open(self):
        """The dashboard page, every tile once, and the event stream."""
        page = self.client.request("dashboard", "GET", "/dashboards")
        if page is not None and page[0] == 302:
            location = re.search(r'href="(/dashboards/\d+)"', page[1])
            page = self.client.request("dashboard", "GET", location.group(1))
        if page is None or page[0] != 200:
            return False
        self.refresh_url = REFRESH_URL.search(page[1]).group(1)
        for url, tile_id in TILE_URL.findall(page[1]):
            answer = self.client.htmx("tile", "GET", url)
            if answer is not None and answer[0] == 200:
                self.tiles.update(FINGERPRINT.findall(answer[1]))
        connection = http.client.HTTPConnection("127.0.0.1", self.client.port,
                                                timeout=REQUEST_TIMEOUT)
        cookie = "; ".join(f"{k}={v}" for k, v in self.client.cookies.items())
        started = time.perf_counter()
        connection.request("GET", "/events", headers={"Cookie": cookie,
                                                      "Accept": "text/event-stream"})
        response = connection.getresponse()
        self.tally.record("events", started, response.status)
        if response.status != 200:
            return False
        self.stream = connection
        first = response.readline()  # "retry: ..." : the stream is open
        threading.Thread(target=self._read, args=(response,), daemon=True).start()
        return first.startswith(b"retry:")

    def _read(self, response):
        data = None
        try:
            for raw in response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("data:"):
                    data = json.loads(line[5:])
                elif not line and data is not None:
                    if data.get("all"):
                        self.heard_everything = True
                    self.seen_contacts.update(data.get("contacts", ()))
                    self.events += 1
                    self.news.set()
                    data = None
        except Exception as problem:  # noqa: BLE001 - close() pulls the socket away
            if not self.stopping:
                self.tally.error("events", repr(problem))
            return
        if not self.stopping:
            self.tally.error("events", "the event stream ended early")

    def refresh(self):
        """One request naming what every tile shows; the changed tiles come back."""
        query = urlencode([("fp", f"{tile}:{fp}") for tile, fp in self.tiles.items()])
        answer = self.client.htmx("dashboard_refresh", "GET", f"{self.refresh_url}?{query}")
        if answer is not None and answer[0] == 200:
            self.tiles.update(FINGERPRINT.findall(answer[1]))

    def loop(self, start, deadline):
        """On news, ask the dashboard again; events during a request make one more."""
        start.wait()
        while time.monotonic() < deadline:
            if not self.news.wait(timeout=max(0.0, deadline - time.monotonic())):
                break
            self.news.clear()
            if time.monotonic() < deadline:
                self.refresh()

    def close(self):
        self.stopping = True
        if self.stream is not None:
            try:
                self.stream.sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass
            self.stream.close()


# --- Database, server ------------------------------------------------------------------







def build(url, contacts, reps, managers):
    """Migrate, load the demo, add the users and deal the contacts out to the reps."""
    db = models.bind_database(url)
    with db.connection_context():
        if db.get_tables():
            sys.exit(f"{url} is not empty; the load test needs an empty database")
        models.upgrade_database(db, "en")
        load_demo(contacts=contacts)
        password_hash = generate_password_hash(PASSWORD)
        with db.atomic():
            rep_ids = [User.insert(email=f"rep{n:02}@load.test", name=f"Load Rep {n:02}",
                                   role="rep", language="en", password_hash=password_hash)
                       .execute() for n in range(1, reps + 1)]
            for n in range(1, managers + 1):
                User.insert(email=f"manager{n:02}@load.test", name=f"Load Manager {n:02}",
                            role="manager", language="en",
                            password_hash=password_hash).execute()
            # Contact n goes to rep n mod reps: every rep gets the same share
            # of every category and status. (Peewee's % is LIKE; integer
            # division is the modulo both databases agree on.)
            remainder = Contact.id - (Contact.id / reps) * reps
            for index, rep_id in enumerate(rep_ids):
                Contact.update(owner=rep_id).where(remainder == index).execute()
        counts = {"contacts": Contact.select().count(), "history": History.select().count()}
    db.close()
    return counts


def start_gunicorn(url, workers, log_path):
    """The README's production command on a free loopback port."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "TAVLA_SECRET_KEY": SECRET_KEY}
    env.pop("TAVLA_DATABASE_URL", None)
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("gunicorn exited:\n" + Path(log_path).read_text(errors="replace"))
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                connection.close()
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("gunicorn did not answer:\n" + Path(log_path).read_text(errors="replace"))


def stop_gunicorn(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- Verification ----------------------------------------------------------------------

def verify(url, tally, baseline_id, watchers, idle=None):
    """Nothing lost: a list of problems (empty when all is well) and some counts."""
    problems = []
    db = models.bind_database(url)
    with db.connection_context():
        rows = defaultdict(list)  # contact -> [(history id, to status)] in id order
        for row_id, contact, to_status in (History
                                          .select(History.id, History.contact,
                                                  History.to_status)
                                          .where(History.id > baseline_id,
                                                 History.kind == History.LEAD_STATUS)
                                          .order_by(History.id).tuples()):
            rows[contact].append((row_id, to_status))
        changed_contacts = {c for (c,) in History.select(History.contact)
                            .where(History.id > baseline_id, History.contact.is_null(False))
                            .tuples()}
        # The contact's status against its last lead-status history row, for all contacts.
        last_row = (History.select(History.contact, fn.MAX(History.id).alias("last_id"))
                    .where(History.kind == History.LEAD_STATUS)
                    .group_by(History.contact))
        disagreeing = list(
            Contact.select(Contact.id, Contact.lead_status, History.to_status)
            .join(last_row, on=(last_row.c.contact_id == Contact.id))
            .join(History, on=(History.id == last_row.c.last_id))
            .where(Contact.lead_status != History.to_status)
            .tuples())
        without_history = (Contact.select().where(Contact.lead_status.is_null(False),
                                                  ~Contact.id.in_(last_row.select(
                                                      History.contact)))
                           .count())
    db.close()
    if disagreeing:
        problems.append(f"{len(disagreeing)} contacts' lead status disagrees with their last "
                        f"lead-status history row, e.g. {disagreeing[:5]}")

    by_contact = defaultdict(list)
    for move in tally.accepted:
        by_contact[move[0]].append(move)
    lost = out_of_order = 0
    examples = []
    for contact, moves in by_contact.items():
        moves.sort(key=lambda move: move[4])  # in the order they were answered
        used = set()
        matched = []  # (move, history id)
        for move in moves:
            # Moves answered before this one was sent must have earlier rows.
            floor = max((row_id for earlier, row_id in matched if earlier[4] < move[3]),
                        default=0)
            candidates = [row_id for row_id, to_status in rows.get(contact, ())
                          if to_status == move[1] and row_id not in used]
            if not candidates:
                lost += 1
                examples.append(("lost", move[:3]))
                continue
            in_order = [row_id for row_id in candidates if row_id > floor]
            row_id = (in_order or candidates)[0]
            if not in_order:
                out_of_order += 1
                examples.append(("out of order", move[:3]))
            used.add(row_id)
            matched.append((move, row_id))
    if lost:
        problems.append(f"{lost} accepted moves have no history row")
    if out_of_order:
        problems.append(f"{out_of_order} accepted moves' history rows are out of order")

    versions = defaultdict(int)
    for contact, _, version, _, _ in tally.accepted:
        versions[(contact, version)] += 1
    doubles = {key: n for key, n in versions.items() if n > 1}
    if doubles:
        problems.append(f"{sum(doubles.values()) - len(doubles)} drops were accepted on a "
                        f"card version another accepted drop had already changed (stale "
                        f"guard raced), e.g. (contact, version) {list(doubles)[:5]}")

    missed = {index: 0 if watcher.heard_everything
              else len(changed_contacts - watcher.seen_contacts)
              for index, watcher in enumerate(watchers)}
    idle_missed = 0
    if idle is not None:
        for index in range(idle.count):
            if not idle.heard_all[index]:
                idle_missed += len(changed_contacts - set(idle.heard[index]))
        if idle_missed:
            problems.append(f"idle tabs' streams missed {idle_missed} changed contacts in all")
    if any(missed.values()):
        problems.append(f"event streams missed changed contacts (per manager: "
                        f"{ {k: v for k, v in missed.items() if v} } of "
                        f"{len(changed_contacts)})")
    if examples:
        problems.append(f"examples: {examples[:5]}")
    return problems, {"history_rows_checked": sum(len(r) for r in rows.values()),
                      "contacts_changed": len(changed_contacts),
                      "contacts_without_status_history": without_history,
                      "stream_misses_per_manager": missed,
                      "idle_tabs": idle.count if idle else 0,
                      "idle_tabs_connected": sum(idle.connects[i] > 0 for i in range(idle.count))
                      if idle else 0,
                      "idle_tab_misses": idle_missed}


# --- Report ----------------------------------------------------------------------------



def report(args, tally, seconds, load, build_counts, watchers, server_log):
    kinds = {}
    for kind, samples in sorted(tally.latencies.items()):
        kinds[kind] = {"requests": len(samples),
                       "p50_ms": round(statistics.median(samples), 1),
                       "p95_ms": round(percentile(samples, 0.95), 1),
                       "statuses": dict(tally.statuses[kind])}
    counted = sum(len(samples) for samples in tally.latencies.values())
    error_kinds = defaultdict(int)
    for kind, what in tally.errors:
        error_kinds[f"{kind}: {what[:120]}"] += 1
    return {
        "backend": args.database, "contacts": args.contacts, "reps": args.reps,
        "managers": args.managers, "idle_tabs": args.idle_tabs, "workers": args.workers,
        "command": "gunicorn -c gunicorn.conf.py (gevent)",
        "seconds": round(seconds, 1), "cpus": os.cpu_count(),
        "load_average_before": load[0], "load_average_after": load[1],
        "dataset": build_counts,
        "requests": counted, "requests_per_second": round(counted / seconds, 1),
        "moves_accepted": len(tally.accepted), "moves_refused": tally.refused,
        "events_received": sum(w.events for w in watchers),
        "kinds": kinds,
        "errors": len(tally.errors), "error_kinds": dict(error_kinds),
        "server_log_errors": server_log,
    }


def markdown(result):
    lines = [f"**{result['backend']}**: {result['contacts']} contacts, {result['reps']} reps, "
             f"{result['managers']} managers, {result['idle_tabs']} idle tabs, "
             f"gunicorn -c gunicorn.conf.py -w {result['workers']}, {result['seconds']} s, "
             f"{result['cpus']} CPUs "
             f"(load average {result['load_average_before']} before, "
             f"{result['load_average_after']} after)",
             "",
             "| | |", "|---|---|",
             f"| requests/s | {result['requests_per_second']} ({result['requests']} requests) |",
             f"| moves accepted | {result['moves_accepted']} |",
             f"| moves refused (409) | {result['moves_refused']} |",
             f"| change events received | {result['events_received']} |",
             f"| errors | {result['errors']} |",
             "",
             "| request | count | p50 ms | p95 ms | statuses |", "|---|---:|---:|---:|---|"]
    for kind, figures in result["kinds"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(figures["statuses"].items()))
        lines.append(f"| {kind} | {figures['requests']} | {figures['p50_ms']} | "
                     f"{figures['p95_ms']} | {statuses} |")
    for what, count in result["error_kinds"].items():
        lines.append(f"\nerror x{count}: {what}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--url", help="an empty PostgreSQL database instead of a "
                                      "throwaway cluster")
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--managers", type=int, default=10)
    parser.add_argument("--idle-tabs", type=int, default=1000,
                        help="event streams that only listen, beside the users")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-moves", type=int, default=100_000,
                        help="moves per rep at most (the run is bounded by both)")
    parser.add_argument("--everyone-share", type=float, default=0.25,
                        help="share of moves picked from everyone's board")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch folder (database, gunicorn.log)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="tavla-load-"))
    scratch.chmod(0o755)  # the cluster runs as the postgres user
    postgres_dir = None
    if args.database == "sqlite":
        url = f"sqlite:///{scratch / 'load.db'}"
    elif args.url:
        url = args.url
    else:
        postgres_dir = str(scratch / "pg")
        url = start_postgres(postgres_dir)
    process = None
    try:
        started = time.monotonic()
        build_counts = build(url, args.contacts, args.reps, args.managers)
        print(f"built {build_counts} in {time.monotonic() - started:.1f} s ({url})")
        db = models.bind_database(url)
        with db.connection_context():
            baseline_id = History.select(History.id).order_by(History.id.desc()).scalar()
        db.close()

        log_path = scratch / "gunicorn.log"
        process, port = start_gunicorn(url, args.workers, log_path)
        tally = Tally()
        rng = random.Random(args.seed)
        start = threading.Event()

        reps = []
        for n in range(1, args.reps + 1):
            client = Client(port, tally)
            if not client.login(f"rep{n:02}@load.test"):
                sys.exit(f"rep{n:02} could not sign in")
            reps.append(client)
        watchers = []
        for n in range(1, args.managers + 1):
            client = Client(port, tally)
            if not client.login(f"manager{n:02}@load.test"):
                sys.exit(f"manager{n:02} could not sign in")
            watcher = Watcher(client, tally)
            if not watcher.open():
                sys.exit(f"manager{n:02}'s dashboard or event stream did not open")
            watchers.append(watcher)

        idle = None
        if args.idle_tabs:
            looker = Client(port, tally)
            if not looker.login("rep01@load.test"):
                sys.exit("rep01 could not sign in")
            idle = Streams([port], "; ".join(f"{k}={v}" for k, v in looker.cookies.items()),
                           args.idle_tabs)
            idle.start()
            if not idle.wait_until(lambda: sum(idle.connected) >= args.idle_tabs, 120):
                tally.error("idle", f"only {sum(idle.connected)} of {args.idle_tabs} idle "
                                    f"tabs' streams connected")
        load_before = round(os.getloadavg()[0], 2)
        deadline = time.monotonic() + args.seconds
        threads = [threading.Thread(target=rep_loop, daemon=True, args=(
                       client, random.Random(rng.random()), tally, start, deadline,
                       args.max_moves, args.everyone_share))
                   for client in reps]
        threads += [threading.Thread(target=watcher.loop, args=(start, deadline), daemon=True)
                    for watcher in watchers]
        for thread in threads:
            thread.start()
        tally.counting = True
        began = time.monotonic()
        start.set()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 5)
        tally.counting = False
        elapsed = time.monotonic() - began
        hung = sum(thread.is_alive() for thread in threads)
        if hung:
            tally.error("client", f"{hung} simulated users did not finish")
        load_after = round(os.getloadavg()[0], 2)
        time.sleep(2)  # let the streams read the last changes (poll 0.5 s)
        for watcher in watchers:
            watcher.close()
        if idle is not None:
            idle.stop()
        for client in reps + [w.client for w in watchers]:
            client.close()
        stop_gunicorn(process)
        process = None
        log = log_path.read_text(errors="replace")
        server_log = {"tracebacks": log.count("Traceback"),
                      "database is locked": log.count("database is locked"),
                      "worker timeouts": log.count("WORKER TIMEOUT")}

        result = report(args, tally, elapsed, (load_before, load_after), build_counts,
                        watchers, server_log)
        problems, checked = verify(url, tally, baseline_id, watchers, idle)
        result["verification"] = {"problems": problems, **checked}
        if tally.errors or any(server_log.values()):
            problems = problems + [f"{len(tally.errors)} request errors, server log {server_log}"]
        result["verdict"] = "ok" if not problems else "FAILED"

        print(markdown(result))
        results = ROOT / "bench" / "results"
        results.mkdir(exist_ok=True)
        target = results / f"load-{args.database}.json"
        target.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {target.relative_to(ROOT)}")
        if any(server_log.values()):
            print("\n--- server log (errors) ---")
            print("\n".join(line for line in log.splitlines()
                            if "ERROR" in line or "Error" in line or "locked" in line)[-4000:])
        print(f"\nverification: {checked}")
        if problems:
            print("VERDICT: FAILED")
            for problem in problems:
                print(f"  - {problem}")
            return 1
        print("VERDICT: nothing lost, no errors")
        return 0
    finally:
        if process is not None:
            stop_gunicorn(process)
        if postgres_dir:
            stop_postgres(postgres_dir)
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
