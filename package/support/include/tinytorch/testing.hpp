// Hand-written support for the modules' tests (not generated): helpers that every
// module's GoogleTest suite uses, so that no test file keeps a copy of its own.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>

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

// The real dataset `Dataset(args...)` (module 08's readers) from the tito data cache; when its
// files are not there (`NotFound`, module 08's data::DatasetNotFound), a test failure that shows
// the reader's message, which names the `tito data fetch` command, and nullopt.
template <typename Dataset, typename NotFound, typename... Args>
std::optional<Dataset> real_dataset(Args&&... args) {
  try {
    return Dataset(std::forward<Args>(args)...);
  } catch (const NotFound& e) {
    ADD_FAILURE() << "this test needs real data, and it is not in the tito data cache:\n" << e.what();
    return std::nullopt;
  }
}

}  // namespace tinytorch::testing
