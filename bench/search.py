"""Server time of a three-criteria search and of a CSV export of every contact.

    .venv/bin/python bench/search.py [--contacts 100000] [--runs 50] [--database PATH]

Builds a throwaway SQLite database with the demo data scaled to --contacts
(or reuses --database when it exists), signs in as a demo rep and requests,
through Flask's test client (routing, login, queries, templates; no
network):

- the Search screen for "lead status is one of Open, Contacting; category
  group is one of Potential customer; owner is me": the live count, the
  results fragment and the whole page (count plus the first 50 rows), and
  the same on a UTM campaign instead of the owner;
- the CSV export of all contacts with eight columns, read as it streams;
  its time, size and the peak of Python memory allocated while it ran.
"""
import argparse
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from app import create_app  # noqa: E402
from models.demo import DEMO_PASSWORD, load_demo  # noqa: E402


def timed(client, url, runs, headers=None):
    """Median and 95th percentile wall time, and median CPU time, in ms.

    The CPU time of this process (SQLite runs in it) is what a request
    costs the server; on a busy machine the wall time also holds the
    time spent waiting for a CPU.
    """
    client.get(url, headers=headers)  # warm the template cache and SQLite's page cache
    wall, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, headers=headers)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        assert response.status_code == 200, response.status_code
    wall.sort()
    return statistics.median(wall), wall[max(0, int(len(wall) * 0.95) - 1)], statistics.median(cpu)


def export(client, url):
    """Read the streamed export chunk by chunk; returns seconds, CPU seconds, bytes, lines."""
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return time.perf_counter() - started, time.process_time() - cpu_started, size, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database", help="SQLite file to reuse (made when missing)")
    args = parser.parse_args()

    path = Path(args.database) if args.database else Path(tempfile.mkdtemp()) / "bench.db"
    fresh = not path.exists()
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    db = models.database
    db.connect()
    models.upgrade_database(db.obj)
    if fresh:
        started = time.perf_counter()
        load_demo(contacts=args.contacts)
        print(f"demo data: {args.contacts} contacts in {time.perf_counter() - started:.1f} s")
    total = models.Contact.select().count()
    statuses = {s.name: s.id for s in models.LeadStatus.select()}
    rep = models.User.get(models.User.email == "rep@tavla.test")
    campaign = (models.Contact.select(models.Contact.utm_campaign)
                .where(models.Contact.utm_campaign.contains("webinar"))
                .order_by(models.Contact.id).limit(1).scalar())
    db.close()
    print(f"{total} contacts; searching as {rep.email}")

    client = app.test_client()
    client.post("/login", data={"email": rep.email, "password": DEMO_PASSWORD})
    three = (f"f0=lead_status&o0=in&v0={statuses['Open']}&v0={statuses['Contacting']}"
             "&f1=category_group&o1=in&v1=potential")
    htmx = {"HX-Request": "true", "HX-Target": "results"}
    for label, url, headers in [
        ("count: status, group, owner is me", f"/search/count?{three}&f2=owner&o2=in&v2=me",
         {"HX-Request": "true"}),
        ("results: status, group, owner is me", f"/search?{three}&f2=owner&o2=in&v2=me",
         htmx),
        ("page: status, group, owner is me", f"/search?{three}&f2=owner&o2=in&v2=me", None),
        ("results: status, group, campaign",
         f"/search?{three}&f2=utm_campaign&o2=eq&v2={campaign}", htmx),
        ("results: status, group, by created",
         f"/search?{three}&f2=owner&o2=in&v2=me&sort=-created", htmx),
    ]:
        median, p95, cpu = timed(client, url, args.runs, headers)
        print(f"{label:38} median {median:6.1f} ms   p95 {p95:6.1f} ms   cpu {cpu:6.1f} ms")

    columns = "&".join(f"col={c}" for c in ("company", "email", "category", "group", "status",
                                            "owner", "source", "created"))
    url = f"/search/export.csv?cols=1&{columns}"
    seconds, cpu, size, lines = export(client, url)
    print(f"CSV export, all {lines - 1} rows: {seconds:.1f} s (cpu {cpu:.1f} s), "
          f"{size / 1e6:.1f} MB")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    export(client, url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"CSV export memory: Python peak {peak / 1e6:.1f} MB while streaming "
          f"{size / 1e6:.1f} MB; max RSS grew {(rss_after - rss_before) / 1024:.1f} MB")


if __name__ == "__main__":
    main()
