#include "server/http/prometheus_text.h"

#include <gtest/gtest.h>

namespace quorum::server::http {
namespace {

TEST(PrometheusTextTest, FamiliesInNameOrderWithHelpAndType) {
  PrometheusText t;
  t.Gauge("b_gauge", "A gauge.", 20480);
  t.Counter("a_total", "A counter.", 3);
  t.Gauge("c_info", "Labelled.", 1, Label("v", "3.5\"x"));
  EXPECT_EQ(t.Render(),
            "# HELP a_total A counter.\n# TYPE a_total counter\na_total 3\n"
            "# HELP b_gauge A gauge.\n# TYPE b_gauge gauge\nb_gauge 20480\n"
            "# HELP c_info Labelled.\n# TYPE c_info gauge\nc_info{v=\"3.5\\\"x\"} 1\n");
}

TEST(PrometheusTextTest, NonIntegralValues) {
  PrometheusText t;
  t.Gauge("g", "h", 0.5);
  EXPECT_NE(t.Render().find("g 0.5\n"), std::string::npos);
  PrometheusText n;
  n.Gauge("g", "h", -1);
  EXPECT_NE(n.Render().find("g -1\n"), std::string::npos);
}

}  // namespace
}  // namespace quorum::server::http
