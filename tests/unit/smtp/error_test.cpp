#include "postern/smtp/error.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace postern::smtp {
namespace {

TEST(smtp_error, category_name_and_messages) {
  std::error_code ec = errc::auth_failed;
  EXPECT_STREQ(ec.category().name(), "postern.smtp");
  EXPECT_EQ(ec.message(), "authentication failed");
  for (int i = 1; i <= static_cast<int>(errc::auth_needs_tls); ++i) {
    std::error_code e = static_cast<errc>(i);
    EXPECT_NE(e.message(), "unknown SMTP error") << i;
    EXPECT_FALSE(std::string_view(cause(static_cast<errc>(i))).empty()) << i;
  }
}

TEST(smtp_error, cause_codes_match_design) {
  EXPECT_STREQ(cause(errc::ok), "");
  EXPECT_STREQ(cause(errc::reply_line_too_long), "smtp.reply-too-long");
  EXPECT_STREQ(cause(errc::reply_too_many_lines), "smtp.reply-too-long");
  EXPECT_STREQ(cause(errc::bad_reply), "smtp.bad-reply");
  EXPECT_STREQ(cause(errc::inconsistent_reply_code), "smtp.bad-reply");
  EXPECT_STREQ(cause(errc::bytes_after_starttls), "smtp.bad-reply");
  EXPECT_STREQ(cause(errc::starttls_missing), "smtp.starttls-missing");
  EXPECT_STREQ(cause(errc::starttls_required), "smtp.starttls-required");
  EXPECT_STREQ(cause(errc::auth_failed), "smtp.auth-failed");
  EXPECT_STREQ(cause(errc::auth_mech_unsupported), "smtp.auth-mech-unsupported");
  EXPECT_STREQ(cause(errc::auth_needs_tls), "smtp.auth-needs-tls");
  EXPECT_STREQ(cause(errc::message_too_big), "smtp.rejected");
  EXPECT_STREQ(cause(errc::rejected), "smtp.rejected");
  EXPECT_STREQ(cause(errc::no_recipient_accepted), "smtp.rejected");
  EXPECT_STREQ(cause(errc::transient), "smtp.transient");
  EXPECT_STREQ(cause(errc::connection_lost), "net.closed");
  EXPECT_STREQ(cause(errc::outcome_unknown), "smtp.outcome-unknown");
}

}  // namespace
}  // namespace postern::smtp
