"""How long a failed sign-in takes for a known and for an unknown e-mail address.

    .venv/bin/python bench/login.py [--runs 40]

A known address used to cost a password-hash check (about 100 ms) and an
unknown one nothing, which told an attacker which addresses have accounts.
models.users.authenticate checks a stand-in hash for unknown addresses.
This times both through Flask's test client on a throwaway SQLite database
(the counted failures are cleared after each attempt, so the throttle never
pauses them) and prints the medians and their difference. Timing belongs here, not
in the tests: tests/views/test_security.py checks that the same work is done.
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
from models import User  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/login.db"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True,
                          "WTF_CSRF_ENABLED": False})
        db = models.bind_database(url)
        with db.connection_context():
            models.upgrade_database(db, "en")
            user = User(email="known@example.test", name="Known", role="rep")
            user.set_password("the right password")
            user.save()
        client = app.test_client()
        timings = {"known": [], "unknown": []}
        for run in range(args.runs + 2):
            for kind in timings:
                started = time.perf_counter()
                response = client.post("/login", data={"email": f"{kind}@example.test",
                                                       "password": "wrong"},
                                       environ_base={"REMOTE_ADDR": "10.0.0.1"})
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 422, response.status_code
                models.LoginFailure.delete().execute()
                if run >= 2:  # the first two warm up
                    timings[kind].append(elapsed)
    known, unknown = (statistics.median(timings[kind]) for kind in ("known", "unknown"))
    print(f"failed sign-in, median of {args.runs}: known address {known:.1f} ms, "
          f"unknown address {unknown:.1f} ms, difference {known - unknown:+.1f} ms")
    return {"known_ms": known, "unknown_ms": unknown}


if __name__ == "__main__":
    main()
