// Where long work reports how it is going. The engine never prints: the CLI
// draws a step per line (or redraws a status on a smart terminal), tests
// record the calls or ignore them.
#pragma once

#include <string>

#include "util/error.hpp"

namespace tito {

class Progress {
 public:
  virtual ~Progress() = default;
  // A new stage of the work: "configuring build/", "building 01_tensor".
  virtual void step(const std::string& what) { (void)what; }
  // A line of a tool's output, or a file written, for -v.
  virtual void detail(const std::string& line) { (void)line; }
  // How far the current step is, e.g. "[3/7] tensor.cpp": worth showing only
  // where a line can be redrawn.
  virtual void status(const std::string& now) { (void)now; }
  // Something probably wrong that does not stop the work (a near-miss marker).
  virtual void warning(const Diagnostic& what) { (void)what; }
};

}  // namespace tito
