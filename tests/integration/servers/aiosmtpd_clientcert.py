#!/usr/bin/python3
"""aiosmtpd that demands a TLS client certificate, for postern's integration tests.

Run with Debian's /usr/bin/python3 (python3-aiosmtpd). Two listeners, both with
ssl.CERT_REQUIRED against --client-ca:
  --implicit-port  implicit TLS
  --starttls-port  STARTTLS (the certificate is demanded in that handshake)
--max-version TLSv1_2 keeps TLS 1.3 out (TLS 1.2 refuses in the handshake, 1.3 after it).

AUTH offers only EXTERNAL (RFC 4422 appendix A, `AUTH EXTERNAL =` or a base64
authorization identity): it succeeds when the session's client certificate is
there, and records the certificate's CN and the authorization identity.

Each message is stored as STORE/NAME.json ({"sender", "recipients", "port",
"client_cn", "auth_cn", "authzid"}) then STORE/NAME.eml (the DATA bytes with
CRLF), the .eml renamed into place last (harness.MessageStore reads that).
"""

import argparse
import asyncio
import base64
import json
import logging
import os
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult

log = logging.getLogger("aiosmtpd_clientcert")


def peer_cn(server):
    obj = server.transport.get_extra_info("ssl_object") if server.transport else None
    cert = obj.getpeercert() if obj is not None else None
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


class ExternalIdentity:
    def __init__(self, cn, authzid):
        self.cn = cn
        self.authzid = authzid
        self.login = (authzid or cn or "").encode()


class Handler:
    def __init__(self, port_name, store):
        self.port_name = port_name
        self.store = store

    async def auth_EXTERNAL(self, server, args):
        if len(args) == 1:
            # No initial response: ask with an empty 334; challenge_auth returns the decoded answer.
            resp = await server.challenge_auth("")
            if not isinstance(resp, bytes):
                return AuthResult(success=False, handled=True)
            authzid = resp.decode("utf-8", "replace")
        else:
            try:
                authzid = "" if args[1] == "=" else base64.b64decode(args[1], validate=True).decode("utf-8")
            except Exception:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        cn = peer_cn(server)
        log.info("AUTH EXTERNAL cn=%r authzid=%r -> %s", cn, authzid, "ok" if cn else "FAILED")
        if not cn:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=ExternalIdentity(cn, authzid))

    async def handle_DATA(self, server, session, envelope):
        ident = getattr(session, "auth_data", None)
        name = "%020d-%d" % (time.time_ns(), id(envelope) & 0xffffff)
        base = os.path.join(self.store, name)
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump({"sender": envelope.mail_from, "recipients": list(envelope.rcpt_tos),
                       "port": self.port_name, "client_cn": peer_cn(server),
                       "auth_cn": ident.cn if isinstance(ident, ExternalIdentity) else None,
                       "authzid": ident.authzid if isinstance(ident, ExternalIdentity) else None}, f)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        log.info("stored %s from=%r to=%r cn=%r", name, envelope.mail_from, envelope.rcpt_tos, peer_cn(server))
        return "250 2.0.0 OK stored " + name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--implicit-port", type=int, required=True)
    ap.add_argument("--starttls-port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca", required=True)
    ap.add_argument("--max-version", choices=("TLSv1_2", "TLSv1_3"))
    ap.add_argument("--store", required=True)
    a = ap.parse_args()
    if a.host not in ("127.0.0.1", "::1"):
        sys.exit("loopback only")
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(a.client_ca)
    if a.max_version:
        ctx.maximum_version = getattr(ssl.TLSVersion, a.max_version)

    def factory(port_name, implicit):
        def make():
            return SMTP(Handler(port_name, a.store),
                        hostname="clientcert.postern-test",
                        decode_data=False,
                        tls_context=None if implicit else ctx,
                        require_starttls=not implicit,
                        # aiosmtpd only knows STARTTLS-upgraded sessions as TLS.
                        auth_require_tls=not implicit,
                        auth_exclude_mechanism=["PLAIN", "LOGIN"])
        return make

    async def serve():
        loop = asyncio.get_running_loop()
        s1 = await loop.create_server(factory("implicit", True), a.host, a.implicit_port, ssl=ctx)
        s2 = await loop.create_server(factory("starttls", False), a.host, a.starttls_port)
        log.info("listening implicit=%d starttls=%d max_version=%s", a.implicit_port, a.starttls_port,
                 a.max_version)
        await asyncio.gather(s1.serve_forever(), s2.serve_forever())

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
