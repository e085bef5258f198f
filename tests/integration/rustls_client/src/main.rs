//! rustls_client HOST PORT CAFILE [starttls] [TLS_NAME] [send FROM TO MESSAGE_FILE]
//!
//! With `send`, after the handshake it also sends MESSAGE_FILE (CRLF lines) from FROM to TO
//! over that TLS connection (EHLO, MAIL, RCPT, DATA, QUIT) and adds "reply" (the server's
//! reply to the final dot) to the JSON line (the relay tests, tests/integration/test_relay.py).
//!
//! A reference TLS client for postern's probe tests: rustls with its default
//! configuration (`ClientConfig::builder().with_safe_defaults()`), trust roots
//! from CAFILE (PEM). With `starttls` it first reads the SMTP greeting, sends
//! EHLO and STARTTLS, then does the handshake. It prints one JSON line:
//!
//!   {"ok": true, "version": "TLSv1_3", "suite": "TLS13_AES_256_GCM_SHA384"}
//!   {"ok": false, "error": "<rustls or I/O error text>"}
//!
//! and exits 0 / 1 (2 for usage errors).
//!
//! rustls 0.20 cannot verify a certificate for an IP address
//! (`UnsupportedNameType`), so when HOST is an IP literal and no TLS_NAME is
//! given, the name checked (and sent as SNI) is "localhost" — the harness
//! certificate has SAN DNS:localhost.

use std::convert::TryFrom;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn fail(msg: &str) -> ! {
    println!("{{\"ok\": false, \"error\": {}}}", json_str(msg));
    std::process::exit(1);
}

fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a') as u32 + 26),
            b'0'..=b'9' => Some((c - b'0') as u32 + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::new();
    let (mut acc, mut n) = (0u32, 0u32);
    for &c in s.as_bytes() {
        if c == b'=' {
            break;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        let v = val(c).ok_or_else(|| format!("bad base64 character {:?}", c as char))?;
        acc = (acc << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    Ok(out)
}

/// DER bodies of every CERTIFICATE block in a PEM file.
fn pem_certs(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {}", path, e))?;
    let (begin, end) = ("-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----");
    let mut certs = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(begin) {
        let after = &rest[i + begin.len()..];
        let j = after.find(end).ok_or_else(|| format!("{}: unterminated PEM block", path))?;
        certs.push(b64_decode(&after[..j])?);
        rest = &after[j + end.len()..];
    }
    if certs.is_empty() {
        return Err(format!("{}: no CERTIFICATE in file", path));
    }
    Ok(certs)
}

/// One SMTP reply (all lines); returns (code, text).
fn read_reply(r: &mut BufReader<TcpStream>) -> Result<(u32, String), String> {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).map_err(|e| format!("SMTP read: {}", e))?;
        if n == 0 {
            return Err(format!("SMTP: connection closed (after {:?})", all));
        }
        all.push_str(&line);
        let b = line.as_bytes();
        if b.len() < 4 || !b[..3].iter().all(|c| c.is_ascii_digit()) {
            return Err(format!("SMTP: malformed reply line {:?}", line));
        }
        if b[3] == b' ' || b[3] == b'\r' || b[3] == b'\n' {
            return Ok((line[..3].parse().unwrap(), all));
        }
    }
}

fn starttls(sock: &TcpStream) -> Result<(), String> {
    let mut r = BufReader::new(sock.try_clone().map_err(|e| e.to_string())?);
    let mut w = sock.try_clone().map_err(|e| e.to_string())?;
    let (code, text) = read_reply(&mut r)?;
    if code != 220 {
        return Err(format!("SMTP greeting: {}", text.trim_end()));
    }
    w.write_all(b"EHLO rustls-client.invalid\r\n").map_err(|e| e.to_string())?;
    let (code, text) = read_reply(&mut r)?;
    if code != 250 {
        return Err(format!("SMTP EHLO: {}", text.trim_end()));
    }
    if !text.to_ascii_uppercase().contains("STARTTLS") {
        return Err("SMTP: STARTTLS not offered".into());
    }
    w.write_all(b"STARTTLS\r\n").map_err(|e| e.to_string())?;
    let (code, text) = read_reply(&mut r)?;
    if code != 220 {
        return Err(format!("SMTP STARTTLS: {}", text.trim_end()));
    }
    // The server must not have sent anything after its 220 (STARTTLS injection).
    if !r.buffer().is_empty() {
        return Err("SMTP: data after the STARTTLS reply".into());
    }
    Ok(())
}

/// One SMTP reply read byte by byte from a TLS stream; returns (code, text).
fn tls_reply<S: Read>(s: &mut S) -> Result<(u32, String), String> {
    let mut all = String::new();
    loop {
        let mut line = Vec::new();
        loop {
            let mut b = [0u8; 1];
            let n = s.read(&mut b).map_err(|e| format!("SMTP read over TLS: {}", e))?;
            if n == 0 {
                return Err(format!("SMTP: connection closed (after {:?})", all));
            }
            line.push(b[0]);
            if b[0] == b'\n' {
                break;
            }
        }
        let line = String::from_utf8_lossy(&line).to_string();
        all.push_str(&line);
        let b = line.as_bytes();
        if b.len() < 4 || !b[..3].iter().all(|c| c.is_ascii_digit()) {
            return Err(format!("SMTP: malformed reply line {:?}", line));
        }
        if b[3] == b' ' || b[3] == b'\r' || b[3] == b'\n' {
            return Ok((line[..3].parse().unwrap(), all));
        }
    }
}

fn command<S: Read + Write>(s: &mut S, line: &str, want: u32) -> Result<String, String> {
    s.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
    s.flush().map_err(|e| e.to_string())?;
    let (code, text) = tls_reply(s)?;
    if code != want {
        return Err(format!("SMTP {}: {}", line.trim_end(), text.trim_end()));
    }
    Ok(text)
}

/// EHLO (after reading the greeting on implicit TLS), MAIL, RCPT, DATA, the dot-stuffed message, QUIT.
fn send_message<S: Read + Write>(s: &mut S, after_starttls: bool, from: &str, to: &str, message: &[u8]) -> Result<String, String> {
    if !after_starttls {
        let (code, text) = tls_reply(s)?;
        if code != 220 {
            return Err(format!("SMTP greeting: {}", text.trim_end()));
        }
    }
    command(s, "EHLO rustls-client.invalid\r\n", 250)?;
    command(s, &format!("MAIL FROM:<{}>\r\n", from), 250)?;
    command(s, &format!("RCPT TO:<{}>\r\n", to), 250)?;
    command(s, "DATA\r\n", 354)?;
    let mut data = Vec::with_capacity(message.len() + 8);
    let mut bol = true;
    for &c in message {
        if bol && c == b'.' {
            data.push(b'.');
        }
        data.push(c);
        bol = c == b'\n';
    }
    if !bol {
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    s.write_all(&data).map_err(|e| e.to_string())?;
    s.flush().map_err(|e| e.to_string())?;
    let (code, reply) = tls_reply(s)?;
    if code != 250 {
        return Err(format!("SMTP final dot: {}", reply.trim_end()));
    }
    let _ = command(s, "QUIT\r\n", 221);
    Ok(reply)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut args = args;
    let mut send: Option<(String, String, String)> = None;
    if let Some(i) = args.iter().position(|a| a == "send") {
        if args.len() != i + 4 {
            eprintln!("usage: ... send FROM TO MESSAGE_FILE");
            std::process::exit(2);
        }
        send = Some((args[i + 1].clone(), args[i + 2].clone(), args[i + 3].clone()));
        args.truncate(i);
    }
    if args.len() < 4 || args.len() > 6 {
        eprintln!("usage: rustls_client HOST PORT CAFILE [starttls] [TLS_NAME] [send FROM TO MESSAGE_FILE]");
        std::process::exit(2);
    }
    let (host, port, cafile) = (&args[1], &args[2], &args[3]);
    let mut use_starttls = false;
    let mut tls_name: Option<String> = None;
    for a in &args[4..] {
        if a == "starttls" {
            use_starttls = true;
        } else {
            tls_name = Some(a.clone());
        }
    }
    let port: u16 = port.parse().unwrap_or_else(|_| {
        eprintln!("bad port {:?}", port);
        std::process::exit(2)
    });
    let name = tls_name.unwrap_or_else(|| {
        if host.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>().is_ok() {
            "localhost".to_string()
        } else {
            host.clone()
        }
    });

    let mut roots = rustls::RootCertStore::empty();
    for der in pem_certs(cafile).unwrap_or_else(|e| fail(&e)) {
        roots.add(&rustls::Certificate(der)).unwrap_or_else(|e| fail(&format!("CA file: {}", e)));
    }
    let config = rustls::ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = rustls::ServerName::try_from(name.as_str())
        .unwrap_or_else(|e| fail(&format!("bad TLS name {:?}: {}", name, e)));
    let mut conn = rustls::ClientConnection::new(Arc::new(config), server_name)
        .unwrap_or_else(|e| fail(&e.to_string()));

    let h = host.trim_matches(|c| c == '[' || c == ']');
    let addr = (h, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| fail(&format!("cannot resolve {}", host)));
    let mut sock = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .unwrap_or_else(|e| fail(&format!("connect: {}", e)));
    let _ = sock.set_read_timeout(Some(Duration::from_secs(15)));
    let _ = sock.set_write_timeout(Some(Duration::from_secs(15)));

    if use_starttls {
        if let Err(e) = starttls(&sock) {
            fail(&e);
        }
    }

    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            // rustls reports its own errors (alerts, bad certificates, no common
            // suite) wrapped in io::ErrorKind::InvalidData: print the rustls text.
            let msg = match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(tls) => tls.to_string(),
                None => format!("{} ({:?})", e, e.kind()),
            };
            fail(&msg);
        }
    }
    let version = conn
        .protocol_version()
        .map(|v| format!("{:?}", v))
        .unwrap_or_default();
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    if let Some((from, to, file)) = send {
        let message = std::fs::read(&file).unwrap_or_else(|e| fail(&format!("{}: {}", file, e)));
        let mut tls = rustls::StreamOwned::new(conn, sock);
        match send_message(&mut tls, use_starttls, &from, &to, &message) {
            Ok(reply) => println!(
                "{{\"ok\": true, \"version\": {}, \"suite\": {}, \"tls_name\": {}, \"reply\": {}}}",
                json_str(&version),
                json_str(&suite),
                json_str(&name),
                json_str(reply.trim_end())
            ),
            Err(e) => fail(&e),
        }
        return;
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    let _ = sock.read(&mut [0u8; 0]);
    println!(
        "{{\"ok\": true, \"version\": {}, \"suite\": {}, \"tls_name\": {}}}",
        json_str(&version),
        json_str(&suite),
        json_str(&name)
    );
}
