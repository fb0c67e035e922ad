#include "server/cipher_suites.h"

#include <gtest/gtest.h>

namespace quorum::server {
namespace {

TEST(CipherSuitesTest, MapsGoNamesToOpenSsl) {
  EXPECT_EQ(OpenSslCipherList("").value(), "");
  EXPECT_EQ(OpenSslCipherList("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_128_CBC_SHA")
                .value(),
            "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA");
  EXPECT_EQ(OpenSslCipherList("TLS_AES_128_GCM_SHA256").value(), "");  // TLS 1.3: not configurable
}

TEST(CipherSuitesTest, EtcdErrorText) {
  EXPECT_EQ(OpenSslCipherList("foo").status().message(), "unexpected TLS cipher suite \"foo\"");
  // Not trimmed, as in etcd.
  EXPECT_EQ(OpenSslCipherList("TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_256_CBC_SHA")
                .status()
                .message(),
            "unexpected TLS cipher suite \" TLS_RSA_WITH_AES_256_CBC_SHA\"");
}

}  // namespace
}  // namespace quorum::server
