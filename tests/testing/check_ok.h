// CHECK_OK / REQUIRE_OK: assert a leadflow::Status is OK, printing it if not.
#ifndef LEADFLOW_TESTS_TESTING_CHECK_OK_H_
#define LEADFLOW_TESTS_TESTING_CHECK_OK_H_

#include <doctest/doctest.h>

#include "state/status.h"

#define CHECK_OK(expr)                              \
  do {                                              \
    ::leadflow::Status _s = (expr);                 \
    CHECK_MESSAGE(_s.ok(), _s.ToString());          \
  } while (0)
#define REQUIRE_OK(expr)                            \
  do {                                              \
    ::leadflow::Status _s = (expr);                 \
    REQUIRE_MESSAGE(_s.ok(), _s.ToString());        \
  } while (0)

#endif  // LEADFLOW_TESTS_TESTING_CHECK_OK_H_
