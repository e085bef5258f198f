"""postern bulk against real servers: exactly once, killed and resumed, rate, 421s, downgrade.

The judges are the servers: Postfix logs every message its cleanup daemon writes into the
queue ("message-id=<...>"), so counting Message-IDs in its log counts what it stored, exactly
once or not; servers/faulty.py stores each message as a file named by its arrival time (ns).
"""

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from harness import PosternTestCase, run_postern

certs = postfix = None


def setUpModule():
    global certs, postfix
    harness.require_postern()
    certs = unittest.enterModuleContext(harness.Certs(variants=False))
    # Discard after the queue write: the queue files are real, the delivery is not the test.
    postfix = unittest.enterModuleContext(harness.Postfix(certs, deliver="discard"))


def message(tag, n, size=2048):
    head = (f"From: Bulk <bulk@example.org>\r\nTo: r{n}@example.net\r\nSubject: bulk {tag} {n}\r\n"
            f"Message-ID: <{tag}.{n}@postern.test>\r\nDate: Sat, 01 Mar 2025 10:00:00 +0000\r\n\r\n")
    body = ("line of a bulk message %d\r\n" % n) * (size // 28)
    return head + body


class BulkCase(PosternTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-bulk-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.tag = self._testMethodName

    def manifest(self, n, files_every=2, rcpt="r{n}@example.net"):
        """A manifest of n messages; every files_every-th one as a file, the others inline."""
        path = os.path.join(self.tmp, "manifest.jsonl")
        os.makedirs(os.path.join(self.tmp, "msgs"), exist_ok=True)
        with open(path, "w") as f:
            for i in range(n):
                entry = {"id": f"{self.tag}-{i}", "from": "bulk@example.org", "to": [rcpt.format(n=i)]}
                text = message(self.tag, i)
                if files_every and i % files_every == 0:
                    name = f"msgs/{i}.eml"
                    with open(os.path.join(self.tmp, name), "w", newline="") as m:
                        m.write(text)
                    entry["file"] = name
                else:
                    entry["data"] = text
                f.write(json.dumps(entry) + "\n")
        return path

    def results(self, path):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def postfix_message_ids(self, expect_at_least, timeout=60):
        """Message-IDs of this test that Postfix's cleanup wrote into its queue, with counts."""
        pattern = re.compile(r"message-id=<(" + re.escape(self.tag) + r"\.\d+)@postern\.test>")
        deadline = time.monotonic() + timeout
        last, stable_since = None, time.monotonic()
        while True:
            ids = collections.Counter(pattern.findall(postfix.log_text()))
            total = sum(ids.values())
            if total != last:
                last, stable_since = total, time.monotonic()
            # Settled: the expected number is there and nothing new came for a second.
            if total >= expect_at_least and time.monotonic() - stable_since > 1.0:
                return ids
            if time.monotonic() > deadline:
                return ids
            time.sleep(0.2)

    def bulk_args(self, port, extra=()):
        return ["bulk", "--server", f"127.0.0.1:{port}", "--starttls", "--ca-file", certs.ca_file] + list(extra)


class BulkToPostfix(BulkCase):

    def test_two_thousand_exactly_once(self):
        manifest = self.manifest(2000)
        out = os.path.join(self.tmp, "results.jsonl")
        res = run_postern(self.bulk_args(postfix.starttls, ["--jobs", "4", "--results", out, manifest]),
                          timeout=900)
        self.assertOk(res)
        lines = self.results(out)
        self.assertEqual(len(lines), 2000, res.describe())
        self.assertEqual(sorted(r["id"] for r in lines), sorted(f"{self.tag}-{i}" for i in range(2000)))
        self.assertTrue(all(r["ok"] and r["code"] == 250 for r in lines), [r for r in lines if not r["ok"]][:3])
        for r in lines[:5]:
            self.assertEqual(set(r) >= {"id", "ok", "code", "reply", "recipients", "attempts", "connection",
                                        "elapsed_ms"}, True, r)
            self.assertTrue(r["recipients"][0]["accepted"], r)
        ids = self.postfix_message_ids(2000)
        self.assertEqual(len(ids), 2000, "Postfix stored %d distinct messages" % len(ids))
        self.assertEqual([k for k, v in ids.items() if v != 1], [], "stored more than once")
        # Several connections carried them, never more than --jobs at once.
        self.assertGreater(len({r["connection"] for r in lines}), 4)
        m = re.search(r"(\d+) connections \(at most (\d+) at once\)", res.stderr)
        self.assertIsNotNone(m, res.stderr)
        self.assertLessEqual(int(m.group(2)), 4)
        self.assertGreaterEqual(int(m.group(2)), 2)
        # No journal is left behind by a run that finished.
        self.assertFalse(os.path.exists(out + ".journal"))

    def test_killed_and_resumed_delivers_the_rest_exactly_once(self):
        n = 1500
        manifest = self.manifest(n)
        out = os.path.join(self.tmp, "results.jsonl")
        cmd = [harness.require_postern()] + self.bulk_args(
            postfix.starttls, ["--jobs", "4", "--results", out, manifest])
        # Both runs share one state folder (the route memory is the run's); each gets a fresh HOME.
        state = {"XDG_STATE_HOME": os.path.join(self.tmp, "state")}
        env, home = harness.hermetic_env(dict(state))
        self.addCleanup(shutil.rmtree, home, ignore_errors=True)
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        # SIGKILL once about a third has results: connections are mid-message then.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(out) and sum(1 for _ in open(out)) >= n // 3:
                break
            time.sleep(0.05)
        self.assertIsNone(proc.poll(), "the run ended before it could be killed")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        first = self.results_tolerant(out)
        self.assertLess(len(first), n)
        # The same command with --resume.
        res = run_postern(cmd[1:] + ["--resume"], env=dict(state), timeout=900)
        self.assertIn(res.exit_code, (0, 75), res.describe())
        lines = self.results_tolerant(out)
        final = {}
        for r in lines:
            if r["id"] in final and (final[r["id"]]["ok"] or final[r["id"]].get("cause") == "smtp.outcome-unknown"):
                self.fail(f"{r['id']} settled twice: {final[r['id']]} then {r}")
            final[r["id"]] = r
        self.assertEqual(len(final), n, "every message has a final results line")
        unknown = {i for i, r in final.items() if r.get("cause") == "smtp.outcome-unknown"}
        delivered = {i for i, r in final.items() if r["ok"]}
        self.assertEqual(len(delivered) + len(unknown), n, [r for r in final.values() if not r["ok"]][:3])
        # At most the connections' in-flight messages can be unknown.
        self.assertLessEqual(len(unknown), 4)
        ids = self.postfix_message_ids(len(delivered))
        for i in delivered:
            key = f"{self.tag}.{i.rsplit('-', 1)[1]}"
            self.assertEqual(ids.get(key), 1, f"{i} delivered {ids.get(key)} times")
        for i in unknown:
            key = f"{self.tag}.{i.rsplit('-', 1)[1]}"
            self.assertLessEqual(ids.get(key, 0), 1, f"outcome-unknown {i} was sent again")
        self.assertEqual([k for k, v in ids.items() if v > 1], [])

    def results_tolerant(self, path):
        """Results lines; a torn last line (the kill) is dropped."""
        out = []
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def test_existing_results_are_never_overwritten(self):
        manifest = self.manifest(3)
        out = os.path.join(self.tmp, "results.jsonl")
        with open(out, "w") as f:
            f.write('{"id":"earlier","ok":true}\n')
        res = run_postern(self.bulk_args(postfix.starttls, ["--results", out, manifest]))
        self.assertFailure(res, 73, ["usage"])
        self.assertIn("--resume", res.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), '{"id":"earlier","ok":true}\n')
        self.assertEqual(len(self.postfix_message_ids(0, timeout=2)), 0)

    def test_bad_manifest_lines_fail_alone(self):
        path = os.path.join(self.tmp, "manifest.jsonl")
        good = {"id": f"{self.tag}-0", "from": "bulk@example.org", "to": "r0@example.net",
                "data": message(self.tag, 0)}
        with open(path, "w") as f:
            f.write(json.dumps(good) + "\n")
            f.write("{not json\n")
            f.write(json.dumps({"id": "nofile", "from": "bulk@example.org", "to": ["a@example.net"],
                                "file": "missing.eml"}) + "\n")
            f.write(json.dumps({"id": "both", "to": ["a@example.net"], "file": "x", "data": "y"}) + "\n")
        out = os.path.join(self.tmp, "results.jsonl")
        res = run_postern(self.bulk_args(postfix.starttls, ["--results", out, path]))
        self.assertExit(res, 65)
        by_id = {r["id"]: r for r in self.results(out)}
        self.assertTrue(by_id[f"{self.tag}-0"]["ok"])
        self.assertEqual(by_id["line:2"]["cause"], "bulk.bad-manifest")
        self.assertIn("line 2", by_id["line:2"]["summary"])
        self.assertEqual(by_id["nofile"]["cause"], "input")
        self.assertEqual(by_id["both"]["cause"], "bulk.bad-manifest")
        self.assertIn("[bulk.bad-manifest]", res.stderr)
        self.assertEqual(len(self.postfix_message_ids(1)), 1)


class BulkAgainstFaultyServers(BulkCase):

    def test_rate_is_never_exceeded(self):
        rate, jobs = 25, 2
        with harness.Faulty("reject-some", certs) as srv:
            manifest = self.manifest(75, files_every=0)
            res = run_postern(self.bulk_args(srv.port, ["--jobs", str(jobs), "--rate", str(rate), manifest]))
            self.assertOk(res)
            names = sorted(n for n in os.listdir(srv.store_dir) if n.endswith(".eml"))
            self.assertEqual(len(names), 75)
            arrivals = [int(n.split("-")[0]) / 1e9 for n in names]
        # Over any one-second window: at most rate, plus one per connection (an upper bound only).
        worst = max(sum(1 for t in arrivals if s <= t < s + 1.0) for s in arrivals)
        self.assertLessEqual(worst, rate + jobs, f"{worst} messages arrived within one second")

    def test_a_server_answering_421_gets_everything_with_fewer_connections(self):
        with harness.Faulty("busy-every-third", certs) as srv:
            manifest = self.manifest(200, files_every=0)
            out = os.path.join(self.tmp, "results.jsonl")
            res = run_postern(self.bulk_args(srv.port, ["--jobs", "4", "--max-per-connection", "5",
                                                        "--results", out, manifest]), timeout=600)
            self.assertOk(res)
            stored = srv.store.messages()
            log = srv.log_text()
        subjects = collections.Counter(m.header("Subject") for m in stored)
        self.assertEqual(len(subjects), 200)
        self.assertEqual([s for s, c in subjects.items() if c != 1], [])
        self.assertTrue(all(r["ok"] for r in self.results(out)))
        refused = log.count("421 4.7.0")
        self.assertGreater(refused, 0, "the server refused no connection")
        # After the refusals the pool shrank: the last connections found fewer open beside them.
        opens = [int(n) for n in re.findall(r"connected open=(\d+)", log)]
        self.assertGreaterEqual(max(opens), 3, "the pool never opened its connections")
        self.assertEqual(max(opens[-10:]), 1, opens)

    def test_a_per_connection_message_limit_is_not_taken_for_too_many_connections(self):
        # 421 after three messages on a connection: the pool reconnects, it does not shrink.
        with harness.Faulty("three-per-connection", certs) as srv:
            manifest = self.manifest(90, files_every=0)
            out = os.path.join(self.tmp, "results.jsonl")
            res = run_postern(self.bulk_args(srv.port, ["--jobs", "4", "--results", out, manifest]), timeout=600)
            self.assertOk(res)
            stored = srv.store.messages()
            log = srv.log_text()
        subjects = collections.Counter(m.header("Subject") for m in stored)
        self.assertEqual(len(subjects), 90)
        self.assertEqual([s for s, c in subjects.items() if c != 1], [])
        self.assertTrue(all(r["ok"] for r in self.results(out)))
        self.assertGreaterEqual(log.count("too many messages in this connection"), 10, log[-2000:])
        # Four connections at a time to the end: the later ones still found others open beside them.
        opens = [int(n) for n in re.findall(r"connected open=(\d+)", log)]
        self.assertGreaterEqual(len(opens), 30, opens)
        self.assertGreaterEqual(max(opens[-15:]), 3, opens)

    def test_outcome_unknown_is_never_retried(self):
        with harness.Faulty("drop-after-dot", certs) as srv:
            manifest = self.manifest(3, files_every=0)
            out = os.path.join(self.tmp, "results.jsonl")
            res = run_postern(self.bulk_args(srv.port, ["--jobs", "1", "--results", out, manifest]))
            log = srv.log_text()
        self.assertExit(res, 75)
        lines = self.results(out)
        self.assertEqual(len(lines), 3)
        self.assertTrue(all(r["cause"] == "smtp.outcome-unknown" and not r["ok"] for r in lines), lines)
        self.assertEqual(log.count("final dot received"), 3, "each message went exactly once")

    def test_a_weaker_pool_connection_is_refused(self):
        # The first connection gets TLS 1.3; every later one only TLS 1.2: the pool refuses them.
        with harness.Faulty("weaker-after-first", certs) as srv:
            manifest = self.manifest(12, files_every=0)
            out = os.path.join(self.tmp, "results.jsonl")
            res = run_postern(self.bulk_args(srv.port, ["--jobs", "3", "--max-per-connection", "4",
                                                        "--results", out, manifest]), timeout=300)
            stored = srv.store.messages()
        self.assertExit(res, 77)
        self.assertIn("[plan.downgrade]", res.stderr)
        lines = self.results(out)
        self.assertEqual(len(lines), 12)
        ok = [r for r in lines if r["ok"]]
        # Only the first connection carried mail; everything else was refused before any mail.
        self.assertEqual(len(ok), 4, lines)
        self.assertEqual({r["connection"] for r in ok}, {1})
        self.assertTrue(all(r["cause"] == "plan.downgrade" for r in lines if not r["ok"]), lines)
        self.assertEqual(len(stored), 4)


class BulkFastPath(BulkCase):
    """PIPELINING across messages and TLS resumption (issue 13, item 2)."""

    def write_manifest(self, entries):
        path = os.path.join(self.tmp, "manifest.jsonl")
        with open(path, "w") as f:
            for e in entries:
                f.write(json.dumps(e) + "\n")
        return path

    def test_next_message_is_pipelined_behind_the_final_dot(self):
        manifest = self.manifest(6, files_every=0)
        out = os.path.join(self.tmp, "results.jsonl")
        res = run_postern(self.bulk_args(postfix.starttls, ["-v", "--jobs", "1", "--results", out, manifest]))
        self.assertOk(res)
        err = res.stderr
        # The transcript: message 2's MAIL and RCPT were written before message 1's 250 arrived.
        rcpt2 = err.find("> RCPT TO:<r1@example.net>")
        queued1 = re.search(r"^< 250 2\.0\.0 Ok: .*queued as", err, re.M)
        queued1 = queued1.start() if queued1 else -1
        self.assertGreater(rcpt2, 0, err[-3000:])
        self.assertGreater(queued1, 0, err[-3000:])
        self.assertLess(rcpt2, queued1, err[-3000:])
        self.assertIn("* next message pipelined behind the final dot", err)
        lines = self.results(out)
        self.assertEqual(sorted(r["id"] for r in lines), sorted(f"{self.tag}-{i}" for i in range(6)))
        self.assertTrue(all(r["ok"] for r in lines), lines)
        ids = self.postfix_message_ids(6)
        self.assertEqual(len(ids), 6)
        self.assertEqual([k for k, v in ids.items() if v != 1], [])

    def test_send_with_several_files_pipelines_with_data_too(self):
        paths = []
        for i in range(3):
            paths.append(os.path.join(self.tmp, f"{i}.eml"))
            with open(paths[-1], "w", newline="") as f:
                f.write(message(self.tag, i))
        res = run_postern(["send", "-v", "--no-chunking", "--server", f"127.0.0.1:{postfix.starttls}", "--starttls",
                           "--ca-file", certs.ca_file, "--from", "bulk@example.org", "--to", "r@example.net"] + paths)
        self.assertOk(res)
        err = res.stderr
        mails = [m.start() for m in re.finditer(r"^> MAIL FROM:", err, re.M)]
        queued = [m.start() for m in re.finditer(r"^< 250 2\.0\.0 Ok: .*queued as", err, re.M)]
        self.assertEqual(len(mails), 3, err[-3000:])
        self.assertEqual(len(queued), 3, err[-3000:])
        self.assertLess(mails[1], queued[0])  # the 2nd MAIL went before the 1st message's reply
        self.assertLess(mails[2], queued[1])
        self.assertNotIn("> RSET", err)
        ids = self.postfix_message_ids(3)
        self.assertEqual(sorted(ids), sorted(f"{self.tag}.{i}" for i in range(3)))
        self.assertEqual(set(ids.values()), {1})

    def test_refusals_in_the_middle_of_a_pipelined_run_lose_and_duplicate_nothing(self):
        # Every 5th message has its only recipient refused (550), every 7th deferred (451):
        # the replies of the messages pipelined around them must still land on the right ones.
        entries, want_ok = [], set()
        for i in range(60):
            rcpt = f"bad{i}@example.net" if i % 5 == 0 else f"later{i}@example.net" if i % 7 == 0 else f"r{i}@example.net"
            entries.append({"id": f"m{i}", "from": "bulk@example.org", "to": [rcpt], "data": message(self.tag, i)})
            if i % 5 and i % 7:
                want_ok.add(f"m{i}")
        manifest = self.write_manifest(entries)
        out = os.path.join(self.tmp, "results.jsonl")
        with harness.Faulty("reject-some", certs) as srv:
            res = run_postern(self.bulk_args(srv.port, ["--jobs", "2", "--max-per-connection", "20",
                                                        "--max-attempts", "2", "--results", out, manifest]),
                              timeout=300)
            stored = srv.store.messages()
        self.assertExit(res, 67)  # some recipients do not exist
        lines = self.results(out)
        self.assertEqual(sorted(r["id"] for r in lines), sorted(e["id"] for e in entries))
        by_id = {r["id"]: r for r in lines}
        self.assertEqual({i for i, r in by_id.items() if r["ok"]}, want_ok)
        for i in range(60):
            r = by_id[f"m{i}"]
            if i % 5 == 0:
                self.assertEqual((r["cause"], r["recipients"][0]["reply"][:3]), ("smtp.rejected", "550"), r)
            elif i % 7 == 0:
                self.assertEqual(r["cause"], "smtp.transient", r)
        subjects = collections.Counter(m.header("Subject") for m in stored)
        self.assertEqual(set(subjects), {f"bulk {self.tag} {i}" for i in range(60) if f"m{i}" in want_ok})
        self.assertEqual([s for s, c in subjects.items() if c != 1], [], "stored more than once")

    def test_pool_connections_resume_the_first_tls_session(self):
        manifest = self.manifest(120, files_every=0)
        out = os.path.join(self.tmp, "results.jsonl")
        res = run_postern(["bulk", "-v", "--server", f"127.0.0.1:{postfix.implicit}", "--tls", "--ca-file",
                           certs.ca_file, "--jobs", "4", "--max-per-connection", "10", "--results", out, manifest],
                          timeout=600)
        self.assertOk(res)
        m = re.search(r"(\d+) connections \(at most \d+ at once\), (\d+) resumed TLS", res.stderr)
        self.assertIsNotNone(m, res.stderr[-2000:])
        connections, resumed = int(m.group(1)), int(m.group(2))
        self.assertGreaterEqual(connections, 12)
        self.assertGreater(resumed, 0)
        self.assertLess(resumed, connections)  # the first one's handshake was a full one
        self.assertEqual(res.stderr.count(", session resumed"), resumed)
        self.assertTrue(all(r["ok"] for r in self.results(out)))
        ids = self.postfix_message_ids(120)
        self.assertEqual(len(ids), 120)
        self.assertEqual([k for k, v in ids.items() if v != 1], [])


if __name__ == "__main__":
    unittest.main()
