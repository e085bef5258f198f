"""Integration-test harness: real SMTP servers on loopback for postern's tests.

Every piece is a context manager that picks free loopback ports, starts its
server(s), and on exit removes everything it created (processes, Postfix
instance, temporary folders) even when a test failed:

    Certs()            test CA, server certificate and broken variants (openssl CLI)
    Postfix(certs)     a private Postfix instance: STARTTLS, implicit TLS, RSA-kx-only,
                       [::1] STARTTLS and certificate-variant listeners; every message
                       is stored as a file by a pipe transport
    Aiosmtpd(certs)    aiosmtpd with AUTH PLAIN/LOGIN on a STARTTLS and an implicit-TLS port
    Faulty(fault)      a misbehaving server with a named fault (servers/faulty.py)
    Dante(), Microsocks(), Tinyproxy(ports)
                       SOCKS5 (no auth / user+password) and HTTP CONNECT proxies
    ScriptedProxy(b)   a fake proxy that is silent or sends endless headers

and helpers to run the postern binary (run_postern, PosternResult).

Only 127.0.0.1 and ::1 are ever used. See docs/testing.md for the design and
for how tests compare message bytes.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.path.join(HERE, "servers")
# Debian's interpreter: aiosmtpd is importable only there (TESTING.md).
DEBIAN_PYTHON = "/usr/bin/python3"

LOOPBACK4 = "127.0.0.1"
LOOPBACK6 = "::1"


# --------------------------------------------------------------------------
# hermetic environment: nothing the suite starts reads the invoking user's files
# --------------------------------------------------------------------------

# The folders postern (and git, peers, servers) read per user. Each is replaced by a fresh one.
USER_DIR_VARS = ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")


def fresh_user_dirs(prefix="postern-home-"):
    """A new empty HOME with XDG_CONFIG/STATE/CACHE/DATA_HOME inside it: {var: path}."""
    home = tempfile.mkdtemp(prefix=prefix)
    dirs = {"HOME": home}
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_STATE_HOME", ".local/state"),
                     ("XDG_CACHE_HOME", ".cache"), ("XDG_DATA_HOME", ".local/share")):
        dirs[var] = os.path.join(home, sub)
        os.makedirs(dirs[var])
    return dirs


def _sandbox_this_process():
    """Every test process runs in its own HOME: whatever it starts (Postfix, aiosmtpd, git,
    sslscan, Chromium, postern through a link) inherits it, so a user's ~/.config/postern or
    ~/.local/state/postern/hosts.sqlite is never read, whoever runs the suite."""
    import atexit
    dirs = fresh_user_dirs(prefix="postern-test-home-")
    os.environ.update(dirs)
    atexit.register(shutil.rmtree, dirs["HOME"], True)


_sandbox_this_process()


def hermetic_env(env=None):
    """os.environ plus @env, with a fresh HOME and XDG folders for each variable @env does not
    set itself (a test that gives XDG_CONFIG_HOME keeps it, and still gets a fresh state).
    Returns (environment, folder to remove afterwards)."""
    e = dict(os.environ)
    e.pop("POSTERN_PASSWORD", None)
    fresh = fresh_user_dirs()
    for var in USER_DIR_VARS:
        if var != "HOME" and not (env and var in env):
            e[var] = fresh[var]
    e["HOME"] = fresh["HOME"]
    if env:
        e.update(env)
    return e, fresh["HOME"]


# --------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------

def free_port(host=LOOPBACK4):
    """A TCP port that is free on `host` right now (loopback only)."""
    assert host in (LOOPBACK4, LOOPBACK6), host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def closed_port(host=LOOPBACK4):
    """A port on which nothing listens (connecting gives ECONNREFUSED)."""
    return free_port(host)


def have_ipv6_loopback():
    """True if ::1 can be bound here (the OS has IPv6 on lo)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK6, 0))
        return True
    except OSError:
        return False


def wait_listening(host, port, timeout=20.0, proc=None):
    """Wait until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server process exited with {proc.returncode} before listening on {host}:{port}")
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect((host, port))
                return
        except OSError as e:
            last = e
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout}s: {last}")


def run(cmd, **kw):
    """subprocess.run with check=True and captured output; raises with output shown."""
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 60)
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        out = r.stdout.decode(errors="replace") if isinstance(r.stdout, bytes) else r.stdout
        err = r.stderr.decode(errors="replace") if isinstance(r.stderr, bytes) else r.stderr
        raise RuntimeError(f"command failed ({r.returncode}): {' '.join(cmd)}\nstdout: {out}\nstderr: {err}")
    return r


def _make_tempdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    # Postfix daemons (user postfix) and the pipe transport (user nobody) must
    # be able to traverse it.
    os.chmod(d, 0o755)
    return d


def _terminate(proc, grace=5.0):
    """Stop a process we started: SIGTERM, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)
    except ProcessLookupError:
        pass


def crlf_to_lf(data: bytes) -> bytes:
    """Normalise line ends the way the stored copy has them (LF only)."""
    return data.replace(b"\r\n", b"\n")


def to_crlf(data: bytes) -> bytes:
    """Every line end becomes CRLF (what goes on the wire)."""
    return crlf_to_lf(data).replace(b"\n", b"\r\n")


# --------------------------------------------------------------------------
# stored messages (common to Postfix and aiosmtpd stores)
# --------------------------------------------------------------------------

class StoredMessage:
    """One delivered message.

    data       the message bytes as sent by the client: for Postfix the
               Received: header Postfix prepended is removed and line ends are
               LF (Postfix' pipe transport writes LF); for aiosmtpd exactly the
               DATA bytes (CRLF) as received, after dot-unstuffing.
    raw        the file's bytes, unmodified
    sender     envelope sender (MAIL FROM), "" for the null sender
    recipients envelope recipients (RCPT TO), in order
    user       authenticated user (aiosmtpd only, else None)
    """

    def __init__(self, path, raw, meta, strip_received):
        self.path = path
        self.raw = raw
        self.meta = meta
        self.sender = meta.get("sender", "")
        self.recipients = list(meta.get("recipients", []))
        self.user = meta.get("user")
        self.data = strip_first_received(raw) if strip_received else raw

    def header(self, name):
        """First value of header `name` (unfolded, str) or None."""
        text = self.data.decode("utf-8", errors="replace").replace("\r\n", "\n")
        head = text.split("\n\n", 1)[0]
        m = re.search(r"^" + re.escape(name) + r":[ \t]*(.*(?:\n[ \t].*)*)", head, re.I | re.M)
        return re.sub(r"\n[ \t]+", " ", m.group(1)).strip() if m else None

    def __repr__(self):
        return f"<StoredMessage {os.path.basename(self.path)} from={self.sender!r} to={self.recipients!r} {len(self.data)} bytes>"


def strip_first_received(raw: bytes) -> bytes:
    """Remove the first header field if it is Received: (with its continuation lines).

    Postfix's smtpd prepends exactly one Received: header; anything after it,
    including Received: headers the client itself sent, is kept.
    """
    if not raw[:9].lower() == b"received:":
        return raw
    pos = 0
    while True:
        nl = raw.find(b"\n", pos)
        if nl < 0:
            return b""
        pos = nl + 1
        if pos >= len(raw) or raw[pos:pos + 1] not in (b" ", b"\t"):
            return raw[pos:]


class MessageStore:
    """A folder in which a server writes NAME.eml + NAME.json per message.

    The .json sidecar is written first and the .eml is renamed into place last,
    so a visible .eml is always complete.
    """

    def __init__(self, path, strip_received):
        self.path = path
        self.strip_received = strip_received

    def messages(self):
        out = []
        for name in sorted(os.listdir(self.path)):
            if not name.endswith(".eml"):
                continue
            p = os.path.join(self.path, name)
            with open(p, "rb") as f:
                raw = f.read()
            meta_path = p[:-4] + ".json"
            meta = {}
            if os.path.exists(meta_path):
                with open(meta_path, encoding="utf-8") as f:
                    meta = json.load(f)
            out.append(StoredMessage(p, raw, meta, self.strip_received))
        return out

    def clear(self):
        for name in os.listdir(self.path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.path, name))

    def wait_for_messages(self, n, timeout=30.0, rcpt=None, match=None):
        """Wait until at least n stored messages match; return the matching ones.

        rcpt:  keep only messages with this envelope recipient (case-insensitive)
        match: keep only messages for which match(msg) is true
        Raises AssertionError (with what *was* stored) after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self._select(rcpt, match)
            if len(found) >= n:
                return found
            if time.monotonic() >= deadline:
                all_msgs = self.messages()
                raise AssertionError(
                    f"expected {n} stored message(s) (rcpt={rcpt!r}) within {timeout}s, got {len(found)}; "
                    f"store holds {len(all_msgs)}: {all_msgs[:10]!r}{self._log_tail()}")
            time.sleep(0.05)

    def wait_for_recipients(self, rcpts, timeout=30.0, match=None):
        """Wait until the matching stored messages together name every address in
        rcpts (Postfix may deliver one message as several copies); return them."""
        want = {r.lower() for r in rcpts}
        deadline = time.monotonic() + timeout
        while True:
            msgs = self._select(None, match)
            msgs = [m for m in msgs if want & {r.lower() for r in m.recipients}]
            if want <= {r.lower() for m in msgs for r in m.recipients}:
                return msgs
            if time.monotonic() >= deadline:
                raise AssertionError(f"recipients {sorted(want)} not all stored within {timeout}s; "
                                     f"found {msgs!r}{self._log_tail()}")
            time.sleep(0.05)

    def assert_no_messages(self, wait=2.0, rcpt=None, match=None):
        """Wait `wait` seconds and assert no matching message was stored."""
        time.sleep(wait)
        found = self._select(rcpt, match)
        if found:
            raise AssertionError(f"expected no stored message (rcpt={rcpt!r}), found {found!r}")

    def _select(self, rcpt, match):
        msgs = self.messages()
        if rcpt is not None:
            msgs = [m for m in msgs if rcpt.lower() in (r.lower() for r in m.recipients)]
        if match is not None:
            msgs = [m for m in msgs if match(m)]
        return msgs

    def _log_tail(self):
        return ""


# --------------------------------------------------------------------------
# certificates
# --------------------------------------------------------------------------

class CertPair:
    def __init__(self, cert, key, chain=None):
        self.cert = cert      # PEM: leaf certificate only
        self.key = key        # PEM: private key (unencrypted)
        self.chain = chain or cert  # PEM: what a server should present (leaf [+ intermediates])

    def __repr__(self):
        return f"<CertPair {self.cert}>"


_CA_CNF = """\
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
default_md = sha256
default_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
commonName = supplied
organizationName = optional
"""

_LEAF_EXT = """\
[ ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {san}
"""

_CA_EXT = """\
[ ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

LOCALHOST_SAN = "DNS:localhost, IP:127.0.0.1, IP:::1"


class Certs:
    """Test PKI made with the openssl CLI in a temporary folder.

    ca_file        root CA certificate (PEM) — pass as --ca-file
    server         CertPair for CN=localhost, SAN localhost/127.0.0.1/::1,
                   RSA 2048, signed by the root CA
    expired        same names, validity 2020-01-01 .. 2021-01-01
    wrong_name     CN/SAN mail.example.net only
    self_signed    localhost names, self-signed (not under the CA)
    incomplete     leaf signed by an intermediate CA; .chain is the leaf ONLY
                   (server forgets the intermediate)
    full_chain     the same leaf; .chain is leaf + intermediate
    intermediate   the intermediate CA certificate (PEM)
    """

    def __init__(self, variants=True):
        self.variants = variants
        self.dir = None

    def __enter__(self):
        self.dir = _make_tempdir("postern-certs-")
        try:
            self._generate()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def _p(self, name):
        return os.path.join(self.dir, name)

    def _key_and_csr(self, name, cn):
        run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
             "-keyout", self._p(name + ".key"), "-out", self._p(name + ".csr"), "-subj", "/CN=" + cn])
        os.chmod(self._p(name + ".key"), 0o644)

    def _make_ca_db(self, ca):
        d = self._p(ca + ".db")
        os.makedirs(os.path.join(d, "newcerts"))
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write(os.urandom(8).hex().upper() + "\n")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write(_CA_CNF.format(dir=d))

    def _sign(self, ca, name, ext, start=None, end=None):
        extfile = self._p(name + ".ext")
        with open(extfile, "w") as f:
            f.write(ext)
        cmd = ["openssl", "ca", "-batch", "-notext", "-config", self._p(ca + ".db/ca.cnf"),
               "-cert", self._p(ca + ".crt"), "-keyfile", self._p(ca + ".key"),
               "-in", self._p(name + ".csr"), "-out", self._p(name + ".crt"),
               "-extfile", extfile, "-extensions", "ext"]
        if start:
            cmd += ["-startdate", start, "-enddate", end]
        else:
            cmd += ["-days", "3650"]
        run(cmd)
        return self._p(name + ".crt")

    def _cat(self, out, *parts):
        with open(self._p(out), "wb") as o:
            for p in parts:
                with open(p, "rb") as f:
                    o.write(f.read())
        return self._p(out)

    def _generate(self):
        # Root CA (self-signed).
        run(["openssl", "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
             "-keyout", self._p("ca.key"), "-out", self._p("ca.crt"), "-subj", "/O=postern tests/CN=postern test root CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        self._make_ca_db("ca")
        self.ca_file = self._p("ca.crt")

        self._key_and_csr("server", "localhost")
        self.server = CertPair(self._sign("ca", "server", _LEAF_EXT.format(san=LOCALHOST_SAN)), self._p("server.key"))
        if not self.variants:
            return

        self._key_and_csr("expired", "localhost")
        self.expired = CertPair(self._sign("ca", "expired", _LEAF_EXT.format(san=LOCALHOST_SAN),
                                           start="20200101000000Z", end="20210101000000Z"), self._p("expired.key"))

        self._key_and_csr("wrongname", "mail.example.net")
        self.wrong_name = CertPair(self._sign("ca", "wrongname", _LEAF_EXT.format(san="DNS:mail.example.net")),
                                   self._p("wrongname.key"))

        run(["openssl", "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
             "-keyout", self._p("selfsigned.key"), "-out", self._p("selfsigned.crt"), "-subj", "/CN=localhost",
             "-addext", "subjectAltName=" + LOCALHOST_SAN])
        os.chmod(self._p("selfsigned.key"), 0o644)
        self.self_signed = CertPair(self._p("selfsigned.crt"), self._p("selfsigned.key"))

        # Intermediate CA under the root, and a leaf under the intermediate.
        self._key_and_csr("inter", "postern test intermediate CA")
        self._sign("ca", "inter", _CA_EXT)
        self._make_ca_db("inter")
        self.intermediate = self._p("inter.crt")
        self._key_and_csr("chainleaf", "localhost")
        # Like every publicly issued leaf, it names its issuer's URL (AIA caIssuers); a lone leaf
        # is tls.cert.incomplete-chain with or without it (make_lone_leaf has none).
        leaf = self._sign("inter", "chainleaf", _LEAF_EXT.format(san=LOCALHOST_SAN) +
                          "authorityInfoAccess = caIssuers;URI:http://ca.invalid/intermediate.crt\n")
        self.incomplete = CertPair(leaf, self._p("chainleaf.key"), chain=leaf)
        self.full_chain = CertPair(leaf, self._p("chainleaf.key"),
                                   chain=self._cat("chainleaf-full.pem", leaf, self.intermediate))


# --------------------------------------------------------------------------
# Postfix
# --------------------------------------------------------------------------

_PIPE_SCRIPT = r'''import json, os, sys, time
# Postfix pipe(8) transport: stdin is the message (LF line ends), argv is
# STORE SENDER RECIPIENT...  Writes NAME.json then NAME.eml (renamed last).
store, sender, rcpts = sys.argv[1], sys.argv[2], sys.argv[3:]
data = sys.stdin.buffer.read()
name = "%020d-%d" % (time.time_ns(), os.getpid())
base = os.path.join(store, name)
with open(base + ".json", "w") as f:
    json.dump({"sender": sender, "recipients": rcpts, "size": len(data)}, f)
with open(base + ".tmp", "wb") as f:
    f.write(data)
os.rename(base + ".tmp", base + ".eml")
'''

_MASTER_CF_BASE = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
store     unix  -       n       n       -       -       pipe flags= user=nobody argv={python} {script} {store} ${{sender}} ${{recipient}}
"""

# Modern defaults: TLS 1.2/1.3 with the HIGH cipher list (ECDHE first).
_MODERN = "-o smtpd_tls_protocols=>=TLSv1.2 -o smtpd_tls_mandatory_protocols=>=TLSv1.2"
# A relay that speaks only TLS 1.2 with RSA key exchange (no forward secrecy).
_RSA_ONLY = ("-o smtpd_tls_protocols=!SSLv2,!SSLv3,!TLSv1,!TLSv1.1,!TLSv1.3"
             " -o smtpd_tls_mandatory_protocols=!SSLv2,!SSLv3,!TLSv1,!TLSv1.1,!TLSv1.3"
             " -o smtpd_tls_ciphers=high -o smtpd_tls_mandatory_ciphers=high"
             " -o tls_high_cipherlist=AES128-GCM-SHA256:AES256-GCM-SHA384"
             " -o smtpd_tls_exclude_ciphers=kECDHE,kDHE,aNULL")


class Postfix:
    """A private Postfix instance under a temporary folder (as root).

    Listeners (attributes hold the port numbers, host 127.0.0.1 unless noted):
      starttls   STARTTLS offered (not required), TLS 1.2/1.3, modern ciphers
      implicit   implicit TLS (smtpd_tls_wrappermode=yes), TLS 1.2/1.3
      rsa_only   implicit TLS, ONLY TLS 1.2 with RSA key exchange
                 (AES128-GCM-SHA256, AES256-GCM-SHA384), TLS 1.3 refused
      plain      no TLS at all (EHLO without STARTTLS)
      ipv6       STARTTLS on [::1] (None if the OS has no ::1)
      cert_ports dict variant -> implicit-TLS port presenting that certificate
                 ('expired', 'wrong_name', 'self_signed', 'incomplete', 'full_chain')
                 when certs has variants
    Every accepted message goes to the `store` pipe transport (or is discarded
    with deliver="discard") and lands in self.store (MessageStore).
    """

    def __init__(self, certs, deliver="store", ipv6=None, extra_main=None):
        self.certs = certs
        self.deliver = deliver
        self.ipv6_wanted = have_ipv6_loopback() if ipv6 is None else ipv6
        self.extra_main = extra_main or {}
        self.base = None
        self.started = False

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("a private Postfix instance needs root")
        if not os.path.exists("/usr/sbin/postfix"):
            raise unittest.SkipTest("postfix is not installed (scripts/setup.sh)")
        self.base = _make_tempdir("postern-postfix-")
        try:
            self._configure()
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            if self.started:
                subprocess.run(["/usr/sbin/postfix", "-c", self.conf, "stop"], capture_output=True, timeout=30)
                self._wait_master_gone(15)
        finally:
            self._kill_master()
            if self.base and not os.environ.get("POSTERN_KEEP_TMP"):
                shutil.rmtree(self.base, ignore_errors=True)
        return False

    # -- configuration -----------------------------------------------------
    def _configure(self):
        b = self.base
        self.conf = os.path.join(b, "etc")
        self.queue = os.path.join(b, "queue")
        self.data = os.path.join(b, "data")
        self.store_dir = os.path.join(b, "store")
        self.log_file = os.path.join(b, "log", "postfix.log")
        for d in (self.conf, self.queue, self.data, self.store_dir, os.path.dirname(self.log_file)):
            os.makedirs(d)
        os.chmod(self.store_dir, 0o1777)
        import pwd
        pw = pwd.getpwnam("postfix")
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        self.store = PostfixStore(self.store_dir, self)
        script = os.path.join(b, "store_pipe.py")
        with open(script, "w") as f:
            f.write(_PIPE_SCRIPT)
        os.chmod(script, 0o755)

        self.starttls = free_port()
        self.implicit = free_port()
        self.rsa_only = free_port()
        self.plain = free_port()
        self.ipv6 = free_port(LOOPBACK6) if self.ipv6_wanted else None
        c = self.certs
        self.cert_ports = {}
        variants = {}
        if getattr(c, "variants", False):
            for v in ("expired", "wrong_name", "self_signed", "incomplete", "full_chain"):
                self.cert_ports[v] = free_port()
                variants[v] = getattr(c, v)

        transport = "store:postern-store" if self.deliver == "store" else "discard:postern-discard"
        main = {
            "compatibility_level": "3.6",
            "config_directory": self.conf,
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postern-test.localhost",
            "mydomain": "localhost",
            "myorigin": "$myhostname",
            "mydestination": "",
            "relay_domains": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "all" if self.ipv6_wanted else "ipv4",
            "mynetworks": "127.0.0.0/8 [::1]/128" if self.ipv6_wanted else "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_recipient_restrictions": "permit_mynetworks, reject",
            "default_transport": transport,
            "relay_transport": transport,
            "local_transport": transport,
            "virtual_transport": transport,
            # Leave the message alone: no header/address rewriting, no added headers.
            "local_header_rewrite_clients": "",
            "remote_header_rewrite_domain": "",
            "always_add_missing_headers": "no",
            "append_dot_mydomain": "no",
            "receive_override_options": "no_address_mappings, no_header_body_checks, no_milters, no_unknown_recipient_checks",
            "message_size_limit": "104857600",
            "mailbox_size_limit": "0",
            "smtputf8_enable": "yes",
            "smtpd_peername_lookup": "no",
            "in_flow_delay": "0s",
            "smtpd_junk_command_limit": "100000",
            "smtpd_error_sleep_time": "0s",
            "smtpd_soft_error_limit": "1000",
            "smtpd_hard_error_limit": "1000",
            "smtpd_banner": "$myhostname ESMTP postern-test",
            "biff": "no",
            "queue_minfree": "0",
            "notify_classes": "",
            "smtpd_tls_cert_file": c.server.cert,
            "smtpd_tls_key_file": c.server.key,
            "smtpd_tls_security_level": "may",
            "smtpd_tls_loglevel": "1",
            "smtpd_tls_received_header": "yes",
            "smtpd_tls_session_cache_database": "",
            "maillog_file": self.log_file,
            "maillog_file_prefixes": self.base,
            "smtputf8_autodetect_classes": "sendmail, verify",
        }
        main.update(self.extra_main)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write(f"{k} = {v}\n")

        tls = f"-o smtpd_tls_security_level=may {_MODERN}"
        wrap = "-o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt"
        lines = [
            _MASTER_CF_BASE.format(python=DEBIAN_PYTHON, script=script, store=self.store_dir),
            f"127.0.0.1:{self.starttls} inet n - n - - smtpd {tls}",
            f"127.0.0.1:{self.implicit} inet n - n - - smtpd {wrap} {_MODERN}",
            f"127.0.0.1:{self.rsa_only} inet n - n - - smtpd {wrap} {_RSA_ONLY}",
            f"127.0.0.1:{self.plain} inet n - n - - smtpd -o smtpd_tls_security_level=none",
        ]
        if self.ipv6:
            lines.append(f"[::1]:{self.ipv6} inet n - n - - smtpd {tls}")
        for v, port in self.cert_ports.items():
            pair = variants[v]
            lines.append(f"127.0.0.1:{port} inet n - n - - smtpd {wrap} {_MODERN} "
                         f"-o smtpd_tls_cert_file={pair.chain} -o smtpd_tls_key_file={pair.key}")
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def _start(self):
        r = subprocess.run(["/usr/sbin/postfix", "-c", self.conf, "start"], capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed ({r.returncode}):\n{r.stdout.decode()}{r.stderr.decode()}{self.log_tail()}")
        self.started = True
        ports = [(LOOPBACK4, p) for p in (self.starttls, self.implicit, self.rsa_only, self.plain)]
        ports += [(LOOPBACK4, p) for p in self.cert_ports.values()]
        if self.ipv6:
            ports.append((LOOPBACK6, self.ipv6))
        for host, port in ports:
            try:
                wait_listening(host, port, timeout=20)
            except RuntimeError as e:
                raise RuntimeError(f"{e}{self.log_tail()}") from None

    def _master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _wait_master_gone(self, timeout):
        pid = self._master_pid()
        deadline = time.monotonic() + timeout
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def _kill_master(self):
        """Last resort when `postfix stop` did not work: kill OUR master by pid."""
        if not self.base:
            return
        pid = self._master_pid()
        if not pid:
            return
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"master" not in f.read():
                    return  # pid file stale, the pid belongs to someone else now
            os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass

    # -- helpers -----------------------------------------------------------
    def log_tail(self, n=40):
        try:
            with open(self.log_file, errors="replace") as f:
                lines = f.readlines()[-n:]
            return "\n--- postfix log (tail) ---\n" + "".join(lines)
        except OSError:
            return ""

    def log_text(self):
        """The whole Postfix log of this instance (str)."""
        try:
            with open(self.log_file, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_for_messages(self, n, timeout=30.0, rcpt=None, match=None):
        return self.store.wait_for_messages(n, timeout, rcpt=rcpt, match=match)


class PostfixStore(MessageStore):
    def __init__(self, path, postfix):
        super().__init__(path, strip_received=True)
        self.postfix = postfix

    def _log_tail(self):
        return self.postfix.log_tail()


# --------------------------------------------------------------------------
# aiosmtpd
# --------------------------------------------------------------------------

class _ProcessServer:
    """A test server run as one child process with a log file under its own temp folder
    (self.proc, self._log, self.base): stopping it is the same for every kind."""

    def __exit__(self, *exc):
        _terminate(self.proc)
        if getattr(self, "_log", None):
            self._log.close()
        if self.base and not os.environ.get("POSTERN_KEEP_TMP"):
            shutil.rmtree(self.base, ignore_errors=True)
        return False

    def log_label(self):
        """What log_tail() calls the log: the server's name."""
        return type(self).__name__

    def log_text(self):
        """The whole log file (self.log_path), "" when there is none yet."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=40):
        """The last n lines of the log, headed for an assertion message."""
        return f"\n--- {self.log_label()} log (tail) ---\n" + "\n".join(self.log_text().splitlines()[-n:])


class Aiosmtpd(_ProcessServer):
    """aiosmtpd with AUTH (servers/aiosmtpd_server.py) run by Debian's python3.

      starttls   STARTTLS port, AUTH PLAIN and LOGIN only after STARTTLS
                 (auth_require_tls=True)
      implicit   implicit-TLS port with AUTH PLAIN and LOGIN
      plain      no TLS at all, AUTH PLAIN/LOGIN offered in plaintext (a badly
                 configured server: the client must refuse to authenticate)
      users      {user: password}
      store      MessageStore (data = DATA bytes as received, CRLF; .user = AUTH user)
    """

    DEFAULT_USERS = {"alice": "s3cret", "bob": "pa ss:wörd"}

    def __init__(self, certs, users=None, auth_required=False):
        self.certs = certs
        self.users = dict(users or self.DEFAULT_USERS)
        self.auth_required = auth_required
        self.base = None
        self.proc = None

    def __enter__(self):
        self.base = _make_tempdir("postern-aiosmtpd-")
        try:
            self.store_dir = os.path.join(self.base, "store")
            os.makedirs(self.store_dir)
            self.store = MessageStore(self.store_dir, strip_received=False)
            users_file = os.path.join(self.base, "users.json")
            with open(users_file, "w") as f:
                json.dump(self.users, f)
            self.starttls = free_port()
            self.implicit = free_port()
            self.plain = free_port()
            self.log_path = os.path.join(self.base, "server.log")
            cmd = [DEBIAN_PYTHON, os.path.join(SERVERS, "aiosmtpd_server.py"),
                   "--host", LOOPBACK4, "--starttls-port", str(self.starttls),
                   "--implicit-port", str(self.implicit), "--plain-port", str(self.plain), "--cert", self.certs.server.cert,
                   "--key", self.certs.server.key, "--users", users_file, "--store", self.store_dir]
            if self.auth_required:
                cmd.append("--auth-required")
            self._log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
            wait_listening(LOOPBACK4, self.starttls, proc=self.proc)
            wait_listening(LOOPBACK4, self.implicit, proc=self.proc)
            wait_listening(LOOPBACK4, self.plain, proc=self.proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def auth_attempts(self):
        """Lines the server logged for each AUTH it evaluated ("AUTH MECH user=... -> ok|FAILED")."""
        return [l for l in self.log_text().splitlines() if "aiosmtpd_server INFO AUTH " in l]

    def wait_for_messages(self, n, timeout=30.0, rcpt=None, match=None):
        return self.store.wait_for_messages(n, timeout, rcpt=rcpt, match=match)


# --------------------------------------------------------------------------
# misbehaving server
# --------------------------------------------------------------------------

FAULTS = ("starttls-injection", "silent", "endless-ehlo", "long-line", "drop-after-dot",
          "reject-some", "no-starttls", "slow-greeting", "busy-every-third",
          "weaker-after-first", "slow-data", "three-per-connection")


class Faulty(_ProcessServer):
    """servers/faulty.py with one named fault on a free 127.0.0.1 port.

    port, store (MessageStore: data = DATA bytes CRLF after dot-unstuffing),
    log_tail() — the server logs each connection's events.
    """

    def __init__(self, fault, certs=None):
        assert fault in FAULTS, fault
        self.fault = fault
        self.certs = certs
        self.base = None
        self.proc = None

    def __enter__(self):
        self.base = _make_tempdir("postern-faulty-")
        try:
            self.store_dir = os.path.join(self.base, "store")
            os.makedirs(self.store_dir)
            self.store = MessageStore(self.store_dir, strip_received=False)
            self.port = free_port()
            self.log_path = os.path.join(self.base, "server.log")
            cmd = [DEBIAN_PYTHON, os.path.join(SERVERS, "faulty.py"), "--fault", self.fault,
                   "--host", LOOPBACK4, "--port", str(self.port), "--store", self.store_dir]
            if self.certs is not None:
                cmd += ["--cert", self.certs.server.cert, "--key", self.certs.server.key]
            self._log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self):
        # Don't probe with connect(): some faults keep a connection busy.
        ready = os.path.join(self.base, "store", ".ready")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"faulty.py exited with {self.proc.returncode}{self.log_tail()}")
            if os.path.exists(ready):
                return
            time.sleep(0.02)
        raise RuntimeError("faulty.py did not get ready" + self.log_tail())

    def wait_for_messages(self, n, timeout=30.0, rcpt=None, match=None):
        return self.store.wait_for_messages(n, timeout, rcpt=rcpt, match=match)


# --------------------------------------------------------------------------
# running postern
# --------------------------------------------------------------------------

ERROR_LINE = re.compile(r"^postern: error \[([A-Za-z0-9_.\-]+)\]: (.*)$", re.M)


def postern_bin():
    """Path of the postern binary: env POSTERN_BIN, else <source>/build/postern."""
    p = os.environ.get("POSTERN_BIN")
    if not p:
        src = os.environ.get("POSTERN_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
        p = os.path.join(src, "build", "postern")
    return p


def require_postern(testcase_or_none=None):
    p = postern_bin()
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        raise unittest.SkipTest(f"postern binary not found at {p} (set POSTERN_BIN)")
    return p


class PosternResult:
    """Outcome of one postern run: exit_code, stdout, stderr (str), json (dict or None),
    error_code (CAUSE.CODE from the stderr error line or None), cmd, elapsed (s),
    max_rss_kb (peak resident memory of the postern process)."""

    def __init__(self, cmd, proc, elapsed):
        self.cmd = cmd
        self.exit_code = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", errors="replace")
        self.stderr = proc.stderr.decode("utf-8", errors="replace")
        self.elapsed = elapsed
        self.max_rss_kb = getattr(proc, "max_rss_kb", None)  # peak resident set of postern, KiB
        self.json = None
        self.json_error = None
        if "--json" in cmd:
            try:
                self.json = json.loads(self.stdout)
            except ValueError as e:
                self.json_error = str(e)
        m = ERROR_LINE.search(self.stderr)
        self.error_code = m.group(1) if m else None
        self.error_text = m.group(2) if m else None

    def describe(self):
        """Everything one needs to read a failure: command, exit code, stdout, stderr."""
        def clip(s, n=6000):
            return s if len(s) <= n else s[:n // 2] + f"\n... [{len(s) - n} chars clipped] ...\n" + s[-n // 2:]
        return (f"\n$ {' '.join(_shell_quote(a) for a in self.cmd)}\nexit code: {self.exit_code}  "
                f"({self.elapsed:.2f}s, peak RSS {self.max_rss_kb} KiB)\n--- stdout ---\n{clip(self.stdout)}\n--- stderr ---\n{clip(self.stderr)}\n")


def _shell_quote(a):
    import shlex
    return shlex.quote(a) if len(a) < 200 else shlex.quote(a[:100] + "...")


def run_postern(args, input=None, env=None, timeout=180):
    """Run `postern ARGS...`; never raises on a non-zero exit.

    input: bytes for stdin (stdin is /dev/null when None)
    env:   extra environment variables (POSTERN_PASSWORD is removed unless given here)
    """
    cmd = [require_postern()] + list(args)
    # postern remembers each host's strongest route: a fresh HOME, config and memory per call
    # keeps tests independent (tests of the memory itself pass --state or their own XDG_STATE_HOME).
    e, home = hermetic_env(env)
    t0 = time.monotonic()
    try:
        proc = _run_with_rusage(cmd, input, e, timeout)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return PosternResult(cmd, proc, time.monotonic() - t0)


class _Completed:
    pass


def _run_with_rusage(cmd, input, env, timeout):
    """Like subprocess.run(capture_output=True) but also returns the child's peak RSS."""
    import threading
    rss_file = None
    if os.path.exists("/usr/bin/time"):
        # ru_maxrss of a child forked from this (large) Python process keeps the
        # pre-exec high-water mark; GNU time's %M measures postern alone.
        fd, rss_file = tempfile.mkstemp(prefix="postern-rss-")
        os.close(fd)
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + list(cmd)
    # Its own process group, so a timeout kills postern too, not only /usr/bin/time.
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    bufs = {"out": [], "err": []}

    def pump(stream, key):
        for chunk in iter(lambda: stream.read(65536), b""):
            bufs[key].append(chunk)

    threads = [threading.Thread(target=pump, args=(p.stdout, "out"), daemon=True),
               threading.Thread(target=pump, args=(p.stderr, "err"), daemon=True)]
    if input is not None:
        def feed():
            try:
                p.stdin.write(input)
                p.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        threads.append(threading.Thread(target=feed, daemon=True))
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            pid, status, ru = os.wait4(p.pid, 0)
            p.returncode = -9
            for t in threads:
                t.join(5)
            raise subprocess.TimeoutExpired(cmd, timeout, b"".join(bufs["out"]), b"".join(bufs["err"]))
        time.sleep(0.01)
    for t in threads:
        t.join(30)
    c = _Completed()
    c.returncode = os.waitstatus_to_exitcode(status)
    p.returncode = c.returncode  # tell Popen the child is reaped
    c.stdout = b"".join(bufs["out"])
    c.stderr = b"".join(bufs["err"])
    c.max_rss_kb = None
    if rss_file:
        try:
            with open(rss_file) as f:
                words = f.read().split()
            # "Command exited with non-zero status N" precedes the number.
            c.max_rss_kb = int(words[-1]) if words and words[-1].isdigit() else None
        finally:
            os.unlink(rss_file)
    return c


class PosternTestCase(unittest.TestCase):
    """unittest.TestCase with assertions that show postern's output on failure."""

    maxDiff = 4000

    def assertExit(self, res, code, msg=""):
        self.assertEqual(res.exit_code, code, f"unexpected exit code {msg}{res.describe()}")

    def assertOk(self, res):
        self.assertExit(res, 0)
        if res.json is not None:
            self.assertIs(res.json.get("ok"), True, res.describe())

    def assertFailure(self, res, exit_code, codes):
        """Exit code equals exit_code; the stderr error line names one of `codes`
        (a str or a tuple of acceptable CAUSE.CODEs)."""
        if isinstance(codes, str):
            codes = (codes,)
        self.assertExit(res, exit_code, f"(expected {exit_code} with {'/'.join(codes)})")
        self.assertIn(res.error_code, codes,
                      f"stderr error line should name {' or '.join(codes)}{res.describe()}")
        lines = [l for l in res.stderr.splitlines() if l.startswith("postern: error [")]
        self.assertEqual(len(lines), 1, f"expected exactly one 'postern: error [...]' line{res.describe()}")

    def assertJson(self, res):
        self.assertIsNotNone(res.json, f"stdout is not one JSON object ({res.json_error}){res.describe()}")
        return res.json

    def assertJsonError(self, res, exit_code, codes):
        """--json run failed: ok false, exit_code field, error.code in codes."""
        if isinstance(codes, str):
            codes = (codes,)
        j = self.assertJson(res)
        self.assertIs(j.get("ok"), False, res.describe())
        self.assertEqual(j.get("exit_code"), exit_code, res.describe())
        self.assertIsInstance(j.get("error"), dict, res.describe())
        self.assertIn(j["error"].get("code"), codes, res.describe())
        return j

    def assertSameMessage(self, sent: bytes, stored: "StoredMessage", crlf_stored=False):
        """The stored copy equals what was sent, modulo line ends.

        sent may use LF or CRLF line ends. Postfix stores LF (crlf_stored=False);
        aiosmtpd/faulty store the wire bytes, CRLF (crlf_stored=True).
        """
        want = to_crlf(sent) if crlf_stored else crlf_to_lf(sent)
        got = stored.data
        if want == got:
            return
        # Locate the first difference for a readable message.
        i = next((k for k in range(min(len(want), len(got))) if want[k] != got[k]), min(len(want), len(got)))
        self.fail(f"stored message differs from the sent one at byte {i} "
                  f"(sent {len(want)} bytes, stored {len(got)}):\n"
                  f"  sent:   {want[max(0, i - 60):i + 60]!r}\n  stored: {got[max(0, i - 60):i + 60]!r}\n"
                  f"  stored file: {stored.path}")


def write_file(directory, name, data: bytes):
    p = os.path.join(directory, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


# --------------------------------------------------------------------------
# restricted TLS listeners (servers/tls_listener.py) and openssl s_server,
# for the diagnosis tests (test_doctor.py)
# --------------------------------------------------------------------------

# Named configurations of servers/tls_listener.py and the cause each one is
# built to produce for a client with the strict profile. Keys are
# TlsListener keyword arguments; dhparams=True means "ffdhe2048 generated in
# the listener's temporary folder".
TLS_LISTENER_PRESETS = {
    # TLS 1.2 with finite-field DHE only (ffdhe2048)               -> tls.kx.dhe-only
    "dhe_only": dict(max_version="TLSv1_2", dhparams=True,
                     ciphers="DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"),
    # TLS 1.2, ECDHE but CBC ciphers only                          -> tls.cipher.cbc-only
    "cbc_only": dict(max_version="TLSv1_2", ciphers="ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES128-SHA"),
    # TLS 1.0 and 1.1 only                                         -> tls.version.too-old
    "too_old": dict(min_version="TLSv1", max_version="TLSv1_1", ciphers="DEFAULT", seclevel0=True),
    # TLS 1.2 ECDHE-RSA-AES128-GCM, signs only with RSA+SHA1       -> tls.sigalg.sha1-only
    "sha1_only": dict(max_version="TLSv1_2", ciphers="ECDHE-RSA-AES128-GCM-SHA256", seclevel0=True,
                      sigalgs="RSA+SHA1"),
    # TLS 1.2, demands a client certificate                        -> tls.client-cert-required
    "client_cert": dict(max_version="TLSv1_2", require_client_cert=True),
    # TLS 1.2 with RSA key exchange only (like the legacy relay)   -> tls.kx.rsa-only
    "rsa_only": dict(max_version="TLSv1_2", ciphers="AES128-GCM-SHA256:AES256-GCM-SHA384"),
    # control: the same script with Python's/OpenSSL's defaults (TLS 1.2/1.3, ECDHE+AEAD) -> healthy
    "modern": dict(),
    # STARTTLS listener, modern TLS                                -> healthy with --starttls
    "modern_starttls": dict(mode="starttls"),
    # plaintext; EHLO offers STARTTLS; MAIL before TLS gets 530 5.7.0 -> smtp.starttls-required (--plain)
    "starttls_required": dict(mode="plain", behaviour="starttls-required"),
    # plaintext; closes the connection right after accept()       -> net.closed
    "close_on_accept": dict(mode="plain", behaviour="close-on-accept"),
    # plaintext; greets, then closes before answering EHLO        -> net.closed
    "close_after_greeting": dict(mode="plain", behaviour="close-after-greeting"),
    # plaintext; the greeting is an HTTP response                 -> smtp.bad-reply
    "bad_greeting": dict(mode="plain", behaviour="bad-greeting"),
}


def make_dhparams(path):
    """RFC 7919 ffdhe2048 parameters (PEM "DH PARAMETERS"); instant, nothing is generated."""
    run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "dh_param:ffdhe2048", "-out", path])
    return path


def make_not_yet_valid(certs):
    """A localhost certificate under the test CA valid only from 2090: tls.cert.not-yet-valid.

    Written into certs.dir (removed with it); returns a CertPair.
    """
    if getattr(certs, "not_yet_valid", None):
        return certs.not_yet_valid
    certs._key_and_csr("notyet", "localhost")
    crt = certs._sign("ca", "notyet", _LEAF_EXT.format(san=LOCALHOST_SAN),
                      start="20900101000000Z", end="20950101000000Z")
    certs.not_yet_valid = CertPair(crt, certs._p("notyet.key"))
    return certs.not_yet_valid


_CLIENT_EXT = """\
[ ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def make_client_certs(certs):
    """Client certificates for tls.client-cert-required and SASL EXTERNAL (written into certs.dir).

    certs.client          CertPair, CN=postern test client, clientAuth, signed by the test root CA
                          (the CA the client-certificate servers trust); .both = cert + key in one file
    certs.foreign_client  CertPair, CN=postern stranger, under a second, unrelated root CA
    """
    if getattr(certs, "client", None):
        return certs.client
    certs._key_and_csr("client", "postern test client")
    certs.client = CertPair(certs._sign("ca", "client", _CLIENT_EXT), certs._p("client.key"))
    certs.client.both = certs._cat("client-both.pem", certs.client.cert, certs.client.key)
    run(["openssl", "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-keyout", certs._p("otherca.key"), "-out", certs._p("otherca.crt"),
         "-subj", "/O=postern tests/CN=postern other root CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    certs._make_ca_db("otherca")
    certs._key_and_csr("stranger", "postern stranger")
    certs.foreign_client = CertPair(certs._sign("otherca", "stranger", _CLIENT_EXT), certs._p("stranger.key"))
    return certs.client


def make_lone_leaf(certs):
    """A localhost leaf under the test intermediate WITHOUT an issuer URL (no AIA), served alone
    (.chain is the leaf only): tls.cert.incomplete-chain whether or not a leaf names its issuer.
    Needs Certs(variants=True) (the intermediate)."""
    if getattr(certs, "lone_leaf", None):
        return certs.lone_leaf
    certs._key_and_csr("loneleaf", "localhost")
    leaf = certs._sign("inter", "loneleaf", _LEAF_EXT.format(san=LOCALHOST_SAN))
    certs.lone_leaf = CertPair(leaf, certs._p("loneleaf.key"), chain=leaf)
    return certs.lone_leaf


class AiosmtpdClientCert(_ProcessServer):
    """servers/aiosmtpd_clientcert.py: aiosmtpd demanding a client certificate issued by the test
    CA (ssl.CERT_REQUIRED) on an implicit-TLS and a STARTTLS port; AUTH offers only EXTERNAL,
    which succeeds with that certificate. max_version "TLSv1_2" keeps TLS 1.3 out.

      implicit, starttls   ports
      store                MessageStore; each message's meta has client_cn, auth_cn, authzid
      auth_attempts()      the "AUTH EXTERNAL cn=... authzid=... -> ok|FAILED" lines
    """

    def __init__(self, certs, max_version=None):
        self.certs = certs
        self.max_version = max_version
        self.base = None
        self.proc = None

    def __enter__(self):
        self.base = _make_tempdir("postern-aiosmtpd-cc-")
        try:
            self.store_dir = os.path.join(self.base, "store")
            os.makedirs(self.store_dir)
            self.store = MessageStore(self.store_dir, strip_received=False)
            self.implicit = free_port()
            self.starttls = free_port()
            self.log_path = os.path.join(self.base, "server.log")
            cmd = [DEBIAN_PYTHON, os.path.join(SERVERS, "aiosmtpd_clientcert.py"), "--host", LOOPBACK4,
                   "--implicit-port", str(self.implicit), "--starttls-port", str(self.starttls),
                   "--cert", self.certs.server.cert, "--key", self.certs.server.key,
                   "--client-ca", self.certs.ca_file, "--store", self.store_dir]
            if self.max_version:
                cmd += ["--max-version", self.max_version]
            self._log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
            wait_listening(LOOPBACK4, self.implicit, proc=self.proc)
            wait_listening(LOOPBACK4, self.starttls, proc=self.proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def auth_attempts(self):
        return [l for l in self.log_text().splitlines() if "AUTH EXTERNAL" in l]

    def wait_for_messages(self, n, timeout=30.0, rcpt=None, match=None):
        return self.store.wait_for_messages(n, timeout, rcpt=rcpt, match=match)


class TlsListener(_ProcessServer):
    """servers/tls_listener.py (Debian's python3 + system OpenSSL) on a free 127.0.0.1 port:
    a minimal SMTP server (greeting, EHLO, MAIL/RCPT/DATA/RSET/NOOP/QUIT; messages are
    discarded) behind a deliberately restricted TLS configuration.

      TlsListener(certs, preset="dhe_only")     one of TLS_LISTENER_PRESETS
      TlsListener(certs, ciphers=..., max_version="TLSv1_2", ...)   explicit

    Keyword arguments: pair (CertPair, default certs.server), ciphers, seclevel0,
    min_version, max_version (TLSv1 TLSv1_1 TLSv1_2 TLSv1_3), dhparams (path, or True
    for ffdhe2048), sigalgs ("RSA+SHA1"), require_client_cert (client CA = certs.ca_file),
    mode ("tls" implicit, "starttls", "plain"), behaviour (see the script).

    port, mode, name, log_text(), log_tail(), handshakes() (the "TLS established"/
    "TLS handshake failed" lines the server logged).
    """

    def __init__(self, certs, preset=None, **kw):
        self.certs = certs
        self.name = preset or "custom"
        opts = dict(TLS_LISTENER_PRESETS[preset]) if preset else {}
        opts.update(kw)
        self.opts = opts
        self.mode = opts.get("mode", "tls")
        self.base = None
        self.proc = None
        self.port = None

    def log_label(self):
        return f"tls_listener.py {self.name} :{self.port}"

    def __enter__(self):
        self.base = _make_tempdir("postern-tlslistener-")
        try:
            o = self.opts
            pair = o.get("pair") or self.certs.server
            self.port = o.get("port") or free_port()   # a fixed port: the same "host" changing its TLS
            self.log_path = os.path.join(self.base, "server.log")
            ready = os.path.join(self.base, ".ready")
            cmd = [DEBIAN_PYTHON, "-W", "ignore::DeprecationWarning", os.path.join(SERVERS, "tls_listener.py"),
                   "--host", LOOPBACK4, "--port", str(self.port), "--cert", pair.chain, "--key", pair.key,
                   "--behaviour", o.get("behaviour", "normal"), "--ready", ready]
            if self.mode == "starttls":
                cmd.append("--starttls")
            elif self.mode == "plain":
                cmd.append("--plain")
            elif self.mode != "tls":
                raise ValueError(f"mode {self.mode!r}")
            if o.get("ciphers"):
                cmd += ["--ciphers", o["ciphers"]]
            if o.get("seclevel0"):
                cmd.append("--seclevel0")
            if o.get("min_version"):
                cmd += ["--min-version", o["min_version"]]
            if o.get("max_version"):
                cmd += ["--max-version", o["max_version"]]
            dh = o.get("dhparams")
            if dh is True:
                dh = make_dhparams(os.path.join(self.base, "dh.pem"))
            if dh:
                cmd += ["--dhparams", dh]
            if o.get("sigalgs"):
                cmd += ["--sigalgs", o["sigalgs"]]
            if o.get("require_client_cert"):
                cmd += ["--require-client-cert", "--client-ca", self.certs.ca_file]
            if o.get("auth"):
                cmd.append("--auth")
            self.cmd = cmd
            self._log = open(self.log_path, "wb")
            env = dict(os.environ, TMPDIR=self.base)  # the --sigalgs OpenSSL config goes there
            self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
            # Wait for the ready file rather than connecting (a probe connection
            # would be logged as a failed handshake).
            deadline = time.monotonic() + 20
            while not os.path.exists(ready):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"tls_listener.py ({self.name}) exited with {self.proc.returncode}{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"tls_listener.py ({self.name}) did not get ready{self.log_tail()}")
                time.sleep(0.02)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def handshakes(self):
        return [l for l in self.log_text().splitlines() if "TLS established" in l or "TLS handshake failed" in l]


class OpensslServer(_ProcessServer):
    """`openssl s_server` on a free 127.0.0.1 port with extra options, e.g. the
    SHA-1-only signer:

        OpensslServer(certs, ["-tls1_2", "-sigalgs", "RSA+SHA1",
                              "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"])

    It does not speak SMTP: stdin is /dev/null, so after a handshake completes
    s_server reads EOF from stdin and closes that connection (sending nothing),
    then accepts the next one (one connection at a time). Good only for
    handshake-level checks; TlsListener(preset="sha1_only") is the SMTP-speaking
    equivalent. port, log_tail().
    """

    def __init__(self, certs, options, pair=None):
        self.certs = certs
        self.options = list(options)
        self.pair = pair or certs.server
        self.base = None
        self.proc = None

    def __enter__(self):
        self.base = _make_tempdir("postern-sserver-")
        try:
            self.port = free_port()
            self.log_path = os.path.join(self.base, "s_server.log")
            self._log = open(self.log_path, "wb")
            self.cmd = ["openssl", "s_server", "-accept", f"{LOOPBACK4}:{self.port}", "-cert", self.pair.chain,
                        "-key", self.pair.key, "-quiet"] + self.options
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT)
            # A probe connect is harmless here (s_server logs an error and goes on).
            wait_listening(LOOPBACK4, self.port, proc=self.proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return f"\n--- openssl s_server :{self.port} log (tail) ---\n" + "".join(f.readlines()[-n:])
        except OSError:
            return ""


def _is_allowed_doctor_host(host):
    return host in (LOOPBACK4, LOOPBACK6, "localhost") or host.endswith(".invalid")


def run_doctor(host, port, ports, mode=None, ca_file=None, tls_name=None, timeout=None, json_out=True,
               extra=(), run_timeout=60):
    """Run `postern doctor HOST:PORT ... --ports LIST`.

    ports is REQUIRED (an int, or a list of ints): the list of other ports doctor may
    try for secure alternatives. It always replaces the defaults (465, 587, 25), so a
    test never touches real mail ports. host must be loopback (or a *.invalid name
    that cannot resolve). mode: "tls", "starttls", "plain" or None (doctor's default).
    A run longer than run_timeout seconds is killed (result.timed_out, exit_code None).
    """
    if ports is None or ports == [] or ports == ():
        raise ValueError("run_doctor needs an explicit --ports list (loopback test ports)")
    if not _is_allowed_doctor_host(host):
        raise ValueError(f"doctor target {host!r} is not loopback")
    if isinstance(ports, int):
        ports = [ports]
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    args = ["doctor", target]
    if mode:
        assert mode in ("tls", "starttls", "plain"), mode
        args.append("--" + mode)
    if ca_file:
        args += ["--ca-file", ca_file]
    if tls_name:
        args += ["--tls-name", tls_name]
    if timeout is not None:
        args += ["--timeout", str(timeout)]
    args += ["--ports", ",".join(str(p) for p in ports)]
    if json_out:
        args.append("--json")
    return run_postern_bounded(args + list(extra), timeout=run_timeout)


def run_postern_bounded(args, timeout=60, env=None):
    """Like run_postern, but a run that exceeds `timeout` does not raise: the whole
    process group (GNU time and postern) is killed and the result has
    timed_out=True, exit_code None, and whatever output came so far — so the test
    fails with the usual description and no postern process is left behind.
    """
    import threading
    cmd = [require_postern()] + list(args)
    # A fresh HOME and host memory per call, as in run_postern, removed when it is done.
    e, home = hermetic_env(env)
    rss_file = None
    full = list(cmd)
    if os.path.exists("/usr/bin/time"):
        fd, rss_file = tempfile.mkstemp(prefix="postern-rss-")
        os.close(fd)
        full = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + full
    t0 = time.monotonic()
    p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=e, start_new_session=True)
    bufs = {"out": [], "err": []}

    def pump(stream, key):
        for chunk in iter(lambda: stream.read(65536), b""):
            bufs[key].append(chunk)

    threads = [threading.Thread(target=pump, args=(p.stdout, "out"), daemon=True),
               threading.Thread(target=pump, args=(p.stderr, "err"), daemon=True)]
    for t in threads:
        t.start()
    timed_out = False
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)  # our own new session: GNU time and postern only
        p.wait()
    for t in threads:
        t.join(10)
    p.stdout.close()
    p.stderr.close()
    c = _Completed()
    c.returncode = None if timed_out else p.returncode
    c.stdout = b"".join(bufs["out"])
    c.stderr = b"".join(bufs["err"])
    if timed_out:
        c.stderr += f"\n[harness: killed after {timeout}s without finishing]\n".encode()
    c.max_rss_kb = None
    if rss_file:
        try:
            with open(rss_file) as f:
                words = f.read().split()
            c.max_rss_kb = int(words[-1]) if words and words[-1].isdigit() else None
        finally:
            os.unlink(rss_file)
    shutil.rmtree(home, ignore_errors=True)
    res = PosternResult(cmd, c, time.monotonic() - t0)
    res.timed_out = timed_out
    return res


# --------------------------------------------------------------------------
# `postern probe` tests (test_probe.py) and bench/probe: reference scanners
# and clients — sslscan, testssl, openssl s_client, the rustls client,
# headless chromium. Only loopback targets.
# --------------------------------------------------------------------------

# TLS 1.2 only, ciphers in a deliberately unusual server order (CBC first,
# then the GCM/ChaCha suites out of strength order); the server's order wins.
TLS_LISTENER_PRESETS["server_order"] = dict(
    max_version="TLSv1_2",
    ciphers="ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256")

RUSTLS_CLIENT_SRC = os.path.join(HERE, "rustls_client")
RUSTLS_CLIENT_BUILD = os.environ.get("POSTERN_RUSTLS_CLIENT_DIR", "/tmp/postern-rustls-client")
_rustls_client = {}
_openssl_ciphers = {}


def _require_loopback(host):
    if host not in (LOOPBACK4, LOOPBACK6, "localhost"):
        raise ValueError(f"target {host!r} is not loopback")


def rustls_client_path():
    """Path of the reference rustls client (tests/integration/rustls_client), built on first
    use with Debian's cargo from Debian's packaged crates, offline, into RUSTLS_CLIENT_BUILD
    (env POSTERN_RUSTLS_CLIENT_DIR; kept between runs, rebuilt when a source changed).

    Raises SkipTest only when the toolchain or the packaged crates are missing (cargo's
    error included); any other build failure raises RuntimeError.
    """
    if "path" in _rustls_client:
        return _rustls_client["path"]
    if "skip" in _rustls_client:
        raise unittest.SkipTest(_rustls_client["skip"])
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(RUSTLS_CLIENT_SRC, "build.sh"), RUSTLS_CLIENT_BUILD],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        err = r.stderr.strip()
        missing = (r.returncode == 3 or "no matching package named" in err or "failed to select a version" in err
                   or "failed to load source for dependency" in err)
        if missing:
            _rustls_client["skip"] = f"rustls client cannot be built here (Debian crates/toolchain missing): {err[-1500:]}"
            raise unittest.SkipTest(_rustls_client["skip"])
        raise RuntimeError(f"building the rustls client failed ({r.returncode}):\n{err[-4000:]}")
    _rustls_client["path"] = r.stdout.strip().splitlines()[-1]
    _rustls_client["build_seconds"] = time.monotonic() - t0
    return _rustls_client["path"]


def run_rustls_client(host, port, ca_file, starttls=False, tls_name=None, timeout=60):
    """Handshake with rustls' default configuration; returns its JSON line as a dict
    ({"ok": True, "version": "TLSv1_3", "suite": "TLS13_..."} or {"ok": False, "error": ...})."""
    _require_loopback(host)
    cmd = [rustls_client_path(), host, str(port), ca_file]
    if starttls:
        cmd.append("starttls")
    if tls_name:
        cmd.append(tls_name)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"rustls_client printed no JSON ({r.returncode}): {r.stdout!r} {r.stderr!r}")
    out["exit_code"] = r.returncode
    return out


def rustls_suite_to_iana(name):
    """rustls' Debug name of a suite -> IANA name (TLS13_AES_256_GCM_SHA384 -> TLS_AES_256_GCM_SHA384)."""
    return "TLS_" + name[len("TLS13_"):] if name.startswith("TLS13_") else name


def rustls_version_to_postern(v):
    """TLSv1_3 -> TLSv1.3"""
    return v.replace("_", ".")


def suite_code(code):
    """'0x009C', '0x9c', 'x9c', 0x9c, '0x00,0x9C' -> 0x009c as int."""
    if isinstance(code, int):
        return code
    c = code.strip().lower().replace(",0x", "").replace(",", "")
    if c.startswith("0x"):
        c = c[2:]
    elif c.startswith("x"):
        c = c[1:]
    return int(c, 16)


def openssl_cipher_table():
    """{code int: (openssl name, protocol column)} of every suite this OpenSSL knows
    (`openssl ciphers -V ALL:COMPLEMENTOFALL:@SECLEVEL=0`)."""
    if _openssl_ciphers:
        return _openssl_ciphers
    r = run(["openssl", "ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"], text=True)
    table = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*0x([0-9A-Fa-f]{2}),0x([0-9A-Fa-f]{2}) - (\S+)\s+(\S+)", line)
        if m:
            table[int(m.group(1) + m.group(2), 16)] = (m.group(3), m.group(4))
    _openssl_ciphers.update(table)
    return table


def run_sslscan(port, host=LOOPBACK4, starttls=False, timeout=120):
    """`sslscan --no-colour --xml=-` (with --starttls-smtp for STARTTLS ports), parsed:
    {"protocols": {"TLSv1.2": True, ...}, "ciphers": {(version, code int), ...},
     "preferred": {version: code}, "groups": {(version, name), ...}, "certs": [dict], "xml": text,
     "elapsed": s}"""
    import xml.etree.ElementTree as ET
    _require_loopback(host)
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    cmd = ["sslscan", "--no-colour", "--xml=-"] + (["--starttls-smtp"] if starttls else []) + [target]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - t0
    xml_text = r.stdout[r.stdout.find("<?xml"):] if "<?xml" in r.stdout else r.stdout
    root = ET.fromstring(xml_text)
    test = root.find("ssltest")
    if test is None:
        raise RuntimeError(f"sslscan gave no <ssltest> ({r.returncode}): {r.stdout[-2000:]} {r.stderr[-2000:]}")
    out = {"protocols": {}, "ciphers": set(), "preferred": {}, "groups": set(), "certs": [], "xml": xml_text,
           "elapsed": elapsed, "cmd": cmd}
    for p in test.findall("protocol"):
        name = ("SSLv" if p.get("type") == "ssl" else "TLSv") + p.get("version")
        out["protocols"][name] = p.get("enabled") == "1"
    for c in test.findall("cipher"):
        code = suite_code(c.get("id"))
        out["ciphers"].add((c.get("sslversion"), code))
        if c.get("status") == "preferred":
            out["preferred"][c.get("sslversion")] = code
    for g in test.findall("group"):
        out["groups"].add((g.get("sslversion"), g.get("name").split(" ")[0]))
    for cert in test.iter("certificate"):
        d = {child.tag: (child.text or "").strip() for child in cert}
        pk = cert.find("pk")
        if pk is not None:
            d["pk_type"], d["pk_bits"] = pk.get("type"), pk.get("bits")
        out["certs"].append(d)
    return out


TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")


def run_testssl(port, json_file, host=LOOPBACK4, starttls=False, timeout=300):
    """`testssl --quiet --color 0 -E` (each cipher per protocol) offline: --ip given,
    --nodns min, --warnings off (no prompts). Returns {"ciphers": {(version, code)},
    "elapsed": s, "exit_code", "stdout", "cmd"}. Raises SkipTest if testssl is missing."""
    _require_loopback(host)
    if not TESTSSL:
        raise unittest.SkipTest("testssl / testssl.sh is not installed (scripts/setup.sh)")
    cmd = ["timeout", str(timeout), TESTSSL, "--quiet", "--color", "0", "-E", "--ip", host, "--nodns", "min",
           "--warnings", "off", "--jsonfile-pretty", json_file]
    if starttls:
        cmd += ["--starttls", "smtp"]
    cmd.append(f"{host}:{port}")
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30)
    out = {"elapsed": time.monotonic() - t0, "exit_code": r.returncode, "stdout": r.stdout + r.stderr,
           "cmd": cmd, "ciphers": set()}
    versions = {"ssl2": "SSLv2", "ssl3": "SSLv3", "tls1": "TLSv1.0", "tls1_1": "TLSv1.1", "tls1_2": "TLSv1.2",
                "tls1_3": "TLSv1.3"}
    try:
        with open(json_file) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        out["error"] = f"no JSON from testssl: {e}"
        return out
    for scan in data.get("scanResult", []):
        for item in scan.get("cipherTests", []):
            m = re.match(r"cipher-(ssl2|ssl3|tls1|tls1_1|tls1_2|tls1_3)_x([0-9a-fA-F]+)$", item.get("id", ""))
            if m:
                out["ciphers"].add((versions[m.group(1)], int(m.group(2), 16)))
    return out


def openssl_negotiate(port, openssl_names, version="-tls1_2", host=LOOPBACK4, starttls=False, timeout=30):
    """Suite an `openssl s_client VERSION -cipher LIST` handshake negotiates (OpenSSL name),
    or None when the handshake fails. The order of openssl_names is the client's preference."""
    _require_loopback(host)
    cmd = ["openssl", "s_client", "-connect", f"{host}:{port}", version, "-brief",
           "-cipher", ":".join(openssl_names) + ":@SECLEVEL=0"]
    if starttls:
        cmd += ["-starttls", "smtp"]
    r = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=timeout)
    m = re.search(r"^Ciphersuite: (\S+)", r.stdout + r.stderr, re.M)
    return m.group(1) if m else None


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(url_or_path, mode="dump-dom", out=None, timeout=90):
    """Headless chromium, no network services: mode "dump-dom" returns the DOM as text;
    mode "screenshot" writes a PNG to `out`. Raises SkipTest if chromium is missing."""
    if not CHROMIUM:
        raise unittest.SkipTest("chromium is not installed (scripts/setup.sh)")
    url = url_or_path if "://" in url_or_path else "file://" + os.path.abspath(url_or_path)
    profile = tempfile.mkdtemp(prefix="postern-chromium-")
    try:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", "--user-data-dir=" + profile]
        if mode == "dump-dom":
            cmd.append("--dump-dom")
        elif mode == "screenshot":
            cmd += ["--screenshot=" + out, "--window-size=1280,2000", "--hide-scrollbars"]
        else:
            raise ValueError(mode)
        cmd.append(url)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, start_new_session=True)
        if r.returncode != 0:
            raise RuntimeError(f"chromium failed ({r.returncode}): {r.stderr[-2000:]}")
        return r.stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def x509_fields(cert_file):
    """Fields of a PEM certificate via the openssl CLI: subject/issuer (RFC 2253), sans
    (list as printed), key_bits, key_type, signature_algorithm, not_before/not_after (str)."""
    r = run(["openssl", "x509", "-in", cert_file, "-noout", "-subject", "-issuer", "-startdate", "-enddate",
             "-nameopt", "RFC2253", "-ext", "subjectAltName", "-text"], text=True)
    t = r.stdout
    f = {}
    f["subject"] = re.search(r"^subject=(.*)$", t, re.M).group(1).strip()
    f["issuer"] = re.search(r"^issuer=(.*)$", t, re.M).group(1).strip()
    f["not_before"] = re.search(r"^notBefore=(.*)$", t, re.M).group(1).strip()
    f["not_after"] = re.search(r"^notAfter=(.*)$", t, re.M).group(1).strip()
    m = re.search(r"X509v3 Subject Alternative Name:.*?\n\s*(.*)", t)
    f["sans"] = [s.strip() for s in m.group(1).split(",")] if m else []
    m = re.search(r"Public-Key: \((\d+) bit\)", t)
    f["key_bits"] = int(m.group(1)) if m else None
    m = re.search(r"Public Key Algorithm: (\S+)", t)
    f["key_type"] = m.group(1) if m else None
    m = re.search(r"Signature Algorithm: (\S+)", t)
    f["signature_algorithm"] = m.group(1) if m else None
    return f


# --------------------------------------------------------------------------
# proxies (docs/proxy.md): each its own process, config and log in a temp folder
# --------------------------------------------------------------------------

class Dante(_ProcessServer):
    """Dante's SOCKS5 server (danted, Debian dante-server) on 127.0.0.1:self.port, no
    authentication, going out from 127.0.0.1.

      blocked   ports on 127.0.0.1 a `socks block` rule refuses (SOCKS5 reply 2,
                "connection not allowed by ruleset")
    As root it needs `user.privileged` / `user.unprivileged`; nothing else of the system is used.
    """

    def __init__(self, blocked=()):
        self.blocked = list(blocked)
        self.base = None
        self.proc = None

    def __enter__(self):
        self.base = _make_tempdir("postern-dante-")
        try:
            self.port = free_port()
            self.log_path = os.path.join(self.base, "danted.log")
            conf = os.path.join(self.base, "danted.conf")
            rules = [f"logoutput: {self.log_path}", f"internal: {LOOPBACK4} port = {self.port}",
                     f"external: {LOOPBACK4}", "clientmethod: none", "socksmethod: none",
                     "user.privileged: root", "user.unprivileged: nobody",
                     "client pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  log: connect disconnect error\n}"]
            for p in self.blocked:
                rules.append(f"socks block {{\n  from: 0.0.0.0/0 to: {LOOPBACK4}/32 port = {p}\n"
                             "  log: connect error\n}")
            rules.append("socks pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n"
                         "  log: connect disconnect error\n}")
            with open(conf, "w") as f:
                f.write("\n".join(rules) + "\n")
            self._log = open(os.path.join(self.base, "danted.out"), "wb")
            self.proc = subprocess.Popen(["danted", "-f", conf, "-p", os.path.join(self.base, "danted.pid")],
                                         stdout=self._log, stderr=subprocess.STDOUT)
            wait_listening(LOOPBACK4, self.port, proc=self.proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    @property
    def url(self):
        return f"socks5://{LOOPBACK4}:{self.port}"

    def connections_to(self, port):
        """Log lines of CONNECTs dante relayed to 127.0.0.1:port."""
        return [l for l in self.log_text().splitlines()
                if "tcp/connect [" in l and l.rstrip().endswith(f"127.0.0.1.{port}")]


class Microsocks(_ProcessServer):
    """microsocks (Debian microsocks) on 127.0.0.1:self.port, requiring RFC 1929 user
    name/password authentication with (user, password)."""

    def __init__(self, user="proxyuser", password="proxy-s3cret"):
        self.user, self.password = user, password
        self.base = None
        self.proc = None

    def __enter__(self):
        self.base = _make_tempdir("postern-microsocks-")
        try:
            self.port = free_port()
            self._log = open(os.path.join(self.base, "microsocks.log"), "wb")
            self.proc = subprocess.Popen(["microsocks", "-i", LOOPBACK4, "-p", str(self.port), "-u", self.user,
                                          "-P", self.password], stdout=self._log, stderr=subprocess.STDOUT)
            wait_listening(LOOPBACK4, self.port, proc=self.proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def url(self, user=None, password=None):
        return f"socks5://{user or self.user}:{password or self.password}@{LOOPBACK4}:{self.port}"


class Tinyproxy(_ProcessServer):
    """tinyproxy (Debian tinyproxy) as an HTTP CONNECT proxy on 127.0.0.1:self.port, in the
    foreground (-d) with its own config.

      connect_ports   the only ports CONNECT may reach (ConnectPort); others get 403
      auth            (user, password) for BasicAuth, or None
    """

    def __init__(self, connect_ports, auth=None):
        self.connect_ports = list(connect_ports)
        self.auth = auth
        self.base = None
        self.proc = None

    def __enter__(self):
        self.base = _make_tempdir("postern-tinyproxy-")
        try:
            self.port = free_port()
            self.log_path = os.path.join(self.base, "tinyproxy.log")
            conf = os.path.join(self.base, "tinyproxy.conf")
            lines = [f"Port {self.port}", f"Listen {LOOPBACK4}", "Timeout 60", f'LogFile "{self.log_path}"',
                     "LogLevel Info", f'PidFile "{os.path.join(self.base, "tinyproxy.pid")}"', "MaxClients 50",
                     f"Allow {LOOPBACK4}", "DisableViaHeader Yes"]
            lines += [f"ConnectPort {p}" for p in self.connect_ports]
            if self.auth:
                lines.append(f"BasicAuth {self.auth[0]} {self.auth[1]}")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            self._log = open(os.path.join(self.base, "tinyproxy.out"), "wb")
            self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", conf], stdout=self._log,
                                         stderr=subprocess.STDOUT)
            wait_listening(LOOPBACK4, self.port, proc=self.proc)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def url(self, user=None, password=None):
        if user is None and self.auth:
            user, password = self.auth
        cred = f"{user}:{password}@" if user else ""
        return f"http://{cred}{LOOPBACK4}:{self.port}"

    def connects_to(self, port):
        """CONNECT requests tinyproxy logged for port."""
        return [l for l in self.log_text().splitlines() if "CONNECT" in l and f":{port} HTTP/" in l]


class ScriptedProxy:
    """A fake proxy on 127.0.0.1:self.port (a thread in this process) for what real proxies
    do not do: `silent` accepts and never answers; `endless-headers` answers CONNECT with
    200 and then header lines forever (self.sent counts the bytes it wrote)."""

    def __init__(self, behaviour):
        assert behaviour in ("silent", "endless-headers"), behaviour
        self.behaviour = behaviour
        self.sent = 0
        self._stop = False

    def __enter__(self):
        import threading
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((LOOPBACK4, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._conns = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self):
        import threading
        while not self._stop:
            try:
                c, _ = self._sock.accept()
            except OSError:
                continue
            self._conns.append(c)
            if self.behaviour == "endless-headers":
                threading.Thread(target=self._flood, args=(c,), daemon=True).start()

    def _flood(self, c):
        try:
            c.settimeout(5)
            c.recv(4096)
            c.sendall(b"HTTP/1.1 200 Connection established\r\n")
            self.sent += 38
            line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
            while not self._stop:
                c.sendall(line)
                self.sent += len(line)
        except OSError:
            pass

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join(5)
        for c in self._conns:
            with contextlib.suppress(OSError):
                c.close()
        self._sock.close()
        return False
