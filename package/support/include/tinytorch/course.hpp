// Hand-written support for the tinytorch library (not generated): where the course is.
//
// The library is built from a course folder (package/CMakeLists.txt is <course>/package/), and
// some of its defaults live there: the tito data cache, <course>/data/cache, which the dataset
// readers of module 08 use when TITO_DATA_DIR is not set. The folder is fixed when the build is
// configured (a compile definition of support/src/course.cpp), so a program finds the cache
// wherever it runs from, and a copy of the course (a student release) finds its own.
#pragma once

namespace tinytorch::course {

// The absolute path of the course folder this library was configured from.
const char* root() noexcept;

}  // namespace tinytorch::course
