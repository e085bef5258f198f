#include "postern/queue/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace postern::queue {
namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

std::string refused_list(const std::vector<send::recipient_report>& rs) {
  std::string out;
  for (const auto& r : rs)
    if (!r.accepted)
      out += (out.empty() ? "" : ", ") + r.address + (r.reply.empty() ? "" : " (" + r.reply + ")");
  return out;
}

}  // namespace

std::chrono::seconds backoff_delay(const retry_policy& p, unsigned attempts, double u) noexcept {
  const double first = static_cast<double>(std::max<std::int64_t>(p.first.count(), 0));
  const double cap = static_cast<double>(std::max<std::int64_t>(p.max_delay.count(), 0));
  const double factor = std::max(1.0, p.factor);
  // factor^(attempts-1) overflows to inf long before attempts does; the cap bounds it.
  const double exponent = attempts == 0 ? 0.0 : static_cast<double>(attempts - 1);
  double d = std::min(cap, first * std::pow(factor, std::min(exponent, 1000.0)));
  const double j = std::clamp(p.jitter, 0.0, 1.0);
  d *= 1.0 - j + 2.0 * j * std::clamp(u, 0.0, 1.0);
  d = std::min(d, cap);
  return std::chrono::seconds(static_cast<std::int64_t>(std::llround(std::max(d, 0.0))));
}

const char* to_string(verdict v) noexcept {
  switch (v) {
    case verdict::delivered:
      return "delivered";
    case verdict::retry:
      return "retry";
    case verdict::failed:
      return "failed";
    case verdict::unknown:
      return "unknown";
    case verdict::partial:
      return "partial";
  }
  return "failed";
}

verdict classify_cause(const std::string& cause) noexcept {
  if (cause.empty()) return verdict::delivered;
  if (cause == "smtp.outcome-unknown") return verdict::unknown;
  // Temporary by nature: the server said "later", or it could not be reached (yet).
  if (cause == "smtp.transient" || starts_with(cause, "net.")) return verdict::retry;
  return verdict::failed;
}

verdict classify(const send::message_report& m) noexcept {
  const bool all_accepted =
      std::all_of(m.recipients.begin(), m.recipients.end(), [](const auto& r) { return r.accepted; });
  if (m.delivered && !m.error && all_accepted) return verdict::delivered;
  if (m.delivered) return verdict::partial;
  return m.error ? classify_cause(m.error->code) : verdict::failed;
}

verdict classify(const client::bulk_outcome& o) noexcept {
  if (o.ok) return verdict::delivered;
  if (o.unknown) return verdict::unknown;
  // The dot was accepted (2xx) while some recipient was refused: delivered to the others.
  const bool some_accepted =
      std::any_of(o.recipients.begin(), o.recipients.end(), [](const auto& r) { return r.accepted; });
  if (o.code >= 200 && o.code < 300 && some_accepted) return verdict::partial;
  verdict v = classify_cause(o.cause);
  if (v == verdict::delivered) v = verdict::failed;  // not ok without a cause: never "delivered"
  return v;
}

verdict classify(const client::report& r) noexcept {
  if (r.ok()) return verdict::delivered;
  if (!r.delivery.messages.empty()) {
    const verdict v = classify(r.delivery.messages.front());
    if (v != verdict::failed || !r.delivery.error) return v;
  }
  const verdict v = classify_cause(r.cause());
  return v == verdict::delivered ? verdict::failed : v;
}

attempt_facts facts_of(const client::bulk_outcome& o) { return {o.cause, o.reply, o.summary, o.recipients}; }

attempt_facts facts_of(const client::report& r) {
  attempt_facts f;
  if (r.delivery.error) {
    f.cause = r.delivery.error->code;
    f.summary = r.delivery.error->summary;
    f.reply = r.delivery.error->detail;
  }
  if (!r.delivery.messages.empty()) {
    const auto& m = r.delivery.messages.front();
    if (!m.reply.empty()) f.reply = m.reply;
    f.recipients = m.recipients;
    if (m.error) {
      f.cause = m.error->code;
      f.summary = m.error->summary;
    }
  }
  return f;
}

outcome decide(verdict v, const attempt_facts& f, const retry_policy& p, clock::time_point created,
               unsigned attempts, clock::time_point now, double u) {
  outcome o;
  o.cause = f.cause;
  o.reply = f.reply;
  o.summary = f.summary;
  switch (v) {
    case verdict::delivered:
      o.next = status::delivered;
      o.cause.clear();
      if (o.summary.empty()) o.summary = "delivered";
      return o;
    case verdict::unknown:
      o.next = status::unknown;
      if (o.cause.empty()) o.cause = "smtp.outcome-unknown";
      return o;
    case verdict::failed:
      o.next = status::failed;
      if (o.cause.empty()) o.cause = "smtp.rejected";
      return o;
    case verdict::partial:
      o.next = status::failed;
      o.cause = "queue.partial";
      o.summary = "delivered to some recipients; refused: " + refused_list(f.recipients);
      return o;
    case verdict::retry:
      break;
  }
  const auto deadline = created + p.give_up;
  if (now >= deadline) {
    o.next = status::failed;
    o.cause = "queue.given-up";
    o.summary = "given up after " + std::to_string(attempts) + " attempt" + (attempts == 1 ? "" : "s") +
                "; the last: " + (f.cause.empty() ? std::string() : "[" + f.cause + "] ") + f.summary;
    return o;
  }
  o.next = status::queued;
  o.retry_at = std::min(now + backoff_delay(p, attempts, u), deadline);
  return o;
}

}  // namespace postern::queue
