"""postern send to a real Postfix over STARTTLS and implicit TLS: the bytes arrive intact.

Postfix stores each message through a pipe transport with LF line ends and one
Received: header prepended; harness.StoredMessage.data has that header removed,
and assertSameMessage compares it with the sent bytes after CRLF -> LF.
"""

import os
import shutil
import tempfile
import unittest

import harness
from harness import PosternTestCase, run_postern, write_file

certs = postfix = None


def setUpModule():
    global certs, postfix
    harness.require_postern()
    certs = unittest.enterModuleContext(harness.Certs(variants=False))
    postfix = unittest.enterModuleContext(harness.Postfix(certs))


def message(subject, body: bytes, to="rcpt@example.net") -> bytes:
    head = (f"From: Sender <sender@example.org>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@postern.test>\r\nDate: Sat, 01 Mar 2025 10:00:00 +0000\r\n").encode()
    return head + b"\r\n" + body


class SendToPostfix(PosternTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def rcpt(self, tag=""):
        """A recipient unique to this test, so that messages of other tests never match."""
        return f"{self._testMethodName}{tag}@example.net".lower()

    def send(self, files, mode="--starttls", port=None, to=None, extra=(), host="127.0.0.1", input=None):
        port = port or (postfix.starttls if mode == "--starttls" else postfix.implicit)
        to = to or [self.rcpt()]
        server = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        args = ["send", "--server", server, mode, "--tls-profile", "strict", "--ca-file", certs.ca_file,
                "--from", "sender@example.org"]
        for t in to:
            args += ["--to", t]
        args += list(extra) + list(files)
        return run_postern(args, input=input)

    def roundtrip(self, name, body, mode="--starttls", crlf=True):
        data = message(name, body, to=self.rcpt())
        if not crlf:
            data = harness.crlf_to_lf(data)
        path = write_file(self.tmp, name + ".eml", data)
        res = self.send([path], mode=mode)
        self.assertOk(res)
        [stored] = postfix.wait_for_messages(1, rcpt=self.rcpt())
        self.assertEqual(stored.sender, "sender@example.org")
        self.assertSameMessage(data, stored)
        return stored

    # -- byte exactness ------------------------------------------------------
    def test_simple_starttls(self):
        stored = self.roundtrip("simple", b"Hello.\r\n")
        self.assertEqual(stored.recipients, [self.rcpt()])

    def test_simple_implicit_tls(self):
        self.roundtrip("implicit", b"Hello over implicit TLS.\r\n", mode="--tls")

    def test_lf_only_file_is_sent_with_crlf(self):
        # A file with bare LF line ends is normalised; the content arrives intact.
        self.roundtrip("lfonly", b"line one\r\nline two\r\n", crlf=False)

    def test_leading_dots(self):
        body = (b".\r\n"                  # a line that is only a dot: must not end DATA
                b"..\r\n"
                b".leading dot\r\n"
                b"..two leading dots\r\n"
                b"middle . dot\r\n"
                b". \r\n"
                b"last line\r\n")
        self.roundtrip("dots", body)

    def test_body_ending_in_dot_line(self):
        self.roundtrip("dotlast", b"before\r\n.\r\n")

    def test_eight_bit_utf8(self):
        body = "Grüße aus Köln — ½ € 日本語 🙂\r\nΑλφάβητο\r\n".encode("utf-8")
        head = ("Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\nMIME-Version: 1.0\r\n").encode()
        data = message("utf8", head + b"\r\n" + body, to=self.rcpt())
        # message() put an empty line after its own headers; make ours part of the header block.
        data = data.replace(b"\r\n\r\nContent-Type", b"\r\nContent-Type", 1)
        path = write_file(self.tmp, "utf8.eml", data)
        res = self.send([path])
        self.assertOk(res)
        [stored] = postfix.wait_for_messages(1, rcpt=self.rcpt())
        self.assertSameMessage(data, stored)
        self.assertIn("日本語".encode(), stored.data)

    def test_998_octet_line(self):
        line = (b"0123456789" * 100)[:998]
        self.assertEqual(len(line), 998)
        stored = self.roundtrip("line998", b"short\r\n" + line + b"\r\n.\r\n" + b"." + line[1:] + b"\r\n")
        self.assertIn(line + b"\n", stored.data)

    def test_ten_megabytes(self):
        # 10 MB of 76-character lines, some starting with a dot.
        lines = []
        for i in range(10 * 1024 * 1024 // 76 + 1):
            lines.append((b"." if i % 1000 == 0 else b"") + (b"%08d" % i) + b"x" * 66 + b"\r\n")
        body = b"".join(lines)
        self.assertGreaterEqual(len(body), 10 * 1024 * 1024)
        self.roundtrip("tenmb", body)

    def test_no_trailing_newline(self):
        # The file's last line has no line end: on the wire it gets CRLF before the final dot.
        data = message("notrail", b"no newline at the end", to=self.rcpt())
        path = write_file(self.tmp, "notrail.eml", data)
        res = self.send([path])
        self.assertOk(res)
        [stored] = postfix.wait_for_messages(1, rcpt=self.rcpt())
        self.assertEqual(stored.data, harness.crlf_to_lf(data) + b"\n")

    def test_stdin(self):
        data = message("stdin", b"read from standard input\r\n", to=self.rcpt())
        res = self.send(["-"], input=data)
        self.assertOk(res)
        [stored] = postfix.wait_for_messages(1, rcpt=self.rcpt())
        self.assertSameMessage(data, stored)

    # -- envelope --------------------------------------------------------------
    def test_several_recipients(self):
        to = [self.rcpt("a"), self.rcpt("b"), "someone@other.example", "x@third.example"]
        data = message("multi", b"to four recipients\r\n", to=", ".join(to))
        path = write_file(self.tmp, "multi.eml", data)
        res = self.send([path], to=to, extra=["--json"])
        self.assertOk(res)
        j = self.assertJson(res)
        self.assertEqual([r["address"] for r in j["messages"][0]["recipients"]], to, res.describe())
        self.assertTrue(all(r["accepted"] for r in j["messages"][0]["recipients"]), res.describe())
        # Postfix may split a delivery per destination; together the stored copies
        # must name every recipient exactly once, each copy byte-identical.
        stored = postfix.store.wait_for_recipients(to, match=lambda m: m.header("Subject") == "multi")
        self.assertEqual(sorted(r for m in stored for r in m.recipients), sorted(to))
        for m in stored:
            self.assertSameMessage(data, m)

    def test_several_files_one_connection(self):
        n = 7  # a number no other test sends in one session
        datas, paths = [], []
        for i in range(n):
            d = message(f"batch{i}", f"message number {i}\r\n.\r\n".encode(), to=self.rcpt())
            datas.append(d)
            paths.append(write_file(self.tmp, f"batch{i}.eml", d))
        res = self.send(paths, extra=["--json"])
        self.assertOk(res)
        j = self.assertJson(res)
        self.assertEqual(len(j["messages"]), n, res.describe())
        for i, m in enumerate(j["messages"]):
            self.assertTrue(m["delivered"], res.describe())
            self.assertTrue(m["reply"].startswith("250"), res.describe())
            self.assertEqual(m["size"], len(datas[i]), res.describe())
        stored = postfix.wait_for_messages(n, rcpt=self.rcpt())
        by_subject = {m.header("Subject"): m for m in stored}
        self.assertEqual(sorted(by_subject), [f"batch{i}" for i in range(n)])
        for i, d in enumerate(datas):
            self.assertSameMessage(d, by_subject[f"batch{i}"])
        # ONE connection: smtpd logs per session "disconnect from ... mail=N ...".
        self.assertRegex(postfix.log_text(), rf"disconnect from \S+ .*\bmail={n}\b",
                         f"no single SMTP session carried all {n} messages{postfix.log_tail()}")

    # -- JSON ------------------------------------------------------------------
    def test_json_starttls(self):
        data = message("json", b"json output\r\n", to=self.rcpt())
        path = write_file(self.tmp, "json.eml", data)
        res = self.send([path], extra=["--json"])
        self.assertOk(res)
        j = self.assertJson(res)
        self.assertIs(j["ok"], True)
        self.assertEqual(j["exit_code"], 0)
        self.assertIsNone(j["error"])
        self.assertEqual(j["mode"], "starttls")
        self.assertEqual(j["server"], "127.0.0.1")
        self.assertEqual(j["port"], postfix.starttls)
        tls = j["tls"]
        self.assertIsInstance(tls, dict, res.describe())
        self.assertEqual(tls["profile"], "strict")
        self.assertRegex(tls["version"], r"^TLS ?v?1\.[23]$", res.describe())
        self.assertTrue(tls["cipher"], res.describe())
        self.assertIn("localhost", str(tls.get("peer_subject")), res.describe())
        self.assertIn("postern test root CA", str(tls.get("peer_issuer")), res.describe())
        [m] = j["messages"]
        self.assertTrue(m["delivered"])
        self.assertTrue(m["reply"].startswith("250"), res.describe())
        self.assertEqual(m["size"], len(data), "size is the message's size in octets (CRLF)")
        [r] = m["recipients"]
        self.assertEqual(r["address"], self.rcpt())
        self.assertTrue(r["accepted"])
        self.assertTrue(r["reply"].startswith("250"))
        stored = postfix.wait_for_messages(1, rcpt=self.rcpt())
        self.assertSameMessage(data, stored[0])

    def test_json_implicit_tls13(self):
        data = message("json13", b"json output\r\n", to=self.rcpt())
        path = write_file(self.tmp, "json13.eml", data)
        res = self.send([path], mode="--tls", extra=["--json"])
        self.assertOk(res)
        j = self.assertJson(res)
        self.assertEqual(j["mode"], "tls")
        self.assertEqual(j["port"], postfix.implicit)
        # Postfix here (OpenSSL 3) negotiates TLS 1.3 with a strict client.
        self.assertIn("1.3", j["tls"]["version"], res.describe())
        self.assertTrue(j["tls"]["cipher"].startswith("TLS_AES_") or "CHACHA20" in j["tls"]["cipher"], res.describe())
        postfix.wait_for_messages(1, rcpt=self.rcpt())

    # -- IPv6 --------------------------------------------------------------------
    def test_ipv6_loopback(self):
        if not postfix.ipv6:
            self.skipTest("the OS has no ::1 (IPv6 loopback): cannot test IPv6")
        data = message("ipv6", b"over IPv6\r\n", to=self.rcpt())
        path = write_file(self.tmp, "ipv6.eml", data)
        res = self.send([path], port=postfix.ipv6, host="::1", extra=["--json"])
        self.assertOk(res)
        j = self.assertJson(res)
        self.assertEqual(j["port"], postfix.ipv6)
        [stored] = postfix.wait_for_messages(1, rcpt=self.rcpt())
        self.assertSameMessage(data, stored)
        # The Received: header Postfix added names the IPv6 client.
        self.assertIn(b"::1", stored.raw.split(b"\n\n", 1)[0])


if __name__ == "__main__":
    unittest.main()
