"""How long deleting and restoring a company with 500 contacts takes (R27).

    .venv/bin/python bench/trash.py [--contacts 100000] [--company-contacts 500] [--runs 5]
        [--keep]

Uses the benchmark's dataset (bench/harness.py: the demo data, seed 7, at
that scale, in bench/data/sqlite-<contacts>.db, the file bench/run.py uses;
with --keep one already built is reused and left in place), adds one lead
company with `--company-contacts` contacts in one transaction, then deletes
and restores it `--runs` times through the model functions the screens call
(models.trash), timing each, and checks after every run that the counter
rows (lead_tally, lead_daily) agree with a fresh count. Last, the company is
deleted and purged, so a kept dataset is left as it was built. Target: each
under 1 s on SQLite at 100,000 contacts.
"""
import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from bench import harness  # noqa: E402
from models import Actor, Category, Company, Contact, User, tally_counts  # noqa: E402
from models.engine import create_companies, create_contacts  # noqa: E402
from models.schema import now  # noqa: E402
from models.trash import (KEEP_DELETED, delete_company, purge_deleted,  # noqa: E402
                          restore_company)
from peewee import fn  # noqa: E402

COMPANY = "Bench Delete AB"


def fresh_counts():
    rows = (Contact.select(Contact.owner, Contact.lead_status, Company.category,
                           fn.COUNT(Contact.id))
            .join(Company).group_by(Contact.owner, Contact.lead_status, Company.category))
    return {(o, s, c): n for o, s, c, n in rows.tuples()}


def add_company(actor, owner, contacts):
    """The company to delete, with its contacts, in one transaction (as an import writes
    them: one multi-row INSERT, not a transaction per contact)."""
    lead = (Category.select().where(Category.lead_status_enabled == True)  # noqa: E712
            .order_by(Category.id).first())
    with models.database.atomic():
        [company_id] = create_companies([{"name": COMPANY, "category": lead.id,
                                          "owner": owner.id}], actor)
        create_contacts([{"company": company_id, "first_name": "Bench",
                          "last_name": f"Person {n:03d}", "owner": owner.id}
                         for n in range(contacts)], actor)
    return company_id


def remove_company(company_id, actor):
    """Delete the company and purge it at once, leaving the dataset as it was built."""
    delete_company(company_id, actor)
    purge_deleted(today=now() + KEEP_DELETED + datetime.timedelta(days=1), actor=actor)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--company-contacts", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true",
                        help="reuse a dataset of this scale and keep it for the next run")
    args = parser.parse_args(argv)
    url = f"sqlite:///{harness.DATA / f'sqlite-{args.contacts}.db'}"
    harness.DATA.mkdir(exist_ok=True)
    timings = {"delete": [], "restore": []}
    try:
        harness.prepare_dataset(url, args.contacts, args.keep)
        with models.database.connection_context():
            manager = User.get(User.email == "manager@tavla.test")
            actor = Actor(manager)
            for leftover in Company.everything(Company.id).where(Company.name == COMPANY):
                remove_company(leftover.id, actor)  # from a run that was stopped
            harness.log(f"adding a company with {args.company_contacts} contacts ...")
            company_id = add_company(actor, manager, args.company_contacts)
            for _ in range(args.runs):
                for kind, work in (("delete", delete_company), ("restore", restore_company)):
                    started = time.perf_counter()
                    work(company_id, actor)
                    timings[kind].append((time.perf_counter() - started) * 1000)
                    assert tally_counts(("owner", "status", "category")) == fresh_counts(), kind
            remove_company(company_id, actor)
    finally:
        if models.database.obj is not None:
            models.database.obj.close()
        if not args.keep:
            harness.empty_database(url)
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
