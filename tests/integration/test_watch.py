"""`postern watch`: real servers on loopback whose configuration the test changes between two
runs of postern that share one state folder (XDG_STATE_HOME), asserting the findings, both exit
code conventions (postern's and --monitoring's), the stored history, pruning, and the Prometheus
textfile as Debian's prometheus_client parses it.

Servers: tls_listener.py (harness.TlsListener) restarted on the same port with another
certificate or TLS configuration: the same "host" changing between two cron runs.
Independent judges: openssl x509 (the certificate's notAfter and issuer), prometheus_client's
text parser, sqlite3 (what is stored).
"""

import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

import harness
from harness import LOOPBACK4, PosternTestCase, run_postern

CERTS = None
RENEWED = None  # a new key and certificate for localhost from the same root CA
TMP = None


def setUpModule():
    global CERTS, RENEWED, TMP
    harness.require_postern()
    CERTS = harness.Certs().__enter__()
    CERTS._key_and_csr("renewed", "localhost")
    RENEWED = harness.CertPair(CERTS._sign("ca", "renewed", harness._LEAF_EXT.format(san=harness.LOCALHOST_SAN)),
                               CERTS._p("renewed.key"))
    TMP = tempfile.mkdtemp(prefix="postern-watch-test-")


def tearDownModule():
    if CERTS:
        CERTS.__exit__(None, None, None)
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def openssl_x509(path, *fields):
    out = subprocess.run(["openssl", "x509", "-in", path, "-noout"] + list(fields), check=True,
                         capture_output=True, text=True).stdout
    return out.strip()


def not_after_unix(path):
    text = openssl_x509(path, "-enddate").split("=", 1)[1]  # "Nov 29 10:00:00 2036 GMT"
    return int(datetime.datetime.strptime(text, "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc).timestamp())


class WatchTestCase(PosternTestCase):
    def setUp(self):
        # One state folder per test, shared by its runs: the second run compares with the first.
        self.state = tempfile.mkdtemp(prefix="state-", dir=TMP)
        self.port = harness.free_port()

    def listener(self, preset=None, **kw):
        return harness.TlsListener(CERTS, preset, port=self.port, **kw)

    def watch(self, *extra, target=None, monitoring=False):
        """One `postern watch` run with --json (and --monitoring: the summary line comes first)."""
        args = ["watch", target or f"{LOOPBACK4}:{self.port}", "--ca-file", CERTS.ca_file, "--timeout", "15",
                "--json"] + list(extra)
        if monitoring:
            args.append("--monitoring")
        res = run_postern(args, env={"XDG_STATE_HOME": self.state})
        res.summary_line = None
        if monitoring:
            first, _, rest = res.stdout.partition("\n")
            res.summary_line = first
            try:
                res.json = json.loads(rest)
            except ValueError as e:
                res.json = None
                res.json_error = str(e)
        self.assertIsNotNone(res.json, f"no JSON ({res.json_error}){res.describe()}")
        return res

    def codes(self, res):
        return [f["code"] for f in res.json["findings"]]

    def finding(self, res, code):
        for f in res.json["findings"]:
            if f["code"] == code:
                return f
        self.fail(f"no {code} finding{res.describe()}")

    def assertMonitoring(self, res, status, code):
        self.assertExit(res, code)
        self.assertTrue(res.summary_line.startswith(f"POSTERN WATCH {status} - "), res.describe())
        self.assertEqual(res.json["status"], status, res.describe())


class CertificateChanges(WatchTestCase):
    def test_renewal_by_the_same_issuer_is_a_note(self):
        with self.listener("modern"):
            first = self.watch()
            self.assertExit(first, 0)
            self.assertEqual(self.codes(first), ["watch.baseline"], first.describe())
            self.assertIsNone(first.json["targets"][0]["before"])
        with self.listener("modern", pair=RENEWED):
            second = self.watch(monitoring=True)
        self.assertMonitoring(second, "OK", 0)
        self.assertEqual(self.codes(second), ["watch.cert.replaced"], second.describe())
        f = self.finding(second, "watch.cert.replaced")
        self.assertEqual(f["level"], "note")
        self.assertIn("new key", f["summary"])
        self.assertIn("same issuer", f["summary"])
        target = second.json["targets"][0]
        # Both profiles and their difference: the leaf's fingerprint changed, nothing else.
        self.assertEqual([d["field"] for d in target["differences"]], ["chain"], second.describe())
        self.assertEqual(target["before"]["chain"][0]["issuer"], target["after"]["chain"][0]["issuer"])
        fp = openssl_x509(RENEWED.cert, "-fingerprint", "-sha256").split("=", 1)[1].replace(":", "").lower()
        self.assertEqual(target["after"]["chain"][0]["sha256"], fp)

    def test_certificate_from_another_issuer_is_a_warning(self):
        with self.listener("modern"):
            self.assertExit(self.watch(), 0)
        with self.listener("modern", pair=CERTS.full_chain):
            second = self.watch(monitoring=True)
        self.assertMonitoring(second, "WARNING", 1)
        self.assertEqual(sorted(self.codes(second)), ["watch.chain.changed", "watch.cert.issuer-changed"][::-1],
                         second.describe())
        f = self.finding(second, "watch.cert.issuer-changed")
        self.assertEqual(f["level"], "warning")
        issuer = openssl_x509(CERTS.full_chain.cert, "-issuer", "-nameopt", "RFC2253").split("=", 1)[1]
        self.assertIn(issuer, f["summary"])
        self.assertIn(issuer, second.summary_line)
        self.assertIn("postern test intermediate CA", self.finding(second, "watch.chain.changed")["after"])

    def test_expiry_thresholds(self):
        days_left = (not_after_unix(CERTS.server.cert) - time.time()) // 86400
        with self.listener("modern"):
            warn = self.watch("--warn-days", str(int(days_left) + 10), monitoring=True)
            self.assertMonitoring(warn, "WARNING", 1)
            self.assertEqual(self.finding(warn, "watch.cert.expiring")["level"], "warning")
            crit = self.watch("--warn-days", str(int(days_left) + 10), "--critical-days", str(int(days_left) + 5),
                              monitoring=True)
            self.assertMonitoring(crit, "CRITICAL", 2)
            self.assertEqual(self.finding(crit, "watch.cert.expiring")["level"], "critical")
            fine = self.watch(monitoring=True)
            self.assertMonitoring(fine, "OK", 0)
            self.assertNotIn("watch.cert.expiring", self.codes(fine))
        with self.listener("modern", pair=CERTS.expired):
            expired = self.watch(monitoring=True)
        self.assertMonitoring(expired, "CRITICAL", 2)
        self.assertIn("watch.cert.expired", self.codes(expired))
        self.assertIn("2021-01-01", self.finding(expired, "watch.cert.expired")["summary"])


class TlsChanges(WatchTestCase):
    def test_suite_removed(self):
        both = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"
        with self.listener(max_version="TLSv1_2", ciphers=both):
            self.assertExit(self.watch(), 0)
        with self.listener(max_version="TLSv1_2", ciphers="ECDHE-RSA-AES128-GCM-SHA256"):
            second = self.watch(monitoring=True)
        self.assertMonitoring(second, "OK", 0)
        self.assertEqual(self.codes(second), ["watch.tls.suite-removed"], second.describe())
        self.assertEqual(self.finding(second, "watch.tls.suite-removed")["before"],
                         "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
        diffs = {d["field"]: d for d in second.json["targets"][0]["differences"]}
        self.assertEqual(diffs["suites"]["removed"], ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"])

    def test_tls13_turned_off(self):
        prom = os.path.join(self.state, "postern.prom")
        with self.listener("modern"):
            first = self.watch("--prometheus", prom)
            self.assertExit(first, 0)
            metrics = self.parse_prometheus(prom)
            self.assertEqual(metrics[("postern_watch_tls_version_accepted", self.labels(version="TLSv1.3"))], 1)
        with self.listener("modern", max_version="TLSv1_2"):
            second = self.watch("--prometheus", prom, monitoring=True)
        self.assertMonitoring(second, "WARNING", 1)
        removed = self.finding(second, "watch.tls.version-removed")
        self.assertEqual(removed["level"], "warning")
        self.assertIn("TLSv1.3 is no longer accepted", removed["summary"])
        self.assertIn("TLSv1.3", removed["before"])
        self.assertNotIn("TLSv1.3", removed["after"])
        gone = [f["before"] for f in second.json["findings"] if f["code"] == "watch.tls.suite-removed"]
        self.assertIn("TLS_AES_256_GCM_SHA384", gone)
        self.assertNotIn("watch.client.lost", self.codes(second), "every family still connects over TLS 1.2")

        metrics = self.parse_prometheus(prom)
        self.assertEqual(metrics[("postern_watch_tls_version_accepted", self.labels(version="TLSv1.3"))], 0)
        self.assertEqual(metrics[("postern_watch_tls_version_accepted", self.labels(version="TLSv1.2"))], 1)
        self.assertEqual(metrics[("postern_watch_up", self.labels())], 1)
        self.assertEqual(metrics[("postern_watch_client_ok", self.labels(family="rustls"))], 1)
        self.assertEqual(metrics[("postern_watch_findings", self.labels(level="warning"))],
                         sum(1 for f in second.json["findings"] if f["level"] == "warning"))
        # The certificate's date as openssl reads it; expiry = notAfter - the run's time.
        not_after = not_after_unix(CERTS.server.cert)
        self.assertEqual(metrics[("postern_watch_cert_not_after_timestamp_seconds", self.labels())], not_after)
        self.assertEqual(metrics[("postern_watch_cert_expiry_seconds", self.labels())],
                         not_after - metrics[("postern_watch_last_run_timestamp_seconds", ())])
        self.assertEqual([n for n in os.listdir(self.state) if ".tmp" in n], [], "no temporary file left")

    def test_an_unwritable_prometheus_folder_stores_nothing_so_the_next_run_reports_the_change(self):
        with self.listener("modern"):
            self.assertExit(self.watch(), 0)
        missing = os.path.join(self.state, "no-such-folder", "postern.prom")
        with self.listener("modern", max_version="TLSv1_2"):
            failed = run_postern(["watch", f"{LOOPBACK4}:{self.port}", "--ca-file", CERTS.ca_file, "--timeout", "15",
                                  "--prometheus", missing, "--monitoring"], env={"XDG_STATE_HOME": self.state})
            self.assertExit(failed, 3)
            self.assertTrue(failed.stdout.startswith("POSTERN WATCH UNKNOWN - [input]"), failed.describe())
            self.assertIn("no-such-folder", failed.stderr)
            again = self.watch(monitoring=True)
        self.assertMonitoring(again, "WARNING", 1)
        self.assertIn("watch.tls.version-removed", self.codes(again))

    def labels(self, **extra):
        return tuple(sorted(dict(target=f"{LOOPBACK4}:{self.port}", **extra).items()))

    def parse_prometheus(self, path):
        """{(sample name, sorted labels): value}, every family with HELP and TYPE gauge."""
        from prometheus_client.parser import text_string_to_metric_families
        with open(path) as f:
            text = f.read()
        out = {}
        families = list(text_string_to_metric_families(text))
        self.assertGreaterEqual(len(families), 7, text)
        for fam in families:
            self.assertEqual(fam.type, "gauge", fam.name)
            self.assertTrue(fam.documentation, fam.name)
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out


class Allowances(WatchTestCase):
    def config(self, allow):
        path = os.path.join(self.state, "config")
        with open(path, "w") as f:
            f.write(f"account legacyrelay\n  host {LOOPBACK4}\n  port {self.port}\n  mode tls\n"
                    f"  from a@example.org\n  ca-file {CERTS.ca_file}\n" + (f"  allow {allow}\n" if allow else ""))
        return path

    def remember(self, *extra):
        """A real send through postern, which records the route in the host memory of self.state."""
        msg = harness.write_file(self.state, "m.eml", b"Subject: x\r\n\r\nhello\r\n")
        res = run_postern(["send", "--server", LOOPBACK4, "--ports", str(self.port), "--ca-file", CERTS.ca_file,
                           "--from", "a@example.org", "--to", "b@example.net", "--timeout", "15", "--json"]
                          + list(extra) + [msg], env={"XDG_STATE_HOME": self.state})
        self.assertOk(res)
        return res.json["route"]["profile"]

    def test_rsa_only_server_turned_modern_makes_allow_compat_unneeded(self):
        config = self.config("compat")
        with self.listener("rsa_only"):
            self.assertEqual(self.remember("--allow", "compat"), "compat")
            first = self.watch("--config", config, "--account", "legacyrelay", target=None)
            self.assertExit(first, 0)
            # Still needed: strict fails, and the account allows compat, so that is no breakage.
            self.assertEqual(self.codes(first), ["watch.baseline"], first.describe())
            after = first.json["targets"][0]["after"]
            self.assertEqual([c["ok"] for c in after["clients"] if c["family"] == "postern-strict"], [False])
            self.assertEqual(after["causes"], ["tls.kx.rsa-only"])
        with self.listener("modern"):
            second = self.watch("--config", config, "--account", "legacyrelay", monitoring=True)
        self.assertMonitoring(second, "WARNING", 1)
        unneeded = [f for f in second.json["findings"] if f["code"] == "watch.allowance.unneeded"]
        self.assertEqual(len(unneeded), 2, second.describe())
        account, memory = unneeded
        self.assertRegex(account["summary"],
                         rf"^{LOOPBACK4} now does TLS 1\.3 with (AES-GCM|ChaCha20-Poly1305) \(postern strict "
                         rf"connects on port {self.port}: TLSv1\.3, TLS_\w+\): remove `allow compat` from account "
                         r"legacyrelay$")
        self.assertIn(f"still routes {self.port}/tls with compat", memory["summary"])
        self.assertIn(f"postern hosts forget {LOOPBACK4}:{self.port}", memory["summary"])
        gained = {f["summary"].split(": ")[1].split(" ")[0] for f in second.json["findings"]
                  if f["code"] == "watch.client.gained"}
        self.assertTrue({"rustls", "go", "postern-strict"} <= gained, second.describe())
        self.assertIn("watch.tls.version-added", self.codes(second))

    def test_an_account_without_port_uses_its_modes_port_only(self):
        # "sub" sends over STARTTLS to 587 (no `port`): a modern server on another port says
        # nothing about its allowance. "direct" names the watched port: its allowance is unneeded.
        path = os.path.join(self.state, "config")
        with open(path, "w") as f:
            f.write(f"account sub\n  host {LOOPBACK4}\n  mode starttls\n  from a@example.org\n  allow compat\n"
                    f"account direct\n  host {LOOPBACK4}\n  port {self.port}\n  mode tls\n"
                    f"  from a@example.org\n  allow compat\n")
        with self.listener("modern"):
            res = self.watch("--config", path)
        unneeded = [f["summary"] for f in res.json["findings"] if f["code"] == "watch.allowance.unneeded"]
        self.assertEqual(len(unneeded), 1, res.describe())
        self.assertTrue(unneeded[0].endswith("from account direct"), unneeded)

    def test_strict_route_that_broke_is_critical(self):
        config = self.config(None)  # an account that relies on strict
        with self.listener("modern"):
            self.assertEqual(self.remember(), "strict")
            first = self.watch("--config", config)
            self.assertExit(first, 0)
        with self.listener("rsa_only"):
            second = self.watch("--config", config, monitoring=True)
        self.assertMonitoring(second, "CRITICAL", 2)
        broken = self.finding(second, "watch.strict.broken")
        self.assertEqual(broken["level"], "critical")
        self.assertIn("tls.kx.rsa-only", broken["summary"])
        self.assertIn("account legacyrelay", broken["summary"])
        self.assertIn(f"the host memory's {self.port}/tls route", broken["summary"])
        self.assertNotIn("watch.allowance.unneeded", self.codes(second))
        lost = {f["summary"].split(": ")[1].split(" ")[0] for f in second.json["findings"]
                if f["code"] == "watch.client.lost"}
        self.assertIn("rustls", lost)


class PortAndSmtpChanges(WatchTestCase):
    def test_port_closed(self):
        with self.listener("modern"):
            self.assertExit(self.watch(), 0)
        second = self.watch()
        self.assertExit(second, 69)  # postern's usual code: a target did not answer
        self.assertEqual(self.codes(second), ["watch.port.unreachable"], second.describe())
        f = self.finding(second, "watch.port.unreachable")
        self.assertEqual((f["level"], f["after"]), ("critical", "net.refused"))
        third = self.watch(monitoring=True)
        self.assertMonitoring(third, "CRITICAL", 2)
        self.assertIn("does not answer", third.summary_line)
        with self.listener("modern"):
            back = self.watch(monitoring=True)
        self.assertMonitoring(back, "OK", 0)
        self.assertEqual(self.codes(back), ["watch.port.answering"], back.describe())

    def test_auth_gone_and_back(self):
        with self.listener("modern_starttls", auth=True):
            first = self.watch()
            self.assertExit(first, 0)
            self.assertTrue(first.json["targets"][0]["after"]["auth"], first.describe())
        with self.listener("modern_starttls"):
            second = self.watch(monitoring=True)
        self.assertMonitoring(second, "WARNING", 1)
        self.assertEqual(self.finding(second, "watch.smtp.auth-gone")["level"], "warning")
        with self.listener("modern_starttls", auth=True):
            third = self.watch(monitoring=True)
        self.assertMonitoring(third, "OK", 0)
        self.assertEqual(self.finding(third, "watch.smtp.auth-appeared")["level"], "note")

    def test_starttls_gone(self):
        with self.listener("modern_starttls"):
            first = self.watch()
            self.assertExit(first, 0)
            self.assertTrue(first.json["targets"][0]["after"]["starttls"])
        with self.listener(mode="plain"):
            second = self.watch(monitoring=True)
        self.assertMonitoring(second, "CRITICAL", 2)
        self.assertEqual(self.finding(second, "watch.smtp.starttls-gone")["level"], "critical")
        self.assertEqual(self.finding(second, "watch.port.mode-changed")["after"], "plain")


class HistoryAndState(WatchTestCase):
    def history(self, *extra):
        return run_postern(["watch", "--history", LOOPBACK4] + list(extra), env={"XDG_STATE_HOME": self.state})

    def test_history_shows_what_changed_when_and_keep_prunes(self):
        with self.listener("modern"):
            self.assertExit(self.watch(), 0)
        with self.listener("modern", max_version="TLSv1_2"):
            second = self.watch()
        hist = self.history("--json")
        self.assertExit(hist, 0)
        (target,) = hist.json["targets"]
        self.assertEqual(target["target"], f"{LOOPBACK4}:{self.port}")
        self.assertEqual(target["profiles"], 2)
        first_change, second_change = target["changes"]
        self.assertEqual([f["code"] for f in first_change["findings"]], ["watch.baseline"])
        self.assertEqual(second_change["time"], second.json["checked_at"])
        self.assertIn("watch.tls.version-removed", [f["code"] for f in second_change["findings"]])
        text = self.history()
        self.assertExit(text, 0)
        self.assertIn(f"{second.json['checked_at']}  tls  TLSv1.2\n", text.stdout)
        self.assertIn("watch.tls.version-removed: ", text.stdout)

        # Age the first profile by 200 days (sqlite3 is the judge of what is stored), then prune.
        db = os.path.join(self.state, "postern", "watch.sqlite")
        with sqlite3.connect(db) as c:
            c.execute("UPDATE profiles SET taken_at = taken_at - 200 * 86400 WHERE id = (SELECT MIN(id) FROM profiles)")
        with self.listener("modern", max_version="TLSv1_2"):
            third = self.watch("--keep", "90d")
        self.assertExit(third, 0)
        self.assertEqual(third.json["pruned"], 1)
        with sqlite3.connect(db) as c:
            self.assertEqual(c.execute("SELECT COUNT(*) FROM profiles").fetchone()[0], 2)
        # Every profile old: a short period still keeps the newest of the target (the next run's baseline).
        with sqlite3.connect(db) as c:
            c.execute("UPDATE profiles SET taken_at = taken_at - 2 * 86400")
        with self.listener("modern", max_version="TLSv1_2"):
            fourth = self.watch("--keep", "1d")
        self.assertExit(fourth, 0)
        self.assertEqual(fourth.json["pruned"], 2)
        self.assertEqual([f["code"] for f in fourth.json["findings"]], [], "compared with the aged third run")
        with sqlite3.connect(db) as c:
            self.assertEqual(c.execute("SELECT COUNT(*) FROM profiles").fetchone()[0], 1)
        self.assertEqual(self.history("--json").json["targets"][0]["profiles"], 1)

    def test_bad_input_and_broken_state(self):
        bad = run_postern(["watch", f"{LOOPBACK4}:{self.port}", "--keep", "90x"])
        self.assertFailure(bad, 64, ("usage",))
        self.assertIn("--keep 90x", bad.stderr)
        unknown = run_postern(["watch", f"{LOOPBACK4}:{self.port}", "--keep", "90x", "--monitoring"])
        self.assertExit(unknown, 3)
        self.assertTrue(unknown.stdout.startswith("POSTERN WATCH UNKNOWN - [usage]"), unknown.describe())
        self.assertFailure(run_postern(["watch", "x", "--critical-days", "30", "--warn-days", "7"]), 64, ("usage",))
        self.assertFailure(run_postern(["watch", "--account", "nope", "--config", os.devnull]), 78, ("config",))
        self.assertFailure(run_postern(["watch", "--history", LOOPBACK4], env={"XDG_STATE_HOME": self.state}), 66,
                           ("watch.no-history",))

        with self.listener("modern"):
            self.assertExit(self.watch(), 0)
            db = os.path.join(self.state, "postern", "watch.sqlite")
            with sqlite3.connect(db) as c:
                c.execute("UPDATE profiles SET profile = '{\"host\": 5}'")
            broken = run_postern(["watch", f"{LOOPBACK4}:{self.port}", "--ca-file", CERTS.ca_file],
                                 env={"XDG_STATE_HOME": self.state})
            self.assertFailure(broken, 74, ("watch.state",))
            self.assertIn("does not parse", broken.stderr)
            mon = run_postern(["watch", f"{LOOPBACK4}:{self.port}", "--ca-file", CERTS.ca_file, "--monitoring"],
                              env={"XDG_STATE_HOME": self.state})
            self.assertExit(mon, 3)
            self.assertTrue(mon.stdout.startswith("POSTERN WATCH UNKNOWN - [watch.state]"), mon.describe())


if __name__ == "__main__":
    unittest.main()
