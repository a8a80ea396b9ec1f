#include "util/text.hpp"

#include <gtest/gtest.h>

namespace tito {
namespace {

TEST(Text, JoinPutsTheSeparatorBetweenItems) {
  EXPECT_EQ(join({}), "");
  EXPECT_EQ(join({"a"}), "a");
  EXPECT_EQ(join({"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(join({"a", "b"}, " | "), "a | b");
}

TEST(Text, EditDistanceCountsSingleCharacterEdits) {
  EXPECT_EQ(edit_distance("", ""), 0);
  EXPECT_EQ(edit_distance("fetch", "fetch"), 0);
  EXPECT_EQ(edit_distance("fecth", "fetch"), 1);  // a swap is one edit
  EXPECT_EQ(edit_distance("tset", "test"), 1);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);
  EXPECT_EQ(edit_distance("sync", "synk"), 1);
  EXPECT_EQ(edit_distance("", "abc"), 3);
}

TEST(Text, NearestIsTheClosestCandidateWithinTheLimit) {
  std::vector<std::string> verbs = {"sync", "test", "status", "release"};
  EXPECT_EQ(nearest("tset", verbs), "test");
  EXPECT_EQ(nearest("statsu", verbs), "status");
  EXPECT_EQ(nearest("frobnicate", verbs), "");
  EXPECT_EQ(nearest("sync", verbs), "sync");
  EXPECT_EQ(nearest("7", {"a", "b"}), "");  // one letter is no typo of another
  EXPECT_EQ(nearest("ab", {"ac"}), "ac");
  EXPECT_EQ(nearest(std::string(100000, 'a'), verbs), "");  // a long word is cheap and matches nothing
}

TEST(Text, PrintableEscapesControlBytesAndCutsLongText) {
  EXPECT_EQ(printable("plain text, tabs\tkept"), "plain text, tabs\tkept");
  EXPECT_EQ(printable("\033[31mred\033[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(printable(std::string("nul\0cr\r", 7)), "nul\\x00cr\\x0d");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(printable("abcdef", 3), "abc…");
  EXPECT_EQ(printable("héllo", 2), "hé…");  // counts characters, never cuts one in half
  EXPECT_EQ(printable(std::string(1 << 20, 'x')).size(), 200u + std::string("…").size());
}

TEST(Text, LineAtCountsNewlinesBeforeTheOffset) {
  EXPECT_EQ(line_at("a\nb\nc", 0), 1);
  EXPECT_EQ(line_at("a\nb\nc", 2), 2);
  EXPECT_EQ(line_at("a\nb\nc", 4), 3);
  EXPECT_EQ(line_at("a\nb\nc", 99), 3);
}

}  // namespace
}  // namespace tito
