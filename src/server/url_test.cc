#include "server/url.h"

#include <gtest/gtest.h>

namespace quorum::server {
namespace {

std::string Err(const std::string& s) {
  auto u = ParseUrl(s);
  return u.ok() ? "ok" : std::string(u.status().message());
}

// Texts as Debian's etcd 3.4.23 prints them after "for flag -x: ".
TEST(UrlTest, EtcdErrorTexts) {
  EXPECT_EQ(Err("127.0.0.1:47380"),
            "parse \"127.0.0.1:47380\": first path segment in URL cannot contain colon");
  EXPECT_EQ(Err("ftp://127.0.0.1:47380"),
            "URL scheme must be http, https, unix, or unixs: ftp://127.0.0.1:47380");
  EXPECT_EQ(Err("localhost:2380"),
            "URL scheme must be http, https, unix, or unixs: localhost:2380");
  EXPECT_EQ(Err(""), "URL scheme must be http, https, unix, or unixs: ");
  EXPECT_EQ(Err("http://127.0.0.1:47380/foo"),
            "URL must not contain a path: http://127.0.0.1:47380/foo");
  EXPECT_EQ(Err("http://127.0.0.1:47379/"), "URL must not contain a path: http://127.0.0.1:47379/");
  EXPECT_EQ(Err("http://127.0.0.1"),
            "URL address does not have the form \"host:port\": http://127.0.0.1");
  EXPECT_EQ(Err("http://127.0.0.1:abc"),
            "parse \"http://127.0.0.1:abc\": invalid port \":abc\" after host");
  EXPECT_EQ(Err("http://a b:47379"),
            "parse \"http://a b:47379\": invalid character \" \" in host name");
  EXPECT_EQ(Err(":2379"), "parse \":2379\": missing protocol scheme");
  EXPECT_EQ(Err("http://::1:2379"),
            "URL address does not have the form \"host:port\": http://::1:2379");
}

TEST(UrlTest, Accepts) {
  auto u = ParseUrl("http://127.0.0.1:47379?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->HostPort(), "127.0.0.1:47379");
  u = ParseUrl("HTTPS://[::1]:2379");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls());
  EXPECT_EQ(u->HostPort(), "[::1]:2379");
  u = ParseUrl("unix://localhost:1234");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->HostPort(), "unix:localhost:1234");
  EXPECT_FALSE(ParseUrl("http://127.0.0.1:99999").ok());
}

TEST(UrlTest, Lists) {
  auto l = ParseUrlList("http://a:1, http://b:2,http://a:1");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::vector<std::string>{"http://a:1", "http://b:2"}));
  EXPECT_EQ(ParseUrlList("http://a:1,").status().message(),
            "URL scheme must be http, https, unix, or unixs: ");
}

TEST(UrlTest, InitialClusterAsEtcdParsesIt) {
  auto c = ParseInitialCluster("a=http://h:1,,a=http://h:2,b=http://h:3");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->at("a").size(), 2u);
  EXPECT_EQ(ParseInitialCluster("default").status().message(),
            "URL scheme must be http, https, unix, or unixs: ");
  EXPECT_EQ(ParseInitialCluster("default=127.0.0.1:47380").status().message(),
            "parse \"127.0.0.1:47380\": first path segment in URL cannot contain colon");
}

}  // namespace
}  // namespace quorum::server
