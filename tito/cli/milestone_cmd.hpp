// The milestones section that `tito status` shows beside the modules, shared
// with `tito milestone status`.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "cli/context.hpp"
#include "engine/milestone_run.hpp"
#include "engine/testrun.hpp"

namespace tito::cli {

// Where every milestone stands after `report` (a test run of the modules);
// the standings point into `milestones`, which must outlive them.
std::vector<MilestoneStanding> standings_after(Context& ctx, const Milestones& milestones, const TestReport& report);

// "milestones" and a line per milestone, then the next one to try; nothing
// when there are none.
void print_milestone_section(Context& ctx, const std::vector<MilestoneStanding>& standings);

// The standings for --json.
nlohmann::json milestones_json(const std::vector<MilestoneStanding>& standings);

}  // namespace tito::cli
