// The report as JSON: the object `postern send --json` prints (docs/send-json.md).
#include "postern/diagnose/json.hpp"

#include <nlohmann/json.hpp>

#include "postern/client/submit.hpp"

namespace postern::client {
namespace {

using json = nlohmann::json;

json failure_json(const std::optional<send::failure>& f) {
  return f ? json{{"code", f->code}, {"summary", f->summary}, {"detail", f->detail}} : json(nullptr);
}

}  // namespace

std::string to_json(const report& rep, int indent) {
  const send::report& r = rep.delivery;
  json j;
  j["ok"] = r.ok;
  j["server"] = r.host;
  j["port"] = r.port;
  j["address"] = r.address;
  j["mode"] = send::to_string(r.mode);
  if (r.tls) {
    j["tls"] = {{"profile", r.tls->profile},
                {"version", r.tls->version},
                {"cipher", r.tls->cipher},
                {"kx", r.tls->kx},
                {"group", r.tls->group},
                {"peer_subject", r.tls->peer_subject},
                {"peer_issuer", r.tls->peer_issuer},
                {"peer_not_after", r.tls->peer_not_after},
                {"peer_key_sha256", r.tls->peer_key_sha256},
                {"resumed", r.tls->resumed}};
  } else {
    j["tls"] = nullptr;
  }
  j["auth_mechanism"] = r.auth_mechanism ? json(*r.auth_mechanism) : json(nullptr);
  j["messages"] = json::array();
  for (const auto& m : r.messages) {
    json jm{{"size", m.size}, {"delivered", m.delivered}, {"reply", m.reply}};
    jm["recipients"] = json::array();
    for (const auto& rr : m.recipients)
      jm["recipients"].push_back({{"address", rr.address}, {"accepted", rr.accepted}, {"reply", rr.reply}});
    jm["error"] = failure_json(m.error);
    jm["transfer"] = m.chunking ? "BDAT" : "DATA";
    jm["smtputf8"] = m.smtputf8;
    jm["dsn"] = m.dsn;
    j["messages"].push_back(jm);
  }
  j["error"] = failure_json(r.error);
  j["exit_code"] = rep.exit_code();
  j["findings"] = diagnose::findings_json(rep.findings);
  json tried = json::array();
  for (const auto& t : rep.route.tried)
    tried.push_back({{"port", t.port},
                     {"mode", t.mode},
                     {"profile", t.profile},
                     {"result", t.ok ? "ok" : "failed"},
                     {"code", t.code}});
  j["route"] = {{"automatic", rep.route.automatic},
                {"from_memory", rep.route.from_memory},
                {"port", r.port},
                {"mode", net::to_string(r.mode)},
                {"profile", rep.route.profile},
                {"reason", rep.route.reason},
                {"tried", tried}};
  return j.dump(indent);
}

}  // namespace postern::client
