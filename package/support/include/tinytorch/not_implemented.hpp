// Hand-written support for the tinytorch library (not generated).
//
// The student version of every module replaces a solution with
//     // YOUR CODE HERE
//     throw tinytorch::NotImplemented();
// The default argument captures the call site. Generated sources carry #line
// directives, so that site is the student's dev file and line, and the
// function is the one the student has to write.
#pragma once

#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tinytorch {

// Thrown by a function whose solution has not been written yet.
class NotImplemented : public std::logic_error {
 public:
  explicit NotImplemented(std::source_location where = std::source_location::current());

  // "Tensor::matmul"
  const std::string& function() const noexcept { return function_; }
  // "modules/01_tensor/tensor_dev.cpp:123"
  const std::string& location() const noexcept { return location_; }

  // The prefix of what(): `tito test` looks for it to tell "not implemented
  // yet" apart from a wrong answer.
  static constexpr std::string_view kPrefix = "not implemented yet: ";

 private:
  NotImplemented(std::string function, std::string location);
  std::string function_;
  std::string location_;
};

namespace detail {
// "tinytorch::Tensor tinytorch::Tensor::matmul(const tinytorch::Tensor&) const" -> "Tensor::matmul"
std::string short_function_name(std::string_view pretty);
// "/home/ada/course/modules/01_tensor/tensor_dev.cpp" -> "modules/01_tensor/tensor_dev.cpp"
std::string course_relative_path(std::string_view path);
}  // namespace detail

}  // namespace tinytorch
