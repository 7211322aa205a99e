"""Server tests: the app under real gunicorn processes, as the README serves it.

Each server is a subprocess on a free loopback port against the test's
database; it is always terminated, and its log is printed (pytest shows it
when the test fails).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import models
from models.demo import load_demo

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "server-tests"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """The README's production command, `gunicorn -c gunicorn.conf.py 'app:create_app()'`
    (gevent workers), on a free loopback port."""

    def __init__(self, database_url, log_path, workers=1, poll_seconds=0.1, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.workers = workers
        env = {**os.environ, "DATABASE_URL": database_url, "TAVLA_SECRET_KEY": SECRET_KEY,
               # from_prefixed_env reads TAVLA_* values as JSON: here an int.
               "TAVLA_FEED_STREAM_SECONDS": "60", **(env or {})}
        env.pop("TAVLA_DATABASE_URL", None)
        env.pop("TAVLA_FEED_POLL_SECONDS", None)
        if poll_seconds is not None:  # None: the app's default (0.5 s)
            env["TAVLA_FEED_POLL_SECONDS"] = json.dumps(poll_seconds)
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(workers),
             "-b", f"127.0.0.1:{self.port}", "app:create_app()"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def worker_pids(self):
        found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                               capture_output=True, text=True).stdout.split()
        return sorted(int(pid) for pid in found)

    def wait_until_serving(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n"
                                     + self.output())
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer on {self.url}:\n" + self.output())

    def wait_for_output(self, condition, seconds=60):
        """True once the server's log satisfies `condition` (an event: a line it
        writes), False if it never does within `seconds`."""
        deadline = time.monotonic() + seconds
        while not condition(self.output()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                return False
            time.sleep(0.1)
        return True

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return Path(self.log_path).read_text(errors="replace")

    def stop(self):
        """Ask gunicorn to stop (its workers end their streams at once); see `wait`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self):
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def demo_database(database_url):
    """The test database with 300 demo contacts; the proxy is left closed."""
    db = models.bind_database(database_url)
    with db.connection_context():
        load_demo(contacts=300)
    return database_url


@pytest.fixture
def start_server(demo_database, tmp_path):
    """Start gunicorn processes on the demo database; all are stopped at the end."""
    servers = []

    def start(**options):
        server = Gunicorn(demo_database, tmp_path / f"gunicorn-{len(servers)}.log", **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        server.wait()
        print(f"--- gunicorn on {server.url} (exit {server.process.returncode}) ---")
        print(server.output())


@pytest.fixture(scope="module")
def in_browser():
    """Run a function with a Chromium of its own, in a thread of its own.

    tests/browser/conftest.py's `browser` is session-scoped, and Playwright's
    sync API allows one instance per thread: imported here, it would start a
    second instance next to that one whenever both folders run in one session
    ("Sync API inside the asyncio loop"). A thread of our own has no loop.
    """
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (the README's test command installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")

    def launch():
        from playwright.sync_api import sync_playwright
        playwright = sync_playwright().start()
        return playwright, playwright.chromium.launch(executable_path=CHROMIUM,
                                                      args=LAUNCH_ARGS)

    playwright, browser = executor.submit(launch).result()
    yield lambda steps: executor.submit(steps, browser).result()
    executor.submit(lambda: (browser.close(), playwright.stop())).result()
    executor.shutdown()
