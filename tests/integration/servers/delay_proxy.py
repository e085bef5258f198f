#!/usr/bin/python3
"""A loopback TCP proxy that adds a fixed one-way delay in each direction.

    delay_proxy.py --upstream-port P [--one-way-ms D] [--port 0] [--ready FILE]

or, in-process (the probe benchmark and tests/integration/test_probe.py):

    with DelayProxy(upstream_port, one_way_ms=25) as p:   # 50 ms round-trip time
        ... connect to 127.0.0.1:p.port ...
        p.connections                                      # accepted so far

Every byte is delivered D ms after the proxy read it, in order, per direction.
A user-space proxy accepts a connection at once, so the TCP handshake would cost
nothing; a real link makes the client wait one round trip before its first byte
can leave. To keep that cost, the proxy opens the upstream connection 3·D after
accepting (when the server would see the handshake's final ACK) and holds the
client's bytes until then: a client that writes at once reaches the server at 3·D,
a greeting sent on accept reaches the client at 4·D — as over a real link of
round-trip time 2·D. End of stream is forwarded the same way (after the data before it).

Only 127.0.0.1 is listened on and connected to. No asserts: it measures nothing itself
but counts connections (and the most open at once) for the caller.
"""

import argparse
import asyncio
import os
import signal
import sys
import threading

LOOPBACK = "127.0.0.1"


class _Stats:
    def __init__(self):
        self.connections = 0
        self.open = 0
        self.max_open = 0


async def _pump(reader, get_writer, delay, not_before, loop):
    """Copies reader to the writer get_writer() returns, each chunk delay seconds after
    it was read (and not before not_before()), preserving order; forwards end of stream
    the same way. Reading starts at once, also while get_writer() is still waiting."""
    queue = asyncio.Queue()

    async def deliver():
        try:
            writer = await get_writer()
        except OSError:
            return  # the upstream refused: handle() ends the connection
        while True:
            at, data = await queue.get()
            wait = at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                try:
                    if writer.can_write_eof():
                        writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(data)
            try:
                await writer.drain()
            except OSError:
                return

    sender = asyncio.ensure_future(deliver())
    try:
        while True:
            try:
                data = await reader.read(65536)
            except OSError:
                data = b""
            at = max(loop.time() + delay, not_before())
            await queue.put((at, data or None))
            if not data:
                break
        await sender
    finally:
        if not sender.done():
            sender.cancel()


async def _serve(stats, upstream_port, delay, port, started):
    loop = asyncio.get_running_loop()

    async def handle(creader, cwriter):
        stats.connections += 1
        stats.open += 1
        stats.max_open = max(stats.max_open, stats.open)
        accepted = loop.time()
        ready = accepted + 3 * delay
        swriter = None
        try:
            up = asyncio.ensure_future(_open_late(upstream_port, ready, loop))
            # The client's bytes are read at once and wait in the pump's queue until the
            # upstream is open (reading them only then would delay them by 4·D, not 3·D).
            box = {}

            async def upstream_writer():
                r, w = await up
                box["w"] = w
                return w

            async def client_writer():
                return cwriter

            async def client_to_server():
                await _pump(creader, upstream_writer, delay, lambda: ready, loop)

            async def server_to_client():
                r, w = await up
                await _pump(r, client_writer, delay, lambda: 0.0, loop)

            tasks = [asyncio.ensure_future(client_to_server()), asyncio.ensure_future(server_to_client())]
            try:
                await asyncio.gather(*tasks)
            except (OSError, asyncio.CancelledError):
                pass  # a reset, a refused upstream, or the proxy stopping: the connection just ends
            finally:
                for t in tasks + [up]:
                    if not t.done():
                        t.cancel()
            swriter = box.get("w")
        finally:
            stats.open -= 1
            for w in (cwriter, swriter):
                if w is not None:
                    try:
                        w.close()
                    except OSError:
                        pass

    server = await asyncio.start_server(handle, LOOPBACK, port)
    stop = asyncio.Event()
    started(server.sockets[0].getsockname()[1], stop)
    await stop.wait()
    server.close()
    me = asyncio.current_task()
    while True:  # cancelled handlers may still start their pumps' tasks: until none is left
        rest = [t for t in asyncio.all_tasks() if t is not me]
        if not rest:
            break
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)


async def _open_late(port, at, loop):
    wait = at - loop.time()
    if wait > 0:
        await asyncio.sleep(wait)
    return await asyncio.open_connection(LOOPBACK, port)


class DelayProxy:
    """The proxy on its own event loop thread. one_way_ms: the delay per direction
    (round-trip time = 2 × one_way_ms). port: where to connect instead of upstream_port."""

    def __init__(self, upstream_port, one_way_ms):
        self.upstream_port = upstream_port
        self.one_way_ms = one_way_ms
        self.port = None
        self._stats = _Stats()
        self._loop = None
        self._stop = None
        self._thread = None

    @property
    def connections(self):
        """Connections accepted since start or the last reset()."""
        return self._stats.connections

    @property
    def max_open(self):
        """The most connections open at once since start or reset()."""
        return self._stats.max_open

    def reset(self):
        self._stats.connections = 0
        self._stats.max_open = self._stats.open

    def __enter__(self):
        ready = threading.Event()

        def started(port, stop):
            self.port, self._stop = port, stop
            ready.set()

        def run():
            try:  # the proxy's timing should not suffer from the machine's load (Linux: per thread)
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -5)
            except (OSError, AttributeError):
                pass
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(
                    _serve(self._stats, self.upstream_port, self.one_way_ms / 1000.0, 0, started))
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name=f"delay-proxy-{self.upstream_port}", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the delay proxy did not start listening")
        return self

    def __exit__(self, *exc):
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream-port", type=int, required=True)
    ap.add_argument("--one-way-ms", type=float, default=25.0, help="delay per direction (RTT = 2x)")
    ap.add_argument("--port", type=int, default=0, help="where to listen (0: any free port, printed)")
    ap.add_argument("--ready", help="file created once listening (contains the port)")
    a = ap.parse_args()
    stats = _Stats()

    def started(port, stop):
        print(f"delay proxy 127.0.0.1:{port} -> 127.0.0.1:{a.upstream_port}, {a.one_way_ms} ms each way",
              flush=True)
        if a.ready:
            with open(a.ready, "w") as f:
                f.write(str(port))

    def report(*_):
        print(f"connections={stats.connections} max_open={stats.max_open}", flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, report)
    signal.signal(signal.SIGINT, report)
    asyncio.run(_serve(stats, a.upstream_port, a.one_way_ms / 1000.0, a.port, started))


if __name__ == "__main__":
    sys.exit(main())
