"""Server time of the lead board and of a drop on a large database.

    .venv/bin/python bench/board.py [--contacts 100000] [--runs 50]

Builds a throwaway SQLite database with the demo data, then times through
Flask's test client: the board first render for one rep ("My leads") and
for everyone, and a drop (a move between two columns and back).
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


def summary(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def timed(client, runs, request):
    request()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = request()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return summary(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "bench.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    db = models.database
    db.connect()
    models.upgrade_database(db.obj)
    load_demo(contacts=args.contacts)
    rep = models.User.get(models.User.email == "rep@tavla.test")
    statuses = list(models.LeadStatus.ordered())
    contact = (models.Contact.select().join(models.Company).join(models.Category)
               .where(models.Contact.owner == rep, models.Category.lead_status_enabled == True,  # noqa: E712
                      models.Contact.lead_status == statuses[0]).first())
    print(f"{args.contacts} contacts; the rep owns "
          f"{models.Contact.select().where(models.Contact.owner == rep).count()}")
    db.close()

    client = app.test_client()
    client.post("/login", data={"email": rep.email, "password": DEMO_PASSWORD})
    for label, url in [("board, my leads", "/board?owner=me"),
                       ("board, everyone's leads", "/board?owner=all"),
                       ("board, my leads by days in status", "/board?owner=me&sort=days")]:
        median, p95 = timed(client, args.runs, lambda: client.get(url))
        print(f"{label:36} median {median:6.2f} ms   p95 {p95:6.2f} ms")
    client.get("/board?owner=me")

    state = {"version": contact.version, "to": 1}

    def drop():
        target = statuses[state["to"]]
        response = client.post("/board/move", headers={"HX-Request": "true"}, data={
            "contact": contact.id, "status": target.id, "version": state["version"]})
        state["version"] += 1
        state["to"] = 0 if state["to"] else 1
        return response
    median, p95 = timed(client, args.runs, drop)
    print(f"{'drop (round trip)':36} median {median:6.2f} ms   p95 {p95:6.2f} ms")


if __name__ == "__main__":
    main()
