#include "server/duration.h"

#include <gtest/gtest.h>

namespace quorum::server {
namespace {

using std::chrono::nanoseconds;

int64_t Ns(const char* s) { return ParseGoDuration(s).value().count(); }
std::string Err(const char* s) { return std::string(ParseGoDuration(s).status().message()); }

TEST(GoDurationTest, ParsesUnitsAndCombinations) {
  EXPECT_EQ(Ns("0"), 0);
  EXPECT_EQ(Ns("-0"), 0);
  EXPECT_EQ(Ns("500ms"), 500'000'000);
  EXPECT_EQ(Ns("5s"), 5'000'000'000);
  EXPECT_EQ(Ns("1h30m"), 5400'000'000'000);
  EXPECT_EQ(Ns("1.5s"), 1'500'000'000);
  EXPECT_EQ(Ns(".5s"), 500'000'000);
  EXPECT_EQ(Ns("1.s"), 1'000'000'000);
  EXPECT_EQ(Ns("-5s"), -5'000'000'000);
  EXPECT_EQ(Ns("+2m"), 120'000'000'000);
  EXPECT_EQ(Ns("3us"), 3000);
  EXPECT_EQ(Ns("3\xc2\xb5s"), 3000);
  EXPECT_EQ(Ns("3\xce\xbcs"), 3000);
  EXPECT_EQ(Ns("7ns"), 7);
  EXPECT_EQ(Ns("1h1m1s1ms1us1ns"), 3661'001'001'001);
}

TEST(GoDurationTest, GoErrorTexts) {
  EXPECT_EQ(Err(".s"), "time: invalid duration \".s\"");
  EXPECT_EQ(Err("."), "time: invalid duration \".\"");
  EXPECT_EQ(Err(""), "time: invalid duration \"\"");
  EXPECT_EQ(Err("x"), "time: invalid duration \"x\"");
  EXPECT_EQ(Err("5"), "time: missing unit in duration \"5\"");
  EXPECT_EQ(Err("1.5"), "time: missing unit in duration \"1.5\"");
  EXPECT_EQ(Err("1d"), "time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_EQ(Err("1s2"), "time: missing unit in duration \"1s2\"");
  EXPECT_EQ(Err("99999999999999999999s"), "time: invalid duration \"99999999999999999999s\"");
  EXPECT_EQ(Err("3000000h"), "time: invalid duration \"3000000h\"");
}

TEST(GoDurationTest, FormatsAsGo) {
  EXPECT_EQ(FormatGoDuration(nanoseconds(0)), "0s");
  EXPECT_EQ(FormatGoDuration(std::chrono::hours(1)), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(std::chrono::minutes(5)), "5m0s");
  EXPECT_EQ(FormatGoDuration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(std::chrono::milliseconds(100)), "100ms");
  EXPECT_EQ(FormatGoDuration(nanoseconds(1500)), "1.5\xc2\xb5s");
  EXPECT_EQ(FormatGoDuration(-std::chrono::minutes(5)), "-5m0s");
}

}  // namespace
}  // namespace quorum::server
