"""The continuous streams' receivers: a TCP line listener, a serial line and an HTTP push
listener, each feeding one `DayStream`, and the watched folder of one instrument profile.

A TCP or HTTP stream listens only on its configured address and takes lines only from its
configured sources (addresses or networks) and, when it has one, with its token; anything
else is refused and logged, never appended. TCP senders get one answer line per line
(`ok`, or `refused CODE message`), so a sender resends only what was not acknowledged.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO

from submissions.day_stream import DayStream
from submissions.receiver_base import ThreadReceiver

logger = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_PUSH_BYTES = 1 << 20
"""The largest body one HTTP push may carry (1 MiB of lines)."""


def networks(sources: Sequence[str]) -> list[Network]:
    """The allowed senders: addresses (`10.1.2.3`) or networks (`10.1.0.0/16`)."""
    return [ipaddress.ip_network(source, strict=False) for source in sources]


def allowed(address: str, allow: Sequence[Network]) -> bool:
    """Whether a sender's address is within one of the allowed networks."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in allow)


class StreamReceiver(ThreadReceiver):
    """A line receiver with its day stream, publishing due versions in a second thread."""

    def __init__(self, name: str, stream: DayStream) -> None:
        super().__init__(name)
        self.stream = stream
        self._publisher: threading.Thread | None = None
        self._publishing = threading.Event()

    def start(self) -> None:
        super().start()
        if self._publisher is not None and self._publisher.is_alive():
            return  # it kept publishing while the input was restarted
        self._publishing = threading.Event()
        self._publisher = threading.Thread(
            target=self._publish, args=(self._publishing,), name=f"fieldcat-{self.name}-publish",
            daemon=True,
        )  # fmt: skip
        self._publisher.start()

    def _publish(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.stream.publish_due()
            except Exception:  # logged; the next round tries again
                logger.exception("stream %s: publishing failed", self.name)
            stop.wait(0.1)

    def stop(self) -> None:
        """Stop the input; a live receiver's publisher also stops, after publishing what
        arrived since its last version. After a crash the publisher goes on (a restart then
        waits for no publication)."""
        crashed = not super().alive()
        super().stop()
        if crashed or self._publisher is None:
            return
        self._publishing.set()
        self._publisher.join(timeout=30)
        self.stream.every_s, every = 0.0, self.stream.every_s
        self.stream.publish_due()
        self.stream.every_s = every

    def detail(self) -> str:
        counts = f"{self.stream.lines_accepted} lines, {self.stream.lines_refused} refused"
        return f"{self.error}; {counts}" if self.error else counts


class NetworkReceiver(StreamReceiver):
    """A receiver listening on `host:port` for senders from `sources` (addresses or
    networks), with the stream's `token` when it has one."""

    def __init__(
        self, name: str, stream: DayStream, host: str, port: int, sources: Sequence[str],
        token: str = "",
    ) -> None:  # fmt: skip
        super().__init__(name, stream)
        self.host, self.port, self.token = host, port, token
        self.allow = networks(sources)

    def detail(self) -> str:
        return f"{self.kind} {self.host}:{self.port}; {super().detail()}"


class TcpLineReceiver(NetworkReceiver):
    """Lines over TCP from allowed senders, one answer line per line."""

    kind = "tcp"
    _socket: socket.socket | None = None

    @functools.cached_property
    def _connections(self) -> set[socket.socket]:
        """The open connections (each instance its own set)."""
        return set()

    def serve(self, stop: threading.Event) -> None:
        self._socket = socket.create_server((self.host, self.port), reuse_port=False)
        self._socket.settimeout(0.5)
        logger.info("stream %s listening on %s:%s", self.name, self.host, self.port)
        while not stop.is_set():
            try:
                connection, (address, *_rest) = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                if stop.is_set():
                    return
                raise
            if not allowed(address, self.allow):
                logger.warning("stream %s refused a connection from %s", self.name, address)
                connection.close()
                continue
            self._connections.add(connection)
            threading.Thread(target=self._lines, args=(connection, address), daemon=True).start()

    def _lines(self, connection: socket.socket, address: str) -> None:
        try:
            with connection, connection.makefile("rb") as lines:
                if self.token and not self._authorised(connection, lines, address):
                    return
                for raw in lines:  # buffered: a sender may send many lines before the answers
                    found = self.stream.append(raw.decode("utf-8", "replace"))
                    answer = "ok" if found is None else f"refused {found.code} {found.message}"
                    connection.sendall(answer.encode() + b"\n")
        except OSError:
            pass  # the sender went away, or the receiver is stopping
        finally:
            self._connections.discard(connection)

    def _authorised(self, connection: socket.socket, lines: BinaryIO, address: str) -> bool:
        first = lines.readline().decode("utf-8", "replace").strip()
        if first == f"TOKEN {self.token}":
            connection.sendall(b"ok\n")
            return True
        logger.warning("stream %s refused %s: no or a wrong token", self.name, address)
        connection.sendall(b"refused token\n")
        return False

    def interrupt(self) -> None:
        for connection in list(self._connections):
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        if self._socket is not None:
            self._socket.close()


class SerialLineReceiver(StreamReceiver):
    """Lines from a serial device (pyserial); a vanished device ends it (a crash)."""

    kind = "serial"

    def __init__(self, name: str, stream: DayStream, device: str, baudrate: int) -> None:
        super().__init__(name, stream)
        self.device, self.baudrate = device, baudrate
        self._port: object | None = None

    def serve(self, stop: threading.Event) -> None:
        import serial

        with serial.Serial(self.device, self.baudrate, timeout=0.2) as port:
            self._port = port
            pending = b""
            while not stop.is_set():
                chunk = port.read(port.in_waiting or 1)
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    self.stream.append(raw.decode("utf-8", "replace"))

    def detail(self) -> str:
        return f"serial {self.device}; {super().detail()}"


class HttpPushReceiver(NetworkReceiver):
    """Lines POSTed to `http://host:port/lines` by allowed senders with the stream's token."""

    kind = "http"
    _server: ThreadingHTTPServer | None = None

    def serve(self, stop: threading.Event) -> None:
        self._server = ThreadingHTTPServer((self.host, self.port), _push_handler(self))
        self._server.daemon_threads = True
        logger.info("stream %s takes pushes on %s:%s", self.name, self.host, self.port)
        if not stop.is_set():
            self._server.serve_forever(poll_interval=0.2)
        self._server.server_close()

    def interrupt(self) -> None:
        if self._server is not None:
            self._server.shutdown()


def _push_handler(receiver: HttpPushReceiver) -> type[BaseHTTPRequestHandler]:
    class PushHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            address = self.client_address[0]
            token = self.headers.get("Authorization", "")
            if not allowed(address, receiver.allow) or (
                receiver.token and token != f"Bearer {receiver.token}"
            ):
                logger.warning("stream %s refused a push from %s", receiver.name, address)
                return self._answer(403, {"error": "not an allowed sender"})
            if self.path != "/lines":
                return self._answer(404, {"error": "POST lines to /lines"})
            length = self.headers.get("Content-Length", "0")
            if not length.isascii() or not length.isdigit() or int(length) > MAX_PUSH_BYTES:
                return self._answer(413, {"error": f"a body of at most {MAX_PUSH_BYTES} bytes"})
            body = self.rfile.read(int(length)).decode("utf-8", "replace")
            refused = []
            for line in body.splitlines():
                if (found := receiver.stream.append(line)) is not None:
                    refused.append({"code": found.code, "message": found.message})
            return self._answer(200, {"refused": refused})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("stream %s: " + format, receiver.name, *args)

    return PushHandler
