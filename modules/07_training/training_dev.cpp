// %% [markdown]
// # Module 07: Training (skeleton: the interface module 08 builds on)

// %%
//| default_exp core/training

// %%
//| export
#include <cstdint>

#include <tinytorch/core/optim.hpp>

// %% [markdown]
// ## Batches: what a Trainer reads
//
// A training loop reads batches, epoch after epoch. `data::BatchSource` is that contract:
// module 08's `DataLoader` is one, and so is the in-memory source of this module.

// %%
//| export
namespace tinytorch::data {

// One batch: inputs [B, ...] and targets [B] (class indices, as floats) or [B, ...].
struct Example {
  Tensor data;
  Tensor target;
};

// A source of batches, epoch after epoch: what Trainer reads (module 08's DataLoader is one).
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Batches in one epoch.
  virtual int64_t num_batches() const = 0;
  // Examples in one epoch (the sum of the batch sizes).
  virtual int64_t num_examples() const = 0;
  // Starts epoch `epoch` (0, 1, ...): a shuffling source reorders here, from its seed and the epoch.
  virtual void start_epoch(int64_t epoch) = 0;
  // Batch `index` of the current epoch, 0 <= index < num_batches().
  virtual Example batch(int64_t index) = 0;
};

}  // namespace tinytorch::data
