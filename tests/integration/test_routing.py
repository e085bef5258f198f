"""Automatic routing, the host memory and downgrade detection (`postern send` without a mode).

The legacy-relay shape: an implicit-TLS port that accepts only TLS 1.2 with RSA key
exchange, and a STARTTLS port with ECDHE. Every run uses --ports with the harness's
loopback ports, never the real 465/587/25.
"""
import json
import os
import sqlite3
import tempfile
import threading
import unittest

import harness
from harness import PosternTestCase, run_postern, write_file

MSG = b"Subject: routing\r\nFrom: a@example.org\r\nTo: b@example.net\r\n\r\nrouted\r\n"


def setUpModule():
    global CERTS, PF, TMP
    harness.require_postern()
    CERTS = unittest.enterModuleContext(harness.Certs(variants=False))
    PF = unittest.enterModuleContext(harness.Postfix(CERTS, ipv6=False))
    TMP = unittest.enterModuleContext(tempfile.TemporaryDirectory(prefix="postern-routing-"))


class Routing(PosternTestCase):
    def send(self, rcpt, *extra, state=None):
        path = write_file(TMP, rcpt + ".eml", MSG)
        args = ["send", "--server", "localhost", "--ca-file", CERTS.ca_file, "--from", "a@example.org",
                "--to", rcpt, "--timeout", "15", "--json"]
        if state:
            args += ["--state", state]
        return run_postern(args + list(extra) + [path])

    def test_auto_picks_the_strict_starttls_port_over_the_rsa_only_relay(self):
        rcpt = "auto-legacy-shape@example.net"
        res = self.send(rcpt, "--ports", f"{PF.rsa_only},{PF.starttls}")
        self.assertOk(res)
        route = res.json["route"]
        self.assertTrue(route["automatic"], res.describe())
        self.assertEqual((route["port"], route["mode"], route["profile"]), (PF.starttls, "starttls", "strict"),
                         res.describe())
        self.assertEqual(res.json["tls"]["profile"], "strict")
        self.assertIn("strict", route["reason"])
        # the RSA-only relay was tried and refused under strict
        tried = {(t["port"], t["mode"]): t for t in route["tried"]}
        self.assertFalse(tried[(PF.rsa_only, "tls")]["result"] == "ok", res.describe())
        PF.store.wait_for_messages(1, rcpt=rcpt)

    def test_only_the_rsa_only_relay_fails_with_its_cause_and_remedies(self):
        res = self.send("auto-rsa-refused@example.net", "--ports", str(PF.rsa_only))
        self.assertJsonError(res, 77, ("tls.kx.rsa-only",))
        self.assertTrue(res.json["findings"], res.describe())
        first = res.json["findings"][0]
        self.assertEqual(first["code"], "tls.kx.rsa-only")
        actions = [r["action"] for r in first["remedies"]]
        self.assertIn("use-weaker-profile", actions, res.describe())
        PF.store.assert_no_messages(rcpt="auto-rsa-refused@example.net")

    def test_allow_compat_uses_the_relay_and_says_so(self):
        rcpt = "auto-allow-compat@example.net"
        res = self.send(rcpt, "--ports", str(PF.rsa_only), "--allow", "compat")
        self.assertOk(res)
        self.assertEqual(res.json["route"]["profile"], "compat", res.describe())
        self.assertIn("--allow compat", res.json["route"]["reason"])
        self.assertEqual(res.json["tls"]["kx"], "RSA")
        PF.store.wait_for_messages(1, rcpt=rcpt)
        # the human output names the weaker choice and what it gives up
        path = write_file(TMP, "human.eml", MSG)
        human = run_postern(["send", "--server", "localhost", "--ports", str(PF.rsa_only), "--allow", "compat",
                             "--ca-file", CERTS.ca_file, "--from", "a@example.org",
                             "--to", "auto-allow-human@example.net", path])
        self.assertOk(human)
        self.assertIn("profile compat", human.stdout)
        self.assertIn("no forward secrecy", human.stdout)

    def test_plaintext_is_never_a_route(self):
        res = self.send("auto-plain@example.net", "--ports", str(PF.plain))
        self.assertNotEqual(res.exit_code, 0, res.describe())
        PF.store.assert_no_messages(rcpt="auto-plain@example.net")

    def test_usage_errors(self):
        res = run_postern(["send", "--server", "localhost", "--allow", "weak", "--from", "a@b.c", "--to", "d@e.f",
                           "--text", "x"])
        self.assertExit(res, 64)
        res = run_postern(["send", "--server", "localhost", "--tls", "--allow", "compat", "--from", "a@b.c",
                           "--to", "d@e.f", "--text", "x"])
        self.assertExit(res, 64)


class Accounts(PosternTestCase):
    """`allow compat` in one account of the config file permits the weaker profile for that account only."""

    def test_allow_compat_is_scoped_to_its_account(self):
        config = write_file(TMP, "config", f"""
defaults
  ca-file {CERTS.ca_file}
  from a@example.org
account relay
  host localhost
  ports {PF.rsa_only}
  allow compat
account strict-only
  host localhost
  ports {PF.rsa_only}
""".encode())
        path = write_file(TMP, "acct.eml", MSG)
        ok = run_postern(["send", "--config", config, "--account", "relay", "--to", "acct-relay@example.net",
                          "--timeout", "15", "--json", path])
        self.assertOk(ok)
        self.assertEqual(ok.json["route"]["profile"], "compat", ok.describe())
        PF.store.wait_for_messages(1, rcpt="acct-relay@example.net")
        refused = run_postern(["send", "--config", config, "--account", "strict-only", "--to",
                               "acct-strict@example.net", "--timeout", "15", "--json", path])
        self.assertJsonError(refused, 77, ("tls.kx.rsa-only",))
        PF.store.assert_no_messages(rcpt="acct-strict@example.net")


class Memory(PosternTestCase):
    """The same "host" (localhost on one port) changes its TLS between sends."""

    def listener(self, preset, port=None):
        kw = {"port": port} if port else {}
        return harness.TlsListener(CERTS, preset, **kw)

    def send(self, port, state, *extra, name="m.eml"):
        path = write_file(TMP, name, MSG)
        return run_postern(["send", "--server", "localhost", "--ports", str(port), "--state", state,
                            "--ca-file", CERTS.ca_file, "--from", "a@example.org", "--to", "b@example.net",
                            "--timeout", "15", "--json"] + list(extra) + [path])

    def hosts(self, state):
        res = run_postern(["hosts", "--state", state, "--json"])
        self.assertExit(res, 0)
        return json.loads(res.stdout)

    def test_remembered_ecdhe_host_that_offers_only_rsa_is_refused(self):
        state = os.path.join(TMP, "downgrade.sqlite")
        with self.listener("modern") as modern:
            port = modern.port
            first = self.send(port, state)
            self.assertOk(first)
            known = self.hosts(state)
            self.assertEqual(len(known), 1)
            self.assertEqual(known[0]["host"], "localhost")
            self.assertEqual(known[0]["tls_version"], "TLSv1.3")
            # the next send uses the remembered route: one connection, no probing
            again = self.send(port, state)
            self.assertOk(again)
            self.assertTrue(again.json["route"]["from_memory"], again.describe())
            self.assertEqual(again.json["route"]["tried"], [])
        with self.listener("rsa_only", port=port):
            refused = self.send(port, state, "--allow", "compat")
            self.assertJsonError(refused, 77, ("plan.downgrade",))
            self.assertIn("RSA key exchange", refused.json["error"]["summary"])
            self.assertEqual(self.hosts(state)[0]["tls_version"], "TLSv1.3", "a refused route is not recorded")
            # the user accepts the change explicitly
            accepted = self.send(port, state, "--allow", "compat", "--accept-downgrade")
            self.assertOk(accepted)
            self.assertEqual(self.hosts(state)[0]["kx"], "RSA")

    def test_starttls_stripped_where_it_was_offered_is_refused(self):
        state = os.path.join(TMP, "stripped.sqlite")
        with self.listener("modern_starttls") as modern:
            port = modern.port
            first = self.send(port, state)
            self.assertOk(first)
            self.assertEqual(first.json["route"]["mode"], "starttls", first.describe())
        # the same port now greets without offering STARTTLS, as a stripping attacker would
        with harness.TlsListener(CERTS, None, mode="plain", port=port):
            res = self.send(port, state)
            self.assertJsonError(res, 77, ("plan.downgrade",))
            self.assertIn("STARTTLS", res.json["error"]["summary"])

    def test_forget_accepts_the_new_route(self):
        state = os.path.join(TMP, "forget.sqlite")
        with self.listener("modern") as modern:
            port = modern.port
            self.assertOk(self.send(port, state))
        with self.listener("rsa_only", port=port):
            self.assertJsonError(self.send(port, state, "--allow", "compat"), 77, ("plan.downgrade",))
            res = run_postern(["hosts", "--state", state, "forget", "localhost"])
            self.assertOk(res)
            self.assertOk(self.send(port, state, "--allow", "compat"))
            self.assertEqual(self.hosts(state)[0]["profile"], "compat")

    def test_explicit_mode_is_checked_too(self):
        state = os.path.join(TMP, "explicit.sqlite")
        with self.listener("modern") as modern:
            port = modern.port
            path = write_file(TMP, "x.eml", MSG)
            base = ["send", "--server", f"localhost:{port}", "--tls", "--state", state, "--ca-file", CERTS.ca_file,
                    "--from", "a@example.org", "--to", "b@example.net", "--json", path]
            self.assertOk(run_postern(base))
        with self.listener("rsa_only", port=port):
            res = run_postern(base[:4] + ["--tls-profile", "compat"] + base[4:])
            self.assertJsonError(res, 77, ("plan.downgrade",))

    def test_parallel_senders_keep_the_memory_intact(self):
        state = os.path.join(TMP, "parallel.sqlite")
        results = [None] * 8
        with self.listener("modern") as modern:
            def one(i):
                results[i] = self.send(modern.port, state, name=f"parallel-{i}.eml")
            threads = [threading.Thread(target=one, args=(i,)) for i in range(len(results))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        for r in results:
            self.assertOk(r)
        known = self.hosts(state)
        self.assertEqual(len(known), 1, known)
        self.assertEqual(known[0]["tls_version"], "TLSv1.3")
        with sqlite3.connect(state) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")


class Services(PosternTestCase):
    """The memory is per service (host, port, mode): a port never seen is not a downgrade of
    another port of the same host, only a warning naming the stronger route."""

    WARNING = "postern: warning: {port}/starttls with strict worked for this host; this route uses compat"

    def send(self, server, state, *extra, name="s.eml", json_out=True, rcpt="b@example.net"):
        path = write_file(TMP, name, MSG)
        return run_postern(["send", "--server", server, "--state", state, "--ca-file", CERTS.ca_file,
                            "--from", "a@example.org", "--to", rcpt, "--timeout", "15"]
                           + (["--json"] if json_out else []) + list(extra) + [path])

    def hosts(self, state, *extra):
        res = run_postern(["hosts", "--state", state] + list(extra))
        self.assertExit(res, 0)
        return res

    def remember_strict_starttls(self, state):
        res = self.send(f"localhost:{PF.starttls}", state, "--starttls")
        self.assertOk(res)
        self.assertEqual(res.json["tls"]["profile"], "strict", res.describe())
        self.assertEqual(res.json["findings"], [], res.describe())

    def test_explicit_compat_to_a_port_never_seen_warns_naming_the_stronger_route(self):
        state = os.path.join(TMP, "services-warn.sqlite")
        self.remember_strict_starttls(state)
        res = self.send(f"localhost:{PF.rsa_only}", state, "--tls", "--tls-profile", "compat")
        self.assertOk(res)
        self.assertEqual(res.json["tls"]["kx"], "RSA", res.describe())
        self.assertIn(self.WARNING.format(port=PF.starttls), res.stderr, res.describe())
        self.assertEqual(res.stderr.count("this route uses"), 1, res.describe())
        warnings = [f for f in res.json["findings"] if f["severity"] == "warning"]
        self.assertEqual(len(warnings), 1, res.describe())
        self.assertEqual(warnings[0]["code"], "plan.weaker-than-known")
        self.assertIn(f"{PF.starttls}/starttls with strict", warnings[0]["summary"])
        # the human output has the same line
        human = self.send(f"localhost:{PF.rsa_only}", os.path.join(TMP, "services-warn-human.sqlite"), "--tls",
                          "--tls-profile", "compat", json_out=False)
        self.assertOk(human)  # nothing remembered in that file: no warning
        self.assertNotIn("worked for this host", human.stderr, human.describe())
        # the port is remembered now, as its own service: the next send there is quiet
        again = self.send(f"localhost:{PF.rsa_only}", state, "--tls", "--tls-profile", "compat",
                          json_out=False)
        self.assertOk(again)
        self.assertNotIn("worked for this host", again.stderr, again.describe())
        known = {(h["port"], h["mode"]): h for h in json.loads(self.hosts(state, "--json").stdout)}
        self.assertEqual(set(known), {(PF.starttls, "starttls"), (PF.rsa_only, "tls")}, known)
        self.assertEqual(known[(PF.starttls, "starttls")]["profile"], "strict")
        self.assertEqual(known[(PF.rsa_only, "tls")]["kx"], "RSA")

    def test_the_same_service_answering_weaker_is_still_a_downgrade(self):
        state = os.path.join(TMP, "services-downgrade.sqlite")
        self.remember_strict_starttls(state)
        with harness.TlsListener(CERTS, "modern") as modern:
            port = modern.port
            first = self.send(f"localhost:{port}", state, "--tls", "--tls-profile", "compat")
            self.assertOk(first)  # a new service under compat: allowed, with the warning
            self.assertIn(self.WARNING.format(port=PF.starttls), first.stderr, first.describe())
            self.assertEqual(first.json["tls"]["version"], "TLSv1.3", first.describe())
        with harness.TlsListener(CERTS, "rsa_only", port=port):
            res = self.send(f"localhost:{port}", state, "--tls", "--tls-profile", "compat")
            self.assertJsonError(res, 77, ("plan.downgrade",))
            self.assertIn("RSA key exchange", res.json["error"]["summary"])
            self.assertIn(f"forget localhost:{port}", res.json["error"]["summary"])
        known = {(h["port"], h["mode"]): h for h in json.loads(self.hosts(state, "--json").stdout)}
        self.assertEqual(known[(port, "tls")]["tls_version"], "TLSv1.3", "a refused route is not recorded")
        self.assertEqual(known[(PF.starttls, "starttls")]["profile"], "strict")

    def test_hosts_lists_one_line_per_service_and_forgets_a_port_or_the_host(self):
        state = os.path.join(TMP, "services-list.sqlite")
        self.remember_strict_starttls(state)
        self.assertOk(self.send(f"localhost:{PF.rsa_only}", state, "--tls", "--tls-profile", "compat"))
        lines = [l for l in self.hosts(state).stdout.splitlines() if l.strip()]
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[0].startswith(f"localhost  {PF.starttls}/starttls  profile strict"), lines)
        self.assertTrue(lines[1].startswith(f"localhost  {PF.rsa_only}/tls  profile compat"), lines)
        # automatic routing tries the host's strongest remembered service first
        auto = self.send("localhost", state, "--ports", f"{PF.rsa_only},{PF.starttls}", "--allow", "compat")
        self.assertOk(auto)
        route = auto.json["route"]
        self.assertTrue(route["from_memory"], auto.describe())
        self.assertEqual((route["port"], route["mode"], route["profile"]), (PF.starttls, "starttls", "strict"))
        # forget one port, then the whole host
        res = run_postern(["hosts", "--state", state, "forget", f"localhost:{PF.rsa_only}"])
        self.assertOk(res)
        self.assertEqual(len(self.hosts(state).stdout.strip().splitlines()), 1)
        res = run_postern(["hosts", "--state", state, "forget", "localhost"])
        self.assertOk(res)
        self.assertIn("no host remembered yet", self.hosts(state).stdout)
        self.assertExit(run_postern(["hosts", "--state", state, "forget", "localhost"]), 66)  # EX_NOINPUT: not known

    def test_automatic_fallback_from_the_remembered_route_to_a_weaker_port_is_refused(self):
        # Not an explicit choice: when the remembered route fails, a weaker route elsewhere is
        # what an attacker blocking it would cause, as with the per-host memory.
        state = os.path.join(TMP, "services-fallback.sqlite")
        with harness.TlsListener(CERTS, "modern") as modern:
            port = modern.port
            self.assertOk(self.send("localhost", state, "--ports", str(port)))
        rcpt = "services-fallback@example.net"
        res = self.send("localhost", state, "--ports", f"{port},{PF.rsa_only}", "--allow", "compat", rcpt=rcpt)
        self.assertJsonError(res, 77, ("plan.downgrade",))
        self.assertIn(f"the remembered route {port}/tls failed", res.json["error"]["summary"])
        PF.store.assert_no_messages(rcpt=rcpt)

    def test_an_old_per_host_database_is_migrated_and_still_checked(self):
        state = os.path.join(TMP, "services-old.sqlite")
        with harness.TlsListener(CERTS, "rsa_only") as rsa:
            with sqlite3.connect(state) as db:  # the schema before services, as older postern wrote it
                db.execute("CREATE TABLE IF NOT EXISTS hosts (host TEXT PRIMARY KEY, port INTEGER, mode TEXT, "
                           "profile TEXT, tls_version TEXT, cipher TEXT, kx TEXT, grp TEXT, issuer TEXT, "
                           "key_sha256 TEXT, seen_at INTEGER)")
                db.execute("INSERT INTO hosts VALUES ('localhost', ?, 'tls', 'strict', 'TLSv1.3', "
                           "'TLS_AES_256_GCM_SHA384', '', 'x25519', '', 'aa', 1700000000)", (rsa.port,))
            db.close()
            res = self.send(f"localhost:{rsa.port}", state, "--tls", "--tls-profile", "compat")
            self.assertJsonError(res, 77, ("plan.downgrade",))
            self.assertIn("RSA key exchange", res.json["error"]["summary"])
        known = json.loads(self.hosts(state, "--json").stdout)
        self.assertEqual([(h["host"], h["port"], h["mode"], h["tls_version"], h["seen_at"]) for h in known],
                         [("localhost", rsa.port, "tls", "TLSv1.3", 1700000000)])
        with sqlite3.connect(state) as db:
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], 1)
            self.assertEqual(db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'hosts'").fetchone()[0], 0)
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        db.close()


if __name__ == "__main__":
    unittest.main()
