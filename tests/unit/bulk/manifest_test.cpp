#include "postern/bulk/manifest.hpp"

#include <gtest/gtest.h>

namespace postern::bulk {
namespace {

TEST(Manifest, FileEntry) {
  auto e = parse_manifest_line(
      R"({"id":"m1","from":"a@example.org","to":["b@example.net","c@example.net"],"file":"x.eml"})");
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.id, "m1");
  EXPECT_EQ(e.from, "a@example.org");
  EXPECT_EQ(e.to, (std::vector<std::string>{"b@example.net", "c@example.net"}));
  EXPECT_EQ(e.file, "x.eml");
  EXPECT_FALSE(e.data);
}

TEST(Manifest, DataEntryWithOneRecipientAsString) {
  auto e =
      parse_manifest_line(R"({"id":"m2","to":"b@example.net","data":"Subject: x\r\n\r\nhi\r\n","extra":1})");
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.from, "");
  EXPECT_EQ(e.to, std::vector<std::string>{"b@example.net"});
  EXPECT_EQ(e.data, "Subject: x\r\n\r\nhi\r\n");
}

TEST(Manifest, ErrorsNameTheProblem) {
  EXPECT_EQ(parse_manifest_line("{oops").error, "not JSON");
  EXPECT_EQ(parse_manifest_line("[1,2]").error, "not a JSON object");
  EXPECT_NE(parse_manifest_line(R"({"to":"a@b","file":"x"})").error.find("\"id\""), std::string::npos);
  EXPECT_NE(parse_manifest_line(R"({"id":"","to":"a@b","file":"x"})").error.find("\"id\""),
            std::string::npos);
  EXPECT_NE(parse_manifest_line(R"({"id":"m","file":"x"})").error.find("\"to\""), std::string::npos);
  EXPECT_NE(parse_manifest_line(R"({"id":"m","to":[],"file":"x"})").error.find("\"to\""), std::string::npos);
  EXPECT_NE(parse_manifest_line(R"({"id":"m","to":["a@b",3],"file":"x"})").error.find("\"to\""),
            std::string::npos);
  EXPECT_NE(parse_manifest_line(R"({"id":"m","to":"a@b","from":7,"file":"x"})").error.find("\"from\""),
            std::string::npos);
  EXPECT_NE(parse_manifest_line(R"({"id":"m","to":"a@b"})").error.find("exactly one"), std::string::npos);
  EXPECT_NE(parse_manifest_line(R"({"id":"m","to":"a@b","file":"x","data":"y"})").error.find("exactly one"),
            std::string::npos);
  EXPECT_NE(parse_manifest_line(R"({"id":"m","to":"a@b","file":""})").error.find("\"file\""),
            std::string::npos);
  // The id is kept when it could be read, so the failure can be reported under it.
  EXPECT_EQ(parse_manifest_line(R"({"id":"m9","to":[]})").id, "m9");
}

TEST(Results, ReadsWhatResumeNeeds) {
  auto ok = parse_result_line(R"({"id":"a","ok":true,"code":250})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->id, "a");
  EXPECT_TRUE(ok->ok);
  EXPECT_FALSE(ok->unknown);
  auto unknown = parse_result_line(R"({"id":"b","ok":false,"cause":"smtp.outcome-unknown"})");
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->unknown);
  auto failed = parse_result_line(R"({"id":"c","ok":false,"cause":"smtp.rejected"})");
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->ok || failed->unknown);
  EXPECT_FALSE(parse_result_line(R"({"id":"d","ok":tr)"));  // torn by a kill
  EXPECT_FALSE(parse_result_line(R"({"id":"d"})"));
  EXPECT_FALSE(parse_result_line(R"({"id":5,"ok":true})"));
}

TEST(Journal, RoundTripsIds) {
  for (std::string id : {"m1", "with \"quotes\" and \\", "ümlaut", "tab\there"}) {
    auto back = parse_journal_line(journal_line(id));
    ASSERT_TRUE(back) << id;
    EXPECT_EQ(*back, id);
  }
  EXPECT_EQ(journal_line("m1"), "\"m1\"");
  EXPECT_FALSE(parse_journal_line("\"torn"));
  EXPECT_FALSE(parse_journal_line("{}"));
  // Bytes that are not UTF-8 never throw.
  EXPECT_TRUE(parse_journal_line(journal_line(std::string("\xff\xfe", 2))));
}

}  // namespace
}  // namespace postern::bulk
