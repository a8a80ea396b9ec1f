// Hand-written support for the modules' tests (not generated): helpers that every
// module's GoogleTest suite uses, so that no test file keeps a copy of its own.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace tinytorch::testing {

// The message of the `Error` that `action` throws. Any other exception (for example
// "not implemented yet") propagates, so the test reports it as it is; no exception at all
// is a test failure.
template <typename Error, typename Action>
std::string error_message(Action action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception, none was thrown";
  return "";
}

// True when no element of `tensor` is NaN or infinite.
template <typename TensorLike>
bool all_finite(const TensorLike& tensor) {
  for (float v : tensor.to_vector()) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

}  // namespace tinytorch::testing
