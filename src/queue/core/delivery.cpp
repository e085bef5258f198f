#include "postern/queue/delivery.hpp"

#include <nlohmann/json.hpp>

namespace postern::queue {
namespace {

using json = nlohmann::json;

const char* mode_name(net::mode m) {
  switch (m) {
    case net::mode::implicit_tls:
      return "tls";
    case net::mode::starttls:
      return "starttls";
    case net::mode::plain:
      return "plain";
  }
  return "starttls";
}

struct bad_field {
  std::string what;
};

// Field readers: a missing field keeps the default; a field of the wrong type is an error.
const json* field(const json& o, const char* name) {
  auto it = o.find(name);
  return it == o.end() || it->is_null() ? nullptr : &*it;
}

void read(const json& o, const char* name, std::string& out, const std::string& where) {
  if (const json* v = field(o, name)) {
    if (!v->is_string()) throw bad_field{where + name + ": not a string"};
    out = v->get<std::string>();
  }
}

void read(const json& o, const char* name, bool& out, const std::string& where) {
  if (const json* v = field(o, name)) {
    if (!v->is_boolean()) throw bad_field{where + name + ": not true or false"};
    out = v->get<bool>();
  }
}

std::optional<std::uint64_t> read_uint(const json& o, const char* name, std::uint64_t max,
                                       const std::string& where) {
  const json* v = field(o, name);
  if (!v) return std::nullopt;
  if (!v->is_number_unsigned() || v->get<std::uint64_t>() > max)
    throw bad_field{where + name + ": not a whole number from 0 to " + std::to_string(max)};
  return v->get<std::uint64_t>();
}

const json* object(const json& o, const char* name, const std::string& where) {
  const json* v = field(o, name);
  if (v && !v->is_object()) throw bad_field{where + name + ": not an object"};
  return v;
}

delivery parse(const json& j) {
  if (!j.is_object()) throw bad_field{"the delivery is not a JSON object"};
  if (auto v = read_uint(j, "version", 1000, ""); v && *v != 1)
    throw bad_field{"version " + std::to_string(*v) + " is newer than this postern reads (1)"};
  delivery d;
  client::request& q = d.request;
  read(j, "host", q.host, "");
  if (q.host.empty()) throw bad_field{"host: missing"};
  if (auto v = read_uint(j, "port", 65535, "")) q.port = static_cast<std::uint16_t>(*v);
  if (const json* r = object(j, "route", "")) {
    read(*r, "automatic", q.route.automatic, "route.");
    std::string mode = mode_name(q.route.mode);
    read(*r, "mode", mode, "route.");
    if (mode == "tls")
      q.route.mode = net::mode::implicit_tls;
    else if (mode == "starttls")
      q.route.mode = net::mode::starttls;
    else if (mode == "plain")
      q.route.mode = net::mode::plain;
    else
      throw bad_field{"route.mode: '" + mode + "' is not tls, starttls or plain"};
    read(*r, "profile", q.route.profile, "route.");
    if (const json* a = field(*r, "allow")) {
      if (!a->is_array()) throw bad_field{"route.allow: not a list"};
      for (const auto& x : *a) {
        if (!x.is_string()) throw bad_field{"route.allow: not a list of names"};
        q.route.allow.push_back(x.get<std::string>());
      }
    }
    if (const json* p = field(*r, "ports")) {
      if (!p->is_array()) throw bad_field{"route.ports: not a list"};
      for (const auto& x : *p) {
        if (!x.is_number_unsigned() || x.get<std::uint64_t>() == 0 || x.get<std::uint64_t>() > 65535)
          throw bad_field{"route.ports: not a list of ports"};
        q.route.ports.push_back(static_cast<std::uint16_t>(x.get<std::uint64_t>()));
      }
    }
  }
  if (const json* t = object(j, "tls", "")) {
    read(*t, "ca_file", q.tls.ca_file, "tls.");
    read(*t, "tls_name", q.tls.tls_name, "tls.");
    read(*t, "insecure", q.tls.insecure, "tls.");
    read(*t, "client_cert", q.tls.client_cert, "tls.");
    read(*t, "client_key", q.tls.client_key, "tls.");
  }
  if (const json* a = object(j, "auth", "")) {
    client::auth_options auth;
    read(*a, "user", auth.user, "auth.");
    std::string mech;
    read(*a, "mechanism", mech, "auth.");
    if (!mech.empty()) auth.mechanism = mech;
    read(*a, "allow_plaintext", auth.allow_plaintext, "auth.");
    if (const json* s = object(*a, "secret", "auth.")) {
      read(*s, "file", d.secret.file, "auth.secret.");
      read(*s, "command", d.secret.command, "auth.secret.");
      read(*s, "environment", d.secret.environment, "auth.secret.");
      if (!d.secret.file.empty() + !d.secret.command.empty() + !d.secret.environment.empty() > 1)
        throw bad_field{"auth.secret: more than one of file, command, environment"};
    }
    q.auth = std::move(auth);
  }
  read(j, "ehlo", q.ehlo_domain, "");
  if (auto v = read_uint(j, "timeout_ms", 24ull * 3600 * 1000, ""))
    q.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(*v));
  if (const json* m = object(j, "memory", "")) {
    read(*m, "enabled", q.memory.enabled, "memory.");
    read(*m, "path", q.memory.path, "memory.");
    read(*m, "accept_downgrade", q.memory.accept_downgrade, "memory.");
  }
  if (const json* p = object(j, "proxy", "")) {
    net::proxy px;
    std::string type = "socks5";
    read(*p, "type", type, "proxy.");
    if (type == "socks5")
      px.type = net::proxy::kind::socks5;
    else if (type == "http")
      px.type = net::proxy::kind::http;
    else
      throw bad_field{"proxy.type: '" + type + "' is not socks5 or http"};
    read(*p, "host", px.host, "proxy.");
    if (px.host.empty()) throw bad_field{"proxy.host: missing"};
    auto port = read_uint(*p, "port", 65535, "proxy.");
    if (!port || *port == 0) throw bad_field{"proxy.port: missing"};
    px.port = static_cast<std::uint16_t>(*port);
    read(*p, "user", px.user, "proxy.");
    q.proxy = std::move(px);
  }
  read(j, "chunking", q.chunking, "");
  return d;
}

}  // namespace

std::string to_delivery_json(const client::request& q, const secret_source& secret) {
  json j;
  j["version"] = 1;
  j["host"] = q.host;
  if (q.port) j["port"] = q.port;
  j["route"] = {{"automatic", q.route.automatic},
                {"mode", mode_name(q.route.mode)},
                {"profile", q.route.profile},
                {"allow", q.route.allow},
                {"ports", q.route.ports}};
  j["tls"] = {{"ca_file", q.tls.ca_file},
              {"tls_name", q.tls.tls_name},
              {"insecure", q.tls.insecure},
              {"client_cert", q.tls.client_cert},
              {"client_key", q.tls.client_key}};
  if (q.auth) {
    json a = {{"user", q.auth->user}, {"allow_plaintext", q.auth->allow_plaintext}};
    if (q.auth->mechanism) a["mechanism"] = *q.auth->mechanism;
    if (!secret.file.empty())
      a["secret"] = {{"file", secret.file}};
    else if (!secret.command.empty())
      a["secret"] = {{"command", secret.command}};
    else if (!secret.environment.empty())
      a["secret"] = {{"environment", secret.environment}};
    j["auth"] = std::move(a);
  }
  if (!q.ehlo_domain.empty()) j["ehlo"] = q.ehlo_domain;
  if (q.timeout) j["timeout_ms"] = static_cast<std::uint64_t>(std::max<std::int64_t>(q.timeout->count(), 0));
  j["memory"] = {{"enabled", q.memory.enabled},
                 {"path", q.memory.path},
                 {"accept_downgrade", q.memory.accept_downgrade}};
  if (q.proxy)
    j["proxy"] = {{"type", q.proxy->type == net::proxy::kind::http ? "http" : "socks5"},
                  {"host", q.proxy->host},
                  {"port", q.proxy->port},
                  {"user", q.proxy->user}};
  j["chunking"] = q.chunking;
  // A path that is not UTF-8 must not throw here: it is replaced (and then fails visibly at delivery).
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

delivery_parse request_from_delivery_json(std::string_view text) {
  delivery_parse out;
  // No exceptions from the JSON parser: depth and size are bounded by the input (the store's).
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) {
    out.error = "not JSON";
    return out;
  }
  try {
    out.value = parse(j);
  } catch (const bad_field& e) {
    out.error = e.what;
  } catch (const json::exception& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace postern::queue
