// Incremental reader for the server's first flight. It decodes only what is sent in clear and
// stops where encryption (or the client's turn) begins, so a probe never needs a TLS stack.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "postern/probe/wire.hpp"

namespace postern::probe::wire {
namespace {

constexpr std::size_t record_header = 5;
// TLSCiphertext may exceed 2^14 by 2048 (RFC 5246 §6.2.3); accept that much so that a server's
// legal record is never called too large, and refuse anything beyond.
constexpr std::size_t max_record = 16384 + 2048;

enum : std::uint8_t {
  ct_change_cipher_spec = 20,
  ct_alert = 21,
  ct_handshake = 22,
  ct_application_data = 23,
  ct_heartbeat = 24,
};

enum : std::uint8_t {
  hs_hello_request = 0,
  hs_server_hello = 2,
  hs_certificate = 11,
  hs_server_key_exchange = 12,
  hs_certificate_request = 13,
  hs_server_hello_done = 14,
  hs_certificate_status = 22,
};

// SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3.
constexpr std::uint8_t hrr_random[32] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
                                         0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
                                         0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
constexpr std::string_view downgrade_prefix = "DOWNGRD";

/** Bounds-checked big-endian reader; after any overrun ok() is false and reads return zeros. */
class cursor {
 public:
  explicit cursor(std::string_view s) : s_(s) {}
  bool ok() const noexcept { return ok_; }
  bool empty() const noexcept { return s_.empty(); }

  std::string_view bytes(std::size_t n) {
    if (!ok_ || n > s_.size()) {
      ok_ = false;
      return {};
    }
    std::string_view out = s_.substr(0, n);
    s_.remove_prefix(n);
    return out;
  }
  std::uint32_t number(std::size_t n) {
    std::uint32_t v = 0;
    for (char c : bytes(n)) v = v << 8 | static_cast<std::uint8_t>(c);
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(number(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(number(2)); }
  std::string_view vec(std::size_t length_bytes) { return bytes(number(length_bytes)); }

 private:
  std::string_view s_;
  bool ok_ = true;
};

std::string hex(std::string_view bytes, std::size_t max = 16) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    const auto b = static_cast<std::uint8_t>(bytes[i]);
    if (i) out.push_back(' ');
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  if (bytes.size() > max) out += " ...";
  return out;
}

/** Significant bits of a big-endian unsigned integer (leading zero bytes do not count). */
std::uint32_t bit_length(std::string_view n) {
  std::size_t i = 0;
  while (i < n.size() && n[i] == 0) ++i;
  if (i == n.size()) return 0;
  std::uint32_t bits = static_cast<std::uint32_t>(n.size() - i - 1) * 8;
  for (auto top = static_cast<std::uint8_t>(n[i]); top; top >>= 1) ++bits;
  return bits;
}

bool is_text_byte(std::uint8_t b) { return (b >= 0x20 && b < 0x7f) || b == '\r' || b == '\n' || b == '\t'; }

}  // namespace

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    const auto b = static_cast<std::uint8_t>(ch);
    switch (ch) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (b >= 0x20 && b < 0x7f) {
          out.push_back(ch);
        } else {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", b);
          out += buf;
        }
    }
  }
  return out;
}

std::string alert_name(alert_description d) {
  switch (d) {
    case alert_description::close_notify:
      return "close_notify";
    case alert_description::unexpected_message:
      return "unexpected_message";
    case alert_description::bad_record_mac:
      return "bad_record_mac";
    case alert_description::decryption_failed:
      return "decryption_failed";
    case alert_description::record_overflow:
      return "record_overflow";
    case alert_description::decompression_failure:
      return "decompression_failure";
    case alert_description::handshake_failure:
      return "handshake_failure";
    case alert_description::no_certificate:
      return "no_certificate";
    case alert_description::bad_certificate:
      return "bad_certificate";
    case alert_description::unsupported_certificate:
      return "unsupported_certificate";
    case alert_description::certificate_revoked:
      return "certificate_revoked";
    case alert_description::certificate_expired:
      return "certificate_expired";
    case alert_description::certificate_unknown:
      return "certificate_unknown";
    case alert_description::illegal_parameter:
      return "illegal_parameter";
    case alert_description::unknown_ca:
      return "unknown_ca";
    case alert_description::access_denied:
      return "access_denied";
    case alert_description::decode_error:
      return "decode_error";
    case alert_description::decrypt_error:
      return "decrypt_error";
    case alert_description::export_restriction:
      return "export_restriction";
    case alert_description::protocol_version:
      return "protocol_version";
    case alert_description::insufficient_security:
      return "insufficient_security";
    case alert_description::internal_error:
      return "internal_error";
    case alert_description::inappropriate_fallback:
      return "inappropriate_fallback";
    case alert_description::user_canceled:
      return "user_canceled";
    case alert_description::no_renegotiation:
      return "no_renegotiation";
    case alert_description::missing_extension:
      return "missing_extension";
    case alert_description::unsupported_extension:
      return "unsupported_extension";
    case alert_description::unrecognized_name:
      return "unrecognized_name";
    case alert_description::bad_certificate_status_response:
      return "bad_certificate_status_response";
    case alert_description::unknown_psk_identity:
      return "unknown_psk_identity";
    case alert_description::certificate_required:
      return "certificate_required";
    case alert_description::no_application_protocol:
      return "no_application_protocol";
  }
  return "alert_" + std::to_string(static_cast<unsigned>(d));
}

std::string_view to_string(reader_error e) noexcept {
  switch (e) {
    case reader_error::plaintext_reply:
      return "plaintext_reply";
    case reader_error::sslv2_reply:
      return "sslv2_reply";
    case reader_error::not_tls:
      return "not_tls";
    case reader_error::bad_record:
      return "bad_record";
    case reader_error::record_too_large:
      return "record_too_large";
    case reader_error::handshake_too_large:
      return "handshake_too_large";
    case reader_error::flight_too_large:
      return "flight_too_large";
    case reader_error::bad_handshake:
      return "bad_handshake";
    case reader_error::unexpected_message:
      return "unexpected_message";
    case reader_error::too_many_warnings:
      return "too_many_warnings";
    case reader_error::truncated:
      return "truncated";
    case reader_error::closed:
      return "closed";
  }
  return "unknown";
}

bool server_hello::has_extension(std::uint16_t type) const noexcept {
  return std::find(extensions.begin(), extensions.end(), type) != extensions.end();
}

server_reader::server_reader(reader_limits limits) : limits_(limits) {}

std::size_t server_reader::buffered() const noexcept {
  return record_.size() + handshake_.size() + alert_.size();
}

std::optional<server_event> server_reader::next() {
  if (events_.empty()) return std::nullopt;
  server_event ev = std::move(events_.front());
  events_.pop_front();
  return ev;
}

void server_reader::emit(server_event ev) { events_.push_back(std::move(ev)); }

void server_reader::fail(reader_error reason, std::string detail) {
  emit(error{reason, std::move(detail)});
  done_ = true;
  record_.clear();
  handshake_.clear();
  alert_.clear();
}

void server_reader::finish_text() {
  std::string_view line = record_;
  if (auto lf = line.find('\n'); lf != std::string_view::npos) line = line.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  fail(reader_error::plaintext_reply, escape_bytes(line));
}

void server_reader::feed(std::string_view in) {
  while (!in.empty() && !done_) {
    saw_any_ = true;
    switch (phase_) {
      case phase::sniff: {
        const auto b = static_cast<std::uint8_t>(in[0]);
        if (b >= ct_change_cipher_spec && b <= ct_heartbeat)
          phase_ = phase::records;
        else if (b & 0x80)
          phase_ = phase::sslv2;  // an SSLv2 record header has the top bit set
        else if (is_text_byte(b))
          phase_ = phase::text;
        else
          fail(reader_error::not_tls, hex(in));
        break;
      }
      case phase::text: {
        const std::size_t room =
            limits_.max_plaintext_line - std::min(record_.size(), limits_.max_plaintext_line);
        std::size_t take = std::min(in.size(), room);
        if (auto lf = in.substr(0, take).find('\n'); lf != std::string_view::npos) take = lf + 1;
        record_.append(in.substr(0, take));
        in.remove_prefix(take);
        if ((!record_.empty() && record_.back() == '\n') || record_.size() >= limits_.max_plaintext_line)
          finish_text();
        break;
      }
      case phase::sslv2: {
        const std::size_t take = std::min(in.size(), 3 - record_.size());
        record_.append(in.substr(0, take));
        in.remove_prefix(take);
        if (record_.size() == 3) {
          // Two-byte header, then the message type: 4 is SERVER-HELLO.
          if (record_[2] == 4)
            fail(reader_error::sslv2_reply, hex(record_));
          else
            fail(reader_error::not_tls, hex(record_));
        }
        break;
      }
      case phase::records: {
        if (record_.size() < record_header) {
          const std::size_t take = std::min(in.size(), record_header - record_.size());
          record_.append(in.substr(0, take));
          in.remove_prefix(take);
          if (record_.size() < record_header) break;
          const auto type = static_cast<std::uint8_t>(record_[0]);
          const bool first = flight_bytes_ == 0;
          if (type < ct_change_cipher_spec || type > ct_heartbeat || record_[1] != 3) {
            fail(first ? reader_error::not_tls : reader_error::bad_record, hex(record_));
            break;
          }
          const std::size_t length = cursor(std::string_view(record_).substr(3)).u16();
          if (length > max_record) {
            fail(reader_error::record_too_large, std::to_string(length) + " byte record");
            break;
          }
          flight_bytes_ += record_header + length;
          if (flight_bytes_ > limits_.max_flight) {
            fail(reader_error::flight_too_large, "over " + std::to_string(limits_.max_flight) + " bytes");
            break;
          }
        }
        const std::size_t need = record_header + cursor(std::string_view(record_).substr(3)).u16();
        const std::size_t take = std::min(in.size(), need - record_.size());
        record_.append(in.substr(0, take));
        in.remove_prefix(take);
        if (record_.size() < need) break;
        std::string record = std::move(record_);
        record_.clear();
        on_record(static_cast<std::uint8_t>(record[0]), std::string_view(record).substr(record_header));
        break;
      }
    }
  }
}

void server_reader::finish() {
  if (done_) return;
  if (!saw_any_) return fail(reader_error::closed, "connection closed before any reply");
  switch (phase_) {
    case phase::text:
      return finish_text();
    case phase::sslv2:
      return fail(reader_error::not_tls, hex(record_));
    default:
      break;
  }
  if (!record_.empty()) return fail(reader_error::truncated, "closed inside a record");
  if (!handshake_.empty()) return fail(reader_error::truncated, "closed inside a handshake message");
  if (!alert_.empty()) return fail(reader_error::truncated, "closed inside an alert");
  fail(reader_error::truncated,
       saw_server_hello_ ? "closed before ServerHelloDone" : "closed before ServerHello");
}

void server_reader::on_record(std::uint8_t type, std::string_view payload) {
  switch (type) {
    case ct_handshake:
      return on_handshake_bytes(payload);
    case ct_alert:
      if (payload.empty()) return fail(reader_error::bad_record, "empty alert record");
      return on_alert_bytes(payload);
    case ct_change_cipher_spec:
      // In TLS <= 1.2 it means the server resumed a session: what follows is encrypted.
      if (!saw_server_hello_)
        return fail(reader_error::unexpected_message, "ChangeCipherSpec before ServerHello");
      done_ = true;
      return;
    case ct_application_data:
      return fail(reader_error::unexpected_message, "application data during the handshake");
    default:
      return;  // heartbeat: harmless, ignored
  }
}

void server_reader::on_alert_bytes(std::string_view payload) {
  alert_.append(payload);
  std::size_t pos = 0;
  while (!done_ && alert_.size() - pos >= 2) {
    alert a;
    a.level = static_cast<std::uint8_t>(alert_[pos]);
    a.description = static_cast<alert_description>(static_cast<std::uint8_t>(alert_[pos + 1]));
    pos += 2;
    emit(a);
    if (a.fatal() || a.description == alert_description::close_notify) {
      done_ = true;
    } else if (++warnings_ > limits_.max_warning_alerts) {
      fail(reader_error::too_many_warnings, std::to_string(warnings_) + " warning alerts");
    }
  }
  if (done_)
    alert_.clear();
  else
    alert_.erase(0, pos);
}

void server_reader::on_handshake_bytes(std::string_view payload) {
  handshake_.append(payload);
  // Walk with an offset and erase once: erasing per message would be quadratic on a record
  // packed with tiny messages.
  std::size_t pos = 0;
  while (!done_ && handshake_.size() - pos >= 4) {
    cursor header(std::string_view(handshake_).substr(pos, 4));
    const std::uint8_t type = header.u8();
    const std::uint32_t length = static_cast<std::uint32_t>(header.number(3));
    if (length > limits_.max_handshake_message)
      return fail(reader_error::handshake_too_large, std::to_string(length) + " byte handshake message");
    if (handshake_.size() - pos - 4 < length) break;
    const std::string_view body = std::string_view(handshake_).substr(pos + 4, length);
    pos += 4 + length;
    on_handshake_message(type, body);
  }
  if (done_)
    handshake_.clear();
  else
    handshake_.erase(0, pos);
}

void server_reader::on_handshake_message(std::uint8_t type, std::string_view body) {
  if (type == hs_hello_request) return;  // "renegotiate, please": meaningless here, ignored
  if (!saw_server_hello_) {
    if (type != hs_server_hello)
      return fail(reader_error::unexpected_message,
                  "handshake message " + std::to_string(type) + " before ServerHello");
    return on_server_hello(body);
  }
  switch (type) {
    case hs_certificate:
      return on_certificate(body);
    case hs_server_key_exchange:
      return on_server_key_exchange(body);
    case hs_certificate_request:
      return emit(certificate_request{});
    case hs_certificate_status:
      return;  // stapled OCSP: not needed to rank suites
    case hs_server_hello_done:
      if (!body.empty()) return fail(reader_error::bad_handshake, "ServerHelloDone with a body");
      emit(server_hello_done{});
      done_ = true;
      return;
    default:
      return fail(reader_error::unexpected_message,
                  "handshake message " + std::to_string(type) + " after ServerHello");
  }
}

void server_reader::on_server_hello(std::string_view body) {
  cursor c(body);
  server_hello h;
  h.legacy_version = c.u16();
  const std::string_view random = c.bytes(32);
  const std::string_view session_id = c.vec(1);
  h.cipher_suite = c.u16();
  h.compression = c.u8();
  if (!c.ok()) return fail(reader_error::bad_handshake, "ServerHello too short");
  if (session_id.size() > 32)
    return fail(reader_error::bad_handshake, "ServerHello session id over 32 bytes");
  std::memcpy(h.random.data(), random.data(), 32);
  h.session_id = std::string(session_id);
  h.hello_retry_request = std::memcmp(random.data(), hrr_random, 32) == 0;
  if (random.substr(24, 7) == downgrade_prefix) {
    if (random[31] == 1) h.downgrade = downgrade_marker::tls1_2;
    if (random[31] == 0) h.downgrade = downgrade_marker::tls1_1_or_below;
  }

  std::optional<std::uint16_t> selected_version;
  if (!c.empty()) {  // TLS <= 1.2 servers may omit the extensions block entirely
    cursor exts(c.vec(2));
    if (!c.ok() || !c.empty()) return fail(reader_error::bad_handshake, "ServerHello extensions length");
    while (!exts.empty()) {
      const std::uint16_t type = exts.u16();
      cursor data(exts.vec(2));
      if (!exts.ok()) return fail(reader_error::bad_handshake, "ServerHello extension length");
      h.extensions.push_back(type);
      if (type == extension::supported_versions) {
        selected_version = data.u16();
      } else if (type == extension::key_share) {
        h.selected_group = data.u16();
        if (!h.hello_retry_request) data.vec(2);  // the server's share; an HRR names the group only
      } else {
        continue;
      }
      if (!data.ok() || !data.empty())
        return fail(reader_error::bad_handshake,
                    "ServerHello extension " + std::to_string(type) + " malformed");
    }
  }
  h.version = selected_version.value_or(h.legacy_version);
  saw_server_hello_ = true;
  version_ = h.version;
  cipher_suite_ = h.cipher_suite;
  // supported_versions in a ServerHello means TLS 1.3 (or a draft): everything after is
  // encrypted; after an HRR the server waits for a second ClientHello.
  if (selected_version || h.hello_retry_request) done_ = true;
  emit(std::move(h));
}

void server_reader::on_certificate(std::string_view body) {
  cursor c(body);
  cursor list(c.vec(3));
  if (!c.ok() || !c.empty()) return fail(reader_error::bad_handshake, "Certificate list length");
  certificate_chain chain;
  while (!list.empty()) {
    const std::string_view der = list.vec(3);
    if (!list.ok()) return fail(reader_error::bad_handshake, "Certificate entry length");
    chain.certificates.emplace_back(der);
  }
  emit(std::move(chain));
}

void server_reader::on_server_key_exchange(std::string_view body) {
  server_key_exchange ske;
  ske.length = body.size();
  const cipher_suite_info* info = find_cipher_suite(cipher_suite_);
  if (!info) return emit(ske);  // without the suite the layout is unknowable

  cursor c(body);
  const key_exchange kx = info->kx;
  if (kx == key_exchange::psk || kx == key_exchange::rsa_psk || kx == key_exchange::dhe_psk ||
      kx == key_exchange::ecdhe_psk)
    c.vec(2);  // psk_identity_hint
  bool parsed_all = true;
  switch (kx) {
    case key_exchange::ecdhe:
    case key_exchange::ecdh_anon:
    case key_exchange::ecdhe_psk:
      ske.kind = server_params_kind::ecdhe;
      ske.curve_type = c.u8();
      if (ske.curve_type == 3) {
        ske.named_curve = c.u16();
        c.vec(1);  // the server's point
      } else {
        parsed_all = false;  // explicit curves: layout too long to be worth walking
      }
      break;
    case key_exchange::dhe:
    case key_exchange::dh_anon:
    case key_exchange::dhe_psk:
      ske.kind = server_params_kind::dhe;
      ske.prime_bits = bit_length(c.vec(2));
      c.vec(2);  // g
      c.vec(2);  // Ys
      break;
    case key_exchange::rsa:
      ske.kind = server_params_kind::rsa_export;
      ske.prime_bits = bit_length(c.vec(2));
      c.vec(2);  // exponent
      break;
    case key_exchange::srp:
      ske.kind = server_params_kind::srp;
      ske.prime_bits = bit_length(c.vec(2));
      c.vec(2);  // g
      c.vec(1);  // salt
      c.vec(2);  // B
      break;
    case key_exchange::psk:
    case key_exchange::rsa_psk:
      ske.kind = server_params_kind::psk_hint;
      break;
    default:
      ske.kind = server_params_kind::unknown;
      parsed_all = false;
      break;
  }
  if (!c.ok()) return fail(reader_error::bad_handshake, "ServerKeyExchange parameters");
  const bool is_signed = info->auth == authentication::rsa || info->auth == authentication::dss ||
                         info->auth == authentication::ecdsa;
  const bool psk_family = ske.kind == server_params_kind::psk_hint || kx == key_exchange::dhe_psk ||
                          kx == key_exchange::ecdhe_psk;
  if (parsed_all && is_signed && !psk_family && version_ == version::tls1_2) {
    ske.signature_scheme = c.u16();  // TLS 1.2 names the hash/signature pair it used
    c.vec(2);
    if (!c.ok()) return fail(reader_error::bad_handshake, "ServerKeyExchange signature");
  }
  emit(ske);
}

std::vector<server_event> read_server_flight(std::string_view bytes, bool closed, reader_limits limits) {
  server_reader r(limits);
  r.feed(bytes);
  if (closed) r.finish();
  std::vector<server_event> out;
  while (auto ev = r.next()) out.push_back(std::move(*ev));
  return out;
}

}  // namespace postern::probe::wire
