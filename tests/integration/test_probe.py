"""`postern probe`: the TLS/SMTP profile of a server, checked against independent tools
on real servers on loopback.

Servers (started once for the module):
  Postfix        implicit, starttls, plain, rsa_only, cert_ports (expired, wrong_name,
                 self_signed, incomplete, full_chain)
  Aiosmtpd       plain port (AUTH offered before any TLS)
  TlsListener    dhe_only, cbc_only, too_old, server_order (harness presets)

References:
  sslscan        (system OpenSSL 3.0) accepted (version, suite code) pairs, protocols,
                 groups — every TLS port
  testssl -E     the same pairs, on ONE server (Postfix implicit; ~30-60 s)
  openssl        s_client negotiations (server preference, first suite); x509 of the
                 harness certificate (chain fields)
  rustls_client  tests/integration/rustls_client, rustls 0.20 from Debian's crates with
                 its default configuration: postern's "rustls" client row must predict it
  chromium       headless rendering of --html (DOM and a screenshot)

Each distinct probe invocation runs once per module (cached); every run is bounded.
Suites are compared by their two-byte code, which needs no OpenSSL<->IANA name mapping.
Only 127.0.0.1 is ever a target.
"""

import datetime
import html.parser
import ipaddress
import os
import re
import shutil
import tempfile
import unittest

import harness
from harness import PosternTestCase

certs = postfix = aio = None
listeners = {}
tmpdir = None
_probe_cache = {}

LISTENER_PRESETS = ("dhe_only", "cbc_only", "too_old", "server_order")
FAMILIES = ("rustls", "go", "openssl", "python", "java17", "node", "postern-strict", "postern-compat",
            "postern-legacy")
VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
MODES = ("tls", "starttls", "plain", "closed")
EX_UNAVAILABLE = 69


def setUpModule():
    global certs, postfix, aio, tmpdir
    harness.require_postern()
    helped = harness.run_postern_bounded(["probe", "--help"], timeout=30)
    if helped.exit_code != 0 or not re.search(r"^Usage: \S+ probe\b", helped.stdout, re.M):
        raise unittest.SkipTest(f"this postern binary has no `probe` subcommand ({harness.postern_bin()})")
    enter = unittest.enterModuleContext
    certs = enter(harness.Certs(variants=True))
    postfix = enter(harness.Postfix(certs))
    aio = enter(harness.Aiosmtpd(certs))
    for name in LISTENER_PRESETS:
        listeners[name] = enter(harness.TlsListener(certs, preset=name))
    tmpdir = tempfile.mkdtemp(prefix="postern-probe-test-")
    unittest.addModuleCleanup(shutil.rmtree, tmpdir, True)


def ports():
    """name -> port of every server the module started."""
    p = {"implicit": postfix.implicit, "starttls": postfix.starttls, "plain": postfix.plain,
         "rsa_only": postfix.rsa_only, "aiosmtpd_plain": aio.plain}
    p.update({n: l.port for n, l in listeners.items()})
    p.update({"cert_" + n: port for n, port in postfix.cert_ports.items()})
    return p


def probe(*port_names, ca=True, extra=(), timeout=120):
    """Run `postern probe 127.0.0.1:PORT... --json [--ca-file CA] EXTRA` once per distinct
    argument list (cached for the module). port_names are keys of ports() or ints."""
    targets = []
    for n in port_names:
        port = n if isinstance(n, int) else ports()[n]
        targets.append(f"127.0.0.1:{port}")
    args = ["probe", *targets, "--json", "--timeout", "10"]
    if ca:
        args += ["--ca-file", certs.ca_file]
    args += list(extra)
    key = tuple(args)
    if key not in _probe_cache:
        _probe_cache[key] = harness.run_postern_bounded(args, timeout=timeout)
    return _probe_cache[key]


class ProbeCase(PosternTestCase):

    def target(self, res, port_name):
        """The entry of targets[] for that port (checks the JSON shape on the way)."""
        port = port_name if isinstance(port_name, int) else ports()[port_name]
        w = res.describe()
        self.assertFalse(getattr(res, "timed_out", False), f"postern probe did not finish{w}")
        self.assertIsNotNone(res.json, f"stdout is not one JSON object ({res.json_error}){w}")
        self.assertIsInstance(res.json.get("targets"), list, w)
        found = [t for t in res.json["targets"] if int(t.get("port", -1)) == port]
        self.assertEqual(len(found), 1, f"expected one targets[] entry for port {port}{w}")
        t = found[0]
        self.assertEqual(t.get("host"), "127.0.0.1", w)
        self.assertIn(t.get("mode"), MODES, w)
        return t

    def probe_target(self, name, **kw):
        res = probe(name, **kw)
        t = self.target(res, name)
        if t["mode"] != "closed":
            self.assertExit(res, 0)
        return res, t

    @staticmethod
    def accepted(t):
        """{(version, code int)} of every suite postern lists as accepted."""
        return {(s["version"], harness.suite_code(s["code"])) for s in t.get("suites", [])}

    @staticmethod
    def fmt_pairs(pairs):
        table = harness.openssl_cipher_table()
        return ", ".join(f"{v} 0x{c:04X} {table.get(c, ('?',))[0]}" for v, c in sorted(pairs)) or "(none)"

    def client(self, t, family, res):
        rows = [c for c in t.get("clients", []) if c.get("family") == family]
        self.assertEqual(len(rows), 1, f"expected one clients[] row for {family}{res.describe()}")
        return rows[0]


# --------------------------------------------------------------------------
# SMTP layer: modes, banner, EHLO, AUTH before TLS
# --------------------------------------------------------------------------

class Modes(ProbeCase):

    def test_implicit_tls(self):
        res, t = self.probe_target("implicit")
        self.assertEqual(t["mode"], "tls", res.describe())
        self.assertTrue(t.get("banner", "").strip(), f"empty banner{res.describe()}")
        self.assertIn("PIPELINING", [e.split()[0].upper() for e in t.get("ehlo_after_tls", []) if e.strip()],
                      res.describe())

    def test_starttls(self):
        res, t = self.probe_target("starttls")
        self.assertEqual(t["mode"], "starttls", res.describe())
        self.assertTrue(t.get("banner", "").strip(), res.describe())
        before = [e.split()[0].upper() for e in t.get("ehlo_before_tls", []) if e.strip()]
        after = [e.split()[0].upper() for e in t.get("ehlo_after_tls", []) if e.strip()]
        self.assertIn("STARTTLS", before, res.describe())
        self.assertIn("PIPELINING", after, res.describe())
        self.assertNotIn("STARTTLS", after, f"STARTTLS offered again after TLS?{res.describe()}")
        self.assertIs(t.get("auth_before_tls"), False, res.describe())
        self.assertTrue(t.get("suites"), f"a STARTTLS port's suites must be enumerated{res.describe()}")

    def test_plain(self):
        res, t = self.probe_target("plain")
        self.assertEqual(t["mode"], "plain", res.describe())
        self.assertTrue(t.get("banner", "").strip(), res.describe())
        self.assertFalse(t.get("suites"), f"a plaintext port has no TLS suites{res.describe()}")

    def test_closed_port(self):
        port = harness.closed_port()
        res = probe(port)
        self.assertExit(res, EX_UNAVAILABLE)
        t = self.target(res, port)
        self.assertEqual(t["mode"], "closed", res.describe())

    def test_closed_and_open_together(self):
        """One unreachable target makes the exit 69, the other is still profiled."""
        port = harness.closed_port()
        res = probe("rsa_only", port)
        self.assertExit(res, EX_UNAVAILABLE)
        self.assertEqual(self.target(res, port)["mode"], "closed", res.describe())
        self.assertEqual(self.target(res, "rsa_only")["mode"], "tls", res.describe())

    def test_auth_before_tls(self):
        """aiosmtpd's plain port offers AUTH PLAIN/LOGIN without any TLS."""
        res, t = self.probe_target("aiosmtpd_plain")
        self.assertEqual(t["mode"], "plain", res.describe())
        self.assertIs(t.get("auth_before_tls"), True, res.describe())
        self.assertTrue(any(re.match(r"AUTH\b", e.upper()) for e in t.get("ehlo_before_tls", [])), res.describe())
        text = " ".join(str(f) for f in t.get("findings", [])).lower()
        self.assertIn("auth", text, f"no finding about AUTH offered before TLS{res.describe()}")


# --------------------------------------------------------------------------
# Suites and versions: sslscan and testssl
# --------------------------------------------------------------------------

class SuitesAgreeWithSslscan(ProbeCase):
    """The accepted (version, suite code) pairs and versions equal sslscan's."""

    def check(self, name, starttls=False):
        res, t = self.probe_target(name)
        scan = harness.run_sslscan(ports()[name], starttls=starttls)
        ours, theirs = self.accepted(t), scan["ciphers"]
        self.assertTrue(theirs, f"sslscan found no suite on {name}: {scan['xml'][-1500:]}")
        self.assertEqual(
            ours, theirs,
            f"{name}: suites differ from sslscan's\n  only postern: {self.fmt_pairs(ours - theirs)}\n"
            f"  only sslscan: {self.fmt_pairs(theirs - ours)}{res.describe()}")
        versions = {v["version"]: v["accepted"] for v in t.get("versions", [])}
        for v in ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"):
            if v in versions or scan["protocols"].get(v):
                self.assertEqual(bool(versions.get(v)), scan["protocols"].get(v, False),
                                 f"{name}: {v} accepted={versions.get(v)} but sslscan says "
                                 f"{scan['protocols'].get(v)}{res.describe()}")
        # every suite's version is an accepted version; codes unique per version
        for s in t.get("suites", []):
            self.assertIn(s["version"], VERSIONS, res.describe())
            self.assertTrue(versions.get(s["version"]), f"suite under a version not accepted: {s}{res.describe()}")
        self.assertEqual(len(t["suites"]), len(ours), f"duplicate suites{res.describe()}")
        return res, t, scan

    def test_postfix_implicit(self):
        self.check("implicit")

    def test_postfix_starttls(self):
        self.check("starttls", starttls=True)

    def test_rsa_only(self):
        res, t, _ = self.check("rsa_only")
        names = {s["name"] for s in t["suites"]}
        self.assertEqual(names, {"TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384"},
                         res.describe())
        for s in t["suites"]:
            self.assertEqual(s.get("kx"), "RSA", res.describe())

    def test_dhe_only(self):
        res, t, _ = self.check("dhe_only")
        for s in t["suites"]:
            self.assertIn("DHE", str(s.get("kx")).upper(), res.describe())

    def test_cbc_only(self):
        self.check("cbc_only")

    def test_too_old(self):
        scan = harness.run_sslscan(ports()["too_old"])
        if not (scan["protocols"].get("TLSv1.0") or scan["protocols"].get("TLSv1.1")):
            self.skipTest("sslscan's OpenSSL does not offer TLS 1.0/1.1 here")
        res, t, _ = self.check("too_old")
        self.assertFalse({v for v, _ in self.accepted(t)} - {"TLSv1.0", "TLSv1.1"}, res.describe())

    def test_server_order_listener(self):
        self.check("server_order")

    def test_suite_fields(self):
        res, t = self.probe_target("implicit")
        table = harness.openssl_cipher_table()
        for s in t["suites"]:
            self.assertRegex(s["code"], r"^0x[0-9A-F]{4}$", f"code format {s}{res.describe()}")
            self.assertRegex(s["name"], r"^TLS_[A-Za-z0-9_]+$", f"IANA name expected: {s}{res.describe()}")
            self.assertIsInstance(s.get("bits"), int, res.describe())
            self.assertIn(harness.suite_code(s["code"]), table, f"unknown code {s}")
        by_code = {harness.suite_code(s["code"]): s["name"] for s in t["suites"]}
        # TLS 1.3 names are IANA names in OpenSSL's table too
        for code, name in by_code.items():
            if code >> 8 == 0x13:
                self.assertEqual(name, table[code][0], res.describe())
        self.assertEqual(by_code.get(0xC02F), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", res.describe())
        self.assertIsInstance(t.get("elapsed_ms"), (int, float), res.describe())


class SuitesAgreeWithTestssl(ProbeCase):
    """testssl -E (every cipher per protocol) on ONE server: Postfix implicit."""

    def test_postfix_implicit(self):
        if os.environ.get("POSTERN_SKIP_TESTSSL"):
            self.skipTest("POSTERN_SKIP_TESTSSL is set")
        res, t = self.probe_target("implicit")
        out = harness.run_testssl(ports()["implicit"], os.path.join(tmpdir, "testssl.json"))
        if out.get("error") or out["exit_code"] not in (0,) and not out["ciphers"]:
            self.fail(f"testssl did not produce results ({out['exit_code']}, {out.get('error')}):\n"
                      f"{out['stdout'][-3000:]}")
        ours, theirs = self.accepted(t), out["ciphers"]
        self.assertEqual(ours, theirs,
                         f"suites differ from testssl's ({out['elapsed']:.0f}s)\n"
                         f"  only postern: {self.fmt_pairs(ours - theirs)}\n"
                         f"  only testssl: {self.fmt_pairs(theirs - ours)}{res.describe()}")


# --------------------------------------------------------------------------
# Server order
# --------------------------------------------------------------------------

class Order(ProbeCase):
    TARGETS = ("implicit", "rsa_only", "dhe_only", "cbc_only", "server_order")

    def test_order_is_1_to_n_per_version(self):
        for name in self.TARGETS + ("too_old", "starttls"):
            with self.subTest(name):
                res, t = self.probe_target(name)
                per = {}
                for s in t["suites"]:
                    per.setdefault(s["version"], []).append(s.get("order"))
                for v, orders in per.items():
                    self.assertTrue(all(isinstance(o, int) for o in orders), f"{v}: {orders}{res.describe()}")
                    self.assertEqual(sorted(orders), list(range(1, len(orders) + 1)),
                                     f"{name} {v}: order values are not 1..n{res.describe()}")

    def openssl_truth(self, name, t):
        """(server_prefers, first suite code) for TLS 1.2 by offering the accepted TLS 1.2
        suites to openssl s_client in two opposite orders."""
        table = harness.openssl_cipher_table()
        codes = sorted(c for v, c in self.accepted(t) if v == "TLSv1.2")
        names = [table[c][0] for c in codes if c in table]
        if len(names) < 2:
            return None, None
        rev = {n: c for c, (n, _) in table.items()}
        a = harness.openssl_negotiate(ports()[name], names)
        b = harness.openssl_negotiate(ports()[name], list(reversed(names)))
        self.assertIsNotNone(a, f"openssl s_client could not connect to {name}")
        return a == b, rev.get(a)

    def test_server_preference_and_first_suite(self):
        for name in self.TARGETS:
            with self.subTest(name):
                res, t = self.probe_target(name)
                prefers, first = self.openssl_truth(name, t)
                if prefers is None:
                    continue
                self.assertIs(t.get("server_preference"), prefers,
                              f"{name}: openssl s_client sees server_preference={prefers}{res.describe()}")
                if prefers:
                    tls12 = [s for s in t["suites"] if s["version"] == "TLSv1.2"]
                    top = min(tls12, key=lambda s: s["order"])
                    self.assertEqual(harness.suite_code(top["code"]), first,
                                     f"{name}: order 1 is {top['name']}, openssl negotiates 0x{first:04X}"
                                     f"{res.describe()}")

    def test_server_order_listener_full_order(self):
        """The listener's configured cipher order, in IANA names."""
        res, t = self.probe_target("server_order")
        tls12 = sorted((s for s in t["suites"] if s["version"] == "TLSv1.2"), key=lambda s: s["order"])
        self.assertIs(t.get("server_preference"), True, res.describe())
        self.assertEqual([s["name"] for s in tls12],
                         ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
                         res.describe())


# --------------------------------------------------------------------------
# Client matrix: the rustls row against the real rustls
# --------------------------------------------------------------------------

class RustlsRow(ProbeCase):

    def check(self, name, starttls=False, expect_ok=None):
        rust = harness.run_rustls_client("127.0.0.1", ports()[name], certs.ca_file, starttls=starttls)
        res, t = self.probe_target(name)
        row = self.client(t, "rustls", res)
        w = f"\nreal rustls: {rust}{res.describe()}"
        if expect_ok is not None:
            self.assertIs(rust["ok"], expect_ok, f"the real rustls client's outcome changed{w}")
        self.assertIs(row.get("ok"), rust["ok"], f"{name}: postern's rustls row disagrees with rustls{w}")
        if rust["ok"]:
            self.assertEqual(row.get("version"), harness.rustls_version_to_postern(rust["version"]), w)
            self.assertEqual(row.get("suite"), harness.rustls_suite_to_iana(rust["suite"]), w)
        else:
            self.assertTrue(row.get("code"), f"a failing row names its cause code{w}")
        return row, rust, res

    def test_implicit(self):
        self.check("implicit", expect_ok=True)

    def test_starttls(self):
        self.check("starttls", starttls=True, expect_ok=True)

    def test_rsa_only(self):
        row, rust, res = self.check("rsa_only", expect_ok=False)
        self.assertIn(row["code"], ("tls.kx.rsa-only", "tls.handshake-failed"), res.describe())

    def test_dhe_only(self):
        row, rust, res = self.check("dhe_only", expect_ok=False)
        self.assertIn(row["code"], ("tls.kx.dhe-only", "tls.handshake-failed"), res.describe())

    def test_cbc_only(self):
        row, rust, res = self.check("cbc_only", expect_ok=False)
        self.assertIn(row["code"], ("tls.cipher.cbc-only", "tls.handshake-failed"), res.describe())

    def test_too_old(self):
        row, rust, res = self.check("too_old", expect_ok=False)
        self.assertIn(row["code"], ("tls.version.too-old", "tls.handshake-failed"), res.describe())

    def test_server_order(self):
        """The server picks by its own order among what rustls offers: AES256-GCM, not its CBC first."""
        row, rust, res = self.check("server_order", expect_ok=True)
        self.assertEqual(row.get("suite"), "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", res.describe())

    def test_matrix_has_every_family(self):
        res, t = self.probe_target("implicit")
        fams = [c.get("family") for c in t.get("clients", [])]
        self.assertEqual(sorted(fams), sorted(FAMILIES), res.describe())
        for c in t["clients"]:
            self.assertIsInstance(c.get("ok"), bool, res.describe())


# --------------------------------------------------------------------------
# Certificate chain
# --------------------------------------------------------------------------

def _dn_pairs(dn):
    """'CN=a,O=b' / '/O=b/CN=a' / 'O = b, CN = a' -> {('CN','a'), ('O','b')}."""
    parts = re.split(r"\s*[,/]\s*(?=[A-Za-z.0-9]+\s*=)", dn.strip().lstrip("/"))
    out = set()
    for p in parts:
        if "=" in p:
            k, v = p.split("=", 1)
            out.add((k.strip().upper(), v.strip()))
    return out


def _san_values(sans):
    out = set()
    for s in sans:
        v = re.sub(r"^(DNS|IP|IP Address)\s*:\s*", "", str(s).strip())
        try:
            v = str(ipaddress.ip_address(v))
        except ValueError:
            v = v.lower()
        out.add(v)
    return out


def _parse_time(s):
    s = str(s).strip()
    for fmt in ("%b %d %H:%M:%S %Y GMT", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%SZ"):
        try:
            d = datetime.datetime.strptime(re.sub(r"\s+", " ", s), fmt)
            return d.replace(tzinfo=None) if d.tzinfo is None else d.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        except ValueError:
            pass
    return None


class Chain(ProbeCase):

    def test_leaf_matches_openssl_x509(self):
        res, t = self.probe_target("implicit")
        chain = t.get("chain") or []
        self.assertTrue(chain, res.describe())
        leaf, ref = chain[0], harness.x509_fields(certs.server.cert)
        w = f"\nopenssl x509: {ref}{res.describe()}"
        self.assertEqual(_dn_pairs(leaf["subject"]), _dn_pairs(ref["subject"]), w)
        self.assertEqual(_dn_pairs(leaf["issuer"]), _dn_pairs(ref["issuer"]), w)
        self.assertEqual(_san_values(leaf["sans"]), _san_values(ref["sans"]), w)
        self.assertEqual(leaf["key_bits"], ref["key_bits"], w)
        self.assertIn("RSA", str(leaf["key_type"]).upper(), w)
        self.assertIn("SHA256", str(leaf["signature_algorithm"]).upper().replace("-", ""), w)
        for k in ("not_before", "not_after"):
            got, want = _parse_time(leaf[k]), _parse_time(ref[k])
            self.assertIsNotNone(got, f"{k} {leaf[k]!r}: unknown date format{w}")
            self.assertEqual(got, want, w)

    def test_good_chain_verifies(self):
        res, t = self.probe_target("implicit")
        self.assertIs(t.get("chain_verifies"), True, res.describe())
        self.assertIsNone(t.get("chain_problem"), res.describe())

    def test_without_ca_file_untrusted(self):
        res, t = self.probe_target("implicit", ca=False)
        self.assertIs(t.get("chain_verifies"), False, res.describe())
        # The leaf is sent alone: tls.cert.incomplete-chain (a lone leaf, with or without AIA).
        self.assertEqual(t.get("chain_problem"), "tls.cert.incomplete-chain", res.describe())

    def test_incomplete_chain(self):
        res, t = self.probe_target("cert_incomplete")
        self.assertIs(t.get("chain_verifies"), False, res.describe())
        self.assertEqual(t.get("chain_problem"), "tls.cert.incomplete-chain", res.describe())
        self.assertEqual(len(t.get("chain", [])), 1, res.describe())

    def test_full_chain(self):
        res, t = self.probe_target("cert_full_chain")
        self.assertIs(t.get("chain_verifies"), True, res.describe())
        self.assertIsNone(t.get("chain_problem"), res.describe())
        self.assertEqual(len(t.get("chain", [])), 2, res.describe())
        self.assertEqual(_dn_pairs(t["chain"][1]["subject"]),
                         _dn_pairs(harness.x509_fields(certs.intermediate)["subject"]), res.describe())

    def test_expired(self):
        res, t = self.probe_target("cert_expired")
        self.assertIs(t.get("chain_verifies"), False, res.describe())
        self.assertEqual(t.get("chain_problem"), "tls.cert.expired", res.describe())

    def test_self_signed(self):
        res, t = self.probe_target("cert_self_signed")
        self.assertIs(t.get("chain_verifies"), False, res.describe())
        self.assertEqual(t.get("chain_problem"), "tls.cert.self-signed", res.describe())

    def test_hostname_mismatch(self):
        res, t = self.probe_target("cert_wrong_name", extra=("--tls-name", "localhost"))
        self.assertIs(t.get("chain_verifies"), False, res.describe())
        self.assertEqual(t.get("chain_problem"), "tls.cert.hostname-mismatch", res.describe())


# --------------------------------------------------------------------------
# Key-exchange groups
# --------------------------------------------------------------------------

class Groups(ProbeCase):

    def test_x25519_for_tls13(self):
        res, t = self.probe_target("implicit")
        groups = {(g.get("name"), g.get("version")) for g in t.get("groups", [])}
        self.assertIn(("x25519", "TLSv1.3"), groups, res.describe())

    def test_ec_groups_agree_with_sslscan(self):
        res, t = self.probe_target("implicit")
        scan = harness.run_sslscan(ports()["implicit"])
        ec = {"secp256r1", "secp384r1", "secp521r1", "x25519", "x448", "prime256v1"}
        alias = {"prime256v1": "secp256r1", "p-256": "secp256r1", "p-384": "secp384r1", "p-521": "secp521r1"}
        ours = {(alias.get(g["name"].lower(), g["name"].lower()), g["version"]) for g in t.get("groups", [])}
        ours = {p for p in ours if p[0] in ec}
        theirs = {(n.lower(), v) for v, n in scan["groups"] if n.lower() in ec}
        self.assertEqual(ours, theirs, f"EC groups differ from sslscan's{res.describe()}")


# --------------------------------------------------------------------------
# --html
# --------------------------------------------------------------------------

class _Tables(html.parser.HTMLParser):
    """Rows (lists of cell texts) of every <table id=...>; counts <script> tags."""

    def __init__(self):
        super().__init__()
        self.tables, self.scripts = {}, 0
        self._stack, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "table":
            self._stack.append(a.get("id"))
            if a.get("id"):
                self.tables.setdefault(a["id"], [])
        elif tag == "tr" and self._stack:
            self._row = {"cells": [], "header": True}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            if tag == "td":
                self._row["header"] = False

    def handle_endtag(self, tag):
        if tag == "table" and self._stack:
            self._stack.pop()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            tid = self._stack[-1] if self._stack else None
            if tid:
                self.tables[tid].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


class Html(ProbeCase):

    def test_html_report_renders(self):
        page = os.path.join(tmpdir, "rsa_only.html")
        res = probe("rsa_only", extra=("--html", page))
        t = self.target(res, "rsa_only")
        self.assertExit(res, 0)
        self.assertTrue(os.path.isfile(page), f"--html wrote no file{res.describe()}")
        with open(page, encoding="utf-8") as f:
            raw = f.read()
        self.assertNotRegex(raw.lower(), r"<script\b", "the page must not carry scripts")
        self.assertNotRegex(raw.lower(), r"(src|href)\s*=\s*[\"']?(https?:)?//",
                            "the page must be self-contained (no external resources)")
        dom = harness.chromium(page, "dump-dom")
        p = _Tables()
        p.feed(dom)
        self.assertEqual(p.scripts, 0, dom[:3000])
        for tid in ("clients", "suites", "chain"):
            self.assertIn(tid, p.tables, f"no <table id={tid}> in the rendered DOM:\n{dom[:3000]}")
        client_rows = [r for r in p.tables["clients"] if not r["header"]]
        self.assertEqual(len(client_rows), len(t["clients"]), f"one #clients row per family:\n{client_rows}")
        text = " ".join(" ".join(r["cells"]) for r in client_rows)
        for c in t["clients"]:
            self.assertIn(c["family"], text, f"family {c['family']} missing from #clients")
        suites_text = " ".join(" ".join(r["cells"]) for r in p.tables["suites"])
        for name in ("TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384"):
            self.assertIn(name, suites_text, f"#suites lacks {name}")
        self.assertIn("localhost", " ".join(" ".join(r["cells"]) for r in p.tables["chain"]))
        self.assertRegex(dom.lower(), r"verdict", "no verdict on the page")
        png = os.path.join(tmpdir, "rsa_only.png")
        harness.chromium(page, "screenshot", out=png)
        with open(png, "rb") as f:
            head = f.read(8)
        self.assertEqual(head, b"\x89PNG\r\n\x1a\n", "screenshot is not a PNG")
        self.assertGreater(os.path.getsize(png), 1000)


# --------------------------------------------------------------------------
# Several targets, --jobs
# --------------------------------------------------------------------------

class SeveralTargets(ProbeCase):

    def test_two_targets(self):
        res = probe("implicit", "dhe_only")
        self.assertExit(res, 0)
        a, b = self.target(res, "implicit"), self.target(res, "dhe_only")
        self.assertEqual([int(x["port"]) for x in res.json["targets"]], [ports()["implicit"], ports()["dhe_only"]],
                         f"targets in command-line order{res.describe()}")
        # same answers as when probed alone
        _, alone_a = self.probe_target("implicit")
        _, alone_b = self.probe_target("dhe_only")
        self.assertEqual(self.accepted(a), self.accepted(alone_a), res.describe())
        self.assertEqual(self.accepted(b), self.accepted(alone_b), res.describe())

    def test_jobs_1_same_suites(self):
        res = probe("rsa_only", "cbc_only", extra=("--jobs", "1"))
        self.assertExit(res, 0)
        for name in ("rsa_only", "cbc_only"):
            _, alone = self.probe_target(name)
            self.assertEqual(self.accepted(self.target(res, name)), self.accepted(alone), res.describe())


# --------------------------------------------------------------------------
# Over a slow link: the same answers through servers/delay_proxy.py
# --------------------------------------------------------------------------

class ThroughDelayProxy(ProbeCase):
    """The concurrent search must not depend on which answer comes first: through a proxy
    that delays every byte (20 ms round trip, the TCP handshake's round trip kept) the
    profile equals the direct one. No timing is asserted; the proxy's connection count
    must equal postern's own (every connection it reports went to the server)."""

    TARGETS = ("implicit", "starttls", "rsa_only", "server_order", "dhe_only", "plain")

    @staticmethod
    def essence(t):
        keys = ("mode", "versions", "suites", "server_preference", "groups", "chain", "chain_verifies",
                "chain_problem", "banner", "ehlo_before_tls", "ehlo_after_tls", "auth_before_tls")
        e = {k: t.get(k) for k in keys}
        e["clients"] = [(c.get("family"), c.get("ok"), c.get("version"), c.get("suite"), c.get("code"))
                        for c in t.get("clients", [])]
        e["findings"] = sorted(f.get("code") for f in t.get("findings", []))
        return e

    def test_same_profile_through_delay_proxy(self):
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "servers"))
        from delay_proxy import DelayProxy
        for name in self.TARGETS:
            with self.subTest(name):
                _, direct = self.probe_target(name)
                with DelayProxy(ports()[name], one_way_ms=10) as proxy:
                    res = harness.run_postern_bounded(
                        ["probe", f"127.0.0.1:{proxy.port}", "--json", "--timeout", "10", "--ca-file",
                         certs.ca_file], timeout=180)
                    connections = proxy.connections
                t = self.target(res, proxy.port)
                self.assertExit(res, 0)
                self.assertEqual(self.essence(t), self.essence(direct),
                                 f"{name}: the profile through the delay proxy differs from the direct one"
                                 f"{res.describe()}")
                self.assertEqual(t.get("connections"), connections,
                                 f"{name}: postern counted {t.get('connections')} connections, the proxy "
                                 f"{connections}{res.describe()}")
                self.assertGreater(t.get("round_trips", 0), 0, res.describe())


if __name__ == "__main__":
    unittest.main()
