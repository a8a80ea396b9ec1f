#include "cli/shared.hpp"

#include <spdlog/spdlog.h>

#include <iostream>

#include "engine/build_log.hpp"

namespace tito::cli {

bool report_builds(Context& ctx, const std::vector<ModuleBuild>& builds) {
  bool ok = true;
  for (const ModuleBuild& b : builds) {
    if (b.outcome == BuildOutcome::Failed) {
      ok = false;
      std::cerr << compiler_messages(b.output, ctx.options.verbosity > 0);
      spdlog::error("{} does not compile; the messages above point at {}", b.module->folder,
                    ctx.course().rel(b.module->dev_file()));
    } else if (b.outcome == BuildOutcome::Blocked) {
      ok = false;
      spdlog::warn("{} was not built: it requires {}, which does not compile", b.module->folder, b.blocked_by);
    }
  }
  return ok;
}

}  // namespace tito::cli
