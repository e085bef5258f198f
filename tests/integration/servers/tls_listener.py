#!/usr/bin/python3
"""A minimal SMTP server behind a deliberately restricted TLS configuration.

    tls_listener.py --port P [--host 127.0.0.1] [--cert C --key K]
                    [--ciphers S] [--seclevel0] [--min-version V] [--max-version V]
                    [--dhparams FILE] [--sigalgs LIST] [--require-client-cert [--client-ca F]]
                    [--starttls | --plain] [--behaviour B] [--ready FILE]

Modes:
  (default)   implicit TLS: the TLS handshake comes first, then SMTP
  --starttls  plaintext greeting, EHLO offers STARTTLS, TLS after "220 Ready"
  --plain     no TLS at all (EHLO offers STARTTLS only with --behaviour
              starttls-required and a certificate)

TLS (Debian's python3 ssl module = the system OpenSSL 3):
  --ciphers S          OpenSSL cipher string for TLS <= 1.2 (TLS 1.3 suites are
                       not governed by it: use --max-version TLSv1_2 to exclude 1.3)
  --seclevel0          append ":@SECLEVEL=0" to the cipher string (needed on
                       OpenSSL 3 for TLS 1.0/1.1 and SHA-1 signatures)
  --min-version/--max-version  TLSv1, TLSv1_1, TLSv1_2, TLSv1_3
  --dhparams FILE      finite-field DH parameters (PEM) for DHE suites
  --sigalgs LIST       signature algorithms the server may sign with, e.g.
                       "RSA+SHA1". Python's ssl has no API for it: the script
                       re-executes itself with OPENSSL_CONF pointing to a
                       generated config whose system_default section sets
                       SignatureAlgorithms (applies to every SSL_CTX).
  --auth      EHLO offers "AUTH PLAIN LOGIN" once TLS is up (no AUTH command
                       is answered: it only shows the capability)
  --require-client-cert  demand a client certificate (CERT_REQUIRED); the CA
                       for verifying it is --client-ca (default: --cert)

SMTP (after the handshake in implicit mode): "220 test ESMTP", EHLO ->
"250-test" ... "250 PIPELINING" (+ STARTTLS when offered), HELO, MAIL (250),
RCPT (250), DATA (354, message discarded, 250), RSET (250), NOOP (250),
QUIT (221); anything else 502.

--behaviour:
  normal               the above
  starttls-required    MAIL/RCPT/DATA before TLS get "530 5.7.0 Must issue a
                       STARTTLS command first" (Postfix with
                       smtpd_tls_security_level=encrypt answers the same)
  close-on-accept      accept the TCP connection and close it at once
  close-after-greeting send the greeting, then close (no reply to EHLO)
  bad-greeting         the greeting is not SMTP ("HTTP/1.1 400 Bad Request")

Every connection logs its handshake outcome (version, cipher, or the error)
and the SMTP dialogue to stdout. --ready FILE is created once the port listens.
Loopback only.
"""

import argparse
import os
import signal
import socket
import socketserver
import sys
import tempfile
import time

VERSIONS = ("TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3")
BEHAVIOURS = ("normal", "starttls-required", "close-on-accept", "close-after-greeting", "bad-greeting")
_CONF_ENV = "POSTERN_TLS_LISTENER_CONF"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def parse_args(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--ciphers")
    ap.add_argument("--seclevel0", action="store_true")
    ap.add_argument("--min-version", choices=VERSIONS)
    ap.add_argument("--max-version", choices=VERSIONS)
    ap.add_argument("--dhparams")
    ap.add_argument("--sigalgs")
    ap.add_argument("--require-client-cert", action="store_true")
    ap.add_argument("--client-ca")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--starttls", action="store_true")
    mode.add_argument("--plain", action="store_true")
    ap.add_argument("--auth", action="store_true")
    ap.add_argument("--behaviour", choices=BEHAVIOURS, default="normal")
    ap.add_argument("--ready")
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1"):
        ap.error("loopback only")
    if not args.plain and not (args.cert and args.key):
        ap.error("TLS modes need --cert and --key")
    return args


def reexec_with_sigalgs(args):
    """Python's ssl cannot set signature algorithms: do it through OpenSSL's config."""
    if os.environ.get(_CONF_ENV):
        return
    fd, conf = tempfile.mkstemp(prefix="tls-listener-", suffix=".cnf")
    with os.fdopen(fd, "w") as f:
        f.write("openssl_conf = openssl_init\n"
                "[openssl_init]\nssl_conf = ssl_sect\n"
                "[ssl_sect]\nsystem_default = system_default_sect\n"
                f"[system_default_sect]\nSignatureAlgorithms = {args.sigalgs}\n")
    env = dict(os.environ, OPENSSL_CONF=conf)
    env[_CONF_ENV] = conf
    os.execve(sys.executable, [sys.executable] + sys.orig_argv[1:], env)


def make_context(args):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if args.min_version:
        ctx.minimum_version = getattr(ssl.TLSVersion, args.min_version)
    if args.max_version:
        ctx.maximum_version = getattr(ssl.TLSVersion, args.max_version)
    ciphers = args.ciphers
    if args.seclevel0:
        ciphers = (ciphers or "DEFAULT") + ":@SECLEVEL=0"
    if ciphers:
        ctx.set_ciphers(ciphers)
    if args.dhparams:
        ctx.load_dh_params(args.dhparams)
    ctx.load_cert_chain(args.cert, args.key)
    if args.require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca or args.cert)
    ctx.options |= ssl.OP_NO_TICKET
    return ctx


class Session:
    def __init__(self, server, sock, peer):
        self.srv = server
        self.sock = sock
        self.peer = peer
        self.tls = False
        self.buf = b""

    def send(self, text):
        log(self.peer, "S:", text.replace("\r\n", "|"))
        self.sock.sendall(text.encode())

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("client closed")
            self.buf += chunk
            if len(self.buf) > 1 << 20:
                raise ConnectionResetError("line too long")
        line, self.buf = self.buf.split(b"\n", 1)
        log(self.peer, "C:", line[:200])
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def handshake(self):
        import ssl
        try:
            self.sock = self.srv.ctx.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log(self.peer, "TLS handshake failed:", repr(e))
            return False
        self.tls = True
        log(self.peer, "TLS established:", self.sock.version(), self.sock.cipher())
        return True

    def half_close(self):
        """Send FIN, then swallow what the client sends until it closes (at most 5 s), so the
        client reads a clean end of stream rather than a reset caused by unread data."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(5)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass

    def offers_starttls(self):
        a = self.srv.args
        return not self.tls and self.srv.ctx is not None and (
            a.starttls or (a.plain and a.behaviour == "starttls-required"))

    def run(self):
        a = self.srv.args
        if a.behaviour == "close-on-accept":
            log(self.peer, "closing right after accept")
            return
        if not (a.starttls or a.plain) and not self.handshake():
            return
        if a.behaviour == "bad-greeting":
            self.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            self.half_close()
            return
        self.send("220 test ESMTP\r\n")
        if a.behaviour == "close-after-greeting":
            log(self.peer, "closing after the greeting")
            self.half_close()
            return
        in_data = False
        while True:
            line = self.readline()
            if in_data:
                if line == ".":
                    in_data = False
                    self.send("250 2.0.0 Ok: discarded\r\n")
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                caps = ["test"] + (["STARTTLS"] if self.offers_starttls() else []) + ["PIPELINING"]
                if self.srv.args.auth and self.tls:
                    caps.insert(1, "AUTH PLAIN LOGIN")
                self.send("".join(f"250-{c}\r\n" for c in caps[:-1]) + f"250 {caps[-1]}\r\n")
            elif verb == "HELO":
                self.send("250 test\r\n")
            elif verb == "STARTTLS" and self.offers_starttls():
                self.send("220 2.0.0 Ready to start TLS\r\n")
                if self.buf:
                    log(self.peer, "data after STARTTLS before the handshake: closing")
                    return
                if not self.handshake():
                    return
            elif verb in ("MAIL", "RCPT", "DATA") and a.behaviour == "starttls-required" and not self.tls:
                self.send("530 5.7.0 Must issue a STARTTLS command first\r\n")
            elif verb in ("MAIL", "RCPT"):
                self.send("250 2.1.0 Ok\r\n")
            elif verb == "DATA":
                self.send("354 End data with <CR><LF>.<CR><LF>\r\n")
                in_data = True
            elif verb in ("RSET", "NOOP"):
                self.send("250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye\r\n")
                return
            else:
                self.send("502 5.5.2 Error: command not recognized\r\n")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(60)
        peer = self.client_address[:2]
        log(peer, "connected")
        sess = Session(self.server, sock, peer)
        try:
            sess.run()
        except (ConnectionError, OSError) as e:
            log(peer, "connection ended:", repr(e))
        except Exception as e:  # keep serving other connections
            log(peer, "error:", repr(e))
        finally:
            if sess.tls:
                try:  # send close_notify, do not wait long for the client's
                    sess.sock.settimeout(1)
                    sess.sock = sess.sock.unwrap()
                except (OSError, ValueError):
                    pass
            try:
                sess.sock.close()
            except OSError:
                pass
            log(peer, "closed")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Server6(Server):
    address_family = socket.AF_INET6


def main():
    args = parse_args()
    if args.sigalgs:
        reexec_with_sigalgs(args)
    srv_cls = Server6 if ":" in args.host else Server
    srv = srv_cls((args.host, args.port), Handler)
    srv.args = args
    srv.ctx = make_context(args) if args.cert else None
    log("listening", args.host, args.port, {k: v for k, v in vars(args).items() if v not in (None, False)},
        "OPENSSL_CONF=" + os.environ.get("OPENSSL_CONF", ""))
    if args.ready:
        open(args.ready, "w").close()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        conf = os.environ.get(_CONF_ENV)
        if conf:
            try:
                os.unlink(conf)
            except OSError:
                pass


if __name__ == "__main__":
    main()
