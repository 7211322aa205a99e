"""What the benchmark needs besides the pages it times: the dataset, the
PostgreSQL cluster, the clock, the SQL recorder and replay, and the report.

How SQL time is measured. While a request runs, every statement it sends
through peewee (`Database.query_hooks`, and on PostgreSQL also the named
cursor the CSV export streams from) is recorded with its parameters.
Right after the request the same statements are replayed on a connection
got the way the app gets its own (a new SQLite connection; one from the
process's pool on PostgreSQL), one cursor, `fetchall()` for each that
returns rows, and that replay is the SQL time: the database's work plus the
driver's row fetching, without peewee building queries or models, Jinja or
Flask. The replay runs inside a transaction that is rolled back, so it
never changes the data. For a write (the drop) the replay first puts the
rows the request changed back as they were just before the request
(untimed, in the same transaction), so the UPDATEs (and the triggers they
fire) and INSERTs replay against the state the request saw, and then roll
back; its own commit is the one thing not replayed. App overhead is page
time minus SQL time of the same run, so it also holds opening the
connection and peewee's own work (building queries and models).
"""
import datetime
import json
import math
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import timeit
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import models  # noqa: E402
from models.demo import load_demo  # noqa: E402

DATA = REPO / "bench" / "data"
TEST_PG_DIR = "/tmp/tavla-test-pg"  # the test suite's cluster: never touched here
BIG_COMPANY = "Benchmark AB"
BIG_COMPANY_CONTACTS = 50
ACTIVITIES_PER_CONTACT = 3  # a note, a call and a follow-up: 300,000 at 100,000 contacts
CARD_ACTIVITIES = 200  # on the contact card that is timed with many activities
BUSY_CONTACT = ("Bench", "Person 00")  # one of the big company's contacts
TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


def log(message):
    """Progress goes to stderr; stdout is the table."""
    print(message, file=sys.stderr, flush=True)


# --- The dataset ----------------------------------------------------------------------

def has_dataset(contacts):
    """True when the bound database holds the dataset of this scale (a row count check)."""
    db = models.database.obj
    if not db.table_exists("contact"):
        return False
    return (models.Company.select().where(models.Company.name == BIG_COMPANY).exists()
            and models.Contact.select().count() == contacts + BIG_COMPANY_CONTACTS)


def empty_database(url):
    """Throw away whatever the database at `url` holds."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    db = models.make_database(url)
    with db.connection_context():
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")


def build_dataset(contacts):
    """The demo data (seed 7) at this scale, plus one company with 50 contacts.

    On PostgreSQL the tables are analyzed afterwards, as autovacuum would do
    soon after a bulk load, so the planner has statistics from the start.
    """
    db = models.database.obj
    models.upgrade_database(db)
    load_demo(contacts=contacts)
    rep = models.User.get(models.User.email == "rep@tavla.test")
    lead = (models.Category.select()
            .where(models.Category.lead_status_enabled == True)  # noqa: E712
            .order_by(models.Category.id).first())
    actor = models.Actor(rep)
    company = models.create_company(actor, name=BIG_COMPANY, category=lead, owner=rep)
    for number in range(BIG_COMPANY_CONTACTS):
        models.create_contact(company, actor, first_name="Bench",
                              last_name=f"Person {number:02d}", owner=rep)
    add_activities()
    if not models.is_sqlite():
        db.execute_sql("ANALYZE")


def add_activities(per_contact=ACTIVITIES_PER_CONTACT, card=CARD_ACTIVITIES):
    """A note, a call and a follow-up (due from ten days ago to three weeks ahead, a
    third of them done) on every contact, and one contact of the big company with
    `card` activities; each contact's next step and last activity kept as the app
    keeps them. Does nothing when the dataset has them already (--keep)."""
    from models.activities import refresh_next_steps
    from models.schema import Activity
    if Activity.select().where(Activity.source == "bench").exists():
        return
    rng = __import__("random").Random(7)
    today = datetime.datetime.combine(datetime.date.today(), datetime.time(9))
    rep = models.User.get(models.User.email == "rep@tavla.test")
    busy = models.Contact.get(models.Contact.first_name == BUSY_CONTACT[0],
                              models.Contact.last_name == BUSY_CONTACT[1])
    kinds = ("note", "call", "follow_up")[:per_contact]

    def row(contact_id, company_id, owner_id, kind, number):
        created = today - datetime.timedelta(days=rng.randint(1, 90), minutes=number)
        due = today + datetime.timedelta(days=rng.randint(-10, 21), hours=rng.randint(0, 8)) \
            if kind == "follow_up" else None
        done = due - datetime.timedelta(hours=1) if due and rng.random() < 0.33 else None
        return {"kind": kind, "company": company_id, "contact": contact_id, "author": owner_id,
                "owner": owner_id if kind == "follow_up" else None,
                "text": f"{kind.replace('_', '-').title()} {number}", "due_at": due,
                "done_at": done, "done_by": owner_id if done else None, "source": "bench",
                "created_at": created, "updated_at": created}

    contacts = (models.Contact.select(models.Contact.id, models.Contact.company,
                                      models.Contact.owner).order_by(models.Contact.id).tuples())
    batch, ids = [], []
    for contact_id, company_id, owner_id in contacts.iterator():
        if contact_id == busy.id:
            batch += [row(contact_id, company_id, rep.id, kinds[n % len(kinds)], n)
                      for n in range(card)]
        else:
            batch += [row(contact_id, company_id, owner_id, kind, n)
                      for n, kind in enumerate(kinds)]
        ids.append(contact_id)
        if len(batch) >= 3000:
            _flush_activities(Activity, batch, ids, refresh_next_steps)
            batch, ids = [], []
    _flush_activities(Activity, batch, ids, refresh_next_steps)


def _flush_activities(Activity, batch, ids, refresh_next_steps):
    with models.database.atomic():
        for start in range(0, len(batch), 500):
            Activity.insert_many(batch[start:start + 500]).execute()
        refresh_next_steps(ids)


def prepare_dataset(url, contacts, keep):
    """Bind `url` and make sure it holds the dataset; returns build seconds (None: reused)."""
    models.bind_database(url)
    with models.database.connection_context():
        if keep and has_dataset(contacts):
            log(f"dataset: reusing {contacts} contacts at {redact(url)}")
            models.upgrade_database(models.database.obj)  # migrations added since it was built
            add_activities()  # a dataset built before the activities gets them now
            return None
        empty = not models.database.obj.table_exists("contact") or \
            not models.Contact.select().exists()
    if not empty:
        empty_database(url)
        models.bind_database(url)
    log(f"dataset: building {contacts} contacts at {redact(url)} ...")
    started = time.perf_counter()
    with models.database.connection_context():
        build_dataset(contacts)
    seconds = time.perf_counter() - started
    log(f"dataset: built in {seconds:.1f} s")
    return seconds


def redact(url):
    return re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", url)


# --- A throwaway PostgreSQL cluster ----------------------------------------------------

def cluster_url(pg_dir):
    """The URL of the cluster already running in `pg_dir`, or None."""
    pid_file = Path(pg_dir) / "data" / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    url = f"postgresql://postgres@127.0.0.1:{lines[3].strip()}/tavla_test"
    try:
        with models.make_database(url).connection_context():
            return url
    except Exception:  # noqa: BLE001 - a stale pid file: start afresh
        return None


def start_cluster(pg_dir, keep):
    """A cluster via .ci/postgres in `pg_dir` (reused with --keep); returns (url, started)."""
    if os.path.abspath(pg_dir) == TEST_PG_DIR:
        raise SystemExit(f"{TEST_PG_DIR} belongs to the test suite; choose another --pg-dir")
    url = cluster_url(pg_dir) if keep else None
    if url:
        log(f"postgresql: reusing the cluster in {pg_dir}")
        return url, False
    log(f"postgresql: starting a throwaway cluster in {pg_dir}")
    output = subprocess.run(["bash", str(REPO / ".ci" / "postgres"), "start"], check=True,
                            capture_output=True, text=True,
                            env={**os.environ, "TAVLA_PG_DIR": pg_dir}).stdout
    return output.strip().split("=", 1)[1], True


def stop_cluster(pg_dir):
    subprocess.run(["bash", str(REPO / ".ci" / "postgres"), "stop"], check=True,
                   env={**os.environ, "TAVLA_PG_DIR": pg_dir})


def scale_database(cluster, contacts):
    """A database of its own per scale in the cluster, so --keep can hold several."""
    name = f"bench_{contacts}"
    db = models.make_database(cluster)
    with db.connection_context():
        if not db.execute_sql("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone():
            db.execute_sql(f'CREATE DATABASE "{name}"')
    return cluster.rsplit("/", 1)[0] + "/" + name


# --- Recording and replaying SQL --------------------------------------------------------

class Recorder:
    """Collects the (sql, params) every request sends while `recording()` is open."""

    def __init__(self, db):
        self.db, self.statements = db, None
        db.query_hooks.append(self._hook)
        adapter = getattr(db, "_adapter", None)
        if hasattr(adapter, "server_side_cursor"):  # the CSV export's stream on PostgreSQL
            named_cursor = adapter.server_side_cursor
            adapter.server_side_cursor = lambda conn: RecordingCursor(named_cursor(conn), self)

    def close(self):
        self.db.query_hooks.remove(self._hook)
        adapter = getattr(self.db, "_adapter", None)
        if "server_side_cursor" in getattr(adapter, "__dict__", {}):
            del adapter.server_side_cursor

    def _hook(self, event):
        self.record(event.sql, event.params)

    def record(self, sql, params):
        if self.statements is not None and not TRANSACTION_CONTROL.match(sql):
            self.statements.append((sql, tuple(params or ())))

    @contextmanager
    def recording(self):
        self.statements = []
        try:
            yield self.statements
        finally:
            self.statements = None


class RecordingCursor:
    """A named cursor that tells the recorder what it executes."""

    def __init__(self, cursor, recorder):
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_recorder", recorder)

    def execute(self, sql, params=None):
        self._recorder.record(sql, params)
        return self._cursor.execute(sql, params)

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)

    def __setattr__(self, name, value):
        setattr(self._cursor, name, value)


def replay(statements, restore=None):
    """Milliseconds to run `statements` again and fetch every row, then roll back.

    `restore`, when given, runs first in the same transaction, untimed: it
    puts back the rows a write request changed.
    """
    db = models.database.obj
    with db.connection_context():
        with db.atomic() as transaction:
            if restore:
                restore()
            cursor = db.cursor()
            started = time.perf_counter()
            for sql, params in statements:
                cursor.execute(sql, params)
                if cursor.description:
                    cursor.fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            transaction.rollback()
    return elapsed


# --- Timing ---------------------------------------------------------------------------

def percentile(samples, share):
    """Nearest-rank percentile: the smallest sample with `share` of them at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def spread(samples):
    return {"p50": round(statistics.median(samples), 2), "p95": round(percentile(samples, 0.95), 2)}


def measure(recorder, request, runs, restore=None):
    """Time `request` (warmed up once) `runs` times, replaying its SQL after each run.

    `restore()`, for a write, is called (untimed) before each request and
    returns what `replay` needs to put the changed rows back.
    """
    if restore:
        restore()
    request()
    page, sql, cpu, queries = [], [], [], 0
    for _ in range(runs):
        undo = restore() if restore else None
        with recorder.recording() as statements:
            started, started_cpu = time.perf_counter(), time.process_time()
            request()
            page.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        sql.append(replay(statements, undo))
        queries = len(statements)
    return {"runs": runs, "queries": queries, "page_ms": spread(page), "sql_ms": spread(sql),
            "overhead_ms": spread([p - s for p, s in zip(page, sql)]),
            "cpu_ms": spread(cpu)}


def judge(result, page_target, overhead_target):
    """Add the targets and pass/fail (p95 under each target that applies)."""
    result["target"] = {"page_p95_ms": page_target, "overhead_p95_ms": overhead_target}
    misses = []
    if page_target is not None and result["page_ms"]["p95"] >= page_target:
        misses.append(f"page p95 ≥ {page_target} ms")
    if overhead_target is not None and result["overhead_ms"]["p95"] >= overhead_target:
        misses.append(f"overhead p95 ≥ {overhead_target} ms")
    result["pass"] = not misses
    result["misses"] = misses
    return result


# --- The report -----------------------------------------------------------------------

def machine(db):
    """CPU, cores, RAM, OS and the versions of what runs the pages."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                if line.startswith("model name")), platform.processor())
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    ram = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    os_release = Path("/etc/os-release")
    pretty = re.search(r'PRETTY_NAME="([^"]*)"', os_release.read_text()) \
        if os_release.exists() else None
    postgresql = None
    if not models.is_sqlite():
        with db.connection_context():
            postgresql = db.execute_sql("SHOW server_version").fetchone()[0]
    return {"cpu": cpu, "cores": os.cpu_count(),
            "ram_gb": round(int(ram.group(1)) / 1024 ** 2, 1) if ram else None,
            "os": f"{pretty.group(1) if pretty else platform.system()} "
                  f"(kernel {platform.release()})",
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "postgresql": postgresql, "load_average": [round(x, 2) for x in os.getloadavg()],
            "python_speed_us": python_speed()}


def python_speed():
    """Microseconds for sum(range(1000)), best of 5: how fast (or busy) the CPU was.

    About 10 on a quiet current machine; compare it before comparing runs.
    """
    return round(min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6, 1)


def git_commit():
    """The commit measured, with "+dirty" when the working tree has changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
    commit = git("rev-parse", "HEAD")
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def markdown(report):
    """The results as a markdown table with a header naming the run."""
    m = report["machine"]
    build = report["build_seconds"]
    lines = [
        f"# {report['backend']}, {report['contacts']:,} contacts",
        "",
        f"{report['date']}, commit `{report['commit']}`; {m['cpu']}, {m['cores']} cores, "
        f"{m['ram_gb']} GB RAM, {m['os']}; Python {m['python']}, SQLite {m['sqlite']}"
        + (f", PostgreSQL {m['postgresql']}" if m["postgresql"] else "")
        + f"; load average at start {', '.join(map(str, m['load_average']))}; "
        f"sum(range(1000)) {m['python_speed_us']} µs at start, "
        f"{m.get('python_speed_us_end', '?')} µs at the end. "
        + ("Dataset reused." if build is None else f"Dataset built in {build:.1f} s."),
        "",
        "Server time through Flask's test client in ms, p50 / p95; SQL: the page's "
        "statements replayed on a cursor; overhead: page − SQL; page CPU: the process's "
        "CPU time during the page (on a busy machine the wall time also holds waiting "
        "for a CPU; on PostgreSQL it leaves out the server's work).",
        "",
        "| page | runs | queries | page | SQL | overhead | page CPU | target p95 | result |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, r in report["pages"].items():
        target = r["target"]
        wanted = ", ".join(part for part in (
            f"page < {target['page_p95_ms']}" if target["page_p95_ms"] else "",
            f"overhead < {target['overhead_p95_ms']}" if target["overhead_p95_ms"] else "")
            if part) or "–"
        result = "pass" if r["pass"] else "**FAIL**: " + "; ".join(r["misses"])
        lines.append(
            f"| {name} | {r['runs']} | {r['queries']} | "
            + " | ".join(f"{r[key]['p50']:.1f} / {r[key]['p95']:.1f}"
                         for key in ("page_ms", "sql_ms", "overhead_ms", "cpu_ms"))
            + f" | {wanted} | {result} |")
    if report.get("jobs"):
        lines += ["", "Through the job queue, a consumer process (`flask --app app worker`) "
                  "running the jobs; end to end from the request that starts the job until "
                  "it is done; the drops are a rep's, through the test client, while the "
                  "bulk job runs.", "",
                  "| work | result | target | pass |", "|---|---|---|---|"]
        for name, r in report["jobs"].items():
            if "p95_ms" in r:
                result = (f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms over {r['samples']} "
                          f"drops ({r['refused_stale']} refused as stale)")
                target = f"p95 < {r['target_p95_ms']} ms"
            elif "updated" in r:
                result = (f"{r['seconds']} s: {r['updated']:,} updated, {r['unchanged']:,} "
                          f"unchanged, {r['skipped']:,} skipped of {r['contacts']:,}")
                target = f"< {r['target_s']} s"
            else:
                result = f"{r['seconds']} s: {r['created']:,} created of {r['rows']:,} rows"
                target = f"< {r['target_s']} s"
            lines.append(f"| {name} | {result} | {target} | "
                         f"{'pass' if r['pass'] else '**FAIL**'} |")
    return "\n".join(lines) + "\n"


def write_report(report, out, suffix=""):
    """bench/results/<backend>-<contacts><suffix>.md and .json; returns the markdown."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{report['backend']}-{report['contacts']}{suffix}"
    text = markdown(report)
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False)
                                         + "\n")
    return text


def now():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


# --- Ports and a throwaway PostgreSQL cluster for the server benchmarks ------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_postgres(directory):
    """A throwaway cluster in `directory` (.ci/postgres): its URL."""
    started = subprocess.run(["bash", str(REPO / ".ci" / "postgres"), "start"],
                             capture_output=True, text=True,
                             env={**os.environ, "TAVLA_PG_DIR": directory})
    if started.returncode:
        sys.exit(f".ci/postgres start failed:\n{started.stdout}{started.stderr}")
    return started.stdout.strip().split("=", 1)[1]


def stop_postgres(directory):
    subprocess.run(["bash", str(REPO / ".ci" / "postgres"), "stop"], check=False,
                   env={**os.environ, "TAVLA_PG_DIR": directory})
