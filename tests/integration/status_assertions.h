// gtest assertions on absl::Status / absl::StatusOr for the integration
// tests: the failing expression and its status in the message.
#ifndef QUORUM_TESTS_INTEGRATION_STATUS_ASSERTIONS_H_
#define QUORUM_TESTS_INTEGRATION_STATUS_ASSERTIONS_H_

#include <gtest/gtest.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ASSERT_OK(expr)                            \
  do {                                             \
    const absl::Status _st = (expr);               \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st; \
  } while (0)

// Declares `lhs` from a StatusOr that must hold a value.
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                             \
  auto lhs##_or = (expr);                                           \
  ASSERT_TRUE(lhs##_or.ok()) << #expr << ": " << lhs##_or.status(); \
  auto lhs = std::move(*lhs##_or)

#endif  // QUORUM_TESTS_INTEGRATION_STATUS_ASSERTIONS_H_
