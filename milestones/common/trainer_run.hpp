// Module 07's Trainer, reporting to the milestone harness: for the milestones
// from module 08 on (MLP, CNN), which train with the Trainer.
//
//   train::Trainer trainer(model, config);
//   std::optional<train::History> history = milestone::fit(run, trainer, train, &validation, "milestone_mlp");
//   if (!history) return run.finish(false);   // a non-finite loss stopped it; the harness names it
//
// Every batch's loss and gradient norm goes to run.loss / run.grad_norm, every
// epoch ends with run.end_epoch, and the harness's progress line knows the
// batches of an epoch. Header-only, like epoch_log.hpp: the harness library
// does not link the student's library; a milestone program that includes this does.
#pragma once

#include <iostream>
#include <limits>
#include <optional>
#include <string>

#include <milestone.hpp>
#include <tinytorch/core/training.hpp>

namespace milestone {

// Trains with `trainer` on `train` (validating on `validation`, which may be null), reporting to
// `run`. nullopt when training stopped on a non-finite loss: the error is printed after `who`
// and kept as a note, and the harness is given a NaN loss so that it names the run as not finite.
inline std::optional<tinytorch::train::History> fit(Run& run, tinytorch::train::Trainer& trainer,
                                                    tinytorch::data::BatchSource& train,
                                                    tinytorch::data::BatchSource* validation,
                                                    const std::string& who) {
  namespace tt = tinytorch::train;
  trainer.on_batch([&run](const tt::BatchEvent& e) {
    if (e.batch == 1) run.batches(static_cast<std::size_t>(e.batches));  // the harness's progress line
    run.loss(e.loss);
    run.grad_norm(e.grad_norm);
  });
  trainer.on_epoch([&run](const tt::EpochMetrics&) { run.end_epoch(); });
  try {
    return trainer.fit(train, validation);
  } catch (const tt::TrainingError& e) {
    std::cerr << who << ": " << e.what() << "\n";
    run.loss(std::numeric_limits<double>::quiet_NaN());
    run.note(e.what());
    return std::nullopt;
  }
}

}  // namespace milestone
