"""Two reps drop the same card at the same moment, through different processes."""
import threading
import time

import models
from models import Contact
from models.db import is_sqlite
from models.demo import DEMO_PASSWORD

from .test_workers import REP, a_move
from .webclient import Browserless


def test_of_two_simultaneous_drops_of_one_card_version_only_one_is_accepted(start_server):
    process_a, process_b = start_server(), start_server()
    process_a.wait_until_serving()
    process_b.wait_until_serving()
    reps = [Browserless(process.url).login(REP, DEMO_PASSWORD)
            for process in (process_a, process_b)]
    contact, version, _, target = a_move(reps[0])
    answers = []
    db = models.database
    with db.connection_context():
        # Hold the write lock (SQLite) or the card's row (PostgreSQL) while
        # both drops arrive, so they reach the write at the same time.
        with db.atomic():
            if not is_sqlite():
                Contact.select().where(Contact.id == contact).for_update().get()
            drops = [threading.Thread(target=lambda rep=rep: answers.append(
                         rep.move(contact, target, version)[0])) for rep in reps]
            for drop in drops:
                drop.start()
            time.sleep(2)
        for drop in drops:
            drop.join(timeout=20)
    assert sorted(answers) == [200, 409]
