"""Server time of the default dashboard and each of its tiles on a large database.

    .venv/bin/python bench/dashboard.py [--contacts 100000] [--runs 30] [--database PATH]

Builds a throwaway SQLite database with the demo data (or reuses PATH,
migrating it first), then times through Flask's test client, for the
manager (everyone's leads) and a rep (their own): each default tile's
fragment, the live refresh that finds nothing changed (204), the dashboard
page, and the whole dashboard - the page and every tile fragment, one
after the other, as one server's work. Each line gives the median and 95th
percentile wall time and the median CPU time.
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from app import create_app  # noqa: E402
from models.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from models.schema import Contact  # noqa: E402

HTMX = {"HX-Request": "true"}


def summary(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def timed(runs, request, status=200):
    """(median, p95) of the wall time and the median CPU time of `request`, in ms.

    The test client runs the app in this process and thread, so the CPU
    time is the server's own work, without the time other processes on a
    busy machine take from it.
    """
    request()
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = request()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        assert response.status_code == status, response.status_code
    return (*summary(wall), statistics.median(cpu))


def report(label, median, p95, cpu):
    print(f"  {label:40} median {median:7.2f} ms   p95 {p95:7.2f} ms   cpu {cpu:7.2f} ms",
          flush=True)


def bench_user(app, email, runs):
    client = app.test_client()
    client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    page_url = client.get("/dashboards").location
    page = client.get(page_url).data.decode()
    tiles = re.findall(r'class="tile tile-(\w+) loading" id="tile-\d+".*?hx-get="([^"]+)"',
                       page, re.S)
    print(f"{email}: {page_url}, {len(tiles)} tiles", flush=True)
    medians = []
    for kind, url in tiles:
        body = client.get(url, headers=HTMX).data.decode()
        assert "tile-problem" not in body, (kind, body)
        median, p95, cpu = timed(runs, lambda: client.get(url, headers=HTMX))
        medians.append(median)
        report(f"tile {kind}", median, p95, cpu)
    fingerprints = {}
    for kind, url in tiles:
        body = client.get(url, headers=HTMX).data.decode()
        fingerprints[url] = re.search(r'data-fingerprint="([^"]*)"', body).group(1)
    median, p95, cpu = timed(runs, lambda: [client.get(url, headers=HTMX,
                                                       query_string={"fp": fingerprints[url]})
                                            for _, url in tiles][-1], status=204)
    report("live refresh, nothing changed (all 204)", median, p95, cpu)
    median, p95, cpu = timed(runs, lambda: client.get(page_url))
    report("dashboard page (tile boxes)", median, p95, cpu)

    def whole():
        client.get(page_url)
        return [client.get(url, headers=HTMX) for _, url in tiles][-1]
    median, p95, cpu = timed(runs, whole)
    report("whole dashboard (page + all tiles)", median, p95, cpu)
    print(f"  {'sum of the tile medians':38} {sum(medians):7.2f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", help="an SQLite file to reuse (made if missing)")
    args = parser.parse_args()
    path = Path(args.database) if args.database else Path(tempfile.mkdtemp()) / "bench.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    db = models.database
    db.connect()
    models.upgrade_database(db.obj)
    if not Contact.select().exists():
        started = time.perf_counter()
        load_demo(contacts=args.contacts)
        print(f"demo data loaded in {time.perf_counter() - started:.0f} s", flush=True)
    print(f"{Contact.select().count()} contacts, {models.History.select().count()} history "
          f"rows; SQLite {db.obj.server_version}; {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    db.close()
    for email in ("manager@tavla.test", "rep@tavla.test"):
        bench_user(app, email, args.runs)


if __name__ == "__main__":
    main()
