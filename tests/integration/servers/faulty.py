#!/usr/bin/python3
"""A deliberately misbehaving SMTP server with named fault switches.

    faulty.py --fault NAME --port P [--host 127.0.0.1] --store DIR [--cert C --key K]

Faults:
  starttls-injection  EHLO offers STARTTLS; STARTTLS is answered with
                      "220 Ready\\r\\n250 injected\\r\\n" in ONE send (the classic
                      command-injection bug, CVE-2011-0411 style), then the TLS
                      handshake goes ahead (needs --cert/--key) and the session
                      continues normally, storing any message: a client that does
                      not reject the extra bytes ends up with a stored message.
  silent              accepts connections and never sends a byte
  slow-greeting       sends the greeting one byte per second
  endless-ehlo        greets; EHLO is answered by unbounded "250-x" lines
  long-line           the greeting is a 10 MB line without CRLF, then silence
  drop-after-dot      normal until the final "." of DATA, then closes the
                      connection without a reply (nothing stored)
  reject-some         RCPT TO an address containing "bad" gets 550 5.1.1, "later" 451 4.2.0, others
                      250; the message is stored with the accepted recipients
  slow-data           answers DATA with 354 only after 3 seconds; otherwise a normal server (a
                      queue worker whose short lease runs out before its final dot)
  no-starttls         EHLO without STARTTLS; otherwise a normal server (stores)
  weaker-after-first  STARTTLS with TLS 1.3 on the first connection, TLS 1.2 only on every later
                      one (needs --cert/--key); otherwise a normal server (stores)
  busy-every-third    every third connection is greeted with "421 4.7.0 too many connections"
                      and closed; the others are a normal server (stores). Each connection
                      logs "connected open=N" (N: connections open at that moment)

Each message is stored as STORE/NAME.json ({"sender", "recipients"}) and
STORE/NAME.eml (DATA bytes, CRLF, dot-unstuffed), .eml renamed into place
last. STORE/.ready appears once the port listens. Logs go to stdout.
"""

import argparse
import asyncio
import json
import os
import ssl
import sys
import time

FAULTS = ("starttls-injection", "silent", "slow-greeting", "endless-ehlo", "long-line",
          "drop-after-dot", "reject-some", "no-starttls", "busy-every-third",
          "weaker-after-first", "slow-data", "three-per-connection")
HOSTNAME = "faulty.postern-test"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Session:
    def __init__(self, server, reader, writer):
        self.s = server
        self.reader = reader
        self.writer = writer
        self.peer = writer.get_extra_info("peername")
        self.tls = False
        self.number = 0  # this connection's place in the order of arrival (1, 2, ...)
        self.stored = 0  # messages stored over this connection

    async def send(self, data: bytes):
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self, line: str):
        log(self.peer, "S:", line)
        await self.send(line.encode() + b"\r\n")

    async def readline(self):
        line = await self.reader.readline()
        if not line:
            raise ConnectionResetError("client closed")
        log(self.peer, "C:", line[:200])
        return line

    async def wait_closed_by_client(self):
        while await self.reader.read(65536):
            pass

    async def run(self):
        fault = self.s.fault
        if fault == "silent":
            await self.wait_closed_by_client()
            return
        if fault == "slow-greeting":
            for b in f"220 {HOSTNAME} ESMTP slow\r\n".encode():
                await self.send(bytes([b]))
                await asyncio.sleep(1.0)
        elif fault == "long-line":
            chunk = b"x" * 65536
            await self.send(b"220 ")
            for _ in range((10 * 1024 * 1024) // len(chunk)):
                await self.send(chunk)
            log(self.peer, "S: 10 MB greeting without CRLF sent")
            await self.wait_closed_by_client()
            return
        elif fault == "busy-every-third" and self.number % 3 == 0:
            await self.reply("421 4.7.0 faulty: too many connections, try again later")
            return
        else:
            await self.reply(f"220 {HOSTNAME} ESMTP faulty fault={fault}")
        await self.commands()

    def ehlo_lines(self):
        caps = [HOSTNAME, "PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "SIZE 104857600"]
        if self.s.fault != "no-starttls" and not self.tls:
            caps.append("STARTTLS")
        return caps

    async def commands(self):
        sender, rcpts = None, []
        while True:
            line = await self.readline()
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                if self.s.fault == "endless-ehlo":
                    await self.endless()
                    return
                caps = self.ehlo_lines()
                out = [f"250-{c}" for c in caps[:-1]] + [f"250 {caps[-1]}"]
                log(self.peer, "S:", out)
                await self.send(("\r\n".join(out) + "\r\n").encode())
                sender, rcpts = None, []
            elif verb == "HELO":
                await self.reply(f"250 {HOSTNAME}")
            elif verb == "STARTTLS" and "STARTTLS" in self.ehlo_lines():
                if self.s.fault == "starttls-injection":
                    log(self.peer, "S: 220 Ready + 250 injected in one send")
                    await self.send(b"220 Ready\r\n250 injected\r\n")
                else:
                    await self.reply("220 2.0.0 Ready to start TLS")
                if self.s.ctx is None:
                    log(self.peer, "no certificate: closing instead of TLS")
                    return
                ctx = self.s.ctx
                if self.s.fault == "weaker-after-first" and self.number > 1:
                    ctx = self.s.ctx12
                await self.writer.start_tls(ctx)
                self.tls = True
                log(self.peer, "TLS established")
                sender, rcpts = None, []
            elif verb == "MAIL":
                if self.s.fault == "three-per-connection" and self.stored >= 3:
                    # A relay's per-connection message limit: not "too many connections".
                    await self.reply("421 4.7.0 faulty: too many messages in this connection")
                    return
                sender = cmd[5:].strip()
                if sender.upper().startswith("FROM:"):
                    sender = sender[5:].strip()
                sender = sender.split(" ")[0].strip("<>")
                rcpts = []
                await self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                if sender is None:
                    await self.reply("503 5.5.1 need MAIL")
                    continue
                addr = cmd[5:].strip()
                if addr.upper().startswith("TO:"):
                    addr = addr[3:].strip()
                addr = addr.split(" ")[0].strip("<>")
                if self.s.fault == "reject-some" and "bad" in addr.lower():
                    await self.reply(f"550 5.1.1 <{addr}>: Recipient address rejected: no such user")
                elif self.s.fault == "reject-some" and "later" in addr.lower():
                    await self.reply(f"451 4.2.0 <{addr}>: Recipient address deferred: try again later")
                else:
                    rcpts.append(addr)
                    await self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts:
                    await self.reply("554 5.5.1 no valid recipients")
                    continue
                if self.s.fault == "slow-data":
                    await asyncio.sleep(3.0)
                await self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = await self.read_data()
                if self.s.fault == "drop-after-dot":
                    log(self.peer, "final dot received: closing without reply")
                    self.writer.transport.abort()
                    return
                name = self.s.store_message(sender, rcpts, data)
                self.stored += 1
                await self.reply(f"250 2.0.0 Ok: queued as {name}")
                sender, rcpts = None, []
            elif verb == "RSET":
                sender, rcpts = None, []
                await self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                await self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                await self.reply("221 2.0.0 Bye")
                return
            else:
                await self.reply("502 5.5.2 Error: command not recognized")

    async def read_data(self):
        parts = []
        while True:
            line = await self.reader.readline()
            if not line:
                raise ConnectionResetError("client closed during DATA")
            if line == b".\r\n":
                return b"".join(parts)
            if line.startswith(b"."):
                line = line[1:]
            parts.append(line)

    async def endless(self):
        chunk = b"250-x\r\n" * 4096
        sent = 0
        try:
            while sent < (4 << 30):  # stop after 4 GB in any case
                await self.send(chunk)
                sent += len(chunk)
        finally:
            log(self.peer, f"endless EHLO: sent {sent} bytes")


class Server:
    def __init__(self, args):
        self.fault = args.fault
        self.store = args.store
        self.ctx = None
        self.connections = 0  # accepted so far
        self.open = 0         # open now
        if args.cert:
            self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ctx.load_cert_chain(args.cert, args.key)
            self.ctx12 = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ctx12.load_cert_chain(args.cert, args.key)
            self.ctx12.maximum_version = ssl.TLSVersion.TLSv1_2

    def store_message(self, sender, rcpts, data):
        name = "%020d-%d" % (time.time_ns(), os.getpid())
        base = os.path.join(self.store, name)
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump({"sender": sender, "recipients": rcpts}, f)
        with open(base + ".tmp", "wb") as f:
            f.write(data)
        os.rename(base + ".tmp", base + ".eml")
        log("stored", name, sender, rcpts, len(data), "bytes")
        return name

    async def handle(self, reader, writer):
        sess = Session(self, reader, writer)
        self.connections += 1
        sess.number = self.connections
        self.open += 1
        log(sess.peer, f"connected open={self.open}")
        try:
            await sess.run()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError) as e:
            log(sess.peer, "connection ended:", repr(e))
        except Exception as e:  # keep serving other connections
            log(sess.peer, "error:", repr(e))
        finally:
            self.open -= 1
            try:
                writer.close()
            except Exception:
                pass
            log(sess.peer, "closed")


async def main_async(args):
    server = Server(args)
    srv = await asyncio.start_server(server.handle, args.host, args.port, limit=64 * 1024 * 1024)
    log("listening", args.host, args.port, "fault", args.fault)
    open(os.path.join(args.store, ".ready"), "w").close()
    async with srv:
        await srv.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fault", required=True, choices=FAULTS)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "::1"):
        sys.exit("loopback only")
    if args.fault == "starttls-injection" and not args.cert:
        sys.exit("starttls-injection needs --cert/--key")
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
