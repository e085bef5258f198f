// SOCKS5 and HTTP CONNECT, bytes in and bytes out (docs/proxy.md).
#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <utility>

#include "postern/net/proxy_codec.hpp"

namespace postern::net::proxy_codec {
namespace {

std::string hex_byte(unsigned char c) {
  static constexpr char digits[] = "0123456789abcdef";
  return {'0', 'x', digits[c >> 4], digits[c & 15]};
}

// "[::1]:587" / "mail.example.org:587": the authority form of a CONNECT request.
std::string authority(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out = v6 ? "[" + std::string(host) + "]" : std::string(host);
  return out + ":" + std::to_string(port);
}

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

std::string escape(std::string_view bytes, std::size_t max) {
  std::string out;
  const std::size_t n = bytes.size() < max ? bytes.size() : max;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\\')
      out += "\\\\";
    else if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += "\\x" + hex_byte(c).substr(2);
  }
  if (bytes.size() > max) out += "…";
  return out;
}

std::string base64(std::string_view in) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

const char* socks5_reply_text(int rep) noexcept {
  switch (rep) {
    case 0:
      return "succeeded";
    case 1:
      return "general SOCKS server failure";
    case 2:
      return "connection not allowed by ruleset";
    case 3:
      return "network unreachable";
    case 4:
      return "host unreachable";
    case 5:
      return "connection refused";
    case 6:
      return "TTL expired";
    case 7:
      return "command not supported";
    case 8:
      return "address type not supported";
  }
  return "unassigned reply code";
}

// -- SOCKS5 ------------------------------------------------------------------------------------

socks5_client::socks5_client(std::string_view host, std::uint16_t port, std::string_view user,
                             std::string_view password)
    : host_(host), user_(user), password_(password), port_(port) {
  if (host_.empty() || host_.size() > 255) {
    fail(failure_kind::bad_request, -1, "the target name is empty or longer than 255 bytes");
    return;
  }
  if (user_.size() > 255 || password_.size() > 255 || (!user_.empty() && password_.empty())) {
    fail(failure_kind::bad_request, -1, "SOCKS5 user name and password must each be 1 to 255 bytes");
    return;
  }
  // VER 5, the methods: 0x00 no authentication, 0x02 user name/password (RFC 1929).
  out_ = user_.empty() ? std::string("\x05\x01\x00", 3) : std::string("\x05\x02\x00\x02", 4);
}

void socks5_client::fail(failure_kind k, int code, std::string reason) {
  step_ = step::failed;
  failure_ = {k, code, std::move(reason)};
}

std::string socks5_client::take_output() { return std::exchange(out_, {}); }

std::size_t socks5_client::bytes_wanted() const noexcept {
  if (step_ != step::need_more) return 0;
  return need_ > got_.size() ? need_ - got_.size() : 1;
}

void socks5_client::send_connect() {
  std::string req("\x05\x01\x00", 3);  // VER, CMD CONNECT, RSV
  std::array<unsigned char, 16> addr{};
  if (inet_pton(AF_INET, host_.c_str(), addr.data()) == 1) {
    req += '\x01';
    req.append(reinterpret_cast<const char*>(addr.data()), 4);
  } else if (inet_pton(AF_INET6, host_.c_str(), addr.data()) == 1) {
    req += '\x04';
    req.append(reinterpret_cast<const char*>(addr.data()), 16);
  } else {
    // A name: the proxy resolves it (what socks5h:// means elsewhere), so DNS does not leak here.
    req += '\x03';
    req += static_cast<char>(host_.size());
    req += host_;
  }
  req += static_cast<char>(port_ >> 8);
  req += static_cast<char>(port_ & 0xff);
  out_ += req;
  phase_ = phase::reply_head;
  got_.clear();
  need_ = 4;
}

std::size_t socks5_client::feed(std::string_view bytes) {
  std::size_t used = 0;
  while (used < bytes.size() && step_ == step::need_more) {
    answered_ = true;
    got_ += bytes[used++];
    // A failure reply may be cut short after VER and REP: judge those as soon as they are here.
    if (phase_ == phase::reply_head && got_.size() == 2) {
      on_reply_head();
      if (step_ != step::need_more) break;
    }
    if (got_.size() < need_) continue;
    switch (phase_) {
      case phase::method:
        on_method();
        break;
      case phase::auth:
        on_auth();
        break;
      case phase::reply_head:
        on_reply_head();
        break;
      case phase::reply_addr:
        on_reply_addr();
        break;
    }
  }
  return used;
}

void socks5_client::on_method() {
  const auto ver = static_cast<unsigned char>(got_[0]);
  const auto method = static_cast<unsigned char>(got_[1]);
  if (ver != 5) {
    std::string why = "the answer to the SOCKS5 greeting begins with " + hex_byte(ver) + " (\"" +
                      escape(got_) + "\"), not 0x05";
    if (got_[0] == 'H') why += ": this looks like an HTTP server; for an HTTP proxy use http://";
    fail(failure_kind::bad_reply, -1, why);
    return;
  }
  if (method == 0x00) {
    send_connect();
  } else if (method == 0x02 && !user_.empty()) {
    // RFC 1929: VER 1, ULEN, UNAME, PLEN, PASSWD.
    out_ += '\x01';
    out_ += static_cast<char>(user_.size());
    out_ += user_;
    out_ += static_cast<char>(password_.size());
    out_ += password_;
    phase_ = phase::auth;
    got_.clear();
    need_ = 2;
  } else if (method == 0xff) {
    fail(failure_kind::auth_failed, 0xff,
         user_.empty() ? "the proxy requires authentication (it refused \"no authentication\"): give "
                         "user:password in the proxy URL"
                       : "the proxy accepts neither \"no authentication\" nor user name/password");
  } else {
    fail(failure_kind::bad_reply, method,
         "the proxy chose authentication method " + hex_byte(method) + ", which postern did not offer");
  }
}

void socks5_client::on_auth() {
  const auto ver = static_cast<unsigned char>(got_[0]);
  const auto status = static_cast<unsigned char>(got_[1]);
  // RFC 1929 says version 1; some servers answer with 5. Both mean the same here.
  if (ver != 1 && ver != 5) {
    fail(failure_kind::bad_reply, -1,
         "the answer to the user name/password request begins with " + hex_byte(ver) + ", not 0x01");
    return;
  }
  if (status != 0) {
    fail(failure_kind::auth_failed, status,
         "the proxy rejected the user name or password (RFC 1929 status " + hex_byte(status) + ")");
    return;
  }
  send_connect();
}

void socks5_client::on_reply_head() {
  const auto ver = static_cast<unsigned char>(got_[0]);
  const auto rep = static_cast<unsigned char>(got_[1]);
  if (ver != 5) {
    fail(failure_kind::bad_reply, -1,
         "the answer to the CONNECT request begins with " + hex_byte(ver) + " (\"" + escape(got_) +
             "\"), not 0x05");
    return;
  }
  if (rep != 0) {
    fail(failure_kind::refused, rep,
         std::string(socks5_reply_text(rep)) + " (SOCKS5 reply " + std::to_string(rep) + ")");
    return;
  }
  if (got_.size() < 4) return;
  atyp_ = static_cast<unsigned char>(got_[3]);
  if (atyp_ == 1)
    need_ = 4 + 4 + 2;
  else if (atyp_ == 4)
    need_ = 4 + 16 + 2;
  else if (atyp_ == 3)
    need_ = 5;  // the length byte first
  else {
    fail(failure_kind::bad_reply, -1,
         "the CONNECT reply has address type " + hex_byte(atyp_) + " (only 0x01, 0x03 and 0x04 exist)");
    return;
  }
  phase_ = phase::reply_addr;
}

void socks5_client::on_reply_addr() {
  if (atyp_ == 3 && got_.size() == 5) {
    need_ = 5 + static_cast<unsigned char>(got_[4]) + 2;
    if (got_.size() < need_) return;
  }
  const auto port = static_cast<unsigned>(static_cast<unsigned char>(got_[need_ - 2]) << 8 |
                                          static_cast<unsigned char>(got_[need_ - 1]));
  std::array<char, 64> text{};
  if (atyp_ == 1) {
    inet_ntop(AF_INET, got_.data() + 4, text.data(), text.size());
    bound_ = std::string(text.data()) + ":" + std::to_string(port);
  } else if (atyp_ == 4) {
    inet_ntop(AF_INET6, got_.data() + 4, text.data(), text.size());
    bound_ = "[" + std::string(text.data()) + "]:" + std::to_string(port);
  } else {
    bound_ = escape(std::string_view(got_).substr(5, need_ - 7)) + ":" + std::to_string(port);
  }
  step_ = step::done;
}

// -- HTTP CONNECT --------------------------------------------------------------------------------

http_connect_client::http_connect_client(std::string_view host, std::uint16_t port, std::string_view user,
                                         std::string_view password, std::size_t max_head)
    : max_head_(max_head) {
  if (host.empty() || has_control(host) || host.find(' ') != std::string_view::npos) {
    fail(failure_kind::bad_request, -1, "the target name is empty or has spaces or control characters");
    return;
  }
  const std::string target = authority(host, port);
  out_ = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
  if (!user.empty()) {
    if (has_control(user) || has_control(password) || user.find(':') != std::string_view::npos) {
      fail(failure_kind::bad_request, -1, "the proxy user name has a ':' or control characters");
      out_.clear();
      return;
    }
    out_ += "Proxy-Authorization: Basic " + base64(std::string(user) + ":" + std::string(password)) + "\r\n";
  }
  out_ += "\r\n";
}

void http_connect_client::fail(failure_kind k, int code, std::string reason) {
  step_ = step::failed;
  failure_ = {k, code, std::move(reason)};
}

std::string http_connect_client::take_output() { return std::exchange(out_, {}); }

std::size_t http_connect_client::bytes_wanted() const noexcept {
  if (step_ != step::need_more) return 0;
  // The shortest status line is "HTTP/1.1 200\n" (13 bytes).
  if (status_ == 0) return head_.size() < 13 ? 13 - head_.size() : 1;
  // The header ends with an empty line: two more bytes at least, unless a line just ended.
  const std::string_view line = std::string_view(head_).substr(line_start_);
  return line.empty() || line == "\r" ? 1 : 2;
}

bool http_connect_client::on_status_line() {
  std::string_view line = std::string_view(head_).substr(0, head_.size() - 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // HTTP/d.d SP ddd [SP reason]
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (line.size() < 12 || !digit(line[5]) || line[6] != '.' || !digit(line[7]) || line[8] != ' ' ||
      !digit(line[9]) || !digit(line[10]) || !digit(line[11]) || (line.size() > 12 && line[12] != ' ')) {
    fail(failure_kind::bad_reply, -1, "the status line \"" + escape(line) + "\" is not HTTP's");
    return false;
  }
  status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  const std::string text = escape(line.substr(9));
  // 407 is the proxy's own "authentication required"; before the tunnel exists a 401 can only
  // come from the proxy too (tinyproxy answers a wrong BasicAuth with 401).
  if (status_ == 407 || status_ == 401) {
    fail(failure_kind::auth_failed, status_, "the proxy wants other credentials (" + text + ")");
    return false;
  }
  if (status_ < 200 || status_ > 299) {
    fail(failure_kind::refused, status_, text);
    return false;
  }
  return true;
}

std::size_t http_connect_client::feed(std::string_view bytes) {
  static constexpr std::string_view magic = "HTTP/";
  std::size_t used = 0;
  while (used < bytes.size() && step_ == step::need_more) {
    const char c = bytes[used++];
    head_ += c;
    if (head_.size() > max_head_) {
      fail(failure_kind::bad_reply, -1,
           "the reply's status line and headers are longer than " + std::to_string(max_head_) + " bytes");
      break;
    }
    if (status_ == 0 && head_.size() <= magic.size() && head_.back() != magic[head_.size() - 1]) {
      fail(failure_kind::bad_reply, -1, "the answer begins with \"" + escape(head_) + "\", not \"HTTP/\"");
      break;
    }
    if (c != '\n') continue;
    if (status_ == 0) {
      if (!on_status_line()) break;
    } else {
      const std::string_view line =
          std::string_view(head_).substr(line_start_, head_.size() - line_start_ - 1);
      if (line.empty() || line == "\r") {
        step_ = step::done;
        break;
      }
    }
    line_start_ = head_.size();
  }
  return used;
}

}  // namespace postern::net::proxy_codec
