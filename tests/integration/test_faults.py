"""Misbehaving servers (servers/faulty.py): each fault gives exactly its cause code and exit code."""

import shutil
import tempfile
import unittest

import harness
from harness import PosternTestCase, run_postern, write_file

certs = None
servers = {}
# A hostile server must not make postern's memory grow with what it sends: compared with a run
# that fails at the same step against a well-behaved server (same binary, so an ASan build's larger
# baseline cancels out), the hostile run may use at most this much more. The long-line server
# sends 10 MB, so buffering it would exceed the margin several times over.
RSS_MARGIN_KB = 8 * 1024


def setUpModule():
    global certs
    harness.require_postern()
    certs = unittest.enterModuleContext(harness.Certs(variants=False))
    for fault in harness.FAULTS:
        servers[fault] = unittest.enterModuleContext(harness.Faulty(fault, certs=certs))


class Faults(PosternTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.data = (f"From: sender@example.org\r\nTo: someone@example.net\r\nSubject: {self._testMethodName}\r\n\r\n"
                     "fault test\r\n.\r\n").encode()
        self.file = write_file(self.tmp, "m.eml", self.data)

    def send(self, fault_or_port, mode="--starttls", to=("good@example.net",), extra=(), timeout="10"):
        port = servers[fault_or_port].port if isinstance(fault_or_port, str) else fault_or_port
        args = ["send", "--server", f"127.0.0.1:{port}", mode, "--ca-file", certs.ca_file,
                "--from", "sender@example.org", "--timeout", timeout]
        for t in to:
            args += ["--to", t]
        return run_postern(args + list(extra) + [self.file], timeout=120)

    def stored(self, fault, rcpt):
        return [m for m in servers[fault].store.messages() if m.header("Subject") == self._testMethodName
                and rcpt in m.recipients]

    def explain(self, fault, res):
        return res.describe() + servers[fault].log_tail()

    # -- STARTTLS response injection ---------------------------------------------
    def test_starttls_injection_is_refused(self):
        res = self.send("starttls-injection", to=("inject@example.net",))
        self.assertFailure(res, 76, "smtp.bad-reply")
        servers["starttls-injection"].store.assert_no_messages(wait=1.0, rcpt="inject@example.net")

    def test_starttls_injection_json(self):
        res = self.send("starttls-injection", to=("inject-json@example.net",), extra=["--json"])
        self.assertJsonError(res, 76, "smtp.bad-reply")
        servers["starttls-injection"].store.assert_no_messages(wait=0.5, rcpt="inject-json@example.net")

    def test_starttls_injection_server_control(self):
        # Control: the same server stores a message sent without STARTTLS, so the
        # "not stored" assertions above are meaningful.
        res = self.send("starttls-injection", mode="--plain", to=("control@example.net",))
        self.assertOk(res)
        [m] = servers["starttls-injection"].wait_for_messages(1, rcpt="control@example.net")
        self.assertSameMessage(self.data, m, crlf_stored=True)

    # -- time limits ------------------------------------------------------------------
    def test_silent_server_greeting_timeout(self):
        res = self.send("silent", timeout="2")
        self.assertFailure(res, 75, "net.greeting-timeout")

    def test_silent_server_json(self):
        res = self.send("silent", timeout="2", extra=["--json"])
        self.assertJsonError(res, 75, "net.greeting-timeout")

    def test_slow_greeting_total_deadline(self):
        # One byte per second keeps an idle timer happy; the deadline is a total.
        res = self.send("slow-greeting", timeout="3")
        self.assertFailure(res, 75, ("net.greeting-timeout", "net.timeout"))

    # -- bounded replies ----------------------------------------------------------------
    def test_endless_ehlo_reply_too_long(self):
        res = self.send("endless-ehlo", timeout="30")
        self.assertFailure(res, 76, "smtp.reply-too-long")
        self.assertLess(res.max_rss_kb, self.baseline_rss_kb() + RSS_MARGIN_KB, self.explain("endless-ehlo", res))

    def test_ten_megabyte_greeting_reply_too_long(self):
        res = self.send("long-line", timeout="30")
        self.assertFailure(res, 76, "smtp.reply-too-long")
        self.assertLess(res.max_rss_kb, self.baseline_rss_kb() + RSS_MARGIN_KB, self.explain("long-line", res))

    def baseline_rss_kb(self):
        """Peak RSS of a run that also fails right after EHLO, against a polite server."""
        res = self.send("no-starttls", timeout="30")
        self.assertFailure(res, 77, "smtp.starttls-missing")
        self.assertIsNotNone(res.max_rss_kb, "GNU time is needed to measure memory (scripts/setup.sh installs it)")
        return res.max_rss_kb

    # -- a step slower than --timeout, after TLS is up (the stream's one watchdog timer) ----------
    def test_slow_data_reply_times_out_over_tls(self):
        # The server waits 3 s before its 354: with --timeout 1 that read is cancelled mid-session.
        res = self.send("slow-data", to=("slow-timeout@example.net",), timeout="1")
        self.assertFailure(res, 75, "net.timeout")
        servers["slow-data"].store.assert_no_messages(wait=4.0, rcpt="slow-timeout@example.net")

    def test_slow_data_reply_within_timeout_is_delivered(self):
        # Control: the same server and message with room for the 3 s wait.
        res = self.send("slow-data", to=("slow-ok@example.net",), timeout="20")
        self.assertOk(res)
        self.assertEqual(len(self.stored("slow-data", "slow-ok@example.net")), 1, self.explain("slow-data", res))

    # -- lost connection after the final dot ----------------------------------------------
    def test_drop_after_dot_outcome_unknown(self):
        res = self.send("drop-after-dot", mode="--plain")
        self.assertFailure(res, 75, "smtp.outcome-unknown")

    def test_drop_after_dot_json(self):
        res = self.send("drop-after-dot", mode="--plain", extra=["--json"])
        j = self.assertJsonError(res, 75, "smtp.outcome-unknown")
        self.assertEqual(len(j["messages"]), 1, res.describe())
        self.assertIs(j["messages"][0]["delivered"], False, "delivery is not known: not reported as delivered" + res.describe())

    # -- per-recipient refusals -----------------------------------------------------------
    def test_reject_some_partial_delivery(self):
        to = ("good1@example.net", "bad1@example.net", "good2@example.net", "bad2@example.net")
        res = self.send("reject-some", mode="--plain", to=to)
        self.assertExit(res, 67)
        self.assertIn("bad1@example.net", res.stderr, res.describe())
        self.assertIn("bad2@example.net", res.stderr, res.describe())
        [m] = servers["reject-some"].wait_for_messages(1, match=lambda m: m.header("Subject") == self._testMethodName)
        self.assertEqual(m.recipients, ["good1@example.net", "good2@example.net"])
        self.assertSameMessage(self.data, m, crlf_stored=True)

    def test_reject_some_json(self):
        to = ("good3@example.net", "bad3@example.net", "good4@example.net")
        res = self.send("reject-some", mode="--plain", to=to, extra=["--json"])
        self.assertExit(res, 67)
        j = self.assertJson(res)
        self.assertIs(j["ok"], False, res.describe())
        self.assertEqual(j["exit_code"], 67, res.describe())
        [msg] = j["messages"]
        self.assertIs(msg["delivered"], True, "the message reached the accepted recipients" + res.describe())
        self.assertTrue(msg["reply"].startswith("250"), res.describe())
        got = {r["address"]: r for r in msg["recipients"]}
        self.assertEqual(sorted(got), sorted(to), res.describe())
        self.assertEqual(j["error"]["code"], "smtp.rejected", res.describe())
        self.assertIs(got["good3@example.net"]["accepted"], True)
        self.assertIs(got["good4@example.net"]["accepted"], True)
        self.assertIs(got["bad3@example.net"]["accepted"], False)
        self.assertTrue(got["bad3@example.net"]["reply"].startswith("550"), res.describe())
        self.assertIn("5.1.1", got["bad3@example.net"]["reply"])
        [m] = servers["reject-some"].wait_for_messages(1, match=lambda m: m.header("Subject") == self._testMethodName)
        self.assertEqual(m.recipients, ["good3@example.net", "good4@example.net"])

    def test_reject_all(self):
        res = self.send("reject-some", mode="--plain", to=("bad5@example.net", "bad6@example.net"), extra=["--json"])
        self.assertExit(res, 67)
        j = self.assertJson(res)
        self.assertIs(j["messages"][0]["delivered"], False, res.describe())
        self.assertEqual(j["error"]["code"], "smtp.rejected", res.describe())
        self.assertFalse(any(r["accepted"] for r in j["messages"][0]["recipients"]), res.describe())
        servers["reject-some"].store.assert_no_messages(
            wait=0.5, match=lambda m: m.header("Subject") == self._testMethodName)

    def test_all_recipients_deferred_is_transient(self):
        res = self.send("reject-some", mode="--plain", to=("later1@example.net", "later2@example.net"),
                        extra=["--json"])
        self.assertExit(res, 75)
        j = self.assertJson(res)
        self.assertEqual(j["error"]["code"], "smtp.transient", res.describe())
        self.assertTrue(all(r["reply"].startswith("451") for r in j["messages"][0]["recipients"]), res.describe())
        servers["reject-some"].store.assert_no_messages(
            wait=0.5, match=lambda m: m.header("Subject") == self._testMethodName)

    # -- STARTTLS missing ---------------------------------------------------------------
    def test_no_starttls_with_starttls_required(self):
        res = self.send("no-starttls", to=("nostarttls@example.net",))
        self.assertFailure(res, 77, "smtp.starttls-missing")
        servers["no-starttls"].store.assert_no_messages(wait=0.5, rcpt="nostarttls@example.net")

    def test_no_starttls_server_control(self):
        # Control: the server itself works in plaintext.
        res = self.send("no-starttls", mode="--plain", to=("plain-ok@example.net",))
        self.assertOk(res)
        [m] = servers["no-starttls"].wait_for_messages(1, rcpt="plain-ok@example.net")
        self.assertSameMessage(self.data, m, crlf_stored=True)

    # -- network ---------------------------------------------------------------------------
    def test_connection_refused(self):
        res = self.send(harness.closed_port(), mode="--tls")
        self.assertFailure(res, 69, "net.refused")

    def test_connection_refused_json(self):
        port = harness.closed_port()
        res = self.send(port, mode="--starttls", extra=["--json"])
        j = self.assertJsonError(res, 69, "net.refused")
        self.assertEqual(j["port"], port)
        self.assertEqual(j["server"], "127.0.0.1")

    # -- local input errors -------------------------------------------------------------------
    def test_missing_input_file(self):
        res = run_postern(["send", "--server", f"127.0.0.1:{servers['no-starttls'].port}", "--plain",
                           "--from", "a@example.org", "--to", "missing@example.net",
                           self.tmp + "/does-not-exist.eml"])
        self.assertExit(res, 66)
        self.assertIn("does-not-exist.eml", res.stderr, res.describe())
        servers["no-starttls"].store.assert_no_messages(wait=0.3, rcpt="missing@example.net")

    def test_usage_error(self):
        res = run_postern(["send", "--server", f"127.0.0.1:{servers['no-starttls'].port}", "--plain",
                           "--to", "usage@example.net", self.file])  # no --from
        self.assertExit(res, 64)


if __name__ == "__main__":
    unittest.main()
