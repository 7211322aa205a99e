"""How long deleting and restoring a company with 500 contacts takes (R27).

    .venv/bin/python bench/trash.py [--contacts 100000] [--company-contacts 500] [--runs 5]

Builds the demo data at that scale in a throwaway SQLite database (seed 7,
as bench/run.py), adds one lead company with `--company-contacts` contacts,
then deletes and restores it `--runs` times through the model functions the
screens call (models.trash), timing each, and checks after every run that
the counter rows (lead_tally, lead_daily) agree with a fresh count. Target:
each under 1 s on SQLite at 100,000 contacts.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from models import Actor, Category, Company, Contact, User, tally_counts  # noqa: E402
from models.demo import load_demo  # noqa: E402
from models.trash import delete_company, restore_company  # noqa: E402
from peewee import fn  # noqa: E402


def fresh_counts():
    rows = (Contact.select(Contact.owner, Contact.lead_status, Company.category,
                           fn.COUNT(Contact.id))
            .join(Company).group_by(Contact.owner, Contact.lead_status, Company.category))
    return {(o, s, c): n for o, s, c, n in rows.tuples()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--company-contacts", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/trash.db"
        db = models.bind_database(url)
        with db.connection_context():
            models.upgrade_database(db)
            load_demo(contacts=args.contacts)
            manager = User.get(User.email == "manager@tavla.test")
            actor = Actor(manager)
            lead = (Category.select().where(Category.lead_status_enabled == True)  # noqa: E712
                    .order_by(Category.id).first())
            company = models.create_company(actor, name="Bench Delete AB", category=lead,
                                            owner=manager)
            for n in range(args.company_contacts):
                models.create_contact(company, actor, first_name="Bench",
                                      last_name=f"Person {n:03d}", owner=manager)
            timings = {"delete": [], "restore": []}
            for _ in range(args.runs):
                for kind, work in (("delete", delete_company), ("restore", restore_company)):
                    started = time.perf_counter()
                    work(company.id, actor)
                    timings[kind].append((time.perf_counter() - started) * 1000)
                    assert tally_counts(("owner", "status", "category")) == fresh_counts(), kind
    result = {kind: {"median_ms": statistics.median(values), "max_ms": max(values)}
              for kind, values in timings.items()}
    print(f"{args.contacts} contacts, a company with {args.company_contacts} contacts, "
          f"{args.runs} runs on SQLite:")
    for kind, figures in result.items():
        print(f"  {kind}: median {figures['median_ms']:.0f} ms, "
              f"slowest {figures['max_ms']:.0f} ms (target < 1000 ms)")
    return result


if __name__ == "__main__":
    main()
