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


if __name__ == "__main__":
    unittest.main()
