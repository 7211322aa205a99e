"""The CPU time of one page per request, for comparing two commits on a busy machine.

    .venv/bin/python bench/cpu.py /contacts/100001 [/board?owner=me ...] [--runs 25]
        [--user rep@tavla.test] [--database bench/data/sqlite-100000.db]

On this virtual machine the wall time of a page can swing by half from one
minute to the next (a neighbour's load); the CPU time the process spends on
it swings less. This asks each page through Flask's test client as the
user, warmed up, and prints the best and the median CPU milliseconds.
Run it in two checkouts (e.g. a `git worktree` of the older commit), turn
about, on a copy of bench/run.py's dataset: sign-ins write a little.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--user", default="rep@tavla.test")
    parser.add_argument("--database", default=str(REPO / "bench" / "data" / "sqlite-100000.db"))
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(args.database).resolve()}"
    from app import create_app
    from models.demo import DEMO_PASSWORD
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    answer = client.post("/login", data={"email": args.user, "password": DEMO_PASSWORD})
    if answer.status_code != 302:
        sys.exit(f"could not sign in as {args.user}")
    for url in args.urls:
        for _ in range(3):
            client.get(url).get_data()
        times = []
        for _ in range(args.runs):
            start = time.process_time()
            answer = client.get(url)
            answer.get_data()
            times.append((time.process_time() - start) * 1000)
        print(f"{url}\t{answer.status_code}\tCPU ms best {min(times):.1f}"
              f"\tmedian {statistics.median(times):.1f}")


if __name__ == "__main__":
    main()
