// mediaxctl's human output: column alignment, empty cells, UTF-8 widths, relative times.
#include <gtest/gtest.h>

#include "table.hpp"

namespace mediax::ctl {
namespace {

TEST(CtlTable, AlignsColumnsToTheWidestCellWithoutTrailingSpaces) {
  std::string t = render_table({"ID", "ACCOUNT", "STATUS"}, {{"1", "alice", "active"}, {"12", "bo", "needs_reauth"}});
  EXPECT_EQ(t,
            "ID  ACCOUNT  STATUS\n"
            "1   alice    active\n"
            "12  bo       needs_reauth\n");
}

TEST(CtlTable, EmptyAndMissingCellsShowADash) {
  std::string t = render_table({"A", "B", "C"}, {{"x", ""}});
  EXPECT_EQ(t,
            "A  B  C\n"
            "x  -  -\n");
}

TEST(CtlTable, NoRowsSaysNone) { EXPECT_EQ(render_table({"NAME", "PLATFORM"}, {}), "NAME  PLATFORM\n(none)\n"); }

TEST(CtlTable, CountsUtf8CharactersNotBytes) {
  std::string t = render_table({"N", "X"}, {{"\xc3\xa9t\xc3\xa9", "1"}, {"abcd", "2"}});
  EXPECT_EQ(t,
            "N     X\n"
            "\xc3\xa9t\xc3\xa9   1\n"
            "abcd  2\n");
}

TEST(CtlTable, FieldsAreAlignedAfterTheirNames) {
  EXPECT_EQ(render_fields({{"id", "7"}, {"last error", ""}}),
            "id:          7\n"
            "last error:  -\n");
}

TEST(CtlTable, RelativeTimesInTheFutureAndThePast) {
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));  // 2027-01-15T08:00:00Z
  EXPECT_EQ(relative_time("2027-01-15T08:04:05Z", now), "in 4m05s");
  EXPECT_EQ(relative_time("2027-01-15T07:59:48Z", now), "12s ago");
  EXPECT_EQ(relative_time("2027-01-17T11:00:00Z", now), "in 2d03h");
  EXPECT_EQ(relative_time("2027-01-15T10:30:00Z", now), "in 2h30m");
  EXPECT_EQ(relative_time("not a time", now), "");
  EXPECT_EQ(relative_time("2027-01-15T08:04:05+01:00", now), "");
}

}  // namespace
}  // namespace mediax::ctl
