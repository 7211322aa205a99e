"""A small stdlib HTTP client for the server tests: a signed-in user with cookies,
the CSRF token of the last page, and an event-stream reader."""
import http.client
import json
import queue
import re
import socket
import threading
import time
from urllib.parse import urlencode, urlsplit

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
# One card of the board (templates/board/_card.html).
CARD = re.compile(r'<li class="card" id="card-(\d+)" data-id="\d+" data-version="(\d+)"\s+'
                  r'data-status="(\d+)"')
# A status column of the board and the id its drops go to.
COLUMN = re.compile(r'data-target-field="status" data-target-id="(\d+)"')


class Browserless:
    """One user's cookie jar and keep-alive connection to one server."""

    def __init__(self, base_url, timeout=10):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.cookies = {}
        self.csrf = None
        self.connection = None

    def _connect(self):
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port,
                                                         timeout=self.timeout)
        return self.connection

    def _cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _remember_cookies(self, response):
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]

    def request(self, method, path, form=None, headers=None):
        """(status, headers, body text); one retry on a connection the server closed."""
        body = urlencode(form) if form is not None else None
        all_headers = {"Cookie": self._cookie_header(), **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            connection = self._connect()
            try:
                connection.request(method, path, body=body, headers=all_headers)
                response = connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
        self._remember_cookies(response)
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        match = CSRF_META.search(text)
        if match:
            self.csrf = match.group(1)
        return response.status, dict(response.getheaders()), text

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, form, htmx=True):
        """A POST as htmx makes it: the CSRF token in the X-CSRFToken header."""
        headers = {"X-CSRFToken": self.csrf or ""}
        if htmx:
            headers["HX-Request"] = "true"
        return self.request("POST", path, form=form, headers=headers)

    def login(self, email, password):
        status, _, _ = self.get("/login")
        assert status == 200, status
        status, headers, _ = self.request("POST", "/login", form={
            "csrf_token": self.csrf, "email": email, "password": password})
        assert status == 302, f"login of {email} answered {status}"
        status, _, _ = self.get("/board")  # a page with the session's CSRF token
        assert status == 200, status
        return self

    def board(self):
        """The cards of my board: [(contact id, version, status id)], and the column ids."""
        status, _, page = self.get("/board")
        assert status == 200, status
        cards = [tuple(int(v) for v in match) for match in CARD.findall(page)]
        return cards, [int(v) for v in COLUMN.findall(page)]

    def move(self, contact_id, status_id, version):
        return self.post("/board/move", {"contact": contact_id, "status": status_id,
                                         "version": version})

    def events(self, after=None, timeout=30):
        """Open /events on a connection of its own: an EventStream."""
        return EventStream(self, after, timeout)

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class EventStream:
    """/events read by a thread: each event (name, id, data) goes to `self.events`."""

    def __init__(self, client, after, timeout):
        self.events = queue.Queue()
        self.opened = threading.Event()
        self.connection = http.client.HTTPConnection(client.host, client.port, timeout=timeout)
        path = "/events" + (f"?after={after}" if after is not None else "")
        self.connection.request("GET", path, headers={"Cookie": client._cookie_header(),
                                                      "Accept": "text/event-stream"})
        self.response = self.connection.getresponse()
        if self.response.status != 200:
            raise AssertionError(f"/events answered {self.response.status}")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        event = {}
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("retry:"):
                    self.opened.set()
                elif not line:
                    if "event" in event:
                        self.events.put((event["event"], event.get("id"),
                                         json.loads(event.get("data", "null"))))
                    event = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    event[name] = value.lstrip(" ")
        except (OSError, ValueError, http.client.HTTPException):
            pass  # the socket was shut down by close()
        self.opened.set()

    def wait_for_contact(self, contact_id, seconds):
        """The first `changed` event naming `contact_id` within `seconds`, else None."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                name, _, data = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if name == "changed" and contact_id in data["contacts"]:
                return data
        return None

    def close(self):
        """Shut the socket so the reader sees the end, then close."""
        try:
            if self.connection.sock is not None:
                self.connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(timeout=5)
        self.connection.close()


class ReconnectingStream:
    """/events as a browser holds it: when the server closes it (a restart, a killed
    worker), it comes back after a moment with Last-Event-ID. Every `changed` event's
    data goes to `self.events`; `self.connects` counts the connections made."""

    def __init__(self, client):
        self.client = client
        self.events = queue.Queue()
        self.last_id = None
        self.connects = 0
        self.opened = threading.Event()
        self.identified = threading.Event()  # an id came: a reconnect can resume from it
        self.stopping = False
        self.connection = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                self.connection = http.client.HTTPConnection(self.client.host, self.client.port,
                                                             timeout=30)
                headers = {"Cookie": self.client._cookie_header(), "Accept": "text/event-stream"}
                if self.last_id is not None:
                    headers["Last-Event-ID"] = self.last_id
                self.connection.request("GET", "/events", headers=headers)
                response = self.connection.getresponse()
                if response.status == 200:
                    self.connects += 1
                    self._read(response)
            except (OSError, http.client.HTTPException, ValueError):
                pass
            finally:
                if self.connection is not None:
                    self.connection.close()
            time.sleep(0.3)

    def _read(self, response):
        event = {}
        for raw in response:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("retry:"):
                self.opened.set()
            elif not line:
                if "id" in event:
                    self.last_id = event["id"]
                    self.identified.set()
                if event.get("event") == "changed":
                    self.events.put(json.loads(event.get("data", "null")))
                event = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                event[name] = value.lstrip(" ")

    def wait_for_contact(self, contact_id, seconds):
        """True when a `changed` event named `contact_id` (or everything) within `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                data = self.events.get(timeout=left)
            except queue.Empty:
                return False
            if data.get("all") or contact_id in data.get("contacts", ()):
                return True
        return False

    def close(self):
        self.stopping = True
        try:
            if self.connection is not None and self.connection.sock is not None:
                self.connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(timeout=5)


class RawStream:
    """One /events connection read by hand (many of them in one thread)."""

    def __init__(self, host, port, cookie, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(f"GET /events HTTP/1.0\r\nHost: {host}\r\nCookie: {cookie}\r\n"
                          "Accept: text/event-stream\r\n\r\n".encode())
        self.buffer = b""

    def read_until(self, marker):
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"the stream ended before {marker!r}: {self.buffer!r}")
            self.buffer += chunk

    def opened(self):
        """Read the answer's head and first line: a 200 that says "retry:"."""
        self.read_until(b"\r\n\r\n")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise AssertionError(f"a stream answered {head[:80]!r}")
        self.read_until(b"\n\n")
        if not self.buffer.startswith(b"retry:"):
            raise AssertionError(f"a stream began with {self.buffer[:80]!r}")

    def names(self, contact_id):
        for line in self.buffer.split(b"\n"):
            if line.startswith(b"data:"):
                data = json.loads(line[5:])
                if data.get("all") or contact_id in data.get("contacts", ()):
                    return True
        return False

    def close(self):
        self.sock.close()


def open_streams(base_url, cookie, count, timeout=30):
    """`count` /events connections, all sent first, then each read up to its first line."""
    parts = urlsplit(base_url)
    streams = [RawStream(parts.hostname, parts.port, cookie, timeout) for _ in range(count)]
    for stream in streams:
        stream.opened()
    return streams


def heard_by(streams, contact_id, seconds):
    """How many of `streams` named `contact_id` in a `changed` event within `seconds`."""
    import selectors
    selector = selectors.DefaultSelector()
    waiting = 0
    for stream in streams:
        if stream.names(contact_id):
            continue
        stream.sock.setblocking(False)
        selector.register(stream.sock, selectors.EVENT_READ, stream)
        waiting += 1
    heard = len(streams) - waiting
    deadline = time.monotonic() + seconds
    try:
        while waiting and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(timeout=left):
                stream = key.data
                try:
                    chunk = stream.sock.recv(65536)
                except BlockingIOError:
                    continue
                stream.buffer += chunk
                if stream.names(contact_id) or not chunk:
                    selector.unregister(stream.sock)
                    waiting -= 1
                    heard += stream.names(contact_id)
    finally:
        selector.close()
        for stream in streams:
            stream.sock.setblocking(True)
    return heard
