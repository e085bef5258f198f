"""SMTP AUTH against aiosmtpd: mechanisms, password sources, failures, redaction."""

import base64
import os
import shutil
import stat
import sys
import tempfile
import unittest

import harness
from harness import PosternTestCase, run_postern, write_file

certs = server = None
USER, PASSWORD = "alice", "s3cret"
UTF8_USER, UTF8_PASSWORD = "bob", "pa ss:wörd"


def setUpModule():
    global certs, server
    harness.require_postern()
    certs = unittest.enterModuleContext(harness.Certs(variants=False))
    server = unittest.enterModuleContext(harness.Aiosmtpd(certs))


class Auth(PosternTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.rcpt = f"{self._testMethodName}@example.net".lower()
        self.data = (f"From: {USER}@example.org\r\nTo: {self.rcpt}\r\nSubject: {self._testMethodName}\r\n\r\n"
                     "authenticated\r\n.\r\n").encode()
        self.file = write_file(self.tmp, "m.eml", self.data)

    def password_file(self, password=PASSWORD):
        p = write_file(self.tmp, "pw", password.encode("utf-8") + b"\n")
        os.chmod(p, stat.S_IRUSR | stat.S_IWUSR)
        return p

    def send(self, extra, mode="--starttls", port=None, env=None, user=USER):
        port = port or (server.starttls if mode in ("--starttls", "--plain") else server.implicit)
        args = ["send", "--server", f"127.0.0.1:{port}", mode, "--ca-file", certs.ca_file,
                "--from", f"{user}@example.org", "--to", self.rcpt, "--timeout", "20"]
        if user:
            args += ["--user", user]
        return run_postern(args + list(extra) + [self.file], env=env)

    def assertStoredFor(self, user):
        [stored] = server.wait_for_messages(1, rcpt=self.rcpt)
        self.assertEqual(stored.user, user, f"message stored without/with another AUTH user{server.log_tail()}")
        self.assertSameMessage(self.data, stored, crlf_stored=True)

    # -- mechanisms x password sources ---------------------------------------------
    def test_plain_with_password_file(self):
        res = self.send(["--auth", "PLAIN", "--password-file", self.password_file()])
        self.assertOk(res)
        self.assertStoredFor(USER)

    def test_login_with_password_file(self):
        res = self.send(["--auth", "LOGIN", "--password-file", self.password_file()])
        self.assertOk(res)
        self.assertStoredFor(USER)

    def test_plain_with_env_password(self):
        res = self.send(["--auth", "PLAIN"], env={"POSTERN_PASSWORD": PASSWORD})
        self.assertOk(res)
        self.assertStoredFor(USER)

    def test_login_with_env_password(self):
        res = self.send(["--auth", "LOGIN"], env={"POSTERN_PASSWORD": PASSWORD})
        self.assertOk(res)
        self.assertStoredFor(USER)

    def test_plain_with_password_command(self):
        res = self.send(["--auth", "PLAIN", "--password-command", f"printf '%s\\n' {PASSWORD}"])
        self.assertOk(res)
        self.assertStoredFor(USER)

    def test_login_with_password_command(self):
        script = write_file(self.tmp, "pw.py", f"print({PASSWORD!r})\n".encode())
        res = self.send(["--auth", "LOGIN", "--password-command", f"{sys.executable} {script}"])
        self.assertOk(res)
        self.assertStoredFor(USER)

    def test_default_mechanism(self):
        res = self.send(["--password-file", self.password_file()])
        self.assertOk(res)
        self.assertStoredFor(USER)

    def test_utf8_password_plain(self):
        res = self.send(["--auth", "PLAIN", "--password-file", self.password_file(UTF8_PASSWORD)], user=UTF8_USER)
        self.assertOk(res)
        self.assertStoredFor(UTF8_USER)

    def test_implicit_tls_auth(self):
        res = self.send(["--password-file", self.password_file()], mode="--tls")
        self.assertOk(res)
        self.assertStoredFor(USER)

    # -- failures --------------------------------------------------------------------
    def test_wrong_password_plain(self):
        res = self.send(["--auth", "PLAIN", "--password-file", self.password_file("wrong")])
        self.assertFailure(res, 77, "smtp.auth-failed")
        server.store.assert_no_messages(wait=0.5, rcpt=self.rcpt)

    def test_wrong_password_login_json(self):
        res = self.send(["--auth", "LOGIN", "--json"], env={"POSTERN_PASSWORD": "wrong"})
        j = self.assertJsonError(res, 77, "smtp.auth-failed")
        self.assertNotIn("wrong", res.stdout.replace("wrong password", ""), "the password leaked into the JSON")
        self.assertIsNotNone(j["tls"], res.describe())
        server.store.assert_no_messages(wait=0.5, rcpt=self.rcpt)

    def test_mechanism_the_server_lacks(self):
        # aiosmtpd offers PLAIN and LOGIN only: a forced CRAM-MD5 gets 504.
        res = self.send(["--auth", "CRAM-MD5", "--password-file", self.password_file()])
        self.assertFailure(res, 77, "smtp.auth-mech-unsupported")
        server.store.assert_no_messages(wait=0.5, rcpt=self.rcpt)

    def test_plain_mode_refuses_credentials(self):
        # A server that offers AUTH without TLS: postern refuses before sending
        # any credentials; the server never sees an AUTH attempt.
        before = len(server.auth_attempts())
        res = self.send(["--password-file", self.password_file()], mode="--plain", port=server.plain)
        self.assertFailure(res, 77, "smtp.auth-needs-tls")
        self.assertNotIn(PASSWORD, res.stdout + res.stderr)
        self.assertEqual(server.auth_attempts()[before:], [], "credentials reached the server in plaintext")
        server.store.assert_no_messages(wait=0.5, rcpt=self.rcpt)

    def test_plain_mode_with_allow_plaintext_auth(self):
        before = len(server.auth_attempts())
        res = self.send(["--password-file", self.password_file(), "--allow-plaintext-auth"],
                        mode="--plain", port=server.plain)
        self.assertOk(res)
        self.assertEqual(len(server.auth_attempts()[before:]), 1, server.log_tail())
        self.assertStoredFor(USER)

    def test_plain_mode_to_auth_requires_tls_server(self):
        # The STARTTLS port offers AUTH only after STARTTLS; with --plain postern
        # must still refuse on its own (before any AUTH command).
        before = len(server.auth_attempts())
        res = self.send(["--password-file", self.password_file()], mode="--plain", port=server.starttls)
        self.assertFailure(res, 77, "smtp.auth-needs-tls")
        self.assertEqual(server.auth_attempts()[before:], [])

    def test_plain_mode_refuses_credentials_before_sending_them(self):
        res = self.send(["--password-file", self.password_file(), "-v"], mode="--plain", port=server.plain)
        self.assertFailure(res, 77, "smtp.auth-needs-tls")
        transcript = res.stderr
        self.assertNotRegex(transcript, r"(?mi)^\S*\s*C:?\s*AUTH\b", f"AUTH was sent in plaintext{res.describe()}")
        self.assertNotIn(PASSWORD, transcript)
        self.assertNotIn(base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(), transcript)

    # -- transcript redaction ----------------------------------------------------------
    def check_redacted(self, mech):
        res = self.send(["--auth", mech, "--password-file", self.password_file(), "-v"])
        self.assertOk(res)
        out = res.stdout + res.stderr
        secrets = {
            "password": PASSWORD,
            "base64(password)": base64.b64encode(PASSWORD.encode()).decode(),
            "base64(\\0user\\0password)": base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
            "base64(user\\0user\\0password)": base64.b64encode(f"{USER}\0{USER}\0{PASSWORD}".encode()).decode(),
        }
        for what, s in secrets.items():
            self.assertNotIn(s, out, f"{what} appears in postern's output{res.describe()}")
        self.assertIn("<redacted>", res.stderr, f"-v transcript should show <redacted> for credentials{res.describe()}")
        self.assertRegex(res.stderr, r"(?i)AUTH", f"-v should print the transcript including AUTH{res.describe()}")
        self.assertStoredFor(USER)

    def test_verbose_redacts_plain(self):
        self.check_redacted("PLAIN")

    def test_verbose_redacts_login(self):
        self.check_redacted("LOGIN")


if __name__ == "__main__":
    unittest.main()
