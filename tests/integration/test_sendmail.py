"""sendmail-compatible mode against aiosmtpd: -t with To/Cc/Bcc, -f, the `sendmail` link,
sysexits codes, and a real caller from Debian (git send-email)."""

import glob
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from harness import PosternResult, PosternTestCase, run_postern, write_file

certs = server = None
USER, PASSWORD = "alice", "s3cret"


def setUpModule():
    global certs, server
    harness.require_postern()
    certs = unittest.enterModuleContext(harness.Certs(variants=False))
    server = unittest.enterModuleContext(harness.Aiosmtpd(certs))


class Sendmail(PosternTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-sendmail-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.xdg = os.path.join(self.tmp, "xdg")
        self.name = self._testMethodName.replace("_", "-")
        self.write_config(server.starttls)

    def write_config(self, port, extra=""):
        os.makedirs(os.path.join(self.xdg, "postern"), exist_ok=True)
        write_file(os.path.join(self.xdg, "postern"), "config", f"""\
# written by test_sendmail.py
defaults
  timeout 20

account local
  host 127.0.0.1
  port {port}
  mode starttls
  ca-file {certs.ca_file}
  user {USER}
  password-command echo {PASSWORD}
  from {USER}@example.org

account nofrom             # the envelope sender then comes from -f or the From: field
  host 127.0.0.1
  port {port}
  mode starttls
  ca-file {certs.ca_file}
  user {USER}
  password-command echo {PASSWORD}
{extra}
default local
""".encode())

    def env(self):
        return {"XDG_CONFIG_HOME": self.xdg}

    def sendmail(self, args, data, env=None):
        return run_postern(args, input=data, env=env or self.env())

    def via_link(self, args, data):
        """Runs postern through a symlink named `sendmail`, as /usr/sbin/sendmail would be."""
        link = os.path.join(self.tmp, "bin", "sendmail")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink(harness.postern_bin(), link)
        cmd = [link] + list(args)
        # Its own host memory, as run_postern gives: never the user's ~/.local/state.
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(self.tmp, "state"), **self.env())
        env.pop("POSTERN_PASSWORD", None)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, input=data, capture_output=True, env=env, timeout=180)
        return PosternResult(cmd, proc, time.monotonic() - t0)

    def message(self, headers, body="Hello.\n.\nA lone dot above: -i keeps it.\n", eol="\n"):
        text = "".join(f"{h}{eol}" for h in headers) + eol + body.replace("\n", eol)
        return text.encode()

    def standard_headers(self):
        return [f"From: Alice <{USER}@example.org>", "Date: Sat, 28 Nov 2026 01:56:45 +0000",
                f"Message-ID: <{self.name}@example.org>", f"Subject: {self.name}"]

    # -- -t ------------------------------------------------------------------------------
    def test_t_takes_to_cc_bcc_and_removes_bcc(self):
        to, cc, bcc1, bcc2 = (f"{self.name}-{k}@example.net" for k in ("to", "cc", "bcc1", "bcc2"))
        headers = self.standard_headers()
        kept = headers + [f"To: \"Doe, To\" <{to}>", f"Cc: {cc} (a comment)"]
        data = self.message(headers[:2] + [f"Bcc: {bcc1},", f" Hidden <{bcc2}>"] + headers[2:] +
                            kept[len(headers):], eol="\r\n")
        res = self.sendmail(["-t", "-i"], data)
        self.assertOk(res)
        self.assertEqual(res.stdout, "", "sendmail mode is silent on success" + res.describe())
        [stored] = server.wait_for_messages(1, rcpt=to)
        self.assertEqual(stored.sender, f"{USER}@example.org")
        self.assertEqual(stored.recipients, [to, cc, bcc1, bcc2])
        self.assertEqual(stored.user, USER)
        self.assertNotIn(b"\nbcc:", b"\n" + stored.data.lower())
        self.assertSameMessage(self.message(headers[:2] + headers[2:] + kept[len(headers):], eol="\r\n"), stored,
                               crlf_stored=True)

    def test_t_with_lf_message_undisclosed_recipients_and_extra_argument(self):
        bcc, extra = f"{self.name}-bcc@example.net", f"{self.name}-extra@example.net"
        headers = self.standard_headers() + ["To: undisclosed-recipients:;"]
        data = self.message(headers + [f"BCC: {bcc}"])
        res = self.sendmail(["-oi", "-t", "--", extra], data)
        self.assertOk(res)
        [stored] = server.wait_for_messages(1, rcpt=bcc)
        self.assertEqual(stored.recipients, [bcc, extra])
        self.assertSameMessage(self.message(headers), stored, crlf_stored=True)

    def test_t_adds_missing_date_and_message_id(self):
        to = f"{self.name}@example.net"
        data = self.message([f"From: {USER}@example.org", f"To: {to}", f"Subject: {self.name}"])
        self.assertOk(self.sendmail(["-t"], data))
        [stored] = server.wait_for_messages(1, rcpt=to)
        self.assertIsNotNone(stored.header("Date"))
        self.assertRegex(stored.header("Message-ID") or "", r"^<[0-9a-f]+@example\.org>$")
        self.assertTrue(stored.data.endswith(harness.to_crlf(data)), stored.data)

    def test_t_without_any_address_is_usage(self):
        res = self.sendmail(["-t"], self.message(self.standard_headers() + ["To: undisclosed-recipients:;"]))
        self.assertFailure(res, 64, "usage")

    # -- recipients as arguments -----------------------------------------------------------
    def test_f_and_argument_recipients_without_t(self):
        rcpt = f"{self.name}@example.net"
        headers = self.standard_headers() + [f"To: someone-else-{self.name}@example.net"]
        data = self.message(headers)
        res = self.sendmail(["-f", "bounce@example.org", "-i", rcpt], data)
        self.assertOk(res)
        [stored] = server.wait_for_messages(1, rcpt=rcpt)
        self.assertEqual(stored.sender, "bounce@example.org")
        self.assertEqual(stored.recipients, [rcpt])
        self.assertSameMessage(data, stored, crlf_stored=True)

    def test_sendmail_link(self):
        rcpt = f"{self.name}@example.net"
        data = self.message(self.standard_headers() + [f"To: {rcpt}"])
        res = self.via_link(["-fbounce@example.org", "-i", rcpt], data)
        self.assertOk(res)
        [stored] = server.wait_for_messages(1, rcpt=rcpt)
        self.assertEqual(stored.sender, "bounce@example.org")
        self.assertEqual(stored.recipients, [rcpt])
        self.assertSameMessage(data, stored, crlf_stored=True)

    def test_cron_style_flags_and_sender_from_header(self):
        # Debian cron: sendmail -FCronDaemon -i -B8BITMIME -oem USER; account without `from`.
        rcpt = f"{self.name}@example.net"
        data = self.message([f"From: root (Cron Daemon) <cron-{self.name}@example.org>", f"To: {rcpt}",
                             f"Subject: {self.name}", "Date: Sat, 28 Nov 2026 01:56:45 +0000",
                             f"Message-ID: <{self.name}@example.org>"])
        res = self.via_link(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "-a", "nofrom", rcpt], data)
        self.assertOk(res)
        [stored] = server.wait_for_messages(1, rcpt=rcpt)
        self.assertEqual(stored.sender, f"cron-{self.name}@example.org")
        self.assertSameMessage(data, stored, crlf_stored=True)

    def test_bcc_removed_without_t_too(self):
        rcpt = f"{self.name}@example.net"
        headers = self.standard_headers() + [f"To: {rcpt}"]
        res = self.sendmail(["-i", rcpt], self.message(headers + ["Bcc: secret@example.net"]))
        self.assertOk(res)
        [stored] = server.wait_for_messages(1, rcpt=rcpt)
        self.assertEqual(stored.recipients, [rcpt])
        self.assertSameMessage(self.message(headers), stored, crlf_stored=True)

    # -- failures: sysexits ----------------------------------------------------------------
    def test_no_recipients_is_64(self):
        res = self.sendmail(["-i"], self.message(self.standard_headers()))
        self.assertFailure(res, 64, "usage")
        self.assertIn("no recipients", res.error_text)

    def test_no_config_is_78(self):
        res = self.sendmail(["-t", "-i"], self.message(self.standard_headers() + ["To: a@example.net"]),
                            env={"XDG_CONFIG_HOME": os.path.join(self.tmp, "empty")})
        self.assertFailure(res, 78, "config")
        self.assertIn("no account: create", res.error_text)
        self.assertIn("docs/config.md", res.error_text)

    def test_unknown_account_and_bad_config_are_78(self):
        data = self.message(self.standard_headers() + ["To: a@example.net"])
        res = self.sendmail(["-t", "-a", "nope"], data)
        self.assertFailure(res, 78, "config")
        self.write_config(server.starttls, extra="  hots typo\n")
        res = self.sendmail(["-t"], data)
        self.assertFailure(res, 78, "config")
        self.assertIn("unknown key 'hots'", res.error_text)
        self.assertRegex(res.error_text, r"line \d+: ")

    def test_unsupported_mode_is_64(self):
        res = self.sendmail(["-bp"], b"")
        self.assertFailure(res, 64, "usage")

    def test_server_down_is_69(self):
        self.write_config(harness.closed_port())
        res = self.sendmail(["-t", "-i"], self.message(self.standard_headers() + ["To: a@example.net"]))
        self.assertFailure(res, 69, "net.refused")

    def test_bad_password_command_fails_without_sending(self):
        self.write_config(server.starttls, extra="account broken\n  host 127.0.0.1\n  mode starttls\n"
                          f"  port {server.starttls}\n  user {USER}\n  password-command exit 3\n")
        rcpt = f"{self.name}@example.net"
        res = self.sendmail(["-a", "broken", "-f", "a@example.org", rcpt], self.message(self.standard_headers()))
        self.assertNotEqual(res.exit_code, 0, res.describe())
        server.store.assert_no_messages(wait=1.0, rcpt=rcpt)

    # -- a real caller ---------------------------------------------------------------------
    def test_git_send_email(self):
        git = shutil.which("git")
        exec_path = subprocess.run([git, "--exec-path"], capture_output=True, text=True).stdout.strip() if git else ""
        if not os.path.exists(os.path.join(exec_path, "git-send-email")):
            self.skipTest("git send-email not installed (Debian package git-email)")
        repo = os.path.join(self.tmp, "repo")
        os.makedirs(repo)
        env = dict(os.environ, XDG_CONFIG_HOME=self.xdg, HOME=self.tmp, GIT_CONFIG_NOSYSTEM="1",
                   GIT_AUTHOR_NAME="Me", GIT_AUTHOR_EMAIL="me@example.org",
                   GIT_COMMITTER_NAME="Me", GIT_COMMITTER_EMAIL="me@example.org")
        env.pop("POSTERN_PASSWORD", None)

        def g(*args):
            p = subprocess.run([git, "-C", repo] + list(args), capture_output=True, env=env, timeout=120)
            self.assertEqual(p.returncode, 0, f"git {' '.join(args)}:\n{p.stdout.decode()}\n{p.stderr.decode()}")
            return p

        g("init", "-q")
        write_file(repo, "hello.txt", b"hello\n.\nworld\n")
        g("add", "hello.txt")
        g("commit", "-q", "-m", f"add hello ({self.name})")
        g("format-patch", "-q", "-1")
        [patch] = glob.glob(os.path.join(repo, "0001-*.patch"))
        link = os.path.join(self.tmp, "bin", "sendmail")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(harness.postern_bin(), link)
        p = g("send-email", "--confirm=never", "--to=dev@example.org", "--from=me@example.org",
              f"--sendmail-cmd={link}", "--suppress-cc=all", "--envelope-sender=me@example.org", patch)
        [stored] = server.wait_for_messages(1, rcpt="dev@example.org", match=lambda m: self.name.encode() in m.data)
        self.assertEqual(stored.sender, "me@example.org")
        self.assertEqual(stored.recipients, ["dev@example.org"])
        self.assertEqual(stored.user, USER)
        self.assertIn(f"add hello ({self.name})", stored.header("Subject"))
        self.assertIn(b"+hello\r\n+.\r\n+world\r\n", stored.data, p.stdout.decode())


if __name__ == "__main__":
    unittest.main()
