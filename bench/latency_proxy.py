"""A TCP proxy that puts a network's round trip between a client and a server on one
machine.

Why: a verifier that reads a trail from S3 pays a round trip per request (S3 GetObject's
first byte typically takes 10-30 ms), and on loopback it pays none, so a loopback
benchmark measures CPU only and hides what fetching one object at a time costs. Kernel
netem (`tc qdisc ... netem delay`) models this, but it needs the sch_netem module, which
not every machine (or container) has; this proxy needs nothing but Python's stdlib.

Model: propagation delay, not a per-chunk sleep. A chunk read from one side at time t is
written to the other at t + delay (one way, in each direction, so RTT = 2 x delay);
chunks behind it pipeline, each keeping its own t + delay, so a long body arrives delay
later but as fast as it left, and order within a connection is kept. Connection setup
costs one RTT as a TCP handshake does: the client's connect() returns at once here (the
proxy accepts locally), so what it sends before a round trip has passed is held as if it
had been sent when the handshake completed (written at max(t, accepted + RTT) + delay).
Bandwidth is not limited.

    python bench/latency_proxy.py --listen 127.0.0.1:0 --target 127.0.0.1:4566 --delay-ms 10

prints `listening on HOST:PORT` once it accepts connections. From Python, `start()` runs
it as a subprocess and returns the process and its port.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
from pathlib import Path

def _split(hostport: str) -> tuple[str, int]:
    host, _, port = hostport.rpartition(":")
    return host or "127.0.0.1", int(port)


# Bytes a direction holds before it stops reading its source (backpressure).
HOLD_LIMIT = 16 << 20


class _Delayed:
    """One direction of a connection: what is read is written `delay` after it was read
    (and not before `not_before` + delay), in order. A chunk's due time never precedes
    the one before it, so one timer at the head of the queue suffices and nothing waits
    behind another chunk's delay."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float, not_before: float,
                 ended):
        self.loop, self.delay, self.not_before, self.ended = loop, delay, not_before, ended
        self.queue: collections.deque = collections.deque()
        self.held = 0
        self.timer: asyncio.TimerHandle | None = None
        self.source: asyncio.Transport | None = None  # paused when too much is held
        self.sink: asyncio.Transport | None = None  # None until connected
        self.source_paused = False
        self.eof = False  # the end of the stream was read
        self.closed = False  # ... and written, or the connection dropped

    def push(self, data: bytes | None) -> None:
        """A chunk read (None: the end of the stream)."""
        if self.eof or self.closed:
            return
        self.eof = data is None
        self.queue.append((max(self.loop.time(), self.not_before) + self.delay, data))
        self.held += len(data or b"")
        if self.held > HOLD_LIMIT and self.source and not self.source_paused:
            self.source.pause_reading()
            self.source_paused = True
        self._arm()

    def _arm(self) -> None:
        if self.timer is None and self.queue and self.sink is not None:
            self.timer = self.loop.call_at(self.queue[0][0], self._flush)

    def _flush(self) -> None:
        self.timer = None
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now and not self.closed:
            _, data = self.queue.popleft()
            if data is None:
                self.closed = True
                if self.sink.can_write_eof():
                    self.sink.write_eof()
                self.ended()
                break
            self.held -= len(data)
            self.sink.write(data)
        if self.source_paused and self.held <= HOLD_LIMIT // 2 and self.source:
            self.source.resume_reading()
            self.source_paused = False
        self._arm()

    def connected(self, sink: asyncio.Transport) -> None:
        self.sink = sink
        self._arm()

    def abort(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.queue.clear()
        self.closed = True


class _Side(asyncio.Protocol):
    """One end of a proxied connection: feeds what it reads to `out`, the direction
    towards the other end, and tells `done` when the connection is lost."""

    def __init__(self, out: _Delayed, done):
        self.out, self.done = out, done
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.out.source = transport

    def data_received(self, data: bytes) -> None:
        self.out.push(data)

    def eof_received(self) -> bool:
        self.out.push(None)
        return True  # keep the write side open for the answer

    def connection_lost(self, exc) -> None:
        self.done(self, exc)


class _Client(_Side):
    """The accepted side: opens the connection to the target and pairs the two."""

    def __init__(self, target: tuple[str, int], delay: float):
        self.loop = asyncio.get_running_loop()
        accepted = self.loop.time()
        # The client could send its first bytes only once the handshake's round trip was
        # over; the answer can come back at once.
        self.up = _Delayed(self.loop, delay, accepted + 2 * delay, self._ended)
        self.down = _Delayed(self.loop, delay, accepted, self._ended)
        self.server: _Side | None = None
        self.target = target
        super().__init__(self.up, self._lost)

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.down.connected(transport)
        self.connecting = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            _, server = await self.loop.create_connection(
                lambda: _Side(self.down, self._lost), *self.target)
        except OSError:
            self.transport.close()
            return
        self.server = server
        self.up.connected(server.transport)

    def _ended(self) -> None:
        # Both ways ended (each end's EOF passed on): the connection is over.
        if self.up.closed and self.down.closed:
            self._close()

    def _lost(self, side: _Side, exc) -> None:
        # An end gone with an error drops the lot; gone cleanly, what it sent still
        # arrives, then its EOF.
        if exc is not None:
            self._close()
        else:
            side.out.push(None)

    def _close(self) -> None:
        for d in (self.up, self.down):
            d.abort()
        for s in (self, self.server):
            if s is not None and s.transport is not None:
                s.transport.close()


async def serve(listen: str, target: str, delay_ms: float) -> None:
    delay = delay_ms / 1000
    upstream = _split(target)
    host, port = _split(listen)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Client(upstream, delay), host, port, backlog=1024)
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


def start(target: str, delay_ms: float, listen: str = "127.0.0.1:0") -> tuple[subprocess.Popen, int]:
    """Runs the proxy in a subprocess in front of `target` (host:port); returns the
    process (terminate it when done) and the port it listens on."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--listen", listen, "--target", target,
         "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"latency proxy did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", required=True, help="HOST:PORT to accept on (port 0: any)")
    p.add_argument("--target", required=True, help="HOST:PORT to forward to")
    p.add_argument("--delay-ms", type=float, required=True,
                   help="one-way delay in each direction (RTT = 2x)")
    a = p.parse_args()
    try:
        asyncio.run(serve(a.listen, a.target, a.delay_ms))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
