// The doctest runner for common's unit tests (each TEST_CASE is also its own ctest test).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
