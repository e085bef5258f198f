"""Built messages (docs/messages.md) judged by independent parsers, and SMTPUTF8, DSN and
CHUNKING against real servers.

Every message postern builds is sent through Postfix and the stored copy is parsed by
Python's `email` package (policy default) AND by reformime (Debian maildrop, Courier's
RFC 2045/2231 library): parts, content types, decoded attachment bytes and file names must
equal what went in. postern itself never judges its own output here.

Servers: one Postfix that offers SMTPUTF8, CHUNKING and DSN (the harness sets
smtputf8_enable and compatibility_level 3.6); one "bare" Postfix whose EHLO drops those three
(smtpd_discard_ehlo_keywords), for the IDNA fallback, smtp.utf8-unsupported, DSN refusal and
DATA; and smtp-sink -d, which writes the MAIL and RCPT parameters it received as
X-Mail-Args / X-Rcpt-Args.
"""

import email
import email.policy
import glob
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from harness import PosternTestCase, run_postern, write_file

certs = postfix = bare = sink = None
REFORMIME = "/usr/bin/reformime"


class SmtpSink(harness._ProcessServer):
    """Postfix's smtp-sink on a loopback port: accepts everything, and with -d dumps each
    transaction to a file headed by X-Mail-Args / X-Rcpt-Args (the parameters as received).
    It offers PIPELINING, 8BITMIME, DSN; no SMTPUTF8, no CHUNKING."""

    def __init__(self):
        self.base = None
        self.proc = None

    def __enter__(self):
        self.base = harness._make_tempdir("postern-smtp-sink-")
        self.dump = os.path.join(self.base, "dump")
        os.makedirs(self.dump)
        os.chmod(self.dump, 0o1777)  # smtp-sink drops to nobody before writing
        self.port = harness.free_port()
        self.log_path = os.path.join(self.base, "log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["/usr/sbin/smtp-sink", "-u", "nobody", "-d", self.dump + "/m.", f"127.0.0.1:{self.port}", "32"],
            stdout=self._log, stderr=subprocess.STDOUT)
        harness.wait_listening("127.0.0.1", self.port, proc=self.proc)
        return self

    def dumps(self, timeout=20.0):
        """The dump files' contents (bytes), oldest first, once at least one exists."""
        deadline = time.monotonic() + timeout
        while True:
            files = sorted(glob.glob(os.path.join(self.dump, "m.*")), key=os.path.getmtime)
            if files or time.monotonic() > deadline:
                out = []
                for f in files:
                    with open(f, "rb") as fh:
                        out.append(fh.read())
                return out
            time.sleep(0.05)

    def clear(self):
        for f in glob.glob(os.path.join(self.dump, "m.*")):
            os.unlink(f)


def setUpModule():
    global certs, postfix, bare, sink
    harness.require_postern()
    if not os.path.exists(REFORMIME):
        raise RuntimeError("reformime is missing: scripts/setup.sh installs maildrop")
    certs = unittest.enterModuleContext(harness.Certs(variants=False))
    postfix = unittest.enterModuleContext(harness.Postfix(certs))
    bare = unittest.enterModuleContext(harness.Postfix(certs, extra_main={
        "smtputf8_enable": "no", "smtpd_discard_ehlo_keywords": "dsn, chunking, smtputf8, silent-discard"}))
    sink = unittest.enterModuleContext(SmtpSink())


def png(rng, w, h):
    """A valid w x h RGB PNG with random pixels (libmagic must recognise it)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + bytes(rng.getrandbits(8) for _ in range(3 * w)) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def reformime_sections(path):
    """reformime -i: {section: {field: value}} in document order."""
    out = subprocess.run([REFORMIME, "-i"], stdin=open(path, "rb"), capture_output=True, check=True).stdout
    sections, cur = {}, None
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("section: "):
            cur = sections.setdefault(line[9:], {})
        elif cur is not None and ": " in line:
            k, v = line.split(": ", 1)
            cur[k] = v
    return sections


def reformime_extract(path, section):
    """The decoded body of one section, as reformime -e extracts it."""
    return subprocess.run([REFORMIME, "-e", "-s", section], stdin=open(path, "rb"), capture_output=True,
                          check=True).stdout


class Messages(PosternTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postern-messages-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.rng = random.Random(self._testMethodName)

    def rcpt(self, tag=""):
        return f"{self._testMethodName}{tag}@example.net".lower()

    def file(self, name, data):
        return write_file(self.tmp, name, data)

    def send(self, extra, server=None, to=None, sender="sender@example.org", mode="--starttls"):
        server = server or postfix
        port = server.starttls if hasattr(server, "starttls") else server.port
        args = ["send", "--server", f"127.0.0.1:{port}", "--from", sender]
        if mode == "--starttls":
            args += ["--starttls", "--ca-file", certs.ca_file]
        else:
            args += ["--plain"]
        for t in (to if to is not None else [self.rcpt()]):
            args += ["--to", t]
        return run_postern(args + list(extra))

    def stored(self, server=None, rcpt=None):
        [m] = (server or postfix).wait_for_messages(1, rcpt=rcpt or self.rcpt())
        return m

    def parse(self, stored):
        return email.message_from_bytes(stored.data, policy=email.policy.default)

    # -- structure and content, judged twice ----------------------------------
    def test_newsletter_parsed_by_python_email_and_reformime(self):
        text = "Hallo Jörg,\n\nunser Newsletter für März.\n-- \nDas Team\n"
        html = '<html><body><p>Hallo <b>Jörg</b></p><img src="cid:logo@news"></body></html>\n'
        logo = png(self.rng, 32, 32)
        big = bytes(self.rng.getrandbits(8) for _ in range(5 * 1024 * 1024))
        small = b"%PDF-1.4\n" + bytes(self.rng.getrandbits(8) for _ in range(1000))
        big_name = 'Preisliste März "2026" – final.bin'
        small_name = "Ünïcödé file with spaces.pdf"
        p_logo = self.file("logo.png", logo)
        p_big = self.file(big_name, big)
        p_small = self.file("small.pdf", small)
        p_html = self.file("news.html", html.encode())
        res = self.send(["--subject", "März-Newsletter ✉", "--text", text, "--html-file", p_html,
                         "--inline", f"{p_logo};cid=logo@news", "--attach", p_big,
                         "--attach", f"{p_small};name={small_name};type=application/pdf",
                         "--cc", "Zoë Cc <" + self.rcpt("cc") + ">", "--bcc", self.rcpt("bcc"),
                         "--reply-to", "Antwort <reply@example.org>",
                         "--header", "List-Unsubscribe: <mailto:unsub@example.org>",
                         "-v"])
        self.assertOk(res)
        self.assertIn("BDAT", res.stderr, "Postfix offers CHUNKING: the content goes as BDAT" + res.describe())
        stored = self.stored()
        self.assertIn(self.rcpt(), [r.lower() for r in stored.recipients])
        # Bcc: delivered (an envelope recipient), never in the header.
        bcc_copy = postfix.store.wait_for_recipients([self.rcpt("bcc")])
        self.assertTrue(bcc_copy)
        # No Bcc field (a field name at a line start; "bcc" may occur inside a random Message-ID).
        self.assertNotRegex(stored.data.split(b"\n\n", 1)[0], rb"(?im)^bcc:")
        self.assertNotIn(self.rcpt("bcc").encode(), stored.data)

        # Judge 1: Python's email package.
        m = self.parse(stored)
        self.assertEqual(m["Subject"], "März-Newsletter ✉")
        self.assertEqual(m["Cc"].addresses[0].display_name, "Zoë Cc")
        self.assertEqual(m["Reply-To"].addresses[0].addr_spec, "reply@example.org")
        self.assertEqual(m["List-Unsubscribe"], "<mailto:unsub@example.org>")
        self.assertEqual(m["MIME-Version"], "1.0")
        self.assertIsNotNone(m["Date"].datetime)
        self.assertRegex(m["Message-ID"], r"^<[0-9a-f]{32}@example\.org>$")
        self.assertEqual(m.get_content_type(), "multipart/mixed")
        alt, att_big, att_small = m.get_payload()
        self.assertEqual(alt.get_content_type(), "multipart/alternative")
        plain, related = alt.get_payload()
        self.assertEqual(plain.get_content_type(), "text/plain")
        self.assertEqual(plain.get_content(), text)
        self.assertEqual(related.get_content_type(), "multipart/related")
        html_part, logo_part = related.get_payload()
        self.assertEqual(html_part.get_content_type(), "text/html")
        self.assertEqual(html_part.get_content(), html)
        self.assertEqual(logo_part.get_content_type(), "image/png", "libmagic read the PNG signature")
        self.assertEqual(logo_part["Content-ID"], "<logo@news>")
        self.assertEqual(logo_part.get_content_disposition(), "inline")
        self.assertEqual(logo_part.get_content(), logo)
        self.assertEqual(att_big.get_content_disposition(), "attachment")
        self.assertEqual(att_big.get_filename(), big_name)
        self.assertEqual(att_big.get_content_type(), "application/octet-stream")
        self.assertEqual(att_big.get_content(), big)
        self.assertEqual(att_small.get_filename(), small_name)
        self.assertEqual(att_small.get_content_type(), "application/pdf")
        self.assertEqual(att_small.get_content(), small)

        # Judge 2: reformime.
        s = reformime_sections(stored.path)
        self.assertEqual([k for k in s], ["1", "1.1", "1.1.1", "1.1.2", "1.1.2.1", "1.1.2.2", "1.2", "1.3"], s)
        self.assertEqual(s["1"]["content-type"], "multipart/mixed")
        self.assertEqual(s["1.1"]["content-type"], "multipart/alternative")
        self.assertEqual(s["1.1.1"]["content-type"], "text/plain")
        self.assertEqual(s["1.1.2"]["content-type"], "multipart/related")
        self.assertEqual(s["1.1.2.1"]["content-type"], "text/html")
        self.assertEqual(s["1.1.2.2"]["content-type"], "image/png")
        self.assertEqual(s["1.2"]["content-disposition-filename"], big_name)
        self.assertEqual(s["1.3"]["content-disposition-filename"], small_name)
        self.assertEqual(s["1.3"]["content-type"], "application/pdf")
        self.assertEqual(reformime_extract(stored.path, "1.2"), big)
        self.assertEqual(reformime_extract(stored.path, "1.3"), small)
        self.assertEqual(reformime_extract(stored.path, "1.1.2.2"), logo)
        self.assertEqual(reformime_extract(stored.path, "1.1.1").decode("utf-8").replace("\r\n", "\n"), text)

        # No line over 998 octets anywhere (RFC 5322 §2.1.1).
        self.assertLessEqual(max(len(l) for l in stored.data.split(b"\n")), 998)

    def test_file_names_with_quotes_spaces_and_utf8_survive_both_judges(self):
        # Given with name= (the value runs to the next ";"), and one as the file's own name.
        names = ['a "quoted" name.txt', "many   spaces .txt", "日本語のファイル名.dat", "equals=sign, comma.bin",
                 "x" * 120 + "ä.bin", "back\\slash 'single'.txt"]
        args, payloads = [], []
        for i, n in enumerate(names):
            data = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(0, 50000)))
            payloads.append(data)
            args += ["--attach", self.file(f"f{i}", data) + f";name={n}"]
        own = "Größe (1) – Kopie.bin"
        own_data = bytes(self.rng.getrandbits(8) for _ in range(777))
        names.append(own)
        payloads.append(own_data)
        args += ["--attach", self.file(own, own_data)]
        res = self.send(["--subject", "names", "--text", "see attachments"] + args)
        self.assertOk(res)
        stored = self.stored()
        m = self.parse(stored)
        parts = m.get_payload()[1:]
        self.assertEqual(len(parts), len(names))
        s = reformime_sections(stored.path)
        for i, (n, data) in enumerate(zip(names, payloads)):
            with self.subTest(name=n):
                self.assertEqual(parts[i].get_filename(), n)
                self.assertEqual(parts[i].get_content(), data)
                self.assertEqual(s[f"1.{i + 2}"]["content-disposition-filename"], n)
                self.assertEqual(reformime_extract(stored.path, f"1.{i + 2}"), data)

    def test_utf8_display_names_and_header_values(self):
        res = self.send(["--subject", "Grüße aus Köln", "--text", "x", "--header", "X-Kampagne: Frühling 2026 – Ä"],
                        sender="Jörg Müller <sender@example.org>",
                        to=[f"Ånne Ølsen <{self.rcpt()}>"])
        self.assertOk(res)
        stored = self.stored()
        self.assertEqual(stored.sender, "sender@example.org", "the envelope is the address alone")
        self.assertTrue(all(b < 0x80 for b in stored.data), "RFC 2047/QP: the message is pure ASCII")
        m = self.parse(stored)
        self.assertEqual(m["From"].addresses[0].display_name, "Jörg Müller")
        self.assertEqual(m["From"].addresses[0].addr_spec, "sender@example.org")
        self.assertEqual(m["To"].addresses[0].display_name, "Ånne Ølsen")
        self.assertEqual(m["X-Kampagne"], "Frühling 2026 – Ä")
        self.assertEqual(m["Subject"], "Grüße aus Köln")

    def test_text_file_and_html_string_get_the_encoding_their_content_needs(self):
        # --text-file (UTF-8 and a 1,500-octet line: quoted-printable) with --html given as a
        # string (short ASCII lines: 7bit); and an ASCII-only --text-file alone (7bit).
        text = "Grüße, Jörg.\n" + "a" * 1500 + "\n.\nende\n"
        html = "<html><body><p>plain ASCII</p></body></html>\n"
        res = self.send(["--subject", "encodings", "--text-file", self.file("t.txt", text.encode()),
                         "--html", html])
        self.assertOk(res)
        stored = self.stored()
        self.assertLessEqual(max(len(l) for l in stored.data.split(b"\n")), 998)
        m = self.parse(stored)
        self.assertEqual(m.get_content_type(), "multipart/alternative")
        plain, html_part = m.get_payload()
        self.assertEqual(plain["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(plain.get_content_charset(), "utf-8")
        self.assertEqual(plain.get_content(), text)
        self.assertEqual(html_part["Content-Transfer-Encoding"], "7bit")
        self.assertEqual(html_part.get_content_charset(), "us-ascii")
        self.assertEqual(html_part.get_content(), html)
        s = reformime_sections(stored.path)
        self.assertEqual([k for k in s], ["1", "1.1", "1.2"], s)
        self.assertEqual(s["1.1"]["content-transfer-encoding"], "quoted-printable")
        self.assertEqual(reformime_extract(stored.path, "1.1").decode("utf-8").replace("\r\n", "\n"), text)
        self.assertEqual(reformime_extract(stored.path, "1.2").decode("utf-8").replace("\r\n", "\n"), html)

        ascii_text = "Hello,\nonly ASCII here.\n"
        res = self.send(["--subject", "ascii", "--text-file", self.file("a.txt", ascii_text.encode())],
                        to=[self.rcpt("ascii")])
        self.assertOk(res)
        m = self.parse(self.stored(rcpt=self.rcpt("ascii")))
        self.assertEqual(m.get_content_type(), "text/plain")
        self.assertEqual(m["Content-Transfer-Encoding"], "7bit")
        self.assertEqual(m.get_content(), ascii_text)

    # -- bad input: a cause, a non-zero exit, nothing sent --------------------
    def test_bad_input_fails_before_sending(self):
        cases = [
            (["--text", "x", "--attach", os.path.join(self.tmp, "missing.pdf")], 66, "message.attachment-unreadable"),
            (["--text", "x", "--attach", self.tmp], 66, "message.attachment-unreadable"),
            (["--text", "x", "--header", "X-Evil: a\r\nBcc: victim@example.net"], 65, "message.bad-header"),
            (["--text", "x", "--header", "X-Evil: a\nb"], 65, "message.bad-header"),
            (["--text", "x", "--header", "Content-Type: text/html"], 65, "message.bad-header"),
            (["--text", "x", "--cc", "not an address"], 65, "message.bad-address"),
            (["--text", "x", "--reply-to", "a@b, c@d"], 65, "message.bad-address"),
            (["--html", "<p>", "--inline", self.file("i.png", b"\x89PNG")], 64, "usage"),
            (["--text", "x", "--attach", "f;colour=red"], 64, "usage"),
            (["--text", "x", "--dsn-notify", "never,success"], 64, "usage"),
            (["--text", "x", "--text-file", self.file("t.txt", b"y")], 64, "usage"),
            (["--text-file", os.path.join(self.tmp, "missing.txt")], 66, "input"),
        ]
        for extra, code, cause in cases:
            with self.subTest(extra=extra):
                res = self.send(extra)
                self.assertFailure(res, code, cause)
        bad_to = self.send(["--text", "x"], to=["Name <broken"])
        self.assertFailure(bad_to, 65, "message.bad-address")
        postfix.store.assert_no_messages(wait=1.0, rcpt=self.rcpt())
        self.assertNotIn("victim@example.net", postfix.log_text())

    # -- SMTPUTF8 and IDNA -----------------------------------------------------
    def test_smtputf8_offered_utf8_addresses_go_as_they_are(self):
        to = f"jörg.{self._testMethodName}@bücher.example"
        res = self.send(["--subject", "utf8", "--text", "x", "-v"], to=[to], sender="Jörg <jörg@exämple.org>")
        self.assertOk(res)
        self.assertRegex(res.stderr, r"> MAIL FROM:<jörg@exämple.org>.* SMTPUTF8")
        [stored] = postfix.wait_for_messages(1, rcpt=to)
        self.assertEqual(stored.sender, "jörg@exämple.org")
        # RFC 6532 header: UTF-8 as it is (the email package reads raw bytes as surrogates, so text).
        m = email.message_from_string(stored.data.decode("utf-8"), policy=email.policy.default)
        self.assertEqual(m["To"].addresses[0].addr_spec, to, "RFC 6532: UTF-8 as it is in the header")

    def test_no_smtputf8_domains_go_as_a_labels(self):
        rcpt = f"{self._testMethodName}@bücher.example"
        alabel = f"{self._testMethodName}@xn--bcher-kva.example"
        res = self.send(["--subject", "idna", "--text", "x", "-v"], server=bare, to=[rcpt],
                        sender="Sender <sender@exämple.org>")
        self.assertOk(res)
        # (The text before the first "< 250" holds only the greeting and EHLO: look at the replies.)
        self.assertRegex(res.stderr, r"(?m)^< 250[- ]8BITMIME$", res.describe())
        self.assertNotRegex(res.stderr, r"(?m)^< 250[- ]SMTPUTF8$", "bare Postfix does not offer it")
        [mail] = re.findall(r"(?m)^> MAIL FROM:.*$", res.stderr)
        self.assertTrue(mail.startswith("> MAIL FROM:<sender@xn--exmple-cua.org>"), mail)
        self.assertNotIn("SMTPUTF8", mail)
        self.assertIn(f"> RCPT TO:<{alabel}>", res.stderr)
        [stored] = bare.wait_for_messages(1, rcpt=alabel)
        self.assertEqual(stored.sender, "sender@xn--exmple-cua.org")
        m = self.parse(stored)
        self.assertEqual(m["From"].addresses[0].addr_spec, "sender@xn--exmple-cua.org")
        self.assertEqual(m["To"].addresses[0].addr_spec, alabel)

    def test_no_smtputf8_utf8_local_part_fails_before_mail(self):
        res = self.send(["--subject", "x", "--text", "x", "-v"], server=bare,
                        to=[f"jörg.{self._testMethodName}@example.net"])
        self.assertFailure(res, 69, "smtp.utf8-unsupported")
        self.assertNotIn("> MAIL FROM", res.stderr)
        bare.store.assert_no_messages(wait=1.0, match=lambda m: self._testMethodName in " ".join(m.recipients))

    # -- DSN -------------------------------------------------------------------
    def test_dsn_parameters_as_the_server_received_them(self):
        sink.clear()
        rcpts = [self.rcpt(), "a+b=c@example.net"]
        res = self.send(["--subject", "dsn", "--text", "x", "--dsn-notify", "success,failure", "--dsn-ret", "hdrs",
                         "--dsn-envid", "QQ 314+159", "--json"], server=sink, to=rcpts, mode="--plain")
        self.assertOk(res)
        self.assertTrue(res.json["messages"][0]["dsn"])
        [dump] = sink.dumps()
        head = dump.split(b"\r\n\r\n", 1)[0].decode().replace("\r\n", "\n")
        mail_args = re.findall(r"^X-Mail-Args: (.*)$", head, re.M)
        rcpt_args = re.findall(r"^X-Rcpt-Args: (.*)$", head, re.M)
        self.assertEqual(len(mail_args), 1, head)
        self.assertIn("RET=HDRS", mail_args[0])
        self.assertIn("ENVID=QQ+20314+2B159", mail_args[0])
        self.assertEqual(rcpt_args, [f"<{self.rcpt()}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{self.rcpt()}",
                                     "<a+b=c@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb+3Dc@example.net"],
                         head)

    def test_dsn_with_postfix_is_accepted(self):
        res = self.send(["--subject", "dsn", "--text", "x", "--dsn-notify", "never", "--require-dsn", "-v"])
        self.assertOk(res)
        self.assertIn(f"RCPT TO:<{self.rcpt()}> NOTIFY=NEVER ORCPT=rfc822;{self.rcpt()}", res.stderr)
        self.stored()

    def test_dsn_not_offered_warns_or_refuses_with_require_dsn(self):
        res = self.send(["--subject", "dsn", "--text", "x", "--dsn-notify", "failure"], server=bare)
        self.assertOk(res)
        self.assertIn("postern: warning: the server does not offer DSN", res.stderr)
        self.stored(server=bare)
        refused = self.send(["--subject", "dsn", "--text", "x", "--dsn-notify", "failure", "--require-dsn"],
                            server=bare, to=[self.rcpt("req")])
        self.assertFailure(refused, 69, "smtp.dsn-unsupported")
        bare.store.assert_no_messages(wait=1.0, rcpt=self.rcpt("req"))

    # -- CHUNKING --------------------------------------------------------------
    def test_bdat_and_data_carry_the_same_bytes(self):
        payload = bytes(self.rng.getrandbits(8) for _ in range(3 * 1024 * 1024))
        p = self.file("blob.bin", payload)
        # A text with lines that start with dots: DATA stuffs them, BDAT must not.
        text = ".\n..\n.leading\nend\n"
        for flag, want, server in (([], "BDAT", postfix), (["--no-chunking"], "DATA", postfix),
                                   ([], "DATA", bare)):
            with self.subTest(flag=flag, server=server is bare):
                tag = want + ("bare" if server is bare else "") + "".join(flag)
                res = self.send(["--subject", "c", "--text", text, "--attach", p, "--json"] + flag, server=server,
                                to=[self.rcpt(tag)])
                self.assertOk(res)
                self.assertEqual(res.json["messages"][0]["transfer"], want)
                [stored] = server.wait_for_messages(1, rcpt=self.rcpt(tag))
                m = self.parse(stored)
                body, att = m.get_payload()
                self.assertEqual(body.get_content(), text)
                self.assertEqual(att.get_content(), payload)

    def test_file_messages_go_with_bdat_unstuffed(self):
        data = (f"From: s@example.org\r\nTo: {self.rcpt()}\r\nSubject: file\r\n\r\n.\r\n..x\r\n").encode()
        p = self.file("m.eml", data)
        res = self.send([p, "-v"])
        self.assertOk(res)
        self.assertIn("> BDAT", res.stderr)
        stored = self.stored()
        self.assertSameMessage(data, stored)


if __name__ == "__main__":
    unittest.main()
