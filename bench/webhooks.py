"""How soon a webhook arrives after the change, on an idle system (R31; target < 2 s).

    .venv/bin/python bench/webhooks.py [--database sqlite|postgresql] [--changes 20]
        [--pause 3]

Makes a throwaway database (SQLite in a temporary folder; PostgreSQL: a
throwaway cluster from .ci/postgres) with the default lists, one company
and one contact, starts the README's job worker (`flask --app app worker`)
as its own process and a local HTTP receiver subscribed to lead status
changes. Then it sets the contact's lead status --changes times, one
change after another, each --pause seconds after the previous one arrived
(so the worker is idle, polling its queue at its slowest), and times from
the change's commit until the receiver has the delivery. Prints a markdown
table and writes it with the raw figures to bench/results/webhooks-<backend>.md
and .json. Every wait is bounded; the worker and the cluster are always
stopped.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import models  # noqa: E402
from models import tasks  # noqa: E402,F401 - a commit then wakes the webhook sender
from models.jobs import bind_queue  # noqa: E402
from models.webhooks import create_webhook  # noqa: E402

from bench.harness import git_commit, machine  # noqa: E402

ARRIVAL_TIMEOUT = 30


class Receiver:
    """Notes when each delivery arrives, by the history row it tells of."""

    def __init__(self):
        self.arrived = {}
        self.condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.condition:
                    receiver.arrived[body["data"].get("history_id")] = time.monotonic()
                    receiver.condition.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, history_id):
        with self.condition:
            self.condition.wait_for(lambda: history_id in self.arrived, ARRIVAL_TIMEOUT)
            return self.arrived.get(history_id)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def prepare(url):
    """The default lists, an admin, one lead; returns (admin, contact)."""
    db = models.bind_database(url)
    bind_queue(url)
    with db.connection_context():
        models.upgrade_database(db, "en")
        admin = models.User.create(email="admin@bench.test", name="Admin", role="admin",
                                   password_hash="x")
        lead = models.Category.get(name="Lead")
        company = models.create_company(models.Actor(admin), name="Webhook AB", category=lead)
        contact = models.create_contact(company, models.Actor(admin), first_name="Anna",
                                        last_name="Berg")
    return admin, contact


def run(args, url, workdir):
    admin, contact = prepare(url)
    receiver = Receiver()
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("TAVLA_DATABASE_URL", None)
    log = open(Path(workdir) / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with models.database.connection_context():
            statuses = list(models.LeadStatus.select().order_by(models.LeadStatus.id))
            create_webhook(receiver.url, ["lead_status_changed"], admin)
        time.sleep(args.pause)  # the worker starts and goes idle
        delays, missed = [], 0
        for number in range(args.changes):
            status = statuses[number % len(statuses)]
            if status.id == contact.lead_status_id:
                status = statuses[(number + 1) % len(statuses)]
            with models.database.connection_context():
                models.set_lead_status(contact, status, models.Actor(admin))
                committed = time.monotonic()
                history_id = (models.History.select(models.History.id)
                              .order_by(models.History.id.desc()).scalar())
                contact = models.Contact.get_by_id(contact.id)
            arrived = receiver.wait_for(history_id)
            if arrived is None:
                missed += 1
            else:
                delays.append((arrived - committed) * 1000)
            time.sleep(args.pause)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        receiver.close()
        log.close()
    return delays, missed


def percentile(samples, share):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--pause", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tavla-webhooks-") as workdir:
        Path(workdir).chmod(0o755)  # a cluster runs as the postgres user
        pg_dir = None
        if args.database == "postgresql":
            pg_dir = str(Path(workdir) / "pg")
            started = subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "start"],
                                     capture_output=True, text=True, check=True,
                                     env={**os.environ, "TAVLA_PG_DIR": pg_dir})
            url = started.stdout.strip().split("=", 1)[1]
        else:
            url = f"sqlite:///{workdir}/tavla.db"
        try:
            delays, missed = run(args, url, workdir)
            host = machine(models.database.obj)
        finally:
            models.database.obj.close_all()  # the pool's connections, before the cluster goes
            if pg_dir:
                subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "stop"], check=False,
                               env={**os.environ, "TAVLA_PG_DIR": pg_dir})
    report = {"database": args.database, "changes": args.changes, "pause_s": args.pause,
              "missed": missed, "delays_ms": [round(d, 1) for d in delays],
              "commit": git_commit(), "machine": host,
              "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if delays:
        report.update(p50_ms=round(statistics.median(delays)),
                      p95_ms=round(percentile(delays, 0.95)), max_ms=round(max(delays)))
    table = "\n".join([
        f"# Webhook delivery after a change ({args.database}, {report['at']}, "
        f"commit {report['commit'][:12]})",
        "",
        "| changes | arrived | p50 ms | p95 ms | max ms | target |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {args.changes} | {len(delays)} | {report.get('p50_ms', '–')} | "
        f"{report.get('p95_ms', '–')} | {report.get('max_ms', '–')} | p95 < 2,000 |",
        ""])
    print(table)
    out = ROOT / "bench" / "results" / f"webhooks-{args.database}"
    out.with_suffix(".md").write_text(table)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if delays and not missed else 1


if __name__ == "__main__":
    sys.exit(main())
