"""Server time of the contact card and a company card with 50 contacts.

    .venv/bin/python bench/cards.py [--contacts 100000] [--runs 200]

Builds a throwaway SQLite database with the demo data scaled to --contacts,
gives one company 50 contacts, then requests each card through Flask's test
client (routing, login, queries, templates; no network) and prints the
median and 95th percentile.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from app import create_app  # noqa: E402
from models.demo import DEMO_PASSWORD, load_demo  # noqa: E402


def timed(client, url, runs):
    client.get(url)  # warm the template cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    path = Path(tempfile.mkdtemp()) / "bench.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    db = models.database
    db.connect()
    models.upgrade_database(db.obj)
    started = time.perf_counter()
    load_demo(contacts=args.contacts)
    print(f"demo data: {args.contacts} contacts in {time.perf_counter() - started:.1f} s")

    rep = models.User.get(models.User.role == "rep")
    lead = models.Category.get(models.Category.lead_status_enabled == True)  # noqa: E712
    company = models.create_company(models.Actor(rep), name="Benchmark AB", category=lead,
                                    owner=rep)
    for number in range(50):
        models.create_contact(company, models.Actor(rep), first_name="Bench",
                              last_name=f"Person {number:02d}", owner=rep)
    contact = models.Contact.select().order_by(models.Contact.id).offset(args.contacts // 2).get()
    db.close()

    client = app.test_client()
    client.post("/login", data={"email": rep.email, "password": DEMO_PASSWORD})
    cols = "&".join(f"col={c}" for c in ("title", "email", "category", "group", "status",
                                         "owner", "source"))
    for label, url in [
        ("contact card", f"/contacts/{contact.id}"),
        ("company card, 50 contacts", f"/companies/{company.id}?cols=1&{cols}"),
        ("company card, grouped by status", f"/companies/{company.id}?group_by=status"),
        ("companies list", "/companies"),
        ("companies list, search", "/companies?q=bygg"),
    ]:
        median, p95 = timed(client, url, args.runs)
        print(f"{label:34} median {median:6.2f} ms   p95 {p95:6.2f} ms")


if __name__ == "__main__":
    main()
