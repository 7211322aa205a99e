"""Capacity of the live feed: a thousand open tabs on the README's production command.

    .venv/bin/python bench/streams.py [--database sqlite|postgresql] [--streams 1000]
        [--contacts 1000] [--moves 10] [--runs 30]

Builds a throwaway database with the README's demo data (SQLite in a temporary
folder; PostgreSQL: a throwaway cluster from .ci/postgres), serves it with the
production command (`gunicorn -c gunicorn.conf.py`, gevent workers; on
PostgreSQL two servers of one worker each, as two machines behind a load
balancer, the streams split between them), then on loopback:

1. times /board, /dashboards and /companies with no stream open;
2. opens --streams event streams (as a manager's tabs) and counts how many
   connect, how many are told "busy" and how many fail;
3. times the same pages again with the streams open;
4. reads each worker's feed counters (/events/status) over 10 quiet seconds:
   feed queries per second per process, and the memory each worker gained
   per stream;
5. moves --moves cards through the first server and times, for every
   stream, how long after the move was sent it heard of it;
6. restarts the first server gracefully (SIGHUP) with the streams open,
   moves a card while the streams come back, and checks that every stream
   heard of it (resumed with Last-Event-ID) and how long the old workers took
   to stop.

Prints a markdown table and writes it with the raw figures to
bench/results/streams-<backend>.md and .json. It stops by itself: every
wait is bounded, and the servers and the cluster are always stopped.
"""
import argparse
import asyncio
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import models  # noqa: E402
from models.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from bench.harness import (free_port, git_commit, percentile, start_postgres,  # noqa: E402
                           stop_postgres)

SECRET_KEY = "streams-bench"
MANAGER, ADMIN, REP = "manager@tavla.test", "admin@tavla.test", "rep@tavla.test"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CARD = re.compile(r'<li class="card" id="card-(\d+)" data-id="\d+" data-version="(\d+)"\s+'
                  r'data-status="(\d+)"')
COLUMN = re.compile(r'data-target-field="status" data-target-id="(\d+)"')
PAGES = ("/board", "/dashboards", "/companies")


# --- Servers ---------------------------------------------------------------------------



class Server:
    """`gunicorn -c gunicorn.conf.py 'app:create_app()'` (the README's production command)."""

    def __init__(self, url, workers, log_path):
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "TAVLA_SECRET_KEY": SECRET_KEY}
        env.pop("TAVLA_DATABASE_URL", None)
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(workers),
             "-b", f"127.0.0.1:{self.port}", "app:create_app()"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.workers = workers

    def wait_until_serving(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit("gunicorn exited:\n" + Path(self.log_path).read_text(errors="replace"))
            if len(self.worker_pids()) >= self.workers:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                    connection.request("GET", "/login")
                    if connection.getresponse().status == 200:
                        return self
                except OSError:
                    pass
            time.sleep(0.2)
        sys.exit("gunicorn did not answer:\n" + Path(self.log_path).read_text(errors="replace"))

    def worker_pids(self):
        found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                               capture_output=True, text=True).stdout.split()
        return sorted(int(pid) for pid in found)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- A browser-less user ---------------------------------------------------------------

class User:
    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.csrf = ""
        self.resets = 0

    def request(self, method, path, form=None, headers=None):
        """(status, headers, body) on a connection of its own: any worker may answer.

        A GET whose connection is reset (a worker stopping in a graceful restart
        closes what it accepted but did not read yet) is sent again, as a browser
        does; `resets` counts those."""
        for attempt in range(3):
            try:
                return self._request(method, path, form, headers)
            except (ConnectionResetError, http.client.RemoteDisconnected):
                if method != "GET" or attempt == 2:
                    raise
                self.resets += 1
                time.sleep(0.2)

    def _request(self, method, path, form=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = urlencode(form) if form is not None else None
        all_headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                       **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        token = CSRF.search(text)
        if token:
            self.csrf = token.group(1)
        return response.status, dict(response.getheaders()), text

    def login(self, email):
        self.request("GET", "/login")
        status, _, _ = self.request("POST", "/login", form={
            "csrf_token": self.csrf, "email": email, "password": DEMO_PASSWORD})
        if status != 302:
            sys.exit(f"login of {email} answered {status}")
        self.request("GET", "/board")
        return self

    def cookie(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def time_pages(user, runs):
    """p50 / p95 (ms) of each page, asked `runs` times one after the other."""
    figures = {}
    for path in PAGES:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            status, headers, _ = user.request("GET", path)
            if status == 302:  # /dashboards sends to the user's first dashboard
                user.request("GET", headers["Location"])
            samples.append((time.perf_counter() - started) * 1000)
        figures[path] = {"p50": round(statistics.median(samples), 1),
                         "p95": round(percentile(samples, 0.95), 1),
                         "max": round(max(samples), 1)}
    return figures




def feed_status(admin, processes):
    """{pid: /events/status} of every worker, asked on fresh connections until all answered."""
    found = {}
    for _ in range(40 * processes):
        status, _, body = admin.request("GET", "/events/status")
        if status == 200:
            data = json.loads(body)
            found[data["pid"]] = data
        if len(found) >= processes:
            break
    return found


def a_move(rep):
    """A card on the rep's board and another column for it."""
    status, _, page = rep.request("GET", "/board")
    cards = [tuple(int(v) for v in match) for match in CARD.findall(page)]
    columns = [int(v) for v in COLUMN.findall(page)]
    contact, version, current = cards[len(cards) // 2]
    return contact, version, next(c for c in columns if c != current)


def move(rep, contact, version, target):
    sent = time.monotonic()
    status, _, body = rep.request("POST", "/board/move", form={
        "contact": contact, "status": target, "version": version},
        headers={"HX-Request": "true", "X-CSRFToken": rep.csrf})
    if status != 200:
        sys.exit(f"the move answered {status}: {body[:300]}")
    return sent


# --- Many streams in one event loop ----------------------------------------------------

class Streams:
    """N event streams read by one asyncio loop in a thread; each reconnects with
    Last-Event-ID when its server closes it, as a browser does."""

    def __init__(self, ports, cookie, count):
        self.ports = ports
        self.cookie = cookie
        self.count = count
        self.loop = asyncio.new_event_loop()
        self.stopping = False
        self.connected = [False] * count
        self.busy = [False] * count
        self.failed = [None] * count
        self.connects = [0] * count
        self.heard = [dict() for _ in range(count)]  # contact -> first time heard
        self.heard_all = [[] for _ in range(count)]  # times of "everything changed"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.tasks = []

    def start(self):
        self.thread.start()
        for index in range(self.count):
            port = self.ports[index % len(self.ports)]
            self.tasks.append(asyncio.run_coroutine_threadsafe(self.run(index, port), self.loop))

    async def run(self, index, port):
        last_id = None
        while not self.stopping:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError as problem:
                self.failed[index] = repr(problem)
                await asyncio.sleep(1)
                continue
            head = (f"GET /events HTTP/1.0\r\nHost: 127.0.0.1\r\nCookie: {self.cookie}\r\n"
                    "Accept: text/event-stream\r\n")
            if last_id is not None:
                head += f"Last-Event-ID: {last_id}\r\n"
            writer.write((head + "\r\n").encode())
            try:
                status_line = await asyncio.wait_for(reader.readline(), 30)
                if b" 200 " not in status_line:
                    self.failed[index] = status_line.decode(errors="replace").strip()
                    writer.close()
                    await asyncio.sleep(1)
                    continue
                while (await asyncio.wait_for(reader.readline(), 30)).strip():
                    pass  # the response headers
                self.connects[index] += 1
                event, data = "", None
                while True:
                    raw = await reader.readline()
                    if not raw:
                        break
                    line = raw.decode("utf-8").rstrip("\r\n")
                    if line.startswith("retry:"):
                        self.connected[index] = True
                        self.failed[index] = None
                    elif line.startswith("id:"):
                        last_id = line[3:].strip()
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data = json.loads(line[5:])
                    elif not line:
                        self.dispatch(index, event, data)
                        if event == "busy":
                            self.busy[index] = True
                            self.connected[index] = False
                            writer.close()
                            return
                        event, data = "", None
            except (OSError, asyncio.TimeoutError, ValueError) as problem:
                self.failed[index] = repr(problem)
            finally:
                writer.close()
            self.connected[index] = False
            await asyncio.sleep(0.5)

    def dispatch(self, index, event, data):
        now = time.monotonic()
        if event == "changed" and data:
            if data.get("all"):
                self.heard_all[index].append(now)
            for contact in data.get("contacts", ()):
                self.heard[index].setdefault(contact, now)
        elif event == "reload":
            self.heard_all[index].append(now)

    def when_heard(self, index, contact, since):
        times = [t for t in self.heard_all[index] if t >= since]
        if contact in self.heard[index]:
            times.append(self.heard[index][contact])
        return min(times) if times else None

    def wait_until(self, condition, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.1)
        return condition()

    def stop(self):
        self.stopping = True

        async def cancel_all():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


# --- The run ---------------------------------------------------------------------------

def build(url, contacts):
    db = models.bind_database(url)
    with db.connection_context():
        models.upgrade_database(db, "en")
        load_demo(contacts=contacts)
    db.close()






def heard_figures(streams, contact, sent):
    delays = [streams.when_heard(i, contact, sent) for i in range(streams.count)]
    delays = [(t - sent) * 1000 for t in delays if t is not None]
    return delays


def run(args, url, workdir):
    report = {"backend": args.database, "streams_asked": args.streams,
              "contacts": args.contacts, "command": "gunicorn -c gunicorn.conf.py"}
    servers = []
    streams = None
    try:
        if args.database == "postgresql":
            servers = [Server(url, 1, workdir / f"gunicorn-{n}.log") for n in (1, 2)]
        else:
            servers = [Server(url, args.workers, workdir / "gunicorn.log")]
        for server in servers:
            server.wait_until_serving()
        report["servers"] = [{"workers": s.workers} for s in servers]
        manager = User(servers[0].port).login(MANAGER)
        admins = [User(server.port).login(ADMIN) for server in servers]
        rep = User(servers[0].port).login(REP)

        print("Pages with no stream open…", flush=True)
        time_pages(manager, 3)  # warm up
        report["pages_quiet"] = time_pages(manager, args.runs)
        rss_before = {pid: rss_kb(pid) for s in servers for pid in s.worker_pids()}

        print(f"Opening {args.streams} streams…", flush=True)
        streams = Streams([s.port for s in servers], manager.cookie(), args.streams)
        opened = time.monotonic()
        streams.start()
        streams.wait_until(lambda: sum(streams.connected) + sum(streams.busy) >= args.streams,
                           120)
        report["open_seconds"] = round(time.monotonic() - opened, 1)
        report["streams_connected"] = sum(streams.connected)
        report["streams_busy"] = sum(streams.busy)
        report["streams_failed"] = sum(1 for i in range(args.streams)
                                       if not streams.connected[i] and not streams.busy[i])
        time.sleep(2)

        print("Pages with the streams open…", flush=True)
        report["pages_with_streams"] = time_pages(manager, args.runs)
        rss_after = {pid: rss_kb(pid) for s in servers for pid in s.worker_pids()}
        gained = sum(rss_after.get(pid, 0) - kb for pid, kb in rss_before.items())
        report["rss_mb_per_worker"] = {str(pid): round(kb / 1024, 1)
                                       for pid, kb in rss_after.items()}
        report["kb_per_stream"] = round(gained / max(1, report["streams_connected"]), 1)

        print("Feed queries over 10 quiet seconds…", flush=True)
        first, second = {}, {}
        for admin, server in zip(admins, servers):
            first.update(feed_status(admin, server.workers))
        time.sleep(10)
        for admin, server in zip(admins, servers):
            second.update(feed_status(admin, server.workers))
        report["feed_per_process"] = {
            str(pid): {"streams": second[pid]["streams"],
                       "queries_per_second": round((second[pid].get("queries", 0)
                                                    - first[pid].get("queries", 0)) / 10, 2)}
            for pid in second if pid in first}

        print(f"{args.moves} moves…", flush=True)
        delays = []
        reached = []
        for _ in range(args.moves):
            contact, version, target = a_move(rep)
            sent = move(rep, contact, version, target)
            streams.wait_until(lambda: len(heard_figures(streams, contact, sent))
                               >= report["streams_connected"], 10)
            heard = heard_figures(streams, contact, sent)
            delays += heard
            reached.append(sum(1 for d in heard if d <= 2000) / max(1, report["streams_connected"]))
            time.sleep(1)
        report["move_heard_ms"] = {"p50": round(statistics.median(delays), 1) if delays else None,
                                   "p95": round(percentile(delays, 0.95), 1) if delays else None,
                                   "max": round(max(delays), 1) if delays else None}
        report["move_reached_within_2s"] = round(min(reached) * 100, 2) if reached else 0

        print("Graceful restart with the streams open…", flush=True)
        old = servers[0].worker_pids()
        hup = time.monotonic()
        servers[0].process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        contact, version, target = a_move(rep)
        sent = move(rep, contact, version, target)
        gone = streams.wait_until(lambda: not set(old) & set(servers[0].worker_pids()), 120)
        report["restart_old_workers_gone_seconds"] = round(time.monotonic() - hup, 1) \
            if gone else None
        streams.wait_until(lambda: len(heard_figures(streams, contact, sent))
                           >= report["streams_connected"], 30)
        heard = heard_figures(streams, contact, sent)
        report["restart_move_heard_by"] = len(heard)
        report["restart_move_missed_by"] = report["streams_connected"] - len(heard)
        report["restart_move_heard_ms_max"] = round(max(heard), 1) if heard else None
        streams.wait_until(lambda: sum(streams.connected) >= report["streams_connected"], 30)
        report["streams_connected_after_restart"] = sum(streams.connected)
        report["page_requests_reset_in_restart"] = rep.resets
    finally:
        if streams is not None:
            streams.stop()
        for server in servers:
            server.stop()
    return report


def markdown(report):
    quiet, busy = report["pages_quiet"], report["pages_with_streams"]
    lines = [f"# Live feed capacity: {report['backend']}, {report['streams_asked']} streams",
             "", f"Command: `{report['command']}` ({report['servers']}); demo data, "
             f"{report['contacts']} contacts; commit {report.get('commit', '?')}; "
             f"{report.get('when', '')}.", "",
             "| page | no streams p50 / p95 (ms) | with streams p50 / p95 (ms) | p95 ratio |",
             "|---|---:|---:|---:|"]
    for page in PAGES:
        ratio = busy[page]["p95"] / quiet[page]["p95"] if quiet[page]["p95"] else 0
        lines.append(f"| {page} | {quiet[page]['p50']} / {quiet[page]['p95']} | "
                     f"{busy[page]['p50']} / {busy[page]['p95']} | {ratio:.2f} |")
    feed = report["feed_per_process"]
    lines += ["", "| figure | value |", "|---|---:|",
              f"| streams connected / busy / failed | {report['streams_connected']} / "
              f"{report['streams_busy']} / {report['streams_failed']} |",
              f"| seconds to open them | {report['open_seconds']} |",
              f"| streams per process | {', '.join(str(v['streams']) for v in feed.values())} |",
              f"| feed queries per second per process (quiet) | "
              f"{', '.join(str(v['queries_per_second']) for v in feed.values())} |",
              f"| memory per idle stream (kB) | {report['kb_per_stream']} |",
              f"| worker memory (MB) | {', '.join(str(v) for v in report['rss_mb_per_worker'].values())} |",
              f"| a move heard by the streams p50 / p95 / max (ms) | "
              f"{report['move_heard_ms']['p50']} / {report['move_heard_ms']['p95']} / "
              f"{report['move_heard_ms']['max']} |",
              f"| streams that heard every move within 2 s (worst move) | "
              f"{report['move_reached_within_2s']} % |",
              f"| graceful restart: old workers gone after (s) | "
              f"{report['restart_old_workers_gone_seconds']} |",
              f"| a move during the restart missed by (streams) | "
              f"{report['restart_move_missed_by']} (heard within "
              f"{report['restart_move_heard_ms_max']} ms) |",
              f"| streams connected after the restart | "
              f"{report['streams_connected_after_restart']} |",
              f"| page requests reset by a stopping worker, sent again | "
              f"{report.get('page_requests_reset_in_restart', 0)} |"]
    return "\n".join(lines) + "\n"




def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4,
                        help="SQLite: workers of the one server (the README's command)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tavla-streams-"))
    workdir.chmod(0o755)  # a cluster runs as the postgres user
    pg_dir = None
    try:
        if args.database == "postgresql":
            pg_dir = str(workdir / "pg")
            url = start_postgres(pg_dir)
        else:
            url = f"sqlite:///{workdir / 'tavla.db'}"
        print(f"Building the demo data ({args.contacts} contacts)…", flush=True)
        build(url, args.contacts)
        report = run(args, url, workdir)
    finally:
        if pg_dir:
            stop_postgres(pg_dir)
    report["commit"] = git_commit()
    report["when"] = time.strftime("%Y-%m-%d %H:%M")
    report["cpus"] = os.cpu_count()
    out = ROOT / "bench" / "results" / f"streams-{args.database}"
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
