#include <tinytorch/course.hpp>

#ifndef TINYTORCH_COURSE_ROOT
#error "package/CMakeLists.txt defines TINYTORCH_COURSE_ROOT (the course folder) for this file"
#endif

namespace tinytorch::course {

const char* root() noexcept { return TINYTORCH_COURSE_ROOT; }

}  // namespace tinytorch::course
