// %% [markdown]
// # Module 04: Losses
//
// A network turns an input into numbers: a price, ten class scores, the probability that an
// e-mail is spam. To learn, it needs to know **how wrong** those numbers are, as *one* number
// it can make smaller. That number is the **loss**. Training (modules 05 to 07) is nothing but
// this loop: compute the loss of a batch, ask autograd how every weight changes it, move each
// weight a little downhill, repeat.
//
// So the loss decides what "good" means. Choose mean squared error for a classifier and
// training crawls; compute cross-entropy the textbook way and the first large logit turns the
// loss into `NaN`, and one `NaN` spreads to every weight at the next step. In this module you
// write the losses every later module trains with, numerically stable, in namespace
// `tinytorch::nn::functional` (as libtorch's `torch::nn::functional::cross_entropy`), and
// small loss objects (`nn::CrossEntropyLoss`) on top.
//
// ## Objectives
//
// By the end of this module you can
//
// - say what a **reduction** is (mean, sum, none) and why mean is the default;
// - write **mean squared error** and refuse the shape mistake that silently broadcasts it;
// - compute **log-sum-exp** without overflow, and from it a **cross-entropy** that gives the
//   right answer for logits of ±1000, where the textbook version gives `NaN` or `inf`;
// - **pick** one entry per row with `gather`, the op behind negative log-likelihood;
// - write **binary cross-entropy**, with PyTorch's clamp at −100 so that `p = 0` is finite,
//   and its stable form **from logits**;
// - compute **argmax** (the first of tied maxima, as PyTorch) and **accuracy**, and explain
//   why accuracy and loss can disagree;
// - predict the loss of an untrained classifier (`ln C`) and check it, on random logits and
//   on real Fashion-MNIST labels.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | reductions | `apply_reduction` |
// | 2 | mean squared error | `mse_loss` |
// | 3 | cross-entropy from logits | `logsumexp`, `native::gather`, `nll_loss`, `native::cross_entropy` |
// | 4 | binary cross-entropy | `native::binary_cross_entropy`, `native::binary_cross_entropy_with_logits` |
// | 5 | predictions | `native::argmax`, `accuracy` |
// | 6 | loss objects (written for you) | nothing: `nn::CrossEntropyLoss` and friends |
// | 7 | what a loss value means | nothing: demos on random logits and real labels |
//
// Everything is built on modules 01 and 02: tensors, broadcasting, `max`/`sum` along an axis,
// `exp`, `log`, `log_softmax`. Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of
// the module.
//
// ## Losses and autograd
//
// Module 05 will differentiate these losses, and you will not touch this file then. That works
// because every loss here is made **only of recorded ops** (module 01, part 2): `sub`, `pow`,
// `exp`, `log`, `sum`, `mean`, ... each already tells autograd what it did. Where a composition
// of existing ops would be unstable or wasteful, this module adds a new op of its own, a
// *kernel* you write (`native::gather`) with a thin wrapper, given, that records it under its
// own name. Four ops are new: `gather`, `cross_entropy`, `binary_cross_entropy` and
// `binary_cross_entropy_with_logits`; each part says why it is one op rather than several.
// Never compute a loss with `data()` loops or `to_vector()` outside a kernel: the numbers
// would be right, and module 05 would have nothing to differentiate.
//
// After each function, run `tito test losses` to see which tests pass, and
// `tito module run losses` to watch the demos print.

// %%
//| default_exp core/losses

// %%
//| export
#include <cstdint>
#include <string>

#include <tinytorch/core/activations.hpp>

// %%
//| export impl
#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

// %% [markdown]
// ## The functions you will write
//
// Here is the whole public API of the module. The losses take the model's output first and
// the target second, as PyTorch's do, and a `Reduction` last (part 1). `logsumexp`, `gather`,
// `argmax` and `argmin` live in namespace `tinytorch` with the other tensor functions, as
// `torch::logsumexp` and `torch::gather` do; later modules use them too (attention needs
// `logsumexp`, the data loaders `argmax`).
//
// Targets of the classification losses are **class indices**: `targets[i] = 3` says that
// row `i` belongs to class 3. Our tensor holds only `float`, so indices are stored as floats.
// That is exact: a `float` holds every whole number up to 2²⁴ = 16,777,216, far more classes
// than any model has (GPT-2 has 50,257 words). An index that is not a whole number in
// `[0, C)` is an error that names the index, its position and `C`.

// %%
//| export
namespace tinytorch {

// log(sum(exp(x))) along `axis` (negative counts from the end), computed without overflow by
// taking out the largest entry of each slice first. Like torch::logsumexp.
Tensor logsumexp(const Tensor& x, int64_t axis, bool keepdim = false);

// Picks entries of `x` along `dim`: for a matrix and dim = 1, out[i][j] = x[i][index[i][j]].
// `index` has x's rank and x's sizes except along `dim`, and holds whole numbers (as floats)
// in [0, x.size(dim)). The result has index's shape. Like torch::gather.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);

// The position of the largest element along `axis`, as floats. When several elements tie,
// the first; a NaN counts as larger than any number (both as in PyTorch). Indices are not
// differentiable: nothing is recorded and the result never requires grad.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);
// The position of the smallest element along `axis`: the first one when several tie.
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim = false);

}  // namespace tinytorch

namespace tinytorch::nn {

// What a loss makes of the losses of its elements (PyTorch's reduction="mean"/"sum"/"none").
enum class Reduction {
  None,  // keep them: one loss per element (per row, for the classification losses)
  Mean,  // their mean, a 0-D tensor: the default
  Sum,   // their sum, a 0-D tensor
};

// "none", "mean" or "sum", as PyTorch spells them (for configuration files); anything else
// is a std::invalid_argument that lists the three.
Reduction parse_reduction(const std::string& name);
// "none", "mean" or "sum".
std::string reduction_name(Reduction reduction);

}  // namespace tinytorch::nn

namespace tinytorch::nn::functional {

// `losses` as it is (None), or their mean or sum as a 0-D tensor.
Tensor apply_reduction(const Tensor& losses, Reduction reduction);

// Mean squared error: (input - target)^2 element-wise, reduced (the mean is over every
// element). input and target must have the same shape: they are never broadcast.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

// Negative log-likelihood: -log_probs[i][targets[i]] for log-probabilities [N, C] (from
// log_softmax) and class indices [N], reduced over the rows.
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, Reduction reduction = Reduction::Mean);

// Cross-entropy of raw scores (logits) [N, C] against class indices [N]:
// logsumexp(logits[i]) - logits[i][targets[i]] per row, reduced over the rows. Finite and
// correct for logits of any size; equal to nll_loss(log_softmax(logits, 1), targets). One
// recorded op, "cross_entropy": it makes no temporary as large as the logits.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction = Reduction::Mean);

// Binary cross-entropy of probabilities p in [0, 1] against targets y of the same shape:
// -(y log p + (1 - y) log(1 - p)) element-wise, each log clamped at -100 as in PyTorch (so
// p = 0 or 1 gives a finite loss), reduced.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& targets, Reduction reduction = Reduction::Mean);

// binary_cross_entropy(sigmoid(logits), targets) computed in the stable form
// max(x, 0) - x y + log(1 + exp(-|x|)): no overflow and no clamp, for any logit.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        Reduction reduction = Reduction::Mean);

// The fraction (0 to 1) of rows of scores [N, C] whose argmax is the target class (class
// indices [N]). Logits, probabilities or log-probabilities give the same answer. An empty
// batch has no accuracy: a ShapeError.
float accuracy(const Tensor& logits, const Tensor& targets);

}  // namespace tinytorch::nn::functional

// %% [markdown]
// ## Checks every loss shares (written for you)
//
// A loss is where the shapes of two different things meet: what the model produced and
// what the data says. Mistakes there rarely crash; they broadcast, or index the wrong row,
// and training quietly learns nonsense. So the losses check their arguments first, with
// messages that name the shapes and the offending value. Read these helpers; your code calls
// them.
//
// - `check_same_shape(fn, input, target)`: the element-wise losses (MSE, BCE) want equal
//   shapes.
// - `check_classification(fn, input_name, input, targets)`: an `[N, C]` input, and `[N]`
//   class indices, each a whole number in `[0, C)`. A 2-D `targets` (one-hot rows) gets a
//   hint to use `argmax(targets, 1)`.
// - `map_pairs(a, b, f)`: `f(a[i], b[i])` for two tensors of one shape, in a new contiguous
//   tensor; the two-input sibling of module 01's `map`, for the kernels of part 4.
//
// The checks read values with `to_vector()`, under `autograd::PauseRecording`: a check is
// not part of the computation, so autograd must not see it.

// %%
//| export impl
namespace tinytorch {
namespace {

// A number as a person writes it: 3.5, 10, -1, nan.
std::string number_str(float value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// The index, as "[1, 2]", of element `flat` (in row-major order) of a tensor of `shape`.
std::string position_str(int64_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_str(index);
}

// True for a whole number in [0, size): a valid index, stored as a float.
bool is_index(float value, int64_t size) {
  return value >= 0.0f && value < static_cast<float>(size) && value == std::floor(value);
}

// `axis` counted from the end when negative; IndexError (from Tensor::size) when out of range.
int64_t wrap_axis(const Tensor& x, int64_t axis) {
  (void)x.size(axis);
  return axis < 0 ? axis + x.dim() : axis;
}

void check_same_shape(const char* fn, const Tensor& input, const Tensor& target) {
  if (input.shape() != target.shape()) {
    throw ShapeError(std::string(fn) + "(): input of shape " + shape_str(input.shape()) + " and target of shape " +
                     shape_str(target.shape()) +
                     " must have the same shape (they are not broadcast: [N, 1] against [N] would compare every "
                     "input with every target)");
  }
}

void check_classification(const char* fn, const char* input_name, const Tensor& input, const Tensor& targets) {
  const std::string where = std::string(fn) + "(): ";
  if (input.dim() != 2) {
    throw ShapeError(where + input_name + " must have shape [N, C] (a row of C class scores per example), got " +
                     shape_str(input.shape()) + "; for a single example use unsqueeze(0)");
  }
  const int64_t rows = input.size(0);
  const int64_t classes = input.size(1);
  if (classes == 0) throw ShapeError(where + input_name + " of shape " + shape_str(input.shape()) + " has no classes");
  if (targets.dim() == 2) {
    throw ShapeError(where + "targets of shape " + shape_str(targets.shape()) +
                     " are 2-D, but targets are class indices of shape [N] = [" + std::to_string(rows) +
                     "], not one-hot rows; argmax(targets, 1) turns one-hot rows into class indices");
  }
  if (targets.dim() != 1 || targets.size(0) != rows) {
    throw ShapeError(where + "targets of shape " + shape_str(targets.shape()) + " do not fit " + input_name +
                     " of shape " + shape_str(input.shape()) + ": expected class indices of shape [" +
                     std::to_string(rows) + "]");
  }
  autograd::PauseRecording checks_are_not_computation;
  const std::vector<float> values = targets.to_vector();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!is_index(values[i], classes)) {
      throw IndexError(where + "target " + number_str(values[i]) + " at position " + std::to_string(i) +
                       " is not a class index: targets must be whole numbers in [0, " + std::to_string(classes) +
                       ") for " + std::to_string(classes) + " classes");
    }
  }
}

// f(a[i], b[i]) for every element, in a new contiguous tensor of their (equal) shape.
template <typename F>
Tensor map_pairs(const Tensor& a, const Tensor& b, F f) {
  const Tensor x = a.contiguous();
  const Tensor y = b.contiguous();
  Tensor out = zeros(x.shape());
  const float* px = x.data();
  const float* py = y.data();
  float* result = out.data();
  const int64_t count = out.numel();
  for (int64_t i = 0; i < count; ++i) result[i] = f(px[i], py[i]);
  return out;
}

}  // namespace
}  // namespace tinytorch

// %% [markdown]
// ## Part 1: Reductions
//
// A loss first computes one loss **per element** (per row, for a classifier): the batch of 64
// examples gives 64 numbers. Training needs one number, so the loss *reduces* them, as
// PyTorch's `reduction` argument says:
//
//     per-example losses  [0.2, 1.5, 0.1, 0.4]
//     Reduction::Mean  ->  0.55         the default
//     Reduction::Sum   ->  2.2
//     Reduction::None  ->  [0.2, 1.5, 0.1, 0.4]   (to weight examples, or find the worst ones)
//
// **Why mean is the default.** With the sum, a batch twice as large gives a loss (and
// gradients) twice as large, so the learning rate you tuned for batch 32 is twice too large
// at batch 64. The mean makes the size of a step independent of the batch size.
//
// We chose an `enum class` for the reduction rather than PyTorch's strings: a typo like
// `Reduction::Maen` does not compile, where `"maen"` would fail only when that line runs.
// `parse_reduction("sum")` (written for you) reads PyTorch's spelling from a configuration
// file, and rejects anything else.

// %%
//| export impl
namespace tinytorch::nn {

Reduction parse_reduction(const std::string& name) {
  if (name == "none") return Reduction::None;
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  throw std::invalid_argument("unknown reduction \"" + name + "\": expected \"mean\", \"sum\" or \"none\"");
}

std::string reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return "none";
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
  }
  return "Reduction(" + std::to_string(static_cast<int>(reduction)) + ")";
}

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐ `apply_reduction`
//
// **TODO**: Return `losses` reduced as `reduction` says, and throw `std::invalid_argument`
// for a value that is none of the three.
//
// **APPROACH**:
// 1. `switch (reduction)`: `None` returns `losses` itself, `Mean` returns `losses.mean()`,
//    `Sum` returns `losses.sum()`.
// 2. After the switch (only a value forced in with `static_cast<Reduction>(7)` gets there),
//    throw `std::invalid_argument` naming the value, for example with `reduction_name`.
//
// **EXAMPLE**:
// ```cpp
// Tensor losses = tensor({0.2f, 1.5f, 0.1f, 0.4f});
// apply_reduction(losses, Reduction::Mean)   // tensor(0.5500), shape []
// apply_reduction(losses, Reduction::Sum)    // tensor(2.2000)
// apply_reduction(losses, Reduction::None)   // losses, shape [4]
// ```
//
// **HINTS**:
// - `mean()` and `sum()` over all elements are module 01's; both are recorded, so autograd
//   will differentiate the reduction for free.
// - The mean of zero losses is `0 / 0 = NaN`, as in PyTorch. Leave it so: an empty batch is
//   a bug upstream, and NaN makes it visible.
//
// **SYSTEMS THINKING**: the loss of a batch is a 0-D tensor. Reading it with `.item()` is
// cheap here, but on a GPU it makes the CPU wait for all queued work: production loops log
// the loss every N steps, not every step.

// %%
//| export impl
namespace tinytorch::nn::functional {

Tensor apply_reduction(const Tensor& losses, Reduction reduction) {
  // BEGIN SOLUTION
  switch (reduction) {
    case Reduction::None: return losses;
    case Reduction::Mean: return losses.mean();
    case Reduction::Sum: return losses.sum();
  }
  throw std::invalid_argument("apply_reduction(): unknown reduction " + reduction_name(reduction) +
                              "; expected Reduction::None, Reduction::Mean or Reduction::Sum");
  // END SOLUTION
}

}  // namespace tinytorch::nn::functional

// %%
//| test
using namespace tinytorch;
namespace F = tinytorch::nn::functional;
using tinytorch::nn::Reduction;

TEST(UnitReduction, MeanSumAndNone) {
  Tensor losses = tensor({0.5f, 1.5f, 1.0f, 1.0f});
  EXPECT_EQ(F::apply_reduction(losses, Reduction::Mean).item(), 1.0f);
  EXPECT_EQ(F::apply_reduction(losses, Reduction::Sum).item(), 4.0f);
  EXPECT_EQ(F::apply_reduction(losses, Reduction::None).shape(), (Shape{4}));
}

// %% [markdown]
// ## Part 2: Mean squared error
//
// For a model that predicts numbers (a price, a temperature, a pixel), the natural loss is
// the squared distance to the target, averaged:
//
//     mse(input, target) = mean over every element of (input - target)²
//
//     input [2.5, 0.0, 2.0], target [3.0, -0.5, 2.0]  ->  (0.25 + 0.25 + 0) / 3 = 0.1667
//
// Squaring makes every error positive and punishes large errors more than small ones (one
// error of 2 costs as much as four errors of 1). The mean is over **every element**: for
// `[N, D]` predictions it divides by `N · D`, as PyTorch does.
//
// **The shape trap.** A model with one output produces `[N, 1]`; the targets of a dataset
// are often `[N]`. Module 01's broadcasting happily combines them into `[N, N]`: every
// prediction compared with every target. The loss is a number, training runs, and the model
// learns to predict the mean of the targets. PyTorch only *warns* about it. We refuse it:
// `check_same_shape` throws a `ShapeError` that names both shapes.
//
// Is MSE the right loss for a classifier too? Part 7 plots it next to cross-entropy: for a
// confidently wrong prediction, MSE stays below 1 while cross-entropy grows without bound,
// and that is why classifiers are trained with cross-entropy.
//
// ### ⭐ `mse_loss`
//
// **TODO**: Check the shapes, compute the squared differences, and reduce them.
//
// **APPROACH**:
// 1. `check_same_shape("mse_loss", input, target);`
// 2. `diff = input - target`, then `pow(diff, 2)` (module 02): one loss per element.
// 3. `return apply_reduction(squares, reduction);`
//
// **EXAMPLE**:
// ```cpp
// F::mse_loss(tensor({2.5f, 0, 2}), tensor({3, -0.5f, 2}))                   // tensor(0.1667)
// F::mse_loss(tensor({{1, 2}, {3, 4}}), ones({2, 2}), Reduction::Sum)        // tensor(14.)
// F::mse_loss(zeros({4, 1}), zeros({4}))   // ShapeError: input of shape [4, 1] and target of shape [4] ...
// ```
//
// **HINTS**:
// - `namespace F = tinytorch::nn::functional;` is the usual shorthand, as in libtorch.
// - `sub` and `pow` are recorded ops, and so is the reduction: nothing more is needed for
//   module 05 to differentiate your MSE.
//
// **SYSTEMS THINKING**: this version makes two temporaries as large as the input (`diff`
// and its square) and reads memory three times. A fused kernel would read each pair once and
// keep a running sum in a register. For a loss over `[64, 10]` that does not matter; for an
// image-to-image model whose loss compares `[64, 3, 256, 256]` tensors (50 MB each), it does.

// %%
//| export impl
namespace tinytorch::nn::functional {

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  // BEGIN SOLUTION
  check_same_shape("mse_loss", input, target);
  const Tensor diff = input - target;
  return apply_reduction(pow(diff, 2.0f), reduction);
  // END SOLUTION
}

}  // namespace tinytorch::nn::functional

// %%
//| test
TEST(UnitMse, MeanOfSquaredDifferences) {
  EXPECT_NEAR(F::mse_loss(tensor({2.5f, 0, 2}), tensor({3, -0.5f, 2})).item(), 0.5f / 3, 1e-6f);
  EXPECT_THROW(F::mse_loss(zeros({4, 1}), zeros({4})), ShapeError);
}

// %% [markdown]
// ## Part 3: Cross-entropy from logits
//
// A classifier ends in one score per class, a **logit**: `[N, C]` for a batch of `N`
// examples and `C` classes. Softmax (module 02) turns a row of logits into probabilities.
// The classifier is good when it gives the **right class a high probability**, so the loss of
// one example is
//
//     loss = -log p[target]          p = softmax(logits)
//
// `-log` is 0 when `p[target] = 1` (certain and right) and grows without bound as
// `p[target]` goes to 0 (certain and wrong). This is the **cross-entropy** between the
// one-hot target distribution and the model's, also called the *negative log-likelihood* of
// the data: minimizing it is maximum-likelihood training.
//
// **Never compute softmax, then log.** Write the log of the softmax out:
//
//     -log softmax(x)[t] = -log( exp(x[t]) / Σ_j exp(x[j]) )
//                        = log Σ_j exp(x[j])  -  x[t]
//                          ^^^^^^^^^^^^^^^^
//                          log-sum-exp of the row
//
// The loss is the **log-sum-exp** of the row minus the logit of the target. Two things can
// go wrong along the way, and the textbook version does both:
//
// - `exp(1000)` overflows a float to `inf` (anything above `exp(88.7)` does), and
//   `inf - inf` or `inf / inf` is `NaN`. The naive loss of `[1000, 1000]` is `NaN`; the right
//   answer is `ln 2 = 0.693`.
// - Module 02's softmax is stable, but a *probability* underflows: `softmax([1000, 0])[1]` is
//   `e⁻¹⁰⁰⁰`, which is 0 in a float, and `-log(0) = inf`. The right loss is 1000: large, but a
//   number that training can push down.
//
// Log-sum-exp fixes both with the trick of module 02: for any `m`,
//
//     log Σ_j exp(x[j]) = m + log Σ_j exp(x[j] - m)
//
// and with `m = max(x)` every `exp` is at most 1 (no overflow), the sum is at least 1 (its
// log is finite and small), and nothing passes through a probability that could underflow.
//
// So cross-entropy is three steps: `logsumexp` of every row; **pick** the target's logit out
// of every row (`gather`); subtract and reduce. You write each step as a tensor function first,
// and then the whole loss once more as one kernel, the way production libraries compute it.

// %% [markdown]
// ### ⭐⭐⭐ `logsumexp`
//
// **TODO**: Return `log(sum(exp(x)))` along `axis`, computed through the max shift.
//
// **APPROACH**:
// 1. `m = x.max(axis, /*keepdim=*/true).detach()`: one max per slice, a size-1 axis left so
//    it broadcasts back against `x`. (`detach()` says: for autograd, `m` is a constant.
//    The result does not depend on `m` at all, since the shift cancels exactly, so treating it
//    as a constant gives the exact gradient, and spares module 05 a detour through `max`.)
// 2. A slice whose max is `-inf` (every entry masked) or `+inf` would give `inf - inf = NaN`
//    in the next step. Replace such maxima by 0:
//    `m = map(m, [](float v) { return std::isinf(v) ? 0.0f : v; });` (as PyTorch does).
//    `m` does not require grad, so this `map` is not recorded.
// 3. `lse = m + log(exp(x - m).sum(axis, /*keepdim=*/true))`.
// 4. Return `lse` with `keepdim`, else `lse.squeeze(axis)`.
//
// **EXAMPLE**:
// ```cpp
// logsumexp(tensor({1, 2, 3}), 0)                  // tensor(3.4076)
// logsumexp(tensor({1000, 1000}), 0)               // tensor(1000.6931)  1000 + ln 2, no inf
// logsumexp(tensor({{1, 2, 3}, {0, 0, 0}}), 1)     // tensor([3.4076, 1.0986])   shape [2]
// logsumexp(tensor({{1, 2, 3}, {0, 0, 0}}), 1, true)   // shape [2, 1]
// logsumexp(tensor({-INFINITY, -INFINITY}), 0)     // tensor(-inf): log of a sum of zeros
// ```
//
// **HINTS**:
// - This is `log_softmax` of module 02 without the last subtraction; `max`, `sum`, `exp`
//   and `log` already accept negative axes and any view.
// - Inside `map`'s lambda you hold a `float`: write `std::isinf`, `std::exp`, `std::log`
//   for the float functions. Outside, `exp(t)` and `log(t)` on tensors are module 02's.
// - Forgetting `keepdim = true` gives a `ShapeError` (or, for a square matrix, silently
//   subtracts the wrong maxima).
//
// **SYSTEMS THINKING**: log-sum-exp reads the row twice (max, then the sum of exps). For a
// language model's output, `[batch · tokens, vocabulary] = [8192, 50257]`, that is two passes
// over 1.6 GB of logits per step. FlashAttention and fused cross-entropy kernels use an
// *online* log-sum-exp that keeps a running max and rescales the running sum, so one pass
// suffices.

// %%
//| export impl
namespace tinytorch {

Tensor logsumexp(const Tensor& x, int64_t axis, bool keepdim) {
  // BEGIN SOLUTION
  Tensor m = x.max(axis, /*keepdim=*/true).detach();  // a constant for autograd: the shift cancels
  m = map(m, [](float v) { return std::isinf(v) ? 0.0f : v; });  // all -inf (or a +inf): no inf - inf
  const Tensor lse = m + log(exp(x - m).sum(axis, /*keepdim=*/true));
  return keepdim ? lse : lse.squeeze(axis);
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `gather`: one entry per row
//
// Now the target's logit of every row: `picked[i] = logits[i][targets[i]]`. No op of modules
// 01 and 02 does that, so here is a new one, PyTorch's `gather`. For a matrix and `dim = 1`,
//
//     out[i][j] = x[i][ index[i][j] ]
//
//     x = [[10, 11, 12],      index = [[2],      out = [[12],
//          [20, 21, 22]]               [0]]              [20]]
//
// `index` has the same rank as `x`, the same sizes except along `dim`, and holds the
// positions to pick along `dim`. The result has `index`'s shape. For a classifier the index
// is `targets.unsqueeze(1)`, shape `[N, 1]`, and the result is squeezed back to `[N]`.
//
// **Why a new op**, and not a multiplication with a one-hot matrix (`(onehot * logits).sum(1)`),
// which modules 01–02 could already do? The one-hot matrix is as large as the logits: for a
// language model with a 50,257-word vocabulary and 8192 tokens per batch it is 412 million
// floats (1.6 GB) to pick 8192 numbers, and the multiplication reads all of them. `gather`
// reads one float per row. Its backward is as cheap: the gradient of each picked entry goes
// back to the position it was picked from (module 05, `gather` in the op table).
//
// Like `reduce_dim` in module 01, see a contiguous `x` around `dim` as `[outer, n, inner]`,
// and `index` (and the output) as `[outer, k, inner]`: the same `outer` and `inner`, and `k`
// picks per slice. Then
//
//     out[o][j][i] = x[o][ index[o][j][i] ][i]
//
// with `x[o][p][i]` at `(o * n + p) * inner + i` and `out[o][j][i]` (and its index) at
// `(o * k + j) * inner + i`.
//
// **TODO**: In the kernel `native::gather(x, dim, index)`, return the picked entries. The op
// `gather` (written for you, below) has already checked the shapes and that every index is a
// whole number in `[0, n)`, and made `dim` non-negative.
//
// **APPROACH**:
// 1. `in = x.contiguous()`, `picks = index.contiguous()`; `out = zeros(index.shape())`.
// 2. `outer` = product of `x`'s sizes before `dim`, `inner` = after it; `n = x.size(dim)`,
//    `k = index.size(dim)`.
// 3. Loops `o < outer`, `j < k`, `i < inner`: `p = static_cast<int64_t>(picks[...])`, then
//    copy `in[(o * n + p) * inner + i]` into `out[(o * k + j) * inner + i]`.
//
// **EXAMPLE**:
// ```cpp
// gather(tensor({{10, 11, 12}, {20, 21, 22}}), 1, tensor({{2}, {0}}))   // tensor([[12.], [20.]])
// gather(tensor({{10, 11, 12}, {20, 21, 22}}), 0, tensor({{1, 0, 1}}))  // tensor([[20., 11., 22.]])
// gather(x, 1, tensor({{0, 0}, {1, 1}}))   // an index may repeat: each row picked twice
// ```
//
// **HINTS**:
// - Take the `data()` pointers of `in`, `picks` and `out` once, before the loops, and keep
//   the three tensors alive while you use them.
// - The index is exact as a float (below 2²⁴), so `static_cast<int64_t>` gives it back.
//
// **SYSTEMS THINKING**: `gather` along `dim = 1` of `[N, C]` logits jumps `C` floats from one
// row to the next and reads one float of each 64-byte cache line it touches. That is the
// worst access pattern there is, and still N reads instead of the N · C of a one-hot product.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  // BEGIN SOLUTION
  const Tensor in = x.contiguous();
  const Tensor picks = index.contiguous();
  Tensor out = zeros(index.shape());
  int64_t outer = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= x.size(d);
  int64_t inner = 1;
  for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  const int64_t n = x.size(dim);
  const int64_t k = index.size(dim);
  const float* source = in.data();
  const float* positions = picks.data();
  float* result = out.data();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < k; ++j) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t at = (o * k + j) * inner + i;
        const auto p = static_cast<int64_t>(positions[at]);
        result[at] = source[(o * n + p) * inner + i];
      }
    }
  }
  return out;
  // END SOLUTION
}

}  // namespace native

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  const int64_t d = wrap_axis(x, dim);
  const std::string shapes =
      "index of shape " + shape_str(index.shape()) + " and input of shape " + shape_str(x.shape());
  if (index.dim() != x.dim()) throw ShapeError("gather(): " + shapes + " must have the same number of dimensions");
  for (int64_t k = 0; k < x.dim(); ++k) {
    if (k != d && index.size(k) != x.size(k)) {
      throw ShapeError("gather(): " + shapes + " must have the same sizes except along dimension " + std::to_string(d));
    }
  }
  {
    autograd::PauseRecording checks_are_not_computation;
    const std::vector<float> values = index.to_vector();
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!is_index(values[i], x.size(d))) {
        throw IndexError("gather(): index " + number_str(values[i]) + " at position " +
                         position_str(static_cast<int64_t>(i), index.shape()) + " is out of range for dimension " +
                         std::to_string(d) + " of size " + std::to_string(x.size(d)) +
                         " (indices are whole numbers in [0, " + std::to_string(x.size(d)) + "))");
      }
    }
  }
  return autograd::record("gather", {x, index}, {d}, 0.0f, [&] { return native::gather(x, d, index); });
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `nll_loss`: the negative log-likelihood
//
// If the model already gives log-probabilities (a `log_softmax` layer at its end, the
// classic PyTorch pairing `LogSoftmax` + `NLLLoss`), the loss of row `i` is just
// `-log_probs[i][targets[i]]`: pick and negate.
//
// **TODO**: After the given check, pick each row's target entry with `gather`, negate, reduce.
//
// **APPROACH**:
// 1. `picked = gather(log_probs, 1, targets.unsqueeze(1)).squeeze(1)`: shape `[N]`.
// 2. `return apply_reduction(-picked, reduction);`
//
// **EXAMPLE**:
// ```cpp
// Tensor lp = log(tensor({{0.7f, 0.2f, 0.1f}, {0.1f, 0.1f, 0.8f}}));
// F::nll_loss(lp, tensor({0, 2}))                    // (0.3567 + 0.2231) / 2 = tensor(0.2899)
// F::nll_loss(lp, tensor({0, 2}), Reduction::None)   // tensor([0.3567, 0.2231])
// ```
//
// **HINTS**:
// - `nll_loss` does *not* take a log or a softmax itself: it trusts its input to be
//   log-probabilities. Give it logits and it returns `-logit[target]`, a meaningless number.
//
// **SYSTEMS THINKING**: production versions add `ignore_index` (padding tokens that must
// not count) and per-class `weight`s (rare classes that should count more). Both change what
// "mean" divides by: PyTorch divides by the sum of the weights of the rows that count.

// %%
//| export impl
namespace tinytorch::nn::functional {

Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, Reduction reduction) {
  check_classification("nll_loss", "log_probs", log_probs, targets);
  // BEGIN SOLUTION
  const Tensor picked = gather(log_probs, 1, targets.unsqueeze(1)).squeeze(1);
  return apply_reduction(-picked, reduction);
  // END SOLUTION
}

}  // namespace tinytorch::nn::functional

// %% [markdown]
// ### ⭐⭐ `cross_entropy`: one op, one kernel
//
// All the pieces are there: per row, `logsumexp(logits[i]) - logits[i][targets[i]]`, and
// `logsumexp(logits, 1) - gather(logits, 1, targets.unsqueeze(1)).squeeze(1)` computes exactly
// that. It is correct and stable, and it is how PyTorch *defines* the loss. It is not how
// PyTorch *computes* it, for two reasons.
//
// - **Memory.** The composition makes temporaries as large as the logits: `x - m`, then its
//   `exp`. The logits are often a model's largest tensor (a language model's `[8192, 50257]` are
//   1.6 GB), and each temporary is written once and read back once. A kernel that walks each row
//   itself keeps the row in the L1 cache and writes only the `N` losses.
// - **The backward.** Autograd would differentiate the composition node by node: the shift's
//   `sub`, `exp`, `sum`, `log`, the `add` of the shift, `gather` and the last `sub`, seven
//   backward nodes, most of them making an `[N, C]` gradient, to assemble a result that has a
//   one-line formula, `softmax(logits[i]) - onehot(targets[i])` per row.
//
// So the loss is one recorded op, `cross_entropy`, like the binary cross-entropies of part 4:
// a kernel you write, a wrapper (given) that checks and records it, and a backward that module 05
// computes directly from that formula. The composition stays as the reference the tests compare
// with.
//
// **TODO**: In the kernel `native::cross_entropy(logits, targets)`, return the loss of every
// row, `[N]`, reading each row of logits and writing nothing but the losses. The op (below) has
// checked that the logits are `[N, C]` and that every target is a class index in `[0, C)`.
//
// **APPROACH**:
// 1. `x = logits.contiguous()`, `t = targets.contiguous()`; `losses = empty({N})` (module 01:
//    every entry is written below).
// 2. For each row `i`, `row = x.data() + i * C`:
//    - `m` = the row's largest entry; if it is infinite, use 0 instead (as `logsumexp` does).
//    - `sum` = Σ_c `std::exp(row[c] - m)`.
//    - `losses[i] = (m - row[target]) + std::log(sum)`, with `target = static_cast<int64_t>(t[i])`.
// 3. Return `losses`.
//
// **EXAMPLE**:
// ```cpp
// Tensor logits = tensor({{1, 2, 3}, {1, 2, 3}, {0, 0, 0}});
// F::cross_entropy(logits, tensor({2, 0, 1}), Reduction::None)   // tensor([0.4076, 2.4076, 1.0986])
// F::cross_entropy(logits, tensor({2, 0, 1}))                    // tensor(1.3046)
// F::cross_entropy(tensor({{1000, 1000}}), tensor({0}))          // tensor(0.6931): ln 2, no NaN
// F::cross_entropy(tensor({{1000, 0}}), tensor({1}))             // tensor(1000.): not inf
// F::cross_entropy(zeros({5, 10}), tensor({0, 1, 2, 3, 4}))      // ln 10 = tensor(2.3026)
// ```
//
// **HINTS**:
// - `(m - row[target]) + log(sum)`, in that order: for logits near 1000, `m - row[target]` is
//   exact, where `(m + log(sum)) - row[target]` first rounds `1000.69` to the float grid near
//   1000 (steps of 6·10⁻⁵) and loses the small loss's digits.
// - The targets are class **indices**, not one-hot rows: `-(targets * log_softmax(x)).sum(1)`
//   broadcasts `[N]` against `[N, C]` and, when `N == C`, runs and returns garbage.
// - `nll_loss(log_softmax(logits, 1), targets, reduction)` is the same number, and a fine
//   way to check your answer.
// - The last row of the example: when every logit is equal, every class gets probability
//   `1/C` and the loss is `ln C`. Remember that number (part 7).
//
// **SYSTEMS THINKING**: the kernel reads each row twice (its max, then the sum of exps), but
// from the L1 cache: from memory it is one pass over the logits, and no `[N, C]` tensor is made
// (a test counts the floats allocated, and the second demo below measures both). Fused kernels for a vocabulary of
// 50,000 go one step further: an *online* log-sum-exp keeps a running max and rescales the
// running sum, so even a row too long for the cache is read once. And production code fuses the
// last matmul with the loss, in chunks of rows, so that the full logits never exist at all.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  // BEGIN SOLUTION
  const Tensor x = logits.contiguous();
  const Tensor t = targets.contiguous();
  const int64_t rows = x.size(0);
  const int64_t classes = x.size(1);
  Tensor losses = empty({rows});
  const float* scores = x.data();
  const float* picks = t.data();
  float* result = losses.data();
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = scores + i * classes;
    float m = row[0];
    for (int64_t c = 1; c < classes; ++c) m = std::max(m, row[c]);
    if (std::isinf(m)) m = 0.0f;  // all -inf (or a +inf): no inf - inf, as in logsumexp
    float sum = 0.0f;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(row[c] - m);
    result[i] = (m - row[static_cast<int64_t>(picks[i])]) + std::log(sum);
  }
  return losses;
  // END SOLUTION
}

}  // namespace native

namespace nn::functional {

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction) {
  check_classification("cross_entropy", "logits", logits, targets);
  const Tensor losses =
      autograd::record("cross_entropy", {logits, targets}, [&] { return native::cross_entropy(logits, targets); });
  return apply_reduction(losses, reduction);
}

}  // namespace nn::functional

}  // namespace tinytorch

// %%
//| test
#include <atomic>
#include <cmath>

TEST(UnitCrossEntropy, LogSumExpMinusTheTargetLogit) {
  EXPECT_NEAR(logsumexp(tensor({1, 2, 3}), 0).item(), 3.4076059f, 1e-5f);
  EXPECT_EQ(gather(tensor({{10, 11, 12}, {20, 21, 22}}), 1, tensor({{2}, {0}})).to_vector(),
            (std::vector<float>{12, 20}));
  Tensor logits = tensor({{1, 2, 3}, {1, 2, 3}, {0, 0, 0}});
  EXPECT_NEAR(F::cross_entropy(logits, tensor({2, 0, 1})).item(), 1.3046080f, 1e-5f);
  EXPECT_NEAR(F::nll_loss(log_softmax(logits), tensor({2, 0, 1})).item(), 1.3046080f, 1e-5f);
}

TEST(UnitCrossEntropy, FiniteForLogitsOfAThousand) {
  EXPECT_NEAR(F::cross_entropy(tensor({{1000, 1000}}), tensor({0})).item(), 0.6931472f, 1e-4f);
  EXPECT_NEAR(F::cross_entropy(tensor({{1000, 0}}), tensor({1})).item(), 1000.0f, 1e-2f);
}

namespace {

// The largest tensor made while the observer is installed (module 01's allocation hook).
std::atomic<std::size_t> largest_tensor_bytes{0};
void note_allocated(std::size_t bytes) noexcept {
  std::size_t seen = largest_tensor_bytes.load();
  while (bytes > seen && !largest_tensor_bytes.compare_exchange_weak(seen, bytes)) {
  }
}
void note_freed(std::size_t) noexcept {}
const memory::AllocationObserver largest_tensor_observer{&note_allocated, &note_freed};

}  // namespace

TEST(UnitCrossEntropy, MakesNoTemporaryAsLargeAsTheLogits) {
  const Tensor logits = randn({256, 100}, 1);
  const Tensor targets = map(rand({256}, 2), [](float u) { return std::floor(u * 100.0f); });
  const Tensor composed = (logsumexp(logits, 1) - gather(logits, 1, targets.unsqueeze(1)).squeeze(1)).mean();
  struct Observe {
    const memory::AllocationObserver* before = memory::allocation_observer();
    Observe() { memory::set_allocation_observer(&largest_tensor_observer); }
    ~Observe() { memory::set_allocation_observer(before); }
  };
  largest_tensor_bytes = 0;
  Tensor loss;
  {
    Observe watching;
    loss = F::cross_entropy(logits, targets);
  }
  EXPECT_LT(largest_tensor_bytes.load(), 256u * 100u * sizeof(float))
      << "cross_entropy made a tensor as large as the logits [256, 100]: one kernel writes only the 256 losses";
  EXPECT_NEAR(loss.item(), composed.item(), 1e-5f) << "the kernel must give the composition's number";
}

// %% [markdown]
// The textbook cross-entropy, softmax by its definition and then `-log`, next to
// `log(softmax)` with module 02's stable softmax, next to yours. Watch the first column break
// at logits of 100, and the second at a confident mistake.

// %%
//| demo
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace F = tinytorch::nn::functional;
// -log(exp(x[t]) / sum exp(x)): the formula from the textbook, in float.
auto textbook = [](const std::vector<float>& row, int target) {
  float total = 0;
  for (float v : row) total += std::exp(v);
  return -std::log(std::exp(row[static_cast<std::size_t>(target)]) / total);
};
struct Case {
  const char* what;
  std::vector<float> logits;
  int target;
};
const std::vector<Case> cases = {
    {"ordinary logits", {1, 2, 3}, 2},          {"logits near 100", {100, 101, 102}, 2},
    {"logits near 1000", {1000, 1001, 1002}, 2}, {"logits near -1000", {-1000, -1001, -1002}, 0},
    {"confident, wrong (100)", {100, 0, 0}, 1},  {"confident, wrong (1000)", {1000, 0, 0}, 1},
};
std::printf("%-24s %-22s %6s %12s %12s %14s\n", "", "logits", "target", "textbook", "log(softmax)", "cross_entropy");
for (const Case& c : cases) {
  const Tensor row = Tensor(c.logits, {1, 3});
  const float from_softmax = -std::log(softmax(row).to_vector()[static_cast<std::size_t>(c.target)]);
  const float yours = F::cross_entropy(row, tensor({static_cast<float>(c.target)})).item();
  const std::string shown = "[" + std::to_string(static_cast<int>(c.logits[0])) + ", " +
                            std::to_string(static_cast<int>(c.logits[1])) + ", " +
                            std::to_string(static_cast<int>(c.logits[2])) + "]";
  std::printf("%-24s %-22s %6d %12.4f %12.4f %14.4f\n", c.what, shown.c_str(), c.target, textbook(c.logits, c.target),
              from_softmax, yours);
}
std::printf("\nthe true losses: 0.4076 for the first four rows, 100 and 1000 for the confident mistakes\n");

// %% [markdown]
// One kernel against the composition it replaces, on 4096 rows of 1000 classes (16 MB of
// logits): the median time of 5 calls, and the bytes of every tensor each one makes, counted by
// module 01's allocation hook. The composition makes two tensors as large as the logits (`x - m`
// and its `exp`); the kernel makes the 4096 losses, 16 kB.

// %%
//| demo
#include <atomic>
#include <cstdio>

#include <tinytorch/timing.hpp>

namespace F = tinytorch::nn::functional;
const Tensor logits = randn({4096, 1000}, 3);
const Tensor targets = map(rand({4096}, 4), [](float u) { return std::floor(u * 1000.0f); });
static std::atomic<std::size_t> bytes_made{0};
static const memory::AllocationObserver count_bytes{
    [](std::size_t bytes) noexcept { bytes_made += bytes; }, [](std::size_t) noexcept {}};
auto measure = [&](const char* what, auto loss) {
  float value = 0;
  const double ms = 1e3 * timing::median_seconds(5, [&] { value = loss().item(); });
  bytes_made = 0;
  memory::set_allocation_observer(&count_bytes);
  (void)loss();
  memory::set_allocation_observer(nullptr);
  std::printf("%-46s %8.2f ms %9.3f MB made   loss %.5f\n", what, ms, bytes_made.load() / 1e6, value);
};
std::printf("cross-entropy of [4096, 1000] logits (median of 5 calls)\n");
measure("composed: logsumexp(x, 1) - gather(x, 1, t)", [&] {
  return (logsumexp(logits, 1) - gather(logits, 1, targets.unsqueeze(1)).squeeze(1)).mean();
});
measure("one kernel: F::cross_entropy(x, t)", [&] { return F::cross_entropy(logits, targets); });

// %% [markdown]
// ### What loss should an untrained classifier have?
//
// A freshly initialized network outputs logits near 0 for every class, so it gives every
// class probability about `1/C`, and its loss is about `-log(1/C) = ln C`: `ln 10 ≈ 2.303` for
// ten classes. That is the single most useful number for debugging a training run. If the
// first loss you print is 2.30, the pipeline is wired right; if it is 15, your initial logits
// are far too large (the model is confidently wrong before it has seen anything); if it is
// 0.01, the labels leak into the inputs.
//
// The demo measures it on random logits of growing scale: near `ln 10` while the logits are
// small, and growing with their spread.

// %%
//| demo
#include <cmath>
#include <cstdio>

namespace F = tinytorch::nn::functional;
const int64_t rows = 4096;
const Tensor targets = map(rand({rows}, 1), [](float u) { return std::floor(u * 10.0f); });  // classes 0..9
std::printf("a 10-class classifier on %lld random examples; ln 10 = %.4f\n", static_cast<long long>(rows),
            std::log(10.0));
std::printf("%14s %16s %10s\n", "logit scale", "cross-entropy", "accuracy");
for (float scale : {0.001f, 0.01f, 0.1f, 1.0f, 3.0f, 10.0f}) {
  const Tensor logits = randn({rows, 10}, 2) * scale;
  std::printf("%14.3f %16.4f %9.1f%%\n", scale, F::cross_entropy(logits, targets).item(),
              100.0f * F::accuracy(logits, targets));
}
std::printf("(scaling keeps each argmax, so accuracy stays at chance, 10%%; only the loss sees the overconfidence)\n");

// %% [markdown]
// ## Part 4: Binary cross-entropy
//
// With two classes, one output is enough: the probability `p` that the answer is "yes"
// (spam, a cat, the pixel belongs to the object), usually `sigmoid` of a logit. The target
// `y` is 1 or 0 (or a soft label in between), and the loss is the cross-entropy of two
// outcomes:
//
//     bce(p, y) = -( y log p + (1 - y) log(1 - p) )
//
//     p = 0.9, y = 1  ->  -log 0.9 = 0.1054        p = 0.9, y = 0  ->  -log 0.1 = 2.3026
//
// It is element-wise: `p` and `y` have the same shape, any shape (multi-label
// classification predicts one `p` per label).
//
// **The clamp.** At `p = 0` the formula computes `log 0 = -inf`. With `y = 1` the loss is
// `inf`; with `y = 0` it is `0 · (-inf)`, which is `NaN`, for a prediction that is *right*.
// A sigmoid in float reaches exactly 0 or 1 for logits beyond about ±90 (±17 for 1), so this
// happens in practice. PyTorch clamps each log at −100 before multiplying:
//
//     log_p     = max(log p,       -100)
//     log_not_p = max(log(1 - p),  -100)
//     bce       = -( y · log_p + (1 - y) · log_not_p )
//
// −100 is `log(3.7 × 10⁻⁴⁴)`, about the smallest positive float, so the clamp changes nothing
// for any `p` a float can tell from 0, and turns the infinities into a finite 100.
//
// **Why one op, not five.** The forward pass could be composed of `log`, `clamp_min`, `mul`
// and `sub`. Its gradient could not: at `p = 0`, `clamp_min`'s backward passes 0, and `log`'s
// backward divides that by `p`: `0 / 0 = NaN`. So `binary_cross_entropy` is one recorded op
// whose backward module 05 computes directly, as PyTorch does:
// `g · (p − y) / max(p (1 − p), 10⁻¹²)`, finite everywhere.

// %% [markdown]
// ### ⭐⭐ `binary_cross_entropy`, with the clamp
//
// **TODO**: In the kernel `native::binary_cross_entropy(probs, targets)`, return the loss
// of every element, each log clamped at −100. The op (written for you, below) has already
// checked that the shapes are equal and every probability lies in `[0, 1]`.
//
// **APPROACH**:
// 1. `return map_pairs(probs, targets, [](float p, float y) { ... });`
// 2. In the lambda: `log_p = std::max(std::log(p), -100.0f)`,
//    `log_not_p = std::max(std::log1p(-p), -100.0f)`.
// 3. Return `-(y * log_p + (1.0f - y) * log_not_p)`.
//
// **EXAMPLE**:
// ```cpp
// F::binary_cross_entropy(tensor({0.9f, 0.2f, 0.5f}), tensor({1, 0, 1}), Reduction::None)
//     // tensor([0.1054, 0.2231, 0.6931])
// F::binary_cross_entropy(tensor({0, 0, 1, 1}), tensor({0, 1, 0, 1}), Reduction::None)
//     // tensor([  0., 100., 100.,   0.])   never inf, never NaN
// ```
//
// **HINTS**:
// - Clamp **before** multiplying: `y * max(log p, -100)`, never `max(y * log p, -100)`, whose
//   `0 * -inf` is already `NaN`.
// - `std::log1p(-p)` is `log(1 - p)` without first rounding `1 - p`: for `p = 10⁻⁸`, `1 - p`
//   is exactly 1 in float and `log(1 - p)` is 0, while `log1p(-p)` gives `-10⁻⁸`.
// - `std::max(std::log(0.0f), -100.0f)` is −100: `-inf` compares like any number.
//
// **SYSTEMS THINKING**: the clamp caps the loss of a hopeless prediction at 100, and with it
// the pressure to fix it: a network that outputs `p = 0` for a positive example is told
// "100" whether its logit was −200 or −2000. Part 4's second exercise removes the cap by never
// forming `p` at all.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& targets) {
  // BEGIN SOLUTION
  return map_pairs(probs, targets, [](float p, float y) {
    const float log_p = std::max(std::log(p), -100.0f);        // clamped before it meets y:
    const float log_not_p = std::max(std::log1p(-p), -100.0f);  // 0 * -100 is 0, 0 * -inf is NaN
    return -(y * log_p + (1.0f - y) * log_not_p);
  });
  // END SOLUTION
}

}  // namespace native

namespace nn::functional {

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& targets, Reduction reduction) {
  check_same_shape("binary_cross_entropy", probs, targets);
  {
    autograd::PauseRecording checks_are_not_computation;
    const std::vector<float> values = probs.to_vector();
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!(values[i] >= 0.0f && values[i] <= 1.0f)) {
        throw std::invalid_argument("binary_cross_entropy(): probabilities must lie in [0, 1], got " +
                                    number_str(values[i]) + " at position " +
                                    position_str(static_cast<int64_t>(i), probs.shape()) +
                                    "; for raw scores (logits) use binary_cross_entropy_with_logits");
      }
    }
  }
  const Tensor losses = autograd::record("binary_cross_entropy", {probs, targets},
                                         [&] { return native::binary_cross_entropy(probs, targets); });
  return apply_reduction(losses, reduction);
}

}  // namespace nn::functional

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `binary_cross_entropy_with_logits`: never form `p`
//
// Most binary classifiers end in a logit `x` and compute `p = sigmoid(x)` only for the loss.
// Put the sigmoid inside the formula and simplify: `log sigmoid(x) = -log(1 + e⁻ˣ)` and
// `log(1 - sigmoid(x)) = -x - log(1 + e⁻ˣ)`, so
//
//     bce(sigmoid(x), y) = (1 - y) x + log(1 + e⁻ˣ)
//
// No `log 0` any more, but `e⁻ˣ` overflows for `x = -1000`. For negative `x`, the same
// algebra with `e⁺ˣ` instead gives `-x y + log(1 + eˣ)`, and the two cases meet in one line,
// the stable form:
//
//     bce_with_logits(x, y) = max(x, 0) - x y + log(1 + e^(-|x|))
//
// `e^(-|x|)` is in `(0, 1]` for every `x`: nothing overflows, nothing is clamped, and the loss
// of a confident mistake keeps growing (1000 for `x = -1000, y = 1`, where BCE of the sigmoid
// stops at 100).
//
// **Why one op.** Composed of `clamp_min`, `mul`, `abs`, `exp` and `log`, the forward would be
// right and the gradient wrong at `x = 0`, exactly where a zero-initialized output layer
// starts: `abs`'s derivative at 0 is 0 and `clamp_min`'s is 1, so autograd would give
// `1 - y` instead of the true `sigmoid(0) - y = 0.5 - y`. And it would make seven temporaries
// for one loss. As one op, its backward is the simplest there is: `g · (sigmoid(x) − y)`.
//
// **TODO**: In the kernel `native::binary_cross_entropy_with_logits(logits, targets)`, return
// the stable form for every element (the op, below, checked the shapes).
//
// **APPROACH**:
// 1. `return map_pairs(logits, targets, [](float x, float y) { ... });`
// 2. Return `std::max(x, 0.0f) - x * y + std::log1p(std::exp(-std::fabs(x)))`.
//
// **EXAMPLE**:
// ```cpp
// F::binary_cross_entropy_with_logits(tensor({0, 2, -2}), tensor({1, 0, 1}), Reduction::None)
//     // tensor([0.6931, 2.1269, 2.1269])
// F::binary_cross_entropy_with_logits(tensor({-1000, 1000}), tensor({1, 1}), Reduction::None)
//     // tensor([1000.,    0.])
// ```
//
// **HINTS**:
// - The textbook `x - x y + log(1 + exp(-x))` is right for `x ≥ 0` only; `exp(1000)` for
//   `x = -1000` is `inf`. Test both signs.
// - `std::log1p(e)` is `log(1 + e)` without rounding `1 + e` first; it keeps the small
//   losses of confident right answers (`x = 20, y = 1` gives `2.06 × 10⁻⁹`, not 0).
//
// **SYSTEMS THINKING**: module 02's stable sigmoid chose its formula by the sign of `x`;
// here `max` and `|x|` do the same without a branch, so the loop compiles to straight-line
// SIMD code. This is also why PyTorch recommends `BCEWithLogitsLoss` over `Sigmoid` +
// `BCELoss`: more accurate, no clamp, and one pass over memory instead of two.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  // BEGIN SOLUTION
  return map_pairs(logits, targets, [](float x, float y) {
    return std::max(x, 0.0f) - x * y + std::log1p(std::exp(-std::fabs(x)));  // exp of a number <= 0 only
  });
  // END SOLUTION
}

}  // namespace native

namespace nn::functional {

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction) {
  check_same_shape("binary_cross_entropy_with_logits", logits, targets);
  const Tensor losses = autograd::record("binary_cross_entropy_with_logits", {logits, targets},
                                         [&] { return native::binary_cross_entropy_with_logits(logits, targets); });
  return apply_reduction(losses, reduction);
}

}  // namespace nn::functional

}  // namespace tinytorch

// %%
//| test
TEST(UnitBinaryCrossEntropy, ClampedAtZeroAndOne) {
  EXPECT_EQ(F::binary_cross_entropy(tensor({0, 0, 1, 1}), tensor({0, 1, 0, 1}), Reduction::None).to_vector(),
            (std::vector<float>{0, 100, 100, 0}));
  EXPECT_NEAR(F::binary_cross_entropy(tensor({0.9f}), tensor({1})).item(), 0.1053605f, 1e-6f);
}

TEST(UnitBinaryCrossEntropy, WithLogitsIsStableBothWays) {
  const std::vector<float> losses =
      F::binary_cross_entropy_with_logits(tensor({-1000, 1000, 0}), tensor({1, 1, 1}), Reduction::None).to_vector();
  EXPECT_NEAR(losses[0], 1000.0f, 1e-3f);
  EXPECT_NEAR(losses[1], 0.0f, 1e-6f);
  EXPECT_NEAR(losses[2], 0.6931472f, 1e-6f);
}

// %% [markdown]
// The textbook BCE next to yours, at the probabilities where it breaks, and the two ways to
// score a logit: sigmoid then BCE (clamped at 100) and BCE with logits (never clamped).

// %%
//| demo
#include <cmath>
#include <cstdio>

namespace F = tinytorch::nn::functional;
auto textbook = [](float p, float y) { return -(y * std::log(p) + (1 - y) * std::log(1 - p)); };
std::printf("%10s %4s %12s %22s\n", "p", "y", "textbook", "binary_cross_entropy");
for (float p : {0.5f, 1e-8f, 0.0f, 1.0f}) {
  for (float y : {0.0f, 1.0f}) {
    std::printf("%10.0e %4.0f %12.4f %22.4f\n", p, y, textbook(p, y),
                F::binary_cross_entropy(tensor({p}), tensor({y})).item());
  }
}
std::printf("\n%8s %4s %22s %22s %28s\n", "logit x", "y", "log(1+exp(-x))+x(1-y)", "BCE of sigmoid(x)",
            "binary_cross_entropy_with_logits");
for (float x : {-1000.0f, -20.0f, 0.0f, 20.0f, 1000.0f}) {
  const float y = 1.0f;
  const float naive = std::log(1 + std::exp(-x)) + x * (1 - y);
  std::printf("%8.0f %4.0f %22.4f %22.4f %28.4f\n", x, y, naive,
              F::binary_cross_entropy(sigmoid(tensor({x})), tensor({y})).item(),
              F::binary_cross_entropy_with_logits(tensor({x}), tensor({y})).item());
}

// %% [markdown]
// ## Part 5: Predictions and accuracy
//
// The loss is what training minimizes; **accuracy** is what people ask about: the fraction
// of examples whose predicted class, the **argmax** of the row, is the target.
//
// ### ⭐⭐ `argmax`
//
// `argmax(x, axis)` is a reduction like module 01's `max(axis)`, except that it returns
// *where* the maximum is, not what it is. Two rules, both PyTorch's:
//
// - **Ties go to the first.** `argmax([1, 3, 3]) = 1`. An untrained model often outputs
//   equal scores; a consistent rule keeps accuracy reproducible.
// - **NaN wins.** A `NaN` in a row is reported as its argmax (the first `NaN`), so a broken
//   model does not look like one that predicts class 0. Every comparison with NaN is false,
//   so the plain `v > best` loop would skip it; test for it explicitly.
//
// Indices have no gradient, so `argmax` is not a recorded op: the op (written for you)
// pauses recording, and its result never requires grad.
//
// **TODO**: In the kernel `native::argmax(x, axis, keepdim)`, return the position of the
// first maximum of every slice along `axis`, as floats. The op has checked `axis` (and made it
// non-negative) and that the axis is not empty.
//
// **APPROACH**:
// 1. `in = x.contiguous()`; `outer`, `n`, `inner` around `axis`, as in `reduce_dim`.
// 2. `out_shape` = the shape with a 1 at `axis`; `out = zeros(out_shape)`.
// 3. For each `o` and `i`: start with `best = 0` and its value `in[(o * n) * inner + i]`;
//    for `k = 1 .. n-1`, take `v = in[(o * n + k) * inner + i]` and move `best` to `k` when
//    `v > best_value`, or when `v` is NaN and `best_value` is not.
//    Write `static_cast<float>(best)` into `out[o * inner + i]`.
// 4. Without `keepdim`, view `out` without the axis (`out_shape.erase(...)`).
//
// **EXAMPLE**:
// ```cpp
// argmax(tensor({{1, 3, 3}, {7, 2, 7}}), 1)          // tensor([1., 0.])   first of the ties
// argmax(tensor({{1, 3, 3}, {7, 2, 7}}), 0)          // tensor([1., 0., 0.])
// argmax(tensor({{1, 3}, {7, 2}}), 1, true)          // shape [2, 1]
// argmax(tensor({2, NAN, 5}), 0)                     // tensor(1.)
// ```
//
// **HINTS**:
// - `>` (strict) keeps the first of equal values; `>=` would move to the last.
// - `std::isnan(v)` is the test for NaN; `v == v` is false only for NaN, but says less.
// - `argmin` (written for you) is `argmax` of `-x`: negation is exact and keeps ties and NaN.
//
// **SYSTEMS THINKING**: the index is exact as a float only below 2²⁴. That is plenty for
// classes, but an argmax over the 25 million pixels of a large image batch, flattened, would
// return wrong positions. That is why PyTorch's indices are `int64`; our course keeps one
// dtype and says where it ends.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
  // BEGIN SOLUTION
  const Tensor in = x.contiguous();
  const Shape& shape = in.shape();
  const auto d = static_cast<std::size_t>(axis);
  int64_t outer = 1;
  for (std::size_t j = 0; j < d; ++j) outer *= shape[j];
  const int64_t n = shape[d];
  int64_t inner = 1;
  for (std::size_t j = d + 1; j < shape.size(); ++j) inner *= shape[j];

  Shape out_shape = shape;
  out_shape[d] = 1;
  Tensor out = zeros(out_shape);
  const float* values = in.data();
  float* result = out.data();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      float best_value = values[o * n * inner + i];
      for (int64_t k = 1; k < n; ++k) {
        const float v = values[(o * n + k) * inner + i];
        if (v > best_value || (std::isnan(v) && !std::isnan(best_value))) {  // strict: the first tie stays
          best = k;
          best_value = v;
        }
      }
      result[o * inner + i] = static_cast<float>(best);
    }
  }
  if (keepdim) return out;
  out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(d));
  return out.view(out_shape);
  // END SOLUTION
}

}  // namespace native

namespace {
// The checks argmax and argmin share; returns the non-negative axis.
int64_t check_arg_reduction(const char* fn, const Tensor& x, int64_t axis) {
  const int64_t d = wrap_axis(x, axis);
  if (x.size(d) == 0) {
    throw ShapeError(std::string(fn) + "(): cannot reduce dimension " + std::to_string(axis) +
                     " of size 0 in shape " + shape_str(x.shape()) + ": an empty slice has no largest element");
  }
  return d;
}
}  // namespace

Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
  const int64_t d = check_arg_reduction("argmax", x, axis);
  autograd::PauseRecording indices_have_no_gradient;
  return native::argmax(x, d, keepdim);
}

Tensor argmin(const Tensor& x, int64_t axis, bool keepdim) {
  const int64_t d = check_arg_reduction("argmin", x, axis);
  autograd::PauseRecording indices_have_no_gradient;
  return native::argmax(-x, d, keepdim);
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `accuracy`
//
// **TODO**: After the given check, return the fraction of rows whose argmax equals the
// target, and throw a `ShapeError` for an empty batch.
//
// **APPROACH**:
// 1. `N = logits.size(0)`. If it is 0, throw `ShapeError` naming the shape: `0 / 0` would be
//    NaN, and NaN in a log looks like a broken model rather than an empty batch.
// 2. `predicted = argmax(logits, 1).to_vector()`, `wanted = targets.to_vector()`.
// 3. Count the positions where they are equal; return `count / N` as a `float`.
//
// **EXAMPLE**:
// ```cpp
// Tensor logits = tensor({{2, 1, 0}, {0, 3, 1}, {1, 0, 4}, {5, 0, 0}});
// F::accuracy(logits, tensor({0, 1, 2, 2}))   // 0.75: the last row predicts 0
// F::accuracy(zeros({2, 3}), tensor({0, 1}))  // 0.5: ties go to class 0
// F::accuracy(zeros({0, 3}), zeros({0}))      // ShapeError: an empty batch has no accuracy
// ```
//
// **HINTS**:
// - Comparing the floats with `==` is exact here: both are whole numbers below 2²⁴.
// - Count in an integer and divide once at the end, in `double`, then convert.
//
// **SYSTEMS THINKING**: to report the accuracy of a dataset, add up the *counts* of every
// batch and divide once. Averaging the accuracies of batches weights a last, smaller batch as
// much as a full one: with 10,000 test images in batches of 128, the last batch has 16.

// %%
//| export impl
namespace tinytorch::nn::functional {

float accuracy(const Tensor& logits, const Tensor& targets) {
  check_classification("accuracy", "logits", logits, targets);
  // BEGIN SOLUTION
  const int64_t rows = logits.size(0);
  if (rows == 0) {
    throw ShapeError("accuracy(): logits of shape " + shape_str(logits.shape()) +
                     " hold an empty batch, which has no accuracy (0 correct out of 0)");
  }
  const std::vector<float> predicted = argmax(logits, 1).to_vector();
  const std::vector<float> wanted = targets.to_vector();
  int64_t correct = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    if (predicted[i] == wanted[i]) ++correct;
  }
  return static_cast<float>(static_cast<double>(correct) / static_cast<double>(rows));
  // END SOLUTION
}

}  // namespace tinytorch::nn::functional

// %%
//| test
TEST(UnitArgmax, FirstOfTiedMaxima) {
  EXPECT_EQ(argmax(tensor({{1, 3, 3}, {7, 2, 7}}), 1).to_vector(), (std::vector<float>{1, 0}));
  EXPECT_EQ(argmin(tensor({{1, 3, 1}, {7, 2, 2}}), 1).to_vector(), (std::vector<float>{0, 1}));
}

TEST(UnitAccuracy, FractionOfRowsPredictedRight) {
  Tensor logits = tensor({{2, 1, 0}, {0, 3, 1}, {1, 0, 4}, {5, 0, 0}});
  EXPECT_EQ(F::accuracy(logits, tensor({0, 1, 2, 2})), 0.75f);
}

// %% [markdown]
// Accuracy and loss measure different things. Accuracy only asks whether the right class
// came first; the loss asks how much probability it got. Four hand-made batches of four
// examples (targets `[0, 1, 2, 0]`) show them disagree.

// %%
//| demo
#include <cstdio>

namespace F = tinytorch::nn::functional;
const Tensor targets = tensor({0, 1, 2, 0});
struct Batch {
  const char* what;
  Tensor logits;
};
const Batch batches[] = {
    {"confident and right", tensor({{5, 0, 0}, {0, 5, 0}, {0, 0, 5}, {5, 0, 0}})},
    {"right, barely", tensor({{0.1f, 0, 0}, {0, 0.1f, 0}, {0, 0, 0.1f}, {0.1f, 0, 0}})},
    {"one confident mistake", tensor({{5, 0, 0}, {0, 5, 0}, {0, 0, 5}, {0, 10, 0}})},
    {"wrong, barely", tensor({{0, 0.1f, 0}, {0, 0, 0.1f}, {0.1f, 0, 0}, {0, 0.1f, 0}})},
};
std::printf("%-24s %9s %15s\n", "batch", "accuracy", "cross-entropy");
for (const Batch& b : batches) {
  std::printf("%-24s %8.0f%% %15.4f\n", b.what, 100.0f * F::accuracy(b.logits, targets),
              F::cross_entropy(b.logits, targets).item());
}
std::printf("per-row losses of 'one confident mistake': ");
std::cout << F::cross_entropy(batches[2].logits, targets, nn::Reduction::None) << "\n";

// %% [markdown]
// ## Part 6: Loss objects (written for you)
//
// libtorch offers each loss twice: as a function (`torch::nn::functional::cross_entropy`)
// and as an object that holds its options (`torch::nn::CrossEntropyLoss`), which a training
// loop can be handed and call like a function. Here are ours. Module 03's `nn::Module` is
// not used: it is written in parallel with this module, and a loss has no parameters, so each
// is a small class holding its `Reduction`, with `forward(input, target)` and
// `operator()`, made from one template.
//
// ```cpp
// nn::CrossEntropyLoss criterion;                       // reduction mean
// Tensor loss = criterion(logits, targets);             // same as F::cross_entropy(logits, targets)
// nn::MSELoss summed(nn::Reduction::Sum);
// ```

// %%
//| export
namespace tinytorch::nn {

namespace detail {
// A loss function held with its reduction: what every loss object is.
template <Tensor (*Loss)(const Tensor&, const Tensor&, Reduction)>
class LossObject {
 public:
  explicit LossObject(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
  // The loss of `input` (the model's output) against `target`.
  Tensor forward(const Tensor& input, const Tensor& target) const { return Loss(input, target, reduction_); }
  Tensor operator()(const Tensor& input, const Tensor& target) const { return forward(input, target); }
  Reduction reduction() const { return reduction_; }

 private:
  Reduction reduction_;
};
}  // namespace detail

// functional::mse_loss as an object.
class MSELoss : public detail::LossObject<functional::mse_loss> {
 public:
  using LossObject::LossObject;
};
// functional::nll_loss as an object.
class NLLLoss : public detail::LossObject<functional::nll_loss> {
 public:
  using LossObject::LossObject;
};
// functional::cross_entropy as an object: logits [N, C], class indices [N].
class CrossEntropyLoss : public detail::LossObject<functional::cross_entropy> {
 public:
  using LossObject::LossObject;
};
// functional::binary_cross_entropy as an object: probabilities and targets of one shape.
class BCELoss : public detail::LossObject<functional::binary_cross_entropy> {
 public:
  using LossObject::LossObject;
};
// functional::binary_cross_entropy_with_logits as an object.
class BCEWithLogitsLoss : public detail::LossObject<functional::binary_cross_entropy_with_logits> {
 public:
  using LossObject::LossObject;
};

}  // namespace tinytorch::nn

// %%
//| test
TEST(UnitLossObjects, CallTheFunctionsWithTheirReduction) {
  Tensor logits = tensor({{1, 2, 3}, {0, 0, 0}});
  Tensor targets = tensor({2, 1});
  EXPECT_EQ(nn::CrossEntropyLoss()(logits, targets).item(), F::cross_entropy(logits, targets).item());
  EXPECT_EQ(nn::CrossEntropyLoss(Reduction::None).forward(logits, targets).shape(), (Shape{2}));
  EXPECT_EQ(nn::MSELoss(Reduction::Sum)(ones({3}), zeros({3})).item(), 3.0f);
}

// %% [markdown]
// ## Part 7: What a loss value means
//
// Three curves, each a prediction swept from wrong to right.
//
// 1. **Cross-entropy and MSE of a classifier.** The true class gets probability `p`, the
//    other class `1 - p`, and `p` goes from 0.01 (wrong) to 0.99 (right). Cross-entropy is
//    `-ln p`: steep and unbounded on the wrong side. MSE against the one-hot target is
//    `(1 - p)²`, which never exceeds 1, so a confidently wrong classifier trained with MSE
//    gets little push (worse: behind a sigmoid, its gradient vanishes).
// 2. **BCE of a positive example near p = 0**, on a log scale: `-ln p` grows by 2.3 per
//    decade, until the clamp stops it at 100, where `p` reaches about 10⁻⁴³.

// %%
//| demo
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace F = tinytorch::nn::functional;
// Curves y(x) as a 61 x 15 character plot, one mark per curve, the y range on the left.
auto plot = [](const std::vector<float>& xs, const std::vector<std::vector<float>>& curves, const std::string& marks,
               const char* x_label) {
  const int width = 61, height = 15;
  float lo = 0, hi = 0;
  for (const auto& ys : curves) {
    for (float y : ys) lo = std::min(lo, y), hi = std::max(hi, y);
  }
  std::vector<std::string> grid(height, std::string(width, ' '));
  for (std::size_t c = 0; c < curves.size(); ++c) {
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const auto col = static_cast<int>(std::lround((xs[i] - xs.front()) / (xs.back() - xs.front()) * (width - 1)));
      const auto row = static_cast<int>(std::lround((hi - curves[c][i]) / (hi - lo) * (height - 1)));
      grid[static_cast<std::size_t>(row)][static_cast<std::size_t>(col)] = marks[c];
    }
  }
  for (int r = 0; r < height; ++r) {
    const char* line = grid[static_cast<std::size_t>(r)].c_str();
    if (r % 7 == 0) {  // the top, middle and bottom rows carry their y value
      std::printf("%8.2f |%s\n", hi - (hi - lo) * static_cast<float>(r) / (height - 1), line);
    } else {
      std::printf("         |%s\n", line);
    }
  }
  std::printf("         +%s\n          %-8.3g%*s%8.3g   %s\n", std::string(width, '-').c_str(), xs.front(), width - 16,
              "", xs.back(), x_label);
};

std::vector<float> ps, ce, mse;
for (int i = 0; i <= 60; ++i) {
  const float p = 0.01f + 0.98f * static_cast<float>(i) / 60;
  ps.push_back(p);
  const Tensor probs = tensor({{p, 1 - p}});
  ce.push_back(F::cross_entropy(log(probs), tensor({0})).item());  // log-probabilities are logits too
  mse.push_back(F::mse_loss(probs, tensor({{1, 0}})).item());
}
std::printf("cross-entropy (*) and MSE (o) of a two-class prediction; x: probability of the true class\n");
plot(ps, {ce, mse}, "*o", "p(true class)");

std::vector<float> decades, bce;
for (int i = 0; i <= 60; ++i) {
  const float e = -45.0f + 45.0f * static_cast<float>(i) / 60;  // p from 1e-45 to 1
  decades.push_back(e);
  bce.push_back(F::binary_cross_entropy(tensor({std::pow(10.0f, e)}), tensor({1})).item());
}
std::printf("\nBCE of a positive example (y = 1); x: log10 of the predicted probability p\n");
plot(decades, {bce}, "*", "log10 p");
std::printf("BCE at p = 0: %.1f (the clamp); at p = 1e-30: %.2f\n",
            F::binary_cross_entropy(tensor({0}), tensor({1})).item(),
            F::binary_cross_entropy(tensor({1e-30f}), tensor({1})).item());

// %% [markdown]
// ### A baseline on real data
//
// Before a model looks at a single pixel, it can already predict the **class frequencies**:
// the same probabilities for every image, learned by counting the training labels. Its
// cross-entropy on the test set is the baseline every real model must beat, and its accuracy
// is that of always answering the most frequent class.
//
// The demo reads the real Fashion-MNIST labels from the `tito data` cache, with a few lines
// of IDX reading written here (module 08 writes the real reader). If they are not there, it
// says which command imports them:
//
//     tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist
//
// Fashion-MNIST turns out to be perfectly balanced (6000 training images of each class), so
// the frequency model is the uniform one: its loss is exactly `ln 10`, the loss of the
// untrained classifier above, and its accuracy 10%. A frequency model estimated from only the
// first 100 training labels is a little wrong about the frequencies, and cross-entropy
// charges for that.

// %%
//| demo
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <tinytorch/course.hpp>

namespace F = tinytorch::nn::functional;
namespace fs = std::filesystem;
// The cache: $TITO_DATA_DIR, else data/cache/ of the course the library was configured from.
auto fashion_mnist_dir = []() -> fs::path {
  if (const char* env = std::getenv("TITO_DATA_DIR"); env != nullptr && *env != '\0') {
    return fs::path(env) / "fashion-mnist" / "idx";
  }
  return fs::path(tinytorch::course::root()) / "data" / "cache" / "fashion-mnist" / "idx";  // not __FILE__: tito maps it
};
// An IDX label file: magic 0x00000801, a big-endian count, then one byte per label.
auto read_labels = [](const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  unsigned char header[8] = {};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  auto be32 = [&](int at) {
    return uint32_t{header[at]} << 24 | uint32_t{header[at + 1]} << 16 | uint32_t{header[at + 2]} << 8 |
           uint32_t{header[at + 3]};
  };
  if (!in || be32(0) != 0x801) throw std::runtime_error(file.string() + ": not an IDX label file");
  std::vector<unsigned char> bytes(be32(4));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    throw std::runtime_error(file.string() + ": truncated");
  }
  return std::vector<float>(bytes.begin(), bytes.end());
};
const fs::path dir = fashion_mnist_dir();
if (!fs::exists(dir / "train-labels-idx1-ubyte") || !fs::exists(dir / "t10k-labels-idx1-ubyte")) {
  std::printf("Fashion-MNIST is not in the cache (%s); import it with\n"
              "  tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist\n",
              dir.string().c_str());
} else {
  const std::vector<float> train = read_labels(dir / "train-labels-idx1-ubyte");
  const std::vector<float> test = read_labels(dir / "t10k-labels-idx1-ubyte");
  const char* names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  // Log-frequencies of the first `count` training labels, add-one smoothed, as a row of logits.
  auto frequency_model = [&](std::size_t count) {
    std::vector<float> counts(10, 1.0f);
    for (std::size_t i = 0; i < count; ++i) counts[static_cast<std::size_t>(train[i])] += 1;
    std::vector<float> logits;
    for (float c : counts) logits.push_back(std::log(c / static_cast<float>(count + 10)));
    return Tensor(logits, {1, 10});
  };
  const Tensor targets = Tensor(test, {static_cast<int64_t>(test.size())});
  std::printf("%zu training labels, %zu test labels; training images per class:\n", train.size(), test.size());
  std::vector<int> per_class(10, 0);
  for (float label : train) ++per_class[static_cast<std::size_t>(label)];
  for (int k = 0; k < 10; ++k) {
    std::printf("  %d %-12s %5d %s\n", k, names[k], per_class[k], std::string(per_class[k] / 200, '#').c_str());
  }
  std::printf("\n%-44s %14s %9s\n", "model (same prediction for every test image)", "test loss", "accuracy");
  for (std::size_t count : {train.size(), std::size_t{100}}) {
    const Tensor logits = frequency_model(count).expand({targets.size(0), 10});
    const std::string name = "class frequencies of " + std::to_string(count) + " training labels";
    std::printf("%-44s %14.4f %8.1f%%\n", name.c_str(), F::cross_entropy(logits, targets).item(),
                100.0f * F::accuracy(logits, targets));
  }
  std::printf("%-44s %14.4f\n", "ln 10", std::log(10.0));
}

// %% [markdown]
// ## Summary
//
// You wrote the losses every later module trains with:
//
// - **reductions** (`Reduction::Mean`, the default, `Sum`, `None`), and why the mean keeps
//   the learning rate independent of the batch size;
// - **mean squared error**, which refuses to broadcast `[N, 1]` against `[N]`;
// - **log-sum-exp** with the max shift, and from it **cross-entropy from logits**, finite and
//   right for logits of ±1000, where softmax-then-log gives `NaN` or `inf`: composed from
//   tensor ops first, then as one kernel that makes no temporary as large as the logits;
// - **`gather`**, a new op that picks one entry per row for the price of one read, and
//   **negative log-likelihood** on top of it;
// - **binary cross-entropy** with PyTorch's clamp at −100, and the stable
//   **BCE from logits**, `max(x, 0) − x y + log(1 + e^(−|x|))`;
// - **argmax** (first of ties, NaN wins), `argmin`, and **accuracy**, which counts what the
//   loss weighs;
// - what the numbers mean: `ln C` for an untrained classifier, and a class-frequency
//   baseline on real labels.
//
// Every loss is made of recorded ops, four of them new (`gather`, `cross_entropy`,
// `binary_cross_entropy`, `binary_cross_entropy_with_logits`), and each new op has a row in
// the op table of `modules/README.md` saying what its backward computes.
//
// **A milestone unlocks.** With losses and accuracy done, the course's first milestone, the
// **perceptron (1957)**, can run: a single-layer perceptron that separates two real
// Fashion-MNIST classes, trained with Rosenblatt's rule (add the misclassified input to the
// weights, subtract it for the other class), which needs no gradients at all. It measures
// itself with your `accuracy`.
//
// ## Reflect
//
// Answer each with an estimate first, then measure it.
//
// 1. A classifier for the 1000 classes of ImageNet has just been initialized. **Estimate** its
//    first loss. **Measure**: `F::cross_entropy(randn({256, 1000}, 1) * 0.01f, targets)` with
//    random targets. What would a first loss of 40 tell you?
// 2. **Estimate** the largest logit `x` for which the textbook cross-entropy of `[x, 0]`
//    (softmax by its definition, then `-log`) is still finite in float. **Measure** it by
//    bisection with the textbook lambda of the first demo. Where does the number come from?
// 3. BCE clamps `log p` at −100. **Estimate** how many examples with `p = 10⁻¹⁰` (and
//    `y = 1`) contribute as much to a summed loss as one example with `p = 0`. **Measure**
//    with `F::binary_cross_entropy(..., Reduction::Sum)`.
// 4. A language model predicts 50,257 classes for 8 sequences of 1024 tokens. **Estimate** the
//    bytes of its logits, of one-hot targets, and of index targets. **Measure** on a version
//    100 times smaller (`numel() * 4`), and scale up.
// 5. Switch a training run from `Reduction::Mean` to `Reduction::Sum` at batch size 128.
//    **Estimate** how the loss (and so the size of every gradient step) changes, and what
//    learning rate keeps the steps as they were. **Measure** the ratio of the two losses on one
//    batch.
// 6. Build a batch whose accuracy goes *up* while its cross-entropy also goes *up*, compared
//    with another batch. **Estimate** first how large one confident mistake must be to
//    outweigh the rest; then **measure** with the accuracy-versus-loss demo.
//
// Next: module 05, autograd. It gives every op in the op table a backward, `gather` and the
// three cross-entropies included, and then `loss.backward()` on the losses you wrote here
// fills in the gradient of every weight, without a line of this module changing.
