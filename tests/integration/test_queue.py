"""The durable queue (docs/queue.md) against faulty.py: sendmail mode with the server down,
`queue run` once it is up (byte-exact), permanent failures and the bounce report, giving up,
outcome-unknown held for the user, hold/release/drop, a `queue run` killed with SIGKILL during
500 deliveries, and 3 concurrent `queue run` processes draining 5,000 messages."""

import collections
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from harness import PosternTestCase, run_postern, write_file


def message_id(raw: bytes):
    m = re.search(rb"(?im)^Message-ID:\s*(<[^>\r\n]+>)", raw)
    return m.group(1).decode() if m else None


class FaultyAt(harness.Faulty):
    """faulty.py on a port chosen before it starts (a server that comes up where the queued
    message's delivery points)."""

    def __init__(self, fault, port):
        super().__init__(fault)
        self.fixed_port = port

    def __enter__(self):
        saved = harness.free_port
        harness.free_port = lambda host=harness.LOOPBACK4: self.fixed_port
        try:
            return super().__enter__()
        finally:
            harness.free_port = saved


class Queue(PosternTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-queue-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.xdg = os.path.join(self.tmp, "xdg")
        self.qfile = os.path.join(self.tmp, "state", "queue.sqlite")
        self.name = self._testMethodName.replace("_", "-")

    def write_config(self, port, queue="on-failure", extra=""):
        os.makedirs(os.path.join(self.xdg, "postern"), exist_ok=True)
        write_file(os.path.join(self.xdg, "postern"), "config", f"""\
# written by test_queue.py
account local
  host 127.0.0.1
  port {port}
  mode plain
  timeout 10
  from sender@example.org
  queue {queue}
  queue-location {self.qfile}
  bounce-to sender
{extra}
default local
""".encode())

    def env(self):
        return {"XDG_CONFIG_HOME": self.xdg}

    def postern(self, args, data=None, timeout=600):
        return run_postern(args, input=data, env=self.env(), timeout=timeout)

    def queue(self, *args, timeout=600):
        return self.postern(["queue", args[0], "--queue", self.qfile] + list(args[1:]), timeout=timeout)

    def listing(self, *flags):
        res = self.queue("list", "--json", *flags)
        self.assertOk(res)
        return res.json["messages"]

    def message(self, to, mid=None, body="Hello.\r\n.\r\nA lone dot above.\r\n"):
        mid = mid or f"<{self.name}-{random.getrandbits(64):x}@example.org>"
        return (f"From: Sender <sender@example.org>\r\nTo: {to}\r\nSubject: {self.name}\r\n"
                f"Date: Wed, 02 Dec 2026 14:00:00 +0000\r\nMessage-ID: {mid}\r\n\r\n{body}").encode()

    def sendmail(self, data):
        return self.postern(["-t", "-i"], data)

    # -- down, then up -------------------------------------------------------------------
    def test_sendmail_with_server_down_queues_then_run_delivers_byte_exact(self):
        port = harness.closed_port()
        self.write_config(port)
        data = self.message("rcpt@example.net")
        res = self.sendmail(data)
        self.assertExit(res, 0)
        self.assertIn("queued", res.stderr, res.describe())
        self.assertIn("net.refused", res.stderr, res.describe())
        [e] = self.listing()
        self.assertEqual(e["state"], "queued")
        self.assertEqual(e["rcpt_to"], ["rcpt@example.net"])
        self.assertEqual(e["last_cause"], "")  # the attempt of `send` itself is not the queue's
        # Still down: `queue run` tries, keeps it, and says when it tries again.
        res = self.queue("run", "--retry-first", "0")
        self.assertOk(res)
        [e] = self.listing()
        self.assertEqual((e["state"], e["attempts"], e["last_cause"]), ("queued", 1, "net.refused"))
        with FaultyAt("reject-some", port) as server:
            res = self.queue("run")
            self.assertOk(res)
            self.assertIn("delivered", res.stdout, res.describe())
            [stored] = server.wait_for_messages(1)
            self.assertEqual(stored.data, data)  # byte-exact, dot-stuffing undone by the server
            self.assertEqual(stored.recipients, ["rcpt@example.net"])
            self.assertEqual(self.listing(), [])
            [d] = self.listing("--all")
            self.assertEqual((d["state"], d["attempts"]), ("delivered", 2))
            # Nothing is due: a second run sends nothing.
            self.assertOk(self.queue("run"))
            server.store.assert_no_messages(wait=0.5, match=lambda m: m.path != stored.path)

    def test_send_queue_flag_and_permanent_failure_reported_at_once(self):
        with harness.Faulty("reject-some") as server:
            self.write_config(server.port, queue="never")
            # --queue: the server is up and refuses permanently: reported now, not queued.
            res = self.postern(["send", "--queue", "--to", "bad-user@example.net", "-"],
                               self.message("bad-user@example.net"))
            self.assertFailure(res, 67, "smtp.rejected")
            self.assertEqual(self.listing(), [])
            # A 4xx: queued, exit 0.
            res = self.postern(["send", f"--queue={self.qfile}", "--to", "later@example.net", "-"],
                               self.message("later@example.net"))
            self.assertExit(res, 0)
            self.assertIn("smtp.transient", res.stderr, res.describe())
            [e] = self.listing()
            self.assertEqual(e["state"], "queued")

    def test_permanent_failure_in_queue_is_a_bounce_report_and_message(self):
        with harness.Faulty("reject-some") as server:
            self.write_config(server.port, queue="always")
            data = self.message("bad-user@example.net")
            res = self.sendmail(data)
            self.assertExit(res, 0)
            res = self.queue("run")
            self.assertOk(res)
            [failed] = self.listing("--failed")
            self.assertEqual(failed["last_cause"], "smtp.rejected")
            self.assertIn("550 5.1.1", failed["last_reply"] + failed["last_summary"])
            # The bounce went to the sender through the same account, from the null sender.
            [bounce] = server.wait_for_messages(1, rcpt="sender@example.org")
            self.assertEqual(bounce.sender, "")
            self.assertIn(failed["id"].encode(), bounce.data)
            self.assertIn(b"smtp.rejected", bounce.data)
            self.assertIn(b"bad-user@example.net", bounce.data)
            self.assertIn(b"Subject: " + self.name.encode(), bounce.data)  # the original header
            # Text listing names the cause too.
            res = self.queue("list", "--failed")
            self.assertOk(res)
            self.assertIn("[smtp.rejected]", res.stdout)

    def test_given_up_after_the_limit(self):
        port = harness.closed_port()
        self.write_config(port, queue="always")
        self.assertExit(self.sendmail(self.message("rcpt@example.net")), 0)
        res = self.queue("run", "--give-up", "0")
        self.assertOk(res)
        [e] = [m for m in self.listing("--failed") if m["origin"] != "bounce"]
        self.assertEqual(e["last_cause"], "queue.given-up")
        self.assertIn("net.refused", e["last_summary"])
        # The bounce for it is queued (its own delivery fails the same way) and never bounces.
        bounces = [m for m in self.listing() if m["origin"] == "bounce"]
        self.assertEqual(len(bounces), 1, self.listing())
        self.assertEqual(bounces[0]["rcpt_to"], ["sender@example.org"])

    def test_outcome_unknown_is_held_not_retried_and_retry_sends_it(self):
        port = harness.free_port()
        self.write_config(port, queue="always")
        data = self.message("rcpt@example.net")
        self.assertExit(self.sendmail(data), 0)
        with FaultyAt("drop-after-dot", port):
            self.assertOk(self.queue("run", "--retry-first", "0"))
        [e] = self.listing()
        self.assertEqual((e["state"], e["last_cause"]), ("unknown", "smtp.outcome-unknown"))
        with FaultyAt("reject-some", port) as server:
            self.assertOk(self.queue("run", "--retry-first", "0"))
            server.store.assert_no_messages(wait=0.5)
            self.assertEqual(self.listing()[0]["state"], "unknown")
            self.assertOk(self.queue("retry", e["id"]))
            self.assertOk(self.queue("run"))
            [stored] = server.wait_for_messages(1)
            self.assertEqual(stored.data, data)
        self.assertEqual(self.listing(), [])

    def test_a_worker_whose_lease_ran_out_withdraws_the_message_before_its_final_dot(self):
        # --lease 1 and a server that answers DATA after 3 s: when the final dot is due the lease
        # has expired (another worker could own the message now), so the worker closes the
        # connection without the dot; the message stays queued and goes once, later.
        port = harness.free_port()
        self.write_config(port, queue="always")
        data = self.message("rcpt@example.net")
        self.assertExit(self.sendmail(data), 0)
        with FaultyAt("slow-data", port) as server:
            res = self.queue("run", "--lease", "1", "--retry-first", "0", "-v")
            server.store.assert_no_messages(wait=1.0)
            self.assertIn("client closed during DATA", server.log_tail())
        self.assertIn("withdrawn", res.stdout + res.stderr)
        [e] = self.listing()
        self.assertEqual((e["state"], e["last_cause"]), ("queued", "net.cancelled"), e)
        self.assertFalse(e["committing"], e)
        with FaultyAt("reject-some", port) as server:
            self.assertOk(self.queue("run"))
            [stored] = server.wait_for_messages(1)
            self.assertEqual(stored.data, data)
        self.assertEqual(self.listing(), [])

    def test_hold_release_drop_and_errors(self):
        port = harness.free_port()
        self.write_config(port, queue="always")
        self.assertExit(self.sendmail(self.message("one@example.net")), 0)
        self.assertExit(self.sendmail(self.message("two@example.net")), 0)
        one, two = self.listing()
        self.assertOk(self.queue("hold", one["id"]))
        res = self.queue("hold", one["id"])
        self.assertFailure(res, 65, "queue.wrong-state")
        self.assertFailure(self.queue("drop", "no-such-id"), 66, "queue.no-such-id")
        self.assertOk(self.queue("drop", two["id"]))
        with FaultyAt("reject-some", port) as server:
            self.assertOk(self.queue("run"))
            server.store.assert_no_messages(wait=0.5)
            self.assertEqual([(m["id"], m["state"]) for m in self.listing()], [(one["id"], "held")])
            self.assertOk(self.queue("release", one["id"]))
            self.assertOk(self.queue("run"))
            [stored] = server.wait_for_messages(1)
            self.assertEqual(stored.recipients, ["one@example.net"])
        res = self.queue("show", one["id"], "--json")
        self.assertOk(res)
        self.assertEqual(res.json["state"], "delivered")
        self.assertEqual(res.json["delivery"]["host"], "127.0.0.1")

    def test_run_watch_delivers_what_is_added_retries_and_stops_on_sigterm(self):
        with harness.Faulty("reject-some") as server:
            self.write_config(server.port, queue="always")
            p = self.run_proc("--watch", "--retry-first", "1", "--give-up", "2")
            try:
                first, second = self.message("one@example.net"), self.message("two@example.net")
                self.assertExit(self.sendmail(first), 0)
                # Generous waits (not thresholds): under CI's parallel load a first attempt may fail
                # and wait for its retry.
                [stored] = server.wait_for_messages(1, rcpt="one@example.net", timeout=90)
                self.assertEqual(stored.data, first)
                self.assertExit(self.sendmail(second), 0)  # the watcher is still there
                [stored] = server.wait_for_messages(1, rcpt="two@example.net", timeout=90)
                self.assertEqual(stored.data, second)
                # A 451 for every attempt: retried after its back-off, then given up.
                self.assertExit(self.sendmail(self.message("later@example.net")), 0)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    failed = [m for m in self.listing("--failed") if m["origin"] != "bounce"]
                    if failed:
                        break
                    time.sleep(0.2)
                self.assertEqual(len(failed), 1, self.listing("--all"))
                self.assertEqual(failed[0]["last_cause"], "queue.given-up")
                self.assertGreaterEqual(failed[0]["attempts"], 2)
                self.assertIn("smtp.transient", failed[0]["last_summary"])
            finally:
                p.send_signal(signal.SIGTERM)
                _, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err.decode(errors="replace"))
            self.assertIn(b"postern: queue run: ", err)

    def test_secret_is_never_stored_and_read_again_at_delivery(self):
        certs = self.enterContext(harness.Certs(variants=False))
        server = self.enterContext(harness.Aiosmtpd(certs, users={"alice": "s3cret-at-delivery"}))
        pw = os.path.join(self.tmp, "pw")  # absent when queued: `queue always` does not read it
        self.write_config(server.starttls, queue="always", extra=f"""\
account auth
  host 127.0.0.1
  port {server.starttls}
  mode starttls
  ca-file {certs.ca_file}
  user alice
  password-command cat {pw}
  from alice@example.org
  queue always
  queue-location {self.qfile}
""")
        data = self.message("rcpt@example.net")
        self.assertExit(self.postern(["-t", "-a", "auth"], data), 0)
        # The password the account gives at delivery is what the worker uses.
        with open(pw, "w") as f:
            f.write("s3cret-at-delivery\n")
        res = self.queue("run")
        self.assertOk(res)
        [stored] = server.wait_for_messages(1, rcpt="rcpt@example.net")
        self.assertEqual(stored.user, "alice")
        self.assertEqual(stored.data, data)
        self.assert_not_stored(b"s3cret")
        [e] = self.listing("--all")
        res = self.queue("show", e["id"], "--json")
        self.assertEqual(res.json["delivery"]["auth"]["secret"], {"command": f"cat {pw}"})

    def assert_not_stored(self, secret: bytes):
        """Nothing the queue keeps holds @secret: the SQLite file and its WAL (test_queue_postgresql
        checks the table instead)."""
        for name in os.listdir(os.path.dirname(self.qfile)):
            with open(os.path.join(os.path.dirname(self.qfile), name), "rb") as f:
                content = f.read()
            self.assertNotIn(secret, content, name)

    # -- crashes and concurrency ------------------------------------------------------------
    def queue_many(self, n, port):
        """n messages queued by one `postern send` (account queue always), each its own Message-ID."""
        self.write_config(port, queue="always")
        folder = os.path.join(self.tmp, "messages")
        os.makedirs(folder)
        files, ids = [], []
        for i in range(n):
            mid = f"<{self.name}-{i}@example.org>"
            ids.append(mid)
            p = os.path.join(folder, f"{i}.eml")
            with open(p, "wb") as f:
                f.write(self.message("rcpt@example.net", mid=mid, body=f"message {i}\r\n"))
            files.append(p)
        res = self.postern(["send", "--to", "rcpt@example.net"] + files, timeout=1200)
        self.assertExit(res, 0)
        self.assertEqual(len(self.listing()), n)
        return ids

    def run_proc(self, *extra):
        env, home = harness.hermetic_env(self.env())
        self.addCleanup(shutil.rmtree, home, ignore_errors=True)
        cmd = [harness.postern_bin(), "queue", "run", "--queue", self.qfile] + list(extra)
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stored_ids(self, server):
        return collections.Counter(message_id(m.data) for m in server.store.messages())

    def test_kill_9_during_500_deliveries_loses_nothing_and_sends_nothing_twice(self):
        port = harness.free_port()
        ids = self.queue_many(500, port)
        rng = random.Random(11)
        with FaultyAt("reject-some", port) as server:
            kills = 0
            while kills < 12:
                p = self.run_proc("--lease", "3", "--retry-first", "0")
                time.sleep(rng.uniform(0.05, 1.0))
                if p.poll() is not None:
                    break  # it finished everything before the kill
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills += 1
            # The last killed worker's leases expire: --lease 3 from each take, rounded up to
            # whole seconds of the round (worker.cpp lease_from_now), so up to 4 s after the kill.
            time.sleep(5.0)
            res = self.queue("run", "--lease", "3")
            self.assertOk(res)
            states = collections.Counter(m["state"] for m in self.listing("--all"))
            listed_unknown = [m for m in self.listing() if m["state"] == "unknown"]
            stored = self.stored_ids(server)
            self.assertGreater(kills, 0, "no kill happened: the test proved nothing")
            dup = [k for k, v in stored.items() if v > 1]
            self.assertEqual(dup, [], "delivered twice")
            left = [(m["state"], m.get("last_cause"), m.get("last_summary"), m.get("attempts"))
                    for m in self.listing("--all") if m["state"] not in ("delivered", "unknown")]
            self.assertEqual(states["delivered"] + states["unknown"], 500,
                             f"{states}; not settled: {left[:5]}" + res.describe())
            self.assertEqual(set(stored) - set(ids), set())
            unknown_ids = {m["message_id"] for m in listed_unknown}
            missing = set(ids) - set(stored) - unknown_ids
            self.assertEqual(missing, set(), "lost: neither delivered nor listed unknown")
            print(f"\n  kill test: {kills} kills, {states['delivered']} delivered, {states['unknown']} unknown",
                  flush=True)

    def test_three_concurrent_workers_drain_5000_without_duplicates(self):
        port = harness.free_port()
        ids = self.queue_many(5000, port)
        with FaultyAt("reject-some", port) as server:
            t0 = time.monotonic()
            procs = [self.run_proc("--jobs", "2") for _ in range(3)]
            for p in procs:
                _, err = p.communicate(timeout=1800)
                self.assertEqual(p.returncode, 0, err.decode(errors="replace"))
            elapsed = time.monotonic() - t0
            stored = self.stored_ids(server)
            self.assertEqual(sum(stored.values()), 5000)
            self.assertEqual(set(stored), set(ids))
            self.assertEqual([k for k, v in stored.items() if v > 1], [])
            self.assertEqual(self.listing(), [])
            print(f"\n  3 workers: 5000 messages in {elapsed:.1f} s", flush=True)


if __name__ == "__main__":
    unittest.main()
