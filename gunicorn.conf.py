"""gunicorn settings for Tavla's production command (README, "Production").

gunicorn reads this file with `-c gunicorn.conf.py`. Every open board or
dashboard tab holds one event stream; gevent's workers hold each one as a
greenlet (a few tens of kB), not a thread, so a worker keeps a thousand
open while it serves pages. Command-line options override what is here.
"""
import os
import resource
import threading
import time

worker_class = "gevent"
# Streams plus page requests one worker accepts at once. The app takes at
# most TAVLA_FEED_MAX_STREAMS streams per worker (1,000 by default) and
# sends the rest to polling, so some room is always left for pages.
worker_connections = int(os.environ.get("TAVLA_WORKER_CONNECTIONS", 1200))
workers = int(os.environ.get("WEB_CONCURRENCY", 4))
# A restart ends the streams at once (see post_worker_init); browsers come
# back to the new workers with Last-Event-ID. Requests get this long to finish.
graceful_timeout = 10
keepalive = 5


def on_starting(server):
    """Each stream is an open socket: let workers open as many files as the system allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def post_worker_init(worker):
    """End this worker's event streams as soon as it is told to stop.

    Without this a graceful stop would wait `graceful_timeout` for streams
    that never end on their own; ended, each browser reconnects at once.
    """
    hub = getattr(worker.wsgi, "extensions", {}).get("feed")
    if hub is None:
        return

    def watch():
        while worker.alive:
            time.sleep(0.25)
        hub.close()

    threading.Thread(target=watch, daemon=True, name="tavla-stop-streams").start()
