#!/usr/bin/python3
"""aiosmtpd test server with AUTH, for postern's integration tests.

Run with Debian's /usr/bin/python3 (python3-aiosmtpd). Two listeners:
  --starttls-port  STARTTLS offered; AUTH PLAIN/LOGIN advertised and accepted
                   only after STARTTLS (auth_require_tls=True)
  --implicit-port  implicit TLS; AUTH PLAIN/LOGIN
  --plain-port     (optional) no TLS, AUTH PLAIN/LOGIN offered in plaintext:
                   a badly configured server, to check the CLIENT refuses
Users come from a JSON file {"user": "password"}. Each message is stored as
STORE/NAME.json ({"sender", "recipients", "user", "port", "tls"}) then
STORE/NAME.eml (envelope.original_content: the DATA bytes with CRLF, after
dot-unstuffing), the .eml renamed into place last.
"""

import argparse
import asyncio
import json
import logging
import os
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--starttls-port", type=int, required=True)
    ap.add_argument("--implicit-port", type=int, required=True)
    ap.add_argument("--plain-port", type=int, default=0,
                    help="optional: no TLS at all, AUTH offered in plaintext (a badly configured server)")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--auth-required", action="store_true",
                    help="refuse MAIL before a successful AUTH (530)")
    a = ap.parse_args()
    if a.host not in ("127.0.0.1", "::1"):
        sys.exit("loopback only")

    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log = logging.getLogger("aiosmtpd_server")
    with open(a.users, encoding="utf-8") as f:
        users = json.load(f)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and users.get(auth_data.login.decode("utf-8", "replace")) == auth_data.password.decode("utf-8", "replace"))
        log.info("AUTH %s user=%r -> %s", mechanism,
                 auth_data.login if isinstance(auth_data, LoginPassword) else None, "ok" if ok else "FAILED")
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    class Handler:
        def __init__(self, port_name):
            self.port_name = port_name

        async def handle_DATA(self, server, session, envelope):
            user = None
            if isinstance(getattr(session, "auth_data", None), LoginPassword):
                user = session.auth_data.login.decode("utf-8", "replace")
            name = "%020d-%d" % (time.time_ns(), id(envelope) & 0xffffff)
            base = os.path.join(a.store, name)
            with open(base + ".json", "w", encoding="utf-8") as f:
                json.dump({"sender": envelope.mail_from, "recipients": list(envelope.rcpt_tos),
                           "user": user, "port": self.port_name,
                           "tls": server.transport.get_extra_info("ssl_object") is not None}, f)
            with open(base + ".tmp", "wb") as f:
                f.write(envelope.original_content)
            os.rename(base + ".tmp", base + ".eml")
            log.info("stored %s from=%r to=%r user=%r %d bytes", name, envelope.mail_from,
                     envelope.rcpt_tos, user, len(envelope.original_content))
            return "250 2.0.0 OK stored " + name

    def factory(port_name, implicit, plain=False):
        def make():
            return SMTP(Handler(port_name),
                        hostname="aiosmtpd.postern-test",
                        data_size_limit=64 * 1024 * 1024,
                        enable_SMTPUTF8=True,
                        decode_data=False,
                        tls_context=None if (implicit or plain) else ctx,
                        require_starttls=False,
                        # On the implicit port the session is TLS from the start, but
                        # aiosmtpd only knows about STARTTLS-upgraded sessions.
                        auth_require_tls=not (implicit or plain),
                        auth_required=a.auth_required,
                        authenticator=authenticator,
                        auth_exclude_mechanism=None)
        return make

    async def serve():
        loop = asyncio.get_running_loop()
        s1 = await loop.create_server(factory("starttls", False), a.host, a.starttls_port)
        s2 = await loop.create_server(factory("implicit", True), a.host, a.implicit_port, ssl=ctx)
        servers = [s1, s2]
        if a.plain_port:
            servers.append(await loop.create_server(factory("plain", False, plain=True), a.host, a.plain_port))
        log.info("listening starttls=%d implicit=%d plain=%d", a.starttls_port, a.implicit_port, a.plain_port)
        await asyncio.gather(*(s.serve_forever() for s in servers))

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
