//! rustls_client HOST PORT CAFILE [starttls] [TLS_NAME]
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 || args.len() > 6 {
        eprintln!("usage: rustls_client HOST PORT CAFILE [starttls] [TLS_NAME]");
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
