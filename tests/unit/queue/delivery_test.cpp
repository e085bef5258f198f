#include "postern/queue/delivery.hpp"

#include <gtest/gtest.h>

namespace postern::queue {
namespace {

client::request full_request() {
  client::request q;
  q.host = "smtp.example.org";
  q.port = 465;
  q.route.automatic = false;
  q.route.mode = net::mode::implicit_tls;
  q.route.profile = "compat";
  q.route.ports = {465, 587};
  q.tls.ca_file = "/etc/ca.pem";
  q.tls.tls_name = "mail.example.org";
  q.tls.client_cert = "/c.pem";
  q.tls.client_key = "/k.pem";
  q.auth = client::auth_options{};
  q.auth->user = "alice";
  q.auth->mechanism = "PLAIN";
  q.auth->secret = "s3cret-never-stored";
  q.ehlo_domain = "me.example.org";
  q.timeout = std::chrono::milliseconds(2500);
  q.memory.path = "/tmp/hosts.sqlite";
  q.memory.accept_downgrade = true;
  net::proxy px;
  px.type = net::proxy::kind::http;
  px.host = "127.0.0.1";
  px.port = 3128;
  px.user = "bob";
  px.password = "proxy-secret";
  q.proxy = px;
  q.chunking = false;
  return q;
}

TEST(DeliveryJson, RoundTripsEverythingButSecrets) {
  const auto q = full_request();
  secret_source s;
  s.command = "pass show smtp";
  const std::string j = to_delivery_json(q, s);
  EXPECT_EQ(j.find("s3cret-never-stored"), std::string::npos) << j;
  EXPECT_EQ(j.find("proxy-secret"), std::string::npos) << j;
  auto d = request_from_delivery_json(j);
  ASSERT_TRUE(d.value) << d.error;
  const auto& r = d.value->request;
  EXPECT_EQ(r.host, q.host);
  EXPECT_EQ(r.port, 465);
  EXPECT_FALSE(r.route.automatic);
  EXPECT_EQ(r.route.mode, net::mode::implicit_tls);
  EXPECT_EQ(r.route.profile, "compat");
  EXPECT_EQ(r.route.ports, (std::vector<std::uint16_t>{465, 587}));
  EXPECT_EQ(r.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(r.tls.tls_name, "mail.example.org");
  EXPECT_EQ(r.tls.client_cert, "/c.pem");
  EXPECT_EQ(r.tls.client_key, "/k.pem");
  ASSERT_TRUE(r.auth);
  EXPECT_EQ(r.auth->user, "alice");
  EXPECT_EQ(r.auth->mechanism, "PLAIN");
  EXPECT_EQ(r.auth->secret, "");
  EXPECT_EQ(d.value->secret.command, "pass show smtp");
  EXPECT_EQ(r.ehlo_domain, "me.example.org");
  ASSERT_TRUE(r.timeout);
  EXPECT_EQ(r.timeout->count(), 2500);
  EXPECT_EQ(r.memory.path, "/tmp/hosts.sqlite");
  EXPECT_TRUE(r.memory.accept_downgrade);
  ASSERT_TRUE(r.proxy);
  EXPECT_EQ(r.proxy->type, net::proxy::kind::http);
  EXPECT_EQ(r.proxy->port, 3128);
  EXPECT_EQ(r.proxy->user, "bob");
  EXPECT_EQ(r.proxy->password, "");
  EXPECT_FALSE(r.chunking);
  // The same request writes the same JSON: the worker groups messages by it.
  EXPECT_EQ(to_delivery_json(r, d.value->secret), j);
}

TEST(DeliveryJson, AutomaticDefaults) {
  client::request q;
  q.host = "127.0.0.1";
  q.route.allow = {"compat"};
  auto d = request_from_delivery_json(to_delivery_json(q));
  ASSERT_TRUE(d.value) << d.error;
  EXPECT_TRUE(d.value->request.route.automatic);
  EXPECT_EQ(d.value->request.route.allow, (std::vector<std::string>{"compat"}));
  EXPECT_FALSE(d.value->request.auth);
  EXPECT_FALSE(d.value->request.timeout);
  EXPECT_FALSE(d.value->request.proxy);
  EXPECT_TRUE(d.value->secret.empty());
}

TEST(DeliveryJson, RejectsBadInputWithTheField) {
  auto bad = [](const std::string& j) { return request_from_delivery_json(j); };
  EXPECT_EQ(bad("not json").error, "not JSON");
  EXPECT_EQ(bad("[1]").error, "the delivery is not a JSON object");
  EXPECT_EQ(bad("{}").error, "host: missing");
  EXPECT_EQ(bad(R"({"host":"h","port":70000})").error, "port: not a whole number from 0 to 65535");
  EXPECT_EQ(bad(R"({"host":"h","port":-1})").error, "port: not a whole number from 0 to 65535");
  EXPECT_EQ(bad(R"({"host":"h","route":{"mode":"ssl"}})").error,
            "route.mode: 'ssl' is not tls, starttls or plain");
  EXPECT_EQ(bad(R"({"host":"h","route":{"ports":[0]}})").error, "route.ports: not a list of ports");
  EXPECT_EQ(bad(R"({"host":"h","tls":{"insecure":"yes"}})").error, "tls.insecure: not true or false");
  EXPECT_EQ(bad(R"({"host":"h","version":2})").error, "version 2 is newer than this postern reads (1)");
  EXPECT_EQ(bad(R"({"host":"h","auth":{"secret":{"file":"a","command":"b"}}})").error,
            "auth.secret: more than one of file, command, environment");
  EXPECT_EQ(bad(R"({"host":"h","proxy":{"host":"p"}})").error, "proxy.port: missing");
  // Unknown fields are ignored: a newer writer may add some.
  EXPECT_TRUE(bad(R"({"host":"h","future":{"x":1}})").value);
}

}  // namespace
}  // namespace postern::queue
