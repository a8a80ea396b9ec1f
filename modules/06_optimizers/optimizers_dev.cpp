// %% [markdown]
// # Module 06: Optimizers
//
// Autograd (module 05) gives every parameter its gradient: the direction in which the loss
// rises fastest. Training moves every parameter a small step the other way, and repeats:
//
//     w  ←  w − lr · ∂loss/∂w            (lr: the learning rate, the size of the step)
//
// That line is **gradient descent**. The optimizers every network is trained with are
// refinements of it: **momentum** remembers the direction of past steps and keeps rolling,
// **Adam** gives every single weight a step size of its own, **weight decay** pulls the weights
// towards zero so the network does not lean on a few huge ones. An **optimizer** is the object
// that does this for all of a model's parameters at once, remembers what each rule needs
// between steps, and leaves the model's own tensors updated in place:
//
// ```cpp
// optim::SGD optimizer(parameters, optim::SGDOptions(0.1).momentum(0.9));
// for (int step = 0; step < steps; ++step) {
//   optimizer.zero_grad();          // forget the last step's gradients
//   Tensor loss = compute_loss();   // forward pass (recorded by autograd)
//   loss.backward();                // every parameter gets its .grad()
//   optimizer.step();               // every parameter moves, in place
// }
// ```
//
// `parameters` is a `std::vector<Tensor>` of leaves that require grad: a weight you made with
// `randn(...).requires_grad_()`, or, from module 03 on, what `model->parameters()` returns.
//
// The names are libtorch's (`torch::optim::SGD`, `SGDOptions`, `Adam`, `AdamW`, `StepLR`,
// `torch::nn::utils::clip_grad_norm_`), and the update rules are PyTorch's **to the letter**:
// where the momentum buffer starts, where weight decay enters, which `ε` is added where. A
// student who trains a model here and in PyTorch with the same numbers gets the same weights,
// and the tests check several steps of every optimizer against PyTorch's formulas in double
// precision.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | the `Optimizer` base: parameters, learning rate, checks | `zero_grad` |
// | 2 | SGD: weight decay, momentum, Nesterov momentum | `SGD::step`, `SGD::momentum_update` |
// | 3 | Adam: moments, bias correction | `adam_bias_correction`, `adam_update` |
// | 4 | AdamW: decoupled weight decay | `AdamW::step` |
// | 5 | learning-rate schedules | `StepLR::lr_at`, `CosineAnnealingLR::lr_at` |
// | 6 | gradient clipping | `get_total_norm`, `clip_grad_norm_` |
//
// Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module.
//
// After each function, run `tito test optimizers`; `tito module run optimizers` shows the
// demos: four optimizers racing down the Rosenbrock valley, learning rates that crawl and
// diverge, the schedules as curves, Adam's memory, and clipping taming an exploding gradient.

// %%
//| default_exp core/optim

// %%
//| export
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <tinytorch/core/autograd.hpp>

// %%
//| export impl
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

// %% [markdown]
// ## Part 1: The optimizer (mostly written for you)
//
// An optimizer holds **handles** to the parameters (module 01: copying a `Tensor` copies a
// pointer, never the numbers). The model holds handles to the same tensors, so when the
// optimizer writes into a parameter's storage, the model sees the new weights at its next
// forward pass. That is why an update must be **in place**: `w = w - lr * g` makes a *new*
// tensor and points one handle at it; the model's handle still points at the old weights, and
// nothing learns.
//
// Three more things every optimizer does, whatever its rule:
//
// - **It is not recorded.** The update is bookkeeping, not part of the next step's loss, so it
//   runs under `NoGradGuard` (module 05, part 6). Without it, module 01 refuses an in-place
//   change of a tensor that requires grad, and an out-of-place one would give the parameter a
//   `grad_fn`: it would no longer be a leaf.
// - **It skips a parameter without a gradient.** A parameter that took no part in this loss
//   (a frozen layer, an embedding row nobody looked up) has an undefined `.grad()` and is not
//   touched, as in PyTorch.
// - **It checks what it is given.** Our updates run on raw pointers over contiguous memory
//   (part 2 explains why), so a parameter that is a view (`w.t()`) or a gradient of the wrong
//   shape is an error that names the parameter, never a silent scramble of the weights.
//
// The learning rate lives in the optimizer, with a getter and a setter: a schedule (part 5)
// changes it between epochs. Each optimizer also keeps **per-parameter state** (SGD's velocity,
// Adam's moving averages): one entry per parameter, in the order the parameters were given.
//
// Options use libtorch's builder style: `SGDOptions(0.1).momentum(0.9)` sets a value and
// returns the options, so setters chain; `options.momentum()` reads it. libtorch writes each
// option with a macro, `TORCH_ARG`; ours is `TINYTORCH_ARG`.

// %%
//| export

// An option of an optimizer or schedule, as libtorch's TORCH_ARG: `name(value)` sets it and returns the
// options, so setters chain; `name()` reads it. Follow it with the default: `TINYTORCH_ARG(double, eps) = 1e-8;`
#define TINYTORCH_ARG(T, name)                          \
 public:                                                \
  auto name(const T& new_##name) -> decltype(*this) {   \
    this->name##_ = new_##name;                         \
    return *this;                                       \
  }                                                     \
  const T& name() const noexcept { return this->name##_; } \
                                                        \
 private:                                               \
  T name##_

namespace tinytorch::optim {

// The base of every optimizer (torch::optim::Optimizer): the parameters it updates (handles to the
// model's own tensors), the learning rate, and the checks every step makes.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Drops every parameter's gradient (set_to_none, PyTorch 2's default), or zeroes it in place.
  void zero_grad(bool set_to_none = true);
  // Updates every parameter that has a gradient, in place and unrecorded.
  virtual void step() = 0;

  // The parameters, in the order they were given: the same tensors the model holds.
  const std::vector<Tensor>& parameters() const noexcept { return parameters_; }
  // The learning rate of the next step.
  double lr() const noexcept { return lr_; }
  // Changes the learning rate (a schedule does, between epochs); it must be finite and >= 0.
  void set_lr(double lr);
  // Bytes of per-parameter state (momentum buffers, moments) the optimizer holds now.
  virtual int64_t state_bytes() const = 0;

 protected:
  // `name` ("SGD") is what error messages call the optimizer.
  Optimizer(std::vector<Tensor> parameters, double lr, std::string name);
  // The gradient of parameter `index`, checked to fit its parameter; undefined when it has none.
  Tensor checked_grad(std::size_t index) const;
  const std::string& name() const noexcept { return name_; }

 private:
  std::vector<Tensor> parameters_;
  double lr_;
  std::string name_;
};

}  // namespace tinytorch::optim

// %% [markdown]
// The constructor checks the parameters once: at least one, each a defined **leaf** (a tensor
// an op computed, such as `w * 2`, is not a parameter: its values are recomputed at every
// forward pass, and writing into it would change nothing that lasts), and none given twice (it
// would be updated twice per step). `checked_grad` is what every `step()` calls for each
// parameter.

// %%
//| export impl
namespace tinytorch::optim {

namespace {

// 0.9 -> "0.9", 1e-08 -> "1e-08": numbers in messages as a person writes them.
std::string number_str(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void check_option(bool ok, const std::string& optimizer, const std::string& what, double value) {
  if (!ok) throw std::invalid_argument(optimizer + ": invalid " + what + ": " + number_str(value));
}

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> parameters, double lr, std::string name)
    : parameters_(std::move(parameters)), lr_(0.0), name_(std::move(name)) {
  if (parameters_.empty()) throw std::invalid_argument(name_ + ": got an empty list of parameters");
  std::unordered_set<const TensorImpl*> seen;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor& p = parameters_[i];
    const std::string which = name_ + ": parameter " + std::to_string(i);
    if (!p.defined()) throw std::invalid_argument(which + " is an undefined Tensor");
    if (const auto node = autograd::grad_fn(p)) {
      throw std::invalid_argument(which + " was computed by an op ('" + node->name +
                                  "'), so it is not a leaf: an optimizer updates tensors you made (a layer's "
                                  "weight), not results of ops. Did you pass w * 2 instead of w?");
    }
    if (!seen.insert(p.impl_ptr().get()).second) {
      throw std::invalid_argument(which + " appears twice in the list: it would be updated twice per step");
    }
  }
  set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  check_option(std::isfinite(lr) && lr >= 0.0, name_, "learning rate", lr);
  lr_ = lr;
}

Tensor Optimizer::checked_grad(std::size_t index) const {
  const Tensor& p = parameters_.at(index);
  Tensor grad = p.grad();
  if (!grad.defined()) return grad;
  const std::string which = name_ + "::step(): parameter " + std::to_string(index) + " " + shape_str(p.shape());
  if (!p.is_contiguous()) {
    throw std::invalid_argument(which + " is not contiguous (strides " + shape_str(p.strides()) +
                                "): an optimizer updates a parameter's own elements in place, in memory order. "
                                "Make the parameter a tensor of its own (t.contiguous().requires_grad_()), not a "
                                "view such as w.t()");
  }
  if (grad.shape() != p.shape()) {
    throw ShapeError(which + " has a gradient of shape " + shape_str(grad.shape()) +
                     ": a gradient must have its parameter's shape");
  }
  if (!grad.is_contiguous()) {
    throw std::invalid_argument(which + " has a gradient that is not contiguous (strides " +
                                shape_str(grad.strides()) +
                                "); backward() always makes contiguous gradients, so one set by hand through "
                                "mutable_grad() must be too (.contiguous())");
  }
  return grad;
}

}  // namespace tinytorch::optim

// %% [markdown]
// ### ⭐ `zero_grad`: forget the last step
//
// Gradients **accumulate** (module 05): a second `backward()` adds into `.grad()`. That is what
// makes gradient accumulation over several small batches possible, and it is why every
// training step starts with `zero_grad()`: without it, each step's gradient is the sum of
// every step so far, and training drifts off.
//
// PyTorch 2 does not write zeros by default: it sets each gradient to *none*, an undefined
// tensor (`set_to_none = true`). Three reasons:
//
// 1. **Less memory traffic.** Zeroing writes every gradient once; then the next `backward()`
//    reads those zeros and adds to them. With no gradient at all, module 05's `accumulate_grad`
//    simply *takes over* the fresh gradient tensor: no write, no read, no addition.
// 2. **Less memory.** Between the step and the next backward the gradients are freed.
// 3. **"No gradient" is not "a zero gradient".** An optimizer skips a parameter without a
//    gradient, but it *does* update one whose gradient is zero: with momentum or weight decay
//    a zero gradient still moves the weight. A layer that sat out this step (frozen, or an
//    embedding row nobody used) should not move.
//
// `set_to_none = false` zeroes each existing gradient in place instead (the tensor stays the
// same, so anyone holding it sees zeros), as PyTorch's `zero_grad(set_to_none=False)`.
//
// **TODO**: For every parameter: with `set_to_none`, make its gradient an undefined `Tensor()`;
// otherwise fill an existing gradient with zeros (a parameter without one keeps none).
//
// **APPROACH**:
// 1. Loop over `parameters_`.
// 2. `Tensor& grad = p.mutable_grad();` is the gradient slot itself (module 05).
// 3. `set_to_none`: `grad = Tensor();`. Otherwise, if `grad.defined()`, `grad.fill_(0.0f)`.
//
// **EXAMPLE**:
// ```cpp
// (w * w).sum().backward();    // w.grad() defined
// optimizer.zero_grad();       // w.grad().defined() == false
// optimizer.zero_grad(false);  // an existing gradient becomes zeros, same tensor
// ```
//
// **HINTS**:
// - `p.grad() = Tensor();` compiles and does nothing: `grad()` returns a *copy* of the handle,
//   and you re-point the copy. The slot is `mutable_grad()`.
// - A gradient never requires grad itself, so `fill_` on it is allowed without `NoGradGuard`.
//
// **SYSTEMS THINKING**: for a model with 100 million parameters, zeroing writes 400 MB and the
// next backward reads them back: almost a gigabyte of memory traffic per step that
// `set_to_none` never spends. Memory bandwidth, not arithmetic, bounds most of a training step
// outside the matrix products.

// %%
//| export impl
namespace tinytorch::optim {

void Optimizer::zero_grad(bool set_to_none) {
  // BEGIN SOLUTION
  for (const Tensor& p : parameters_) {
    Tensor& grad = p.mutable_grad();
    if (set_to_none) {
      grad = Tensor();
    } else if (grad.defined()) {
      grad.fill_(0.0f);
    }
  }
  // END SOLUTION
}

}  // namespace tinytorch::optim

// %% [markdown]
// ## Part 2: SGD
//
// **Stochastic gradient descent**, "stochastic" because each step's gradient comes from a
// random batch rather than the whole data set. PyTorch's `torch.optim.SGD` has three options on
// top of the plain rule, and here is its update for one parameter, exactly (`g` the gradient,
// `w` the weight, `b` the momentum buffer):
//
//     d = g + weight_decay · w                      weight decay: L2, added to the gradient
//     if momentum ≠ 0:
//         b = d                                     at the first step (the buffer starts as d)
//         b = momentum · b + (1 − dampening) · d    at every later step
//         d = d + momentum · b    if nesterov       look ahead along the velocity
//         d = b                   otherwise
//     w = w − lr · d
//
// **Weight decay** adds `weight_decay · w` to the gradient: the gradient of the L2 penalty
// `weight_decay/2 · ‖w‖²`. Every step then shrinks each weight a little towards zero, unless
// the loss pulls it out; a network that needs huge weights to fit its data is usually fitting
// noise.
//
// **Momentum** keeps a running sum of past gradients, the *velocity* `b`. Where successive
// gradients agree (down a long valley), the velocity builds up to `1 / (1 − momentum)` times
// one gradient: ten times with `momentum = 0.9`. Where they alternate (across the valley),
// they cancel. The result is fast progress along the valley floor and damped zig-zag across
// it. Note where the buffer starts: PyTorch sets it to the **first gradient itself**, not to
// zero. (With `dampening = 0` both give the same first step; with dampening they do not, and
// the tests will tell.)
//
// **Nesterov momentum** evaluates the step one velocity ahead: `d + momentum · b` instead of
// `b`. It reacts a step earlier when the velocity starts pointing the wrong way. It needs a
// momentum, and PyTorch refuses dampening with it; so does the constructor.
//
//     momentum, seen from above: a long narrow valley
//
//        plain SGD                       with momentum
//        \/\/\/\/\/\/\/\/\/\/\/\/\/\/    \__________________________
//        (zig-zag across, slow along)    (damped across, fast along)

// %%
//| export
namespace tinytorch::optim {

// The options of SGD (torch::optim::SGDOptions): SGDOptions(0.1).momentum(0.9).nesterov(true).
struct SGDOptions {
  SGDOptions(double lr) : lr_(lr) {}  // implicit, as in libtorch: SGD(parameters, 0.1)
  TINYTORCH_ARG(double, lr);
  TINYTORCH_ARG(double, momentum) = 0.0;
  TINYTORCH_ARG(double, dampening) = 0.0;
  TINYTORCH_ARG(double, weight_decay) = 0.0;
  TINYTORCH_ARG(bool, nesterov) = false;
};

// What SGD keeps for one parameter between steps (torch::optim::SGDParamState).
struct SGDParamState {
  Tensor momentum_buffer;  // the velocity, of the parameter's shape; undefined until the first step with momentum
};

// Stochastic gradient descent with momentum, Nesterov momentum and weight decay (torch::optim::SGD).
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, SGDOptions options);

  void step() override;

  // The options, with the current learning rate.
  SGDOptions options() const;
  // The state of parameter `index` (a checkpoint reads it, and restores it).
  const SGDParamState& state(std::size_t index) const { return state_.at(index); }
  SGDParamState& state(std::size_t index) { return state_.at(index); }
  int64_t state_bytes() const override;

 private:
  // The momentum part of step() for parameter `index`: its n weights and gradients.
  void momentum_update(std::size_t index, float* param, const float* grad, int64_t n);

  SGDOptions options_;
  std::vector<SGDParamState> state_;
};

}  // namespace tinytorch::optim

// %%
//| export impl
namespace tinytorch::optim {

SGD::SGD(std::vector<Tensor> parameters, SGDOptions options)
    : Optimizer(std::move(parameters), options.lr(), "SGD"), options_(options), state_(this->parameters().size()) {
  check_option(options.momentum() >= 0.0, "SGD", "momentum", options.momentum());
  check_option(options.weight_decay() >= 0.0, "SGD", "weight_decay", options.weight_decay());
  if (options.nesterov() && (options.momentum() <= 0.0 || options.dampening() != 0.0)) {
    throw std::invalid_argument("SGD: Nesterov momentum requires a momentum > 0 and zero dampening (got momentum " +
                                number_str(options.momentum()) + ", dampening " + number_str(options.dampening()) +
                                ")");
  }
}

SGDOptions SGD::options() const { return SGDOptions(options_).lr(lr()); }

int64_t SGD::state_bytes() const {
  int64_t bytes = 0;
  for (const SGDParamState& s : state_) {
    if (s.momentum_buffer.defined()) bytes += s.momentum_buffer.numel() * static_cast<int64_t>(sizeof(float));
  }
  return bytes;
}

}  // namespace tinytorch::optim

// %% [markdown]
// ### ⭐⭐ `SGD::step`: the loop every optimizer runs
//
// **TODO**: Update every parameter that has a gradient with plain SGD and weight decay,
// `w = w − lr · (g + weight_decay · w)`, in place; hand parameters to `momentum_update` (next
// exercise) when `options_.momentum()` is not 0.
//
// **APPROACH**:
// 1. `NoGradGuard no_grad;` first: nothing the step does is part of a graph.
// 2. Read the learning rate (`lr()`, it may have changed since construction) and
//    `options_.weight_decay()` once, as `float`s.
// 3. For each index `i`: `const Tensor grad = checked_grad(i);` and `continue` if it is not
//    defined.
// 4. `float* w = parameters()[i].data(); const float* g = grad.data();`, `n = grad.numel()`.
// 5. With momentum: `momentum_update(i, w, g, n); continue;`. Otherwise, for each `j`:
//    `w[j] -= lr * (g[j] + weight_decay * w[j]);`.
//
// **EXAMPLE**:
// ```cpp
// Tensor w = tensor({1, 2}).requires_grad_();
// optim::SGD sgd({w}, optim::SGDOptions(0.1).weight_decay(0.5));
// w.mutable_grad() = tensor({10, 10});
// sgd.step();   // w = [1 - 0.1 * (10 + 0.5), 2 - 0.1 * (10 + 1)] = [-0.05, 0.9]
// ```
//
// **HINTS**:
// - `const Tensor&` still lets you write the numbers: `data()` hands out a `float*` (module
//   01, "a tensor is a handle").
// - Do not write `Tensor p = parameters()[i]; p = p - lr * grad;`: that points a local handle
//   at a new tensor and leaves the model's weights where they were. `p.to_vector()` is a copy
//   too. Write through `data()`.
// - Weight decay reads `w[j]` *before* the update: compute the whole right-hand side, then
//   assign.
//
// **SYSTEMS THINKING**: one loop, one pass: each weight is read and written once and each
// gradient read once, 12 bytes of memory traffic per parameter, and no tensor is allocated.
// The same update written with tensor ops, `w -= (g + w * wd) * lr`, allocates four temporary
// tensors of the parameter's size (`w * wd`, the sum, the product, and the difference that `-=`
// copies back) and makes a pass over memory for each. For a step that does almost no arithmetic
// per byte, the passes are the whole cost; the demo after part 4 times the same comparison for
// Adam.

// %%
//| export impl
namespace tinytorch::optim {

void SGD::step() {
  // BEGIN SOLUTION
  NoGradGuard no_grad;  // the update is not part of any graph
  const auto lr = static_cast<float>(this->lr());
  const auto weight_decay = static_cast<float>(options_.weight_decay());
  for (std::size_t i = 0; i < parameters().size(); ++i) {
    const Tensor grad = checked_grad(i);
    if (!grad.defined()) continue;  // no gradient this step: leave the parameter alone
    float* w = parameters()[i].data();
    const float* g = grad.data();
    const int64_t n = grad.numel();
    if (options_.momentum() != 0.0) {
      momentum_update(i, w, g, n);
      continue;
    }
    for (int64_t j = 0; j < n; ++j) w[j] -= lr * (g[j] + weight_decay * w[j]);
  }
  // END SOLUTION
}

}  // namespace tinytorch::optim

// %%
//| test
#include <cmath>

using namespace tinytorch;

TEST(UnitSGD, PlainStepWithWeightDecay) {
  Tensor w = tensor({1, 2}).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(0.1).weight_decay(0.5));
  w.mutable_grad() = tensor({10, 10});
  sgd.step();
  EXPECT_NEAR(w.to_vector()[0], -0.05f, 1e-6f);
  EXPECT_NEAR(w.to_vector()[1], 0.9f, 1e-6f);
}

// %% [markdown]
// ### ⭐⭐ `SGD::momentum_update`: velocity, dampening, Nesterov
//
// **TODO**: Apply the momentum rule of the box above to parameter `index`'s `n` weights `w`,
// with gradients `g`, keeping the velocity in `state_[index].momentum_buffer`.
//
// **APPROACH**:
// 1. Read `lr()`, momentum, dampening, weight_decay and nesterov once, as `float`s (and a
//    `bool`).
// 2. `Tensor& buffer = state_[index].momentum_buffer;` `const bool first = !buffer.defined();`
//    On the first step, give it storage: `buffer = zeros(parameters()[index].shape());`.
// 3. `float* b = buffer.data();` and for each `j`:
//    `d = g[j] + weight_decay * w[j]`;
//    `b[j] = first ? d : momentum * b[j] + (1 - dampening) * d`;
//    `w[j] -= lr * (nesterov ? d + momentum * b[j] : b[j])`.
//
// **EXAMPLE**:
// ```cpp
// // momentum 0.9, dampening 0, lr 0.1, the same gradient g = 1 every step:
// // step 1: b = 1             w -= 0.1
// // step 2: b = 0.9 + 1 = 1.9 w -= 0.19
// // step 3: b = 2.71          w -= 0.271     ... towards 1 / (1 - 0.9) = 10 times one step
// ```
//
// **HINTS**:
// - The buffer starts as the first `d`, not as zero followed by the usual update: with
//   dampening 0.5, `0.9 · 0 + 0.5 · d` would make the first step half as long as PyTorch's.
// - Allocate the buffer once per parameter, at its first step; every later step updates it in
//   place. A new buffer per step is a new allocation of the parameter's size, every step.
// - Nesterov uses the buffer *after* this step's update.
//
// **SYSTEMS THINKING**: the velocity is one float per parameter: momentum doubles the
// optimizer's memory from nothing to the size of the model, and the step's memory traffic from
// 12 to 20 bytes per parameter (the buffer is read and written). That is still one pass: the
// buffer and the weight are updated in the same loop, while each value is in a register.

// %%
//| export impl
namespace tinytorch::optim {

void SGD::momentum_update(std::size_t index, float* w, const float* g, int64_t n) {
  // BEGIN SOLUTION
  const auto lr = static_cast<float>(this->lr());
  const auto momentum = static_cast<float>(options_.momentum());
  const auto dampening = static_cast<float>(options_.dampening());
  const auto weight_decay = static_cast<float>(options_.weight_decay());
  const bool nesterov = options_.nesterov();
  Tensor& buffer = state_[index].momentum_buffer;
  const bool first = !buffer.defined();
  if (first) buffer = zeros(parameters()[index].shape());  // once per parameter, not per step
  float* b = buffer.data();
  for (int64_t j = 0; j < n; ++j) {
    const float d = g[j] + weight_decay * w[j];
    b[j] = first ? d : momentum * b[j] + (1.0f - dampening) * d;
    w[j] -= lr * (nesterov ? d + momentum * b[j] : b[j]);
  }
  // END SOLUTION
}

}  // namespace tinytorch::optim

// %%
//| test
TEST(UnitSGD, MomentumBuildsUpVelocity) {
  Tensor w = tensor({0}).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(0.1).momentum(0.9));
  std::vector<float> moves;
  for (int step = 0; step < 3; ++step) {
    const float before = w.item();
    w.mutable_grad() = tensor({1});
    sgd.step();
    moves.push_back(before - w.item());
  }
  EXPECT_NEAR(moves[0], 0.1f, 1e-6f);
  EXPECT_NEAR(moves[1], 0.19f, 1e-6f);
  EXPECT_NEAR(moves[2], 0.271f, 1e-6f);
}

// %% [markdown]
// ## Part 3: Adam
//
// SGD uses one learning rate for every weight. But gradients differ wildly in size between
// weights: the bias of a rarely active unit gets tiny gradients, a weight on a large input huge
// ones. **Adam** (Kingma & Ba, 2015) gives every weight a step size of its own, from two moving
// averages it keeps per weight:
//
//     m = β₁ · m + (1 − β₁) · g          the first moment: a smoothed gradient (momentum)
//     v = β₂ · v + (1 − β₂) · g²         the second moment: a smoothed squared gradient
//     w = w − lr · m̂ / (√v̂ + ε)
//
// `m / √v` is about ±1 where the gradient is consistent, whatever its scale, so each weight
// moves by about `lr` per step: a gradient of 10⁻⁶ and one of 10⁶ give steps of the same size.
//
// **Bias correction.** `m` and `v` start at zero, so early on they are far too small: after
// one step `m = (1 − β₁) g = 0.1 g`, and `v = 0.001 g²`. Adam divides each by the weight its
// terms have so far, `1 − βᵗ` at step `t`:
//
//     m̂ = m / (1 − β₁ᵗ)      v̂ = v / (1 − β₂ᵗ)
//
// so at step 1, `m̂ = g` and `v̂ = g²`, and the first step is `lr · g / (|g| + ε)`: almost
// exactly `lr` in the direction of `−sign(g)`. Without the correction the first step would be
// `0.1 / √0.001 ≈ 3.2` times larger, and for the first thousand steps `v` (with `β₂ = 0.999`)
// would stay too small.
//
// PyTorch folds the corrections into two numbers per parameter per step, computed in double:
//
//     step_size             = lr / (1 − β₁ᵗ)
//     bias_correction2_sqrt = √(1 − β₂ᵗ)
//     w = w − step_size · m / (√v / bias_correction2_sqrt + ε)
//
// This is not quite `lr · m̂ / (√v̂ + ε)` rearranged: `ε` is added *after* dividing `√v` by
// `bias_correction2_sqrt`, which is what the formula says, and what PyTorch does.
//
// **Weight decay, two ways.** `torch.optim.Adam`'s `weight_decay` is L2, added to the gradient
// as in SGD: `g = g + weight_decay · w`, before the moments. AdamW (part 4) does it
// differently. The kernel below takes both knobs, so the two optimizers share it:
// `l2` (added to the gradient) and `decay_factor` (the weight is multiplied by it before the
// update). Adam uses `l2 = weight_decay`, `decay_factor = 1`.

// %%
//| export
namespace tinytorch::optim {

// Adam's (beta1, beta2).
using Betas = std::tuple<double, double>;

// The options of Adam (torch::optim::AdamOptions): AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).
struct AdamOptions {
  AdamOptions(double lr = 1e-3) : lr_(lr) {}
  TINYTORCH_ARG(double, lr);
  TINYTORCH_ARG(Betas, betas) = Betas{0.9, 0.999};
  TINYTORCH_ARG(double, eps) = 1e-8;
  TINYTORCH_ARG(double, weight_decay) = 0.0;  // L2: added to the gradient
};

// What Adam and AdamW keep for one parameter between steps (torch::optim::AdamParamState).
struct AdamParamState {
  int64_t step = 0;   // updates of this parameter so far: t in the formulas
  Tensor exp_avg;     // m, the moving average of the gradient; undefined until the first step
  Tensor exp_avg_sq;  // v, the moving average of the squared gradient
};

// The two numbers of Adam's bias correction at one step, as PyTorch computes them (in double).
struct AdamBiasCorrection {
  double step_size;              // lr / (1 - beta1^t)
  double bias_correction2_sqrt;  // sqrt(1 - beta2^t)
};

// Adam's bias correction at step t (1 for the first step).
AdamBiasCorrection adam_bias_correction(double lr, double beta1, double beta2, int64_t step);

// Everything one Adam or AdamW update of one parameter needs besides its buffers.
struct AdamStep {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  AdamBiasCorrection bias{0.0, 1.0};
  double l2 = 0.0;            // Adam's weight decay: l2 * w is added to the gradient
  double decay_factor = 1.0;  // AdamW's: the weight is multiplied by it before the update
};

// One Adam update of n contiguous elements, in one pass: exp_avg and exp_avg_sq (the moments)
// and param are updated in place.
void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n, const AdamStep& step);

// Adam (torch::optim::Adam), with L2 weight decay.
class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Tensor> parameters, AdamOptions options = {});

  void step() override;

  // The options, with the current learning rate.
  AdamOptions options() const;
  // The state of parameter `index` (a checkpoint reads it, and restores it).
  const AdamParamState& state(std::size_t index) const { return state_.at(index); }
  AdamParamState& state(std::size_t index) { return state_.at(index); }
  int64_t state_bytes() const override;

 private:
  AdamOptions options_;
  std::vector<AdamParamState> state_;
};

}  // namespace tinytorch::optim

// %% [markdown]
// ### ⭐ `adam_bias_correction`
//
// **TODO**: Return `{lr / (1 − β₁ᵗ), √(1 − β₂ᵗ)}` for step `t = step`.
//
// **APPROACH**:
// 1. `bias_correction1 = 1 - std::pow(beta1, t)`, `bias_correction2 = 1 - std::pow(beta2, t)`,
//    in `double`.
// 2. Return `{lr / bias_correction1, std::sqrt(bias_correction2)}`.
//
// **EXAMPLE**:
// ```cpp
// adam_bias_correction(0.001, 0.9, 0.999, 1)     // {0.01, 0.0316...}: step 1 divides m by 0.1
// adam_bias_correction(0.001, 0.9, 0.999, 1000)  // {0.001, 0.795...}: m's correction is gone, v's not yet
// ```
//
// **HINTS**:
// - Steps count from 1: at `t = 0`, `1 − β⁰ = 0` and the division is by zero (the check
//   before your code refuses it).
// - Keep it in `double`: `1 − 0.999ᵗ` for small `t` is a difference of nearly equal numbers,
//   and float would keep only about four of its digits.
//
// **SYSTEMS THINKING**: two `pow` calls per parameter per step cost nothing next to the loop
// over the parameter's elements; computing them *inside* that loop, per element, would cost
// more than the rest of the update. Hoist what does not change out of the innermost loop.

// %%
//| export impl
namespace tinytorch::optim {

AdamBiasCorrection adam_bias_correction(double lr, double beta1, double beta2, int64_t step) {
  if (step < 1) throw std::invalid_argument("adam_bias_correction(): steps count from 1, got " + std::to_string(step));
  // BEGIN SOLUTION
  const double t = static_cast<double>(step);
  const double bias_correction1 = 1.0 - std::pow(beta1, t);
  const double bias_correction2 = 1.0 - std::pow(beta2, t);
  return {lr / bias_correction1, std::sqrt(bias_correction2)};
  // END SOLUTION
}

}  // namespace tinytorch::optim

// %%
//| test
TEST(UnitAdamBiasCorrection, FirstStepDividesByOneMinusBeta) {
  const optim::AdamBiasCorrection c = optim::adam_bias_correction(0.001, 0.9, 0.999, 1);
  EXPECT_NEAR(c.step_size, 0.01, 1e-12);
  EXPECT_NEAR(c.bias_correction2_sqrt, std::sqrt(0.001), 1e-12);
}

// %% [markdown]
// ### ⭐⭐⭐ `adam_update`: moments and the update, in one pass
//
// **TODO**: For each of the `n` elements, update the two moments and the weight, as PyTorch
// does, with `step.l2` added to the gradient and the weight multiplied by `step.decay_factor`
// before the update.
//
// **APPROACH**:
// 1. Convert the scalars to `float` once, before the loop: `beta1`, `beta2`, `eps`,
//    `step_size`, `l2`, `decay_factor`, and `1 − β₁`, `1 − β₂` (subtract in double, then
//    convert, as PyTorch does), and `inv = 1 / bias_correction2_sqrt` (divide in double).
// 2. For each `j`:
//    `g = grad[j] + l2 * param[j]`;
//    `exp_avg[j] = beta1 * exp_avg[j] + (1 − β₁) * g`;
//    `exp_avg_sq[j] = beta2 * exp_avg_sq[j] + (1 − β₂) * g * g`;
//    `denom = sqrt(exp_avg_sq[j]) * inv + eps` (that is `√v / bias_correction2_sqrt + ε`);
//    `param[j] = decay_factor * param[j] − step_size * exp_avg[j] / denom`.
//
// **EXAMPLE**:
// ```cpp
// // step 1, lr 0.001, defaults: g = [2, -0.5] moves w by [-0.001, +0.001] (lr · g / (|g| + ε))
// float w[] = {1, 1}, g[] = {2, -0.5f}, m[] = {0, 0}, v[] = {0, 0};
// optim::AdamStep s{.bias = optim::adam_bias_correction(0.001, 0.9, 0.999, 1)};
// optim::adam_update(w, g, m, v, 2, s);   // w = {0.999, 1.001}, m = {0.2, -0.05}, v = {0.004, 0.00025}
// ```
//
// **HINTS**:
// - `l2 * param[j]` uses the weight *before* this step; read it before you assign `param[j]`.
// - The moments are updated in place: `exp_avg` points at the optimizer's state, and the
//   next step needs these values.
// - At a zero gradient with zero moments, `exp_avg / denom` is `0 / ε = 0`: no NaN. Keep `ε`
//   in the denominator, not under the square root.
//
// **SYSTEMS THINKING**: this loop reads 4 floats and writes 3 per element (28 bytes). For the
// MLP's 235,146 parameters those 6.6 MB stay in the caches, and the square root and the
// divisions are what take the time: they are the slowest vector instructions there are (one
// every 10 to 20 cycles). One reciprocal before the loop replaces the division by
// `bias_correction2_sqrt` in every element with a multiplication and leaves `exp_avg / denom`
// as the only division: in bench/mlp_bench this loop went from 12.7% to 10.6% of the run. Composed from tensor ops (`m = m * b1 + g * (1 - b1)`, ...)
// the same update allocates about a dozen temporary tensors of the parameter's size per step;
// here none. PyTorch's `fused=True` Adam is this loop, as one kernel.

// %%
//| export impl
namespace tinytorch::optim {

void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n, const AdamStep& step) {
  // BEGIN SOLUTION
  const auto beta1 = static_cast<float>(step.beta1);
  const auto beta2 = static_cast<float>(step.beta2);
  const auto one_minus_beta1 = static_cast<float>(1.0 - step.beta1);
  const auto one_minus_beta2 = static_cast<float>(1.0 - step.beta2);
  const auto eps = static_cast<float>(step.eps);
  const auto step_size = static_cast<float>(step.bias.step_size);
  const auto inv_bias_correction2_sqrt = static_cast<float>(1.0 / step.bias.bias_correction2_sqrt);
  const auto l2 = static_cast<float>(step.l2);
  const auto decay_factor = static_cast<float>(step.decay_factor);
  for (int64_t j = 0; j < n; ++j) {
    const float g = grad[j] + l2 * param[j];
    exp_avg[j] = beta1 * exp_avg[j] + one_minus_beta1 * g;
    exp_avg_sq[j] = beta2 * exp_avg_sq[j] + one_minus_beta2 * g * g;
    const float denom = std::sqrt(exp_avg_sq[j]) * inv_bias_correction2_sqrt + eps;
    param[j] = decay_factor * param[j] - step_size * exp_avg[j] / denom;
  }
  // END SOLUTION
}

}  // namespace tinytorch::optim

// %%
//| test
TEST(UnitAdamUpdate, FirstStepIsAboutLrTimesTheSign) {
  float w[] = {1, 1};
  const float g[] = {2, -0.5f};
  float m[] = {0, 0};
  float v[] = {0, 0};
  const optim::AdamStep s{.bias = optim::adam_bias_correction(0.001, 0.9, 0.999, 1)};
  optim::adam_update(w, g, m, v, 2, s);
  EXPECT_NEAR(w[0], 0.999f, 1e-6f);
  EXPECT_NEAR(w[1], 1.001f, 1e-6f);
  EXPECT_NEAR(m[0], 0.2f, 1e-6f);
  EXPECT_NEAR(v[1], 0.00025f, 1e-8f);
}

// %% [markdown]
// `Adam` itself is written for you: read its `step()`, because you will write AdamW's next. It
// is the same loop as `SGD::step`, plus the state: on a parameter's first step it creates the
// two moments (zeros of the parameter's shape), and it counts the steps **per parameter**. A
// parameter that had no gradient for a while has taken fewer steps, and its bias correction
// must say so, which is why PyTorch keeps `step` in each parameter's state rather than once
// per optimizer.

// %%
//| export impl
namespace tinytorch::optim {

namespace {

void check_adam_options(const std::string& name, double lr, const Betas& betas, double eps, double weight_decay) {
  const auto [beta1, beta2] = betas;
  check_option(std::isfinite(lr) && lr >= 0.0, name, "learning rate", lr);
  check_option(beta1 >= 0.0 && beta1 < 1.0, name, "beta1 (must be in [0, 1))", beta1);
  check_option(beta2 >= 0.0 && beta2 < 1.0, name, "beta2 (must be in [0, 1))", beta2);
  check_option(eps >= 0.0, name, "eps", eps);
  check_option(weight_decay >= 0.0, name, "weight_decay", weight_decay);
}

int64_t moments_bytes(const std::vector<AdamParamState>& states) {
  int64_t bytes = 0;
  for (const AdamParamState& s : states) {
    if (s.exp_avg.defined()) bytes += (s.exp_avg.numel() + s.exp_avg_sq.numel()) * static_cast<int64_t>(sizeof(float));
  }
  return bytes;
}

}  // namespace

Adam::Adam(std::vector<Tensor> parameters, AdamOptions options)
    : Optimizer(std::move(parameters), options.lr(), "Adam"), options_(options), state_(this->parameters().size()) {
  check_adam_options("Adam", options.lr(), options.betas(), options.eps(), options.weight_decay());
}

AdamOptions Adam::options() const { return AdamOptions(options_).lr(lr()); }

int64_t Adam::state_bytes() const { return moments_bytes(state_); }

void Adam::step() {
  NoGradGuard no_grad;  // the update is not part of any graph
  const auto [beta1, beta2] = options_.betas();
  for (std::size_t i = 0; i < parameters().size(); ++i) {
    const Tensor grad = checked_grad(i);
    if (!grad.defined()) continue;  // skipped: its step count does not advance either
    AdamParamState& s = state_[i];
    if (!s.exp_avg.defined()) {  // the first step of this parameter: moments start at zero
      s.exp_avg = zeros(grad.shape());
      s.exp_avg_sq = zeros(grad.shape());
    }
    ++s.step;
    AdamStep scalars{beta1, beta2, options_.eps(), adam_bias_correction(lr(), beta1, beta2, s.step)};
    scalars.l2 = options_.weight_decay();  // Adam: weight decay is added to the gradient
    adam_update(parameters()[i].data(), grad.data(), s.exp_avg.data(), s.exp_avg_sq.data(), grad.numel(), scalars);
  }
}

}  // namespace tinytorch::optim

// %% [markdown]
// ## Part 4: AdamW, decoupled weight decay
//
// Adam's L2 weight decay has a flaw (Loshchilov & Hutter, 2019): it goes into the gradient,
// and the gradient is then divided by `√v̂`. A weight with large gradients has a large `v`, so
// its decay is divided away; a weight with tiny gradients gets its decay amplified. The pull
// towards zero ends up strongest exactly where the data says least, and tuning
// `weight_decay` interacts with the learning rate in ways nobody can reason about.
//
// **AdamW** *decouples* the decay from the gradient: it shrinks the weight itself, by the
// same fraction for every weight, and runs Adam on the raw gradient:
//
//     w = w · (1 − lr · weight_decay)          the decay: nothing adaptive about it
//     w = w − step_size · m / (√v / bias_correction2_sqrt + ε)    Adam, with g unchanged
//
// That is `l2 = 0` and `decay_factor = 1 − lr · weight_decay` in `adam_update`: both happen in
// the same pass. It is the default optimizer for transformers (module 15), with
// `weight_decay = 0.01` (libtorch's and PyTorch's default for AdamW).
//
// A quick way to see the difference: give a weight a **zero gradient**. Adam's L2 turns the
// decay into a gradient `weight_decay · w` and then normalizes it, so the weight moves by about
// `lr` per step whatever `weight_decay` is. AdamW shrinks it by exactly `lr · weight_decay · w`.

// %%
//| export
namespace tinytorch::optim {

// The options of AdamW (torch::optim::AdamWOptions); weight_decay defaults to 0.01.
struct AdamWOptions {
  AdamWOptions(double lr = 1e-3) : lr_(lr) {}
  TINYTORCH_ARG(double, lr);
  TINYTORCH_ARG(Betas, betas) = Betas{0.9, 0.999};
  TINYTORCH_ARG(double, eps) = 1e-8;
  TINYTORCH_ARG(double, weight_decay) = 1e-2;  // decoupled: the weight shrinks by lr * weight_decay
};

// Adam with decoupled weight decay (torch::optim::AdamW).
class AdamW : public Optimizer {
 public:
  explicit AdamW(std::vector<Tensor> parameters, AdamWOptions options = {});

  void step() override;

  // The options, with the current learning rate.
  AdamWOptions options() const;
  // The state of parameter `index` (a checkpoint reads it, and restores it).
  const AdamParamState& state(std::size_t index) const { return state_.at(index); }
  AdamParamState& state(std::size_t index) { return state_.at(index); }
  int64_t state_bytes() const override;

 private:
  AdamWOptions options_;
  std::vector<AdamParamState> state_;
};

}  // namespace tinytorch::optim

// %%
//| export impl
namespace tinytorch::optim {

AdamW::AdamW(std::vector<Tensor> parameters, AdamWOptions options)
    : Optimizer(std::move(parameters), options.lr(), "AdamW"), options_(options), state_(this->parameters().size()) {
  check_adam_options("AdamW", options.lr(), options.betas(), options.eps(), options.weight_decay());
}

AdamWOptions AdamW::options() const { return AdamWOptions(options_).lr(lr()); }

int64_t AdamW::state_bytes() const { return moments_bytes(state_); }

}  // namespace tinytorch::optim

// %% [markdown]
// ### ⭐⭐ `AdamW::step`
//
// **TODO**: Write AdamW's step: `Adam::step` above, with the weight decay moved from the
// gradient to the weight.
//
// **APPROACH**:
// 1. The same skeleton as `Adam::step`: `NoGradGuard`, the loop with `checked_grad`, the
//    moments created at a parameter's first step, `++s.step`.
// 2. Build the `AdamStep` the same way, but with `l2 = 0` and
//    `decay_factor = 1 − lr() · options_.weight_decay()`.
// 3. Call `adam_update` on the parameter's data, its gradient and its two moments.
//
// **EXAMPLE**:
// ```cpp
// Tensor w = tensor({4}).requires_grad_();
// optim::AdamW adamw({w}, optim::AdamWOptions(0.1).weight_decay(0.5));
// w.mutable_grad() = tensor({0});
// adamw.step();   // w = 4 · (1 − 0.1 · 0.5) = 3.8; Adam's L2 would give 4 − 0.1 = 3.9, both 3.7
// ```
//
// **HINTS**:
// - Setting `l2 = weight_decay` as well decays the weight twice, once each way; the tests
//   check a zero gradient, where the two ways give different numbers.
// - `decay_factor` uses this step's learning rate, so a schedule that lowers `lr` lowers the
//   decay with it, as in PyTorch.
//
// **SYSTEMS THINKING**: the decoupled decay is one more multiplication inside the same loop:
// no second pass over the weights, no temporary. PyTorch's simple for-loop implementation
// spends a separate pass on it (`param.mul_(1 − lr · wd)`), its fused kernel does what you
// just did.

// %%
//| export impl
namespace tinytorch::optim {

void AdamW::step() {
  // BEGIN SOLUTION
  NoGradGuard no_grad;
  const auto [beta1, beta2] = options_.betas();
  for (std::size_t i = 0; i < parameters().size(); ++i) {
    const Tensor grad = checked_grad(i);
    if (!grad.defined()) continue;
    AdamParamState& s = state_[i];
    if (!s.exp_avg.defined()) {
      s.exp_avg = zeros(grad.shape());
      s.exp_avg_sq = zeros(grad.shape());
    }
    ++s.step;
    AdamStep scalars{beta1, beta2, options_.eps(), adam_bias_correction(lr(), beta1, beta2, s.step)};
    scalars.decay_factor = 1.0 - lr() * options_.weight_decay();  // decoupled: the weight shrinks, g is left alone
    adam_update(parameters()[i].data(), grad.data(), s.exp_avg.data(), s.exp_avg_sq.data(), grad.numel(), scalars);
  }
  // END SOLUTION
}

}  // namespace tinytorch::optim

// %%
//| test
TEST(UnitAdamW, AZeroGradientShrinksTheWeightByLrTimesDecay) {
  Tensor w = tensor({4}).requires_grad_();
  optim::AdamW adamw({w}, optim::AdamWOptions(0.1).weight_decay(0.5));
  w.mutable_grad() = tensor({0});
  adamw.step();
  EXPECT_NEAR(w.item(), 3.8f, 1e-6f);
}

// %% [markdown]
// ## Four optimizers in a valley
//
// The **Rosenbrock function** `f(x, y) = (1 − x)² + 100 (y − x²)²` is the classic test of an
// optimizer: its minimum, `f(1, 1) = 0`, lies at the end of a long, curved, narrow valley.
// Across the valley the function is 100 times steeper than along it, the shape that makes
// deep-network losses hard (a *badly conditioned* problem): a learning rate small enough not
// to bounce off the valley walls crawls along the floor.
//
// The demo starts all four at `(−1.2, 1)` and runs 1000 steps; the loss is computed with
// module 01 ops and differentiated by module 05, exactly as a network's would be. The SGD
// variants share `lr = 0.001`, close to the largest plain SGD survives here; Adam's `lr` is a
// step length, and 0.05 suits it. Look at how the curves bend: plain SGD crawls along the
// floor; momentum's velocity builds up along it; Adam moves each coordinate by about `lr` per
// step, steady but not the fastest here. Adam shines where the gradients of different weights
// differ in scale, not along one curved valley.

// %%
//| demo
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

// f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, from (-1.2, 1), 1000 steps of each optimizer.
auto rosenbrock = [](const Tensor& x, const Tensor& y) {
  const Tensor a = 1.0f - x;
  const Tensor b = y - x * x;
  return (a * a + b * b * 100.0f).sum();
};
struct Run {
  const char* name;
  char symbol;
  std::vector<double> losses;
  float x, y;
};
auto race = [&](const char* name, char symbol, auto make_optimizer) {
  Tensor x = tensor({-1.2f}).requires_grad_();
  Tensor y = tensor({1.0f}).requires_grad_();
  auto optimizer = make_optimizer(std::vector<Tensor>{x, y});
  Run run{name, symbol, {}, 0, 0};
  for (int step = 0; step <= 1000; ++step) {
    optimizer.zero_grad();
    const Tensor loss = rosenbrock(x, y);
    run.losses.push_back(loss.item());
    loss.backward();
    optimizer.step();
  }
  run.x = x.item();
  run.y = y.item();
  return run;
};
std::vector<Run> runs = {
    race("SGD", 's', [](std::vector<Tensor> p) { return optim::SGD(p, optim::SGDOptions(1e-3)); }),
    race("SGD + momentum 0.9", 'm', [](std::vector<Tensor> p) { return optim::SGD(p, optim::SGDOptions(1e-3).momentum(0.9)); }),
    race("Nesterov 0.9", 'n',
         [](std::vector<Tensor> p) { return optim::SGD(p, optim::SGDOptions(1e-3).momentum(0.9).nesterov(true)); }),
    race("Adam", 'a', [](std::vector<Tensor> p) { return optim::Adam(p, optim::AdamOptions(0.05)); }),
};
// The loss against the step, on a log scale: one letter per optimizer (a later one covers an earlier one).
const int width = 72, height = 16;
double top = -1e300, bottom = 1e300;
for (const Run& r : runs) {
  for (double loss : r.losses) {
    if (loss > 0 && std::isfinite(loss)) {
      top = std::max(top, std::log10(loss));
      bottom = std::min(bottom, std::log10(loss));
    }
  }
}
std::vector<std::string> grid(height, std::string(width, ' '));
for (const Run& r : runs) {
  for (int col = 0; col < width; ++col) {
    const double loss = r.losses[static_cast<std::size_t>(col) * (r.losses.size() - 1) / (width - 1)];
    if (!(loss > 0) || !std::isfinite(loss)) continue;
    const int row = static_cast<int>(std::lround((top - std::log10(loss)) / (top - bottom) * (height - 1)));
    grid[static_cast<std::size_t>(row)][static_cast<std::size_t>(col)] = r.symbol;
  }
}
std::printf("log10(loss) on the Rosenbrock function, step 0 to 1000\n");
for (int row = 0; row < height; ++row) {
  std::printf("%6.1f |%s\n", top - (top - bottom) * row / (height - 1), grid[static_cast<std::size_t>(row)].c_str());
}
std::printf("       +%s\n        0%*s1000\n", std::string(width, '-').c_str(), width - 5, "step");
std::printf("\n%-20s %14s %10s %10s %16s\n", "optimizer", "loss at 1000", "x", "y", "distance to (1,1)");
for (const Run& r : runs) {
  std::printf("%c %-18s %14.3g %10.5f %10.5f %16.5f\n", r.symbol, r.name, r.losses.back(), r.x, r.y,
              std::hypot(r.x - 1.0, r.y - 1.0));
}

// %% [markdown]
// ## The learning rate: too small, right, too large
//
// For a quadratic loss, gradient descent has an exact speed limit. If the loss curves with
// second derivative `λ` along some direction, each step multiplies the error along it by
// `(1 − lr · λ)`: it shrinks when `lr < 2/λ`, and grows, exponentially, beyond. The steepest
// direction (the Hessian's largest eigenvalue, `λ_max`) sets the limit for the whole problem.
// The demo fits a linear regression (a quadratic loss), finds `λ_max` by power iteration, and
// measures the loss after 100 steps of plain SGD for learning rates around `2/λ_max`.

// %%
//| demo
#include <cmath>
#include <cstdio>

// Linear regression with features of different scales: loss = mean((X w - y)^2).
const int64_t samples = 256;
Tensor features = randn({samples, 3}, 1) * tensor({1.0f, 2.0f, 4.0f});
Tensor target = features.matmul(tensor({{1.5f}, {-2.0f}, {0.5f}})) + 0.1f * randn({samples, 1}, 2);
// The Hessian of the loss is 2/N X^T X; its largest eigenvalue by power iteration.
Tensor hessian = features.t().matmul(features) * (2.0f / samples);
Tensor v = ones({3, 1});
float lambda_max = 0;
for (int i = 0; i < 100; ++i) {
  Tensor hv = hessian.matmul(v);
  lambda_max = std::sqrt((hv * hv).sum().item());
  v = hv / lambda_max;
}
const double limit = 2.0 / lambda_max;
std::printf("lambda_max = %.2f, so SGD converges for lr < 2 / lambda_max = %.4f\n\n", lambda_max, limit);
std::printf("%10s %12s %16s %16s   %s\n", "lr", "lr / limit", "loss at step 0", "loss at step 100", "");
for (double fraction : {0.005, 0.05, 0.5, 0.9, 0.99, 1.01, 1.1, 1.5}) {
  Tensor w = zeros({3, 1}).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(fraction * limit));
  float first = 0, last = 0;
  for (int step = 0; step <= 100; ++step) {
    sgd.zero_grad();
    const Tensor error = features.matmul(w) - target;
    const Tensor loss = (error * error).mean();
    if (step == 0) first = loss.item();
    last = loss.item();
    if (step < 100) {
      loss.backward();
      sgd.step();
    }
  }
  const char* verdict = !std::isfinite(last) || last > first ? "diverged"
                        : last > 0.5f * first                ? "too small: barely moved"
                                                             : "converging";
  std::printf("%10.5f %12.3f %16.4g %16.4g   %s\n", fraction * limit, fraction, first, last, verdict);
}

// %% [markdown]
// ## What the state costs, and what one pass saves
//
// An optimizer's state is memory that training needs and inference does not. Per parameter,
// SGD keeps nothing, momentum one float, Adam two. For a model of `P` parameters that is, in
// float32: weights `4P` bytes, gradients `4P`, Adam's moments `8P`: Adam triples the memory of
// the weights before a single activation is stored. The demo counts it on the parameters of the
// 784-256-128-10 MLP that module 08's milestone trains.
//
// Then it times one Adam step on a million parameters two ways: our `adam_update`, one pass
// with no temporaries, against the same formulas written with tensor ops.

// %%
//| demo
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

// The parameters of a 784-256-128-10 MLP, each with a gradient.
auto mlp_parameters = [] {
  std::vector<Tensor> p = {randn({784, 256}, 1), zeros({256}), randn({256, 128}, 2), zeros({128}),
                           randn({128, 10}, 3),  zeros({10})};
  for (Tensor& t : p) {
    t.requires_grad_();
    t.mutable_grad() = ones(t.shape());
  }
  return p;
};
std::vector<Tensor> params = mlp_parameters();
int64_t count = 0;
for (const Tensor& p : params) count += p.numel();
optim::SGD sgd(mlp_parameters(), optim::SGDOptions(0.1));
optim::SGD momentum(mlp_parameters(), optim::SGDOptions(0.1).momentum(0.9));
optim::Adam adam(mlp_parameters());
sgd.step();
momentum.step();
adam.step();
std::printf("784-256-128-10 MLP: %lld parameters, weights %.2f MB, gradients %.2f MB\n", static_cast<long long>(count),
            count * 4 / 1e6, count * 4 / 1e6);
std::printf("optimizer state after one step:  SGD %.2f MB (%.0f bytes/parameter)   momentum %.2f MB (%.0f)   Adam %.2f MB (%.0f)\n",
            sgd.state_bytes() / 1e6, double(sgd.state_bytes()) / count, momentum.state_bytes() / 1e6,
            double(momentum.state_bytes()) / count, adam.state_bytes() / 1e6, double(adam.state_bytes()) / count);

// One Adam step on 1,048,576 parameters: the fused loop against tensor ops (median of 5).
const int64_t n = 1 << 20;
Tensor w = randn({n}, 4).requires_grad_();
w.mutable_grad() = randn({n}, 5);
optim::Adam fused({w}, optim::AdamOptions(1e-3));
auto median_ms = [](auto work) {
  std::vector<double> runs;
  for (int run = 0; run < 5; ++run) {
    const auto start = std::chrono::steady_clock::now();
    work();
    runs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(runs.begin(), runs.end());
  return runs[2];
};
const double fused_ms = median_ms([&] { fused.step(); });
Tensor w2 = w.detach().clone();
Tensor g2 = w.grad();
Tensor m = zeros({n});
Tensor v2 = zeros({n});
int64_t t = 0;
const double composed_ms = median_ms([&] {
  NoGradGuard no_grad;
  ++t;
  const optim::AdamBiasCorrection c = optim::adam_bias_correction(1e-3, 0.9, 0.999, t);
  m.copy_(m * 0.9f + g2 * 0.1f);                    // 3 temporaries
  v2.copy_(v2 * 0.999f + g2 * g2 * 0.001f);         // 4 temporaries
  Tensor denom = sqrt(v2) / static_cast<float>(c.bias_correction2_sqrt) + 1e-8f;  // 3 more
  w2.copy_(w2 - m / denom * static_cast<float>(c.step_size));                  // 3 more
});
std::printf("one Adam step on %lld parameters: fused loop %.2f ms, tensor ops %.2f ms (%.1fx slower, 13 temporary tensors of %.0f MB)\n",
            static_cast<long long>(n), fused_ms, composed_ms, composed_ms / fused_ms, n * 4 / 1e6);

// %% [markdown]
// ## Part 5: Learning-rate schedules
//
// A learning rate that is right at the start is too large at the end: near a minimum the
// steps overshoot and the loss plateaus at the level of the gradient noise. Lowering the rate
// as training goes on lets the weights settle. A **scheduler** changes the optimizer's
// learning rate once per **epoch** (a pass over the training data):
//
// ```cpp
// optim::SGD optimizer(parameters, 0.1);
// optim::StepLR scheduler(optimizer, /*step_size=*/30, /*gamma=*/0.1);
// for (int epoch = 0; epoch < 90; ++epoch) {
//   train_one_epoch(optimizer);   // many optimizer.step() calls, all at this epoch's lr
//   scheduler.step();             // then the next epoch's lr
// }
// ```
//
// A schedule here is a formula for the learning rate of epoch `t`, counted from 0, in terms of
// the optimizer's learning rate when the scheduler was made (`base_lr`). PyTorch's formulas:
//
//     StepLR(step_size, gamma):        lr(t) = base_lr · gamma^⌊t / step_size⌋
//     CosineAnnealingLR(T_max, η_min): lr(t) = η_min + (base_lr − η_min) · (1 + cos(π t / T_max)) / 2
//     LinearLR(start, end, total):     lr(t) = base_lr · (start + (end − start) · min(t, total) / total)
//
// StepLR drops by `gamma` every `step_size` epochs (the ResNet recipe: ÷10 at epochs 30 and
// 60). Cosine annealing glides from `base_lr` to `η_min` over `T_max` epochs, slowly at both
// ends (the modern default). LinearLR ramps up: a **warm-up**, common before Adam's moments
// have settled in the first epochs of a transformer.
//
// `scheduler.step()` advances `last_epoch` and sets the optimizer's learning rate to
// `lr_at(last_epoch)`; a new scheduler sets epoch 0's. `get_last_lr()` is the learning rate it
// set last. The class `LRScheduler` is written for you; you write the two formulas.

// %%
//| export
namespace tinytorch::optim {

// The base of every learning-rate schedule (torch::optim::LRScheduler): step() once per epoch. The
// optimizer must outlive the scheduler.
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Moves to the next epoch and sets the optimizer's learning rate to that epoch's.
  void step();
  // The learning rate the scheduler set last (PyTorch's get_last_lr()).
  double get_last_lr() const noexcept { return last_lr_; }
  // The epoch the optimizer's learning rate is for: 0 until the first step().
  int64_t last_epoch() const noexcept { return last_epoch_; }
  // The learning rate of epoch `epoch` (0 is the first), by the schedule's formula.
  virtual double lr_at(int64_t epoch) const = 0;

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  // Sets epoch 0's learning rate; each schedule's constructor calls it last.
  void start();
  // The optimizer's learning rate when the scheduler was made.
  double base_lr() const noexcept { return base_lr_; }

 private:
  Optimizer& optimizer_;
  double base_lr_;
  int64_t last_epoch_ = 0;
  double last_lr_;
};

// Multiplies the learning rate by gamma every step_size epochs (torch::optim::StepLR).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// Half a cosine from the base learning rate down to eta_min over T_max epochs (torch's CosineAnnealingLR).
// Past T_max the cosine rises again, as in PyTorch: make T_max the number of epochs.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);
  double lr_at(int64_t epoch) const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

// A linear ramp of the factor from start_factor to end_factor over total_iters epochs: a warm-up
// (torch's LinearLR).
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0, int64_t total_iters = 5);
  double lr_at(int64_t epoch) const override;

 private:
  double start_factor_;
  double end_factor_;
  int64_t total_iters_;
};

}  // namespace tinytorch::optim

// %%
//| export impl
namespace tinytorch::optim {

LRScheduler::LRScheduler(Optimizer& optimizer)
    : optimizer_(optimizer), base_lr_(optimizer.lr()), last_lr_(optimizer.lr()) {}

void LRScheduler::start() {
  last_lr_ = lr_at(0);
  optimizer_.set_lr(last_lr_);
}

void LRScheduler::step() {
  const double lr = lr_at(last_epoch_ + 1);
  optimizer_.set_lr(lr);
  ++last_epoch_;
  last_lr_ = lr;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) throw std::invalid_argument("StepLR: step_size must be at least 1, got " + std::to_string(step_size));
  start();
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  if (T_max < 1) throw std::invalid_argument("CosineAnnealingLR: T_max must be at least 1, got " + std::to_string(T_max));
  start();
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  check_option(start_factor > 0.0 && start_factor <= 1.0, "LinearLR", "start_factor (must be in (0, 1])", start_factor);
  check_option(end_factor >= 0.0 && end_factor <= 1.0, "LinearLR", "end_factor (must be in [0, 1])", end_factor);
  if (total_iters < 1) {
    throw std::invalid_argument("LinearLR: total_iters must be at least 1, got " + std::to_string(total_iters));
  }
  start();
}

double LinearLR::lr_at(int64_t epoch) const {
  const double progress = static_cast<double>(std::min(epoch, total_iters_)) / static_cast<double>(total_iters_);
  return base_lr() * (start_factor_ + (end_factor_ - start_factor_) * progress);
}

}  // namespace tinytorch::optim

// %% [markdown]
// ### ⭐ `StepLR::lr_at`
//
// **TODO**: Return `base_lr() · gamma^⌊epoch / step_size⌋`.
//
// **APPROACH**:
// 1. `epoch / step_size_` in integers is the floor you want: the number of drops so far.
// 2. `std::pow(gamma_, drops)`, times `base_lr()`.
//
// **EXAMPLE**:
// ```cpp
// // base_lr 0.1, step_size 3, gamma 0.1: epochs 0, 1, 2 -> 0.1; 3, 4, 5 -> 0.01; 6 -> 0.001
// ```
//
// **HINTS**:
// - Epochs count from 0, and `scheduler.step()` is called *after* an epoch: the first
//   `step_size` epochs (0 to `step_size − 1`) train at `base_lr`. `(epoch + 1) / step_size`
//   drops one epoch early.
//
// **SYSTEMS THINKING**: a closed form of the epoch is easy to test and to resume: a checkpoint
// needs only `last_epoch`. PyTorch's `step()` multiplies the *current* rate by `gamma` instead
// (the same numbers when one scheduler owns the rate), which lets two schedulers be chained.

// %%
//| export impl
namespace tinytorch::optim {

double StepLR::lr_at(int64_t epoch) const {
  // BEGIN SOLUTION
  return base_lr() * std::pow(gamma_, static_cast<double>(epoch / step_size_));
  // END SOLUTION
}

}  // namespace tinytorch::optim

// %%
//| test
TEST(UnitStepLR, DropsEveryStepSizeEpochs) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD sgd({w}, 0.1);
  optim::StepLR scheduler(sgd, 3, 0.1);
  EXPECT_DOUBLE_EQ(scheduler.lr_at(2), 0.1);
  EXPECT_NEAR(scheduler.lr_at(3), 0.01, 1e-15);
}

// %% [markdown]
// ### ⭐⭐ `CosineAnnealingLR::lr_at`
//
// **TODO**: Return `η_min + (base_lr − η_min) · (1 + cos(π · epoch / T_max)) / 2`.
//
// **APPROACH**:
// 1. `progress = epoch / T_max` in `double` (not in integers: that is 0 until the very end).
// 2. `cos(π · progress)` goes from 1 (epoch 0) to −1 (epoch `T_max`), so
//    `(1 + cos) / 2` goes from 1 to 0.
// 3. Scale the gap `base_lr() − eta_min_` by it and add `eta_min_`.
//
// **EXAMPLE**:
// ```cpp
// // base_lr 0.1, T_max 10, eta_min 0: epoch 0 -> 0.1, epoch 5 -> 0.05, epoch 10 -> 0
// // with eta_min 0.01: epoch 5 -> 0.055, epoch 10 -> 0.01
// ```
//
// **HINTS**:
// - `std::numbers::pi` (C++20, `<numbers>`) is π as a `double`.
// - Both `static_cast<double>`: `epoch / T_max_` on `int64_t`s is integer division.
//
// **SYSTEMS THINKING**: the cosine spends most of its epochs at high and at low rates and
// passes through the middle quickly: long exploration, a long settling, no cliff where the loss
// jumps as at a StepLR drop. It has one knob fewer to tune than StepLR, which is much of why
// it became the default.

// %%
//| export impl
namespace tinytorch::optim {

double CosineAnnealingLR::lr_at(int64_t epoch) const {
  // BEGIN SOLUTION
  const double progress = static_cast<double>(epoch) / static_cast<double>(T_max_);
  return eta_min_ + (base_lr() - eta_min_) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
  // END SOLUTION
}

}  // namespace tinytorch::optim

// %%
//| test
TEST(UnitCosineAnnealingLR, HalfwayIsHalfTheBaseRate) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD sgd({w}, 0.1);
  optim::CosineAnnealingLR scheduler(sgd, 10);
  EXPECT_NEAR(scheduler.lr_at(5), 0.05, 1e-12);
  EXPECT_NEAR(scheduler.lr_at(10), 0.0, 1e-12);
}

// %%
//| demo
#include <cstdio>
#include <string>

// Three schedules over 30 epochs, base lr 0.1: the learning rate each epoch trains at, as a bar.
Tensor a = zeros({1}).requires_grad_(), b = zeros({1}).requires_grad_(), c = zeros({1}).requires_grad_();
optim::SGD sgd_a({a}, 0.1), sgd_b({b}, 0.1), sgd_c({c}, 0.1);
optim::StepLR step_lr(sgd_a, 10, 0.5);
optim::CosineAnnealingLR cosine(sgd_b, 30, 0.005);
optim::LinearLR warmup(sgd_c, 0.1, 1.0, 5);
auto bar = [](double lr) { return std::string(static_cast<std::size_t>(lr / 0.1 * 20 + 0.5), '#'); };
std::printf("epoch  %-29s %-29s %s\n", "StepLR(10, 0.5)", "CosineAnnealingLR(30, 0.005)", "LinearLR(0.1, 1, 5)");
for (int epoch = 0; epoch < 30; ++epoch) {
  std::printf("%5d  %.4f %-22s %.4f %-22s %.4f %s\n", epoch, sgd_a.lr(), bar(sgd_a.lr()).c_str(), sgd_b.lr(),
              bar(sgd_b.lr()).c_str(), sgd_c.lr(), bar(sgd_c.lr()).c_str());
  // ... an epoch of training at these rates would run here ...
  step_lr.step();
  cosine.step();
  warmup.step();
}

// %% [markdown]
// ## Part 6: Gradient clipping
//
// Sometimes one batch produces an enormous gradient: a long chain of multiplications (a deep
// network, a recurrent one unrolled over time) multiplies any factor above 1 into an
// explosion, and one step of size `lr · 10¹⁰` throws the weights so far that every later loss
// is infinite. **Clipping by norm** caps the length of the step without changing its
// direction:
//
//     total_norm = √(Σ over every gradient element of every parameter of g²)
//     if total_norm > max_norm:  every gradient *= max_norm / total_norm
//
// The norm is taken over **all gradients together**, as one long vector: clipping each
// parameter on its own would change the direction of the step (each parameter shrunk by a
// different factor), and a parameter with a small gradient would be scaled up relative to the
// others. PyTorch's exact rule is `clip_coef = max_norm / (total_norm + 1e-6)`, applied when it
// is below 1 (the `1e-6` keeps a zero norm from dividing by zero).
//
// `clip_grad_norm_` returns the total norm *before* clipping: the number to log, since a
// training run whose gradient norms climb is about to diverge. What if that norm is NaN or
// infinite (a gradient already overflowed)? By default PyTorch does not stop you: it scales by
// `max_norm / inf = 0` (or by NaN), so the gradients become 0 and NaN, and it returns the
// non-finite norm for you to check. With `error_if_nonfinite = true` it throws instead. We do
// the same.
//
// `norm_type` chooses the norm: 2 (the default, Euclidean), infinity (the largest `|g|`), or
// any `p > 0`: `(Σ |g|ᵖ)^(1/p)`. `clip_grad_value_` (written for you) clamps every element to
// `[−clip_value, clip_value]` instead, which changes the direction, and is rarely what you
// want.

// %%
//| export
namespace tinytorch::nn::utils {

// The norm of all elements of all the (defined) tensors together, as one long vector: 2 for Euclidean,
// infinity for the largest |x|, any p > 0 for (sum |x|^p)^(1/p). Throws for a NaN or infinite norm only
// when error_if_nonfinite (torch.nn.utils.get_total_norm).
double get_total_norm(const std::vector<Tensor>& tensors, double norm_type = 2.0, bool error_if_nonfinite = false);

// Scales all gradients of `parameters` by one factor so that their total norm is at most max_norm, and
// returns the total norm before clipping. Parameters without a gradient are skipped.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element of `parameters` to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);

namespace detail {
// Multiplies every element of the (contiguous) gradients by `factor`, in place.
void scale_gradients_(const std::vector<Tensor>& grads, double factor);
}  // namespace detail

}  // namespace tinytorch::nn::utils

// %%
//| export impl
namespace tinytorch::nn::utils {

namespace {
// The gradient's elements for writing; a gradient that is a view (set by hand) is an error.
float* writable_gradient(const Tensor& grad, const char* caller) {
  if (!grad.is_contiguous()) {
    throw std::invalid_argument(std::string(caller) + ": a gradient of shape " + shape_str(grad.shape()) +
                                " is not contiguous (strides " + shape_str(grad.strides()) +
                                "); backward() always makes contiguous gradients, so one set by hand through "
                                "mutable_grad() must be too (.contiguous())");
  }
  return grad.data();
}
}  // namespace

namespace detail {
void scale_gradients_(const std::vector<Tensor>& grads, double factor) {
  const auto f = static_cast<float>(factor);
  for (const Tensor& grad : grads) {
    float* g = writable_gradient(grad, "clip_grad_norm_()");
    const int64_t n = grad.numel();
    for (int64_t j = 0; j < n; ++j) g[j] *= f;
  }
}
}  // namespace detail

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  if (!(clip_value >= 0.0)) throw std::invalid_argument("clip_grad_value_(): clip_value must be >= 0");
  const auto c = static_cast<float>(clip_value);
  for (const Tensor& p : parameters) {
    const Tensor grad = p.grad();
    if (!grad.defined()) continue;
    float* g = writable_gradient(grad, "clip_grad_value_()");
    const int64_t n = grad.numel();
    for (int64_t j = 0; j < n; ++j) g[j] = g[j] > c ? c : (g[j] < -c ? -c : g[j]);  // NaN stays NaN, as torch.clamp
  }
}

}  // namespace tinytorch::nn::utils

// %% [markdown]
// ### ⭐⭐ `get_total_norm`: one norm over all gradients
//
// **TODO**: Compute `total`, the `norm_type`-norm of all elements of all defined tensors
// together; the code after yours checks it and returns it.
//
// **APPROACH**:
// 1. For each tensor: skip it if undefined; `const Tensor c = t.contiguous();` (the same
//    tensor when it already is) and walk `c.data()`.
// 2. Accumulate in `double`: for norm 2, `Σ x²`; for infinity (`std::isinf(norm_type)`), the
//    largest `|x|`; otherwise `Σ |x|ᵖ` with `std::pow`.
// 3. After the loops: norm 2 takes `std::sqrt`, a general `p` takes `std::pow(total, 1 / p)`,
//    infinity nothing.
//
// **EXAMPLE**:
// ```cpp
// get_total_norm({tensor({3, 4}), tensor({12})})         // 13: sqrt(9 + 16 + 144), not 5 + 12
// get_total_norm({tensor({3, -4}), tensor({1})}, INFINITY)   // 4
// get_total_norm({tensor({3, -4})}, 1)                   // 7
// ```
//
// **HINTS**:
// - One sum for everything: a norm per tensor, and then adding the norms, gives 17 above, not 13.
// - For the largest `|x|`, `std::max(total, a)` drops a NaN (`NaN < x` is false); PyTorch's
//   infinity norm of a NaN gradient is NaN. Take `a` when `a > total || std::isnan(a)`: once
//   `total` is NaN, `a > total` is false for every number, so it stays NaN.
// - `double` for the sum: a million squares of 10⁻³ in `float` lose digits long before the end.
//
// **SYSTEMS THINKING**: the norm reads every gradient once more, a pass over memory the size of
// the model, every step: clipping costs about as much as a plain SGD step. Fused optimizers
// compute it while the gradients are still in cache from the backward pass.

// %%
//| export impl
namespace tinytorch::nn::utils {

double get_total_norm(const std::vector<Tensor>& tensors, double norm_type, bool error_if_nonfinite) {
  if (!(norm_type > 0.0)) {
    throw std::invalid_argument("get_total_norm(): norm_type must be > 0 (2, infinity, or any p > 0), got " +
                                std::to_string(norm_type));
  }
  double total = 0.0;
  // BEGIN SOLUTION
  const bool largest = std::isinf(norm_type);
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    const Tensor c = t.contiguous();
    const float* x = c.data();
    const int64_t n = c.numel();
    for (int64_t j = 0; j < n; ++j) {
      const double a = std::fabs(static_cast<double>(x[j]));
      if (largest) {
        if (a > total || std::isnan(a)) total = a;  // a NaN, once in, stays: NaN > x is false
      } else if (norm_type == 2.0) {
        total += a * a;
      } else {
        total += std::pow(a, norm_type);
      }
    }
  }
  if (!largest) total = norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
  // END SOLUTION
  if (error_if_nonfinite && !std::isfinite(total)) {
    std::ostringstream message;
    message << "get_total_norm(): the total norm of order " << norm_type << " of the gradients is " << total
            << ", so it cannot be clipped. A gradient overflowed or is NaN (autograd::DetectAnomalyGuard finds the "
               "op); pass error_if_nonfinite = false to scale by the non-finite norm anyway, as PyTorch's default";
    throw std::runtime_error(message.str());
  }
  return total;
}

}  // namespace tinytorch::nn::utils

// %% [markdown]
// ### ⭐ `clip_grad_norm_`
//
// **TODO**: Gather the gradients, take their total norm, scale them all by PyTorch's
// coefficient when it is below 1, and return the norm.
//
// **APPROACH**:
// 1. `grads`: `p.grad()` of every parameter whose gradient is defined (the handles: scaling
//    through them scales the parameters' gradients).
// 2. `total_norm = get_total_norm(grads, norm_type, error_if_nonfinite)`.
// 3. `clip_coef = max_norm / (total_norm + 1e-6)`; scale with
//    `detail::scale_gradients_(grads, clip_coef)` when the coefficient is below 1 *or* NaN.
// 4. Return `total_norm`.
//
// **EXAMPLE**:
// ```cpp
// a.mutable_grad() = tensor({3, 4}); b.mutable_grad() = tensor({12});
// clip_grad_norm_({a, b}, 6.5)    // returns 13; a.grad() = [1.5, 2], b.grad() = [6]
// clip_grad_norm_({a, b}, 100)    // returns 6.5; nothing changes
// ```
//
// **HINTS**:
// - Write the test as `!(clip_coef >= 1.0)`: it is true for a NaN coefficient, and PyTorch
//   scales by NaN then (its `clamp(coef, max = 1)` keeps the NaN).
// - An infinite norm gives a coefficient of 0, and the gradients become 0 (and `inf · 0 = NaN`
//   where they were infinite): that is PyTorch's default too.
//
// **SYSTEMS THINKING**: clipping rescales the whole step, so after it the update's length is at
// most `lr · max_norm`. With Adam, which normalizes each weight's step anyway, clipping acts
// mostly through the moments: one huge gradient would otherwise sit in `v` for thousands of
// steps and shrink every later step of that weight.

// %%
//| export impl
namespace tinytorch::nn::utils {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  // BEGIN SOLUTION
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  const double total_norm = get_total_norm(grads, norm_type, error_if_nonfinite);
  const double clip_coef = max_norm / (total_norm + 1e-6);
  if (!(clip_coef >= 1.0)) detail::scale_gradients_(grads, clip_coef);  // below 1, or NaN: as PyTorch's clamp
  return total_norm;
  // END SOLUTION
}

}  // namespace tinytorch::nn::utils

// %%
//| test
TEST(UnitClipGradNorm, TheNormIsOverAllGradientsTogether) {
  Tensor a = zeros({2}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  a.mutable_grad() = tensor({3, 4});
  b.mutable_grad() = tensor({12});
  EXPECT_NEAR(nn::utils::clip_grad_norm_({a, b}, 6.5), 13.0, 1e-5);
  EXPECT_NEAR(a.grad().to_vector()[1], 2.0f, 1e-5f);
  EXPECT_NEAR(b.grad().item(), 6.0f, 1e-5f);
}

// %% [markdown]
// ## Clipping an exploding gradient
//
// A deep "network" of ten scalar weights in a chain, `y = w₁ · w₂ · … · w₁₀ · x`, trained to map
// `x = 1` to `y = 1`, starting with every weight at 2: the product is 1024, and each weight's
// gradient is about 10⁶. With `lr = 0.05` and no clipping, the first step throws each weight
// tens of thousands of units away, and the loss overflows. Clipping the total norm to 1 caps
// every step at `lr · 1`, and the same optimizer walks down the valley, then (once the
// gradients are small and no longer clipped) converges as plain SGD.

// %%
//| demo
#include <cmath>
#include <cstdio>
#include <vector>

auto train_chain = [](bool clip) {
  std::vector<Tensor> weights;
  for (int i = 0; i < 10; ++i) weights.push_back(full({1}, 2.0f).requires_grad_());
  optim::SGD sgd(weights, optim::SGDOptions(0.05));
  std::vector<std::pair<float, double>> trace;  // (loss, gradient norm before clipping), per step
  for (int step = 0; step < 80; ++step) {
    sgd.zero_grad();
    Tensor y = ones({1});
    for (const Tensor& w : weights) y = y * w;
    const Tensor loss = ((y - 1.0f) * (y - 1.0f)).sum();
    loss.backward();
    std::vector<Tensor> grads;
    for (const Tensor& w : weights) grads.push_back(w.grad());
    const double norm = clip ? nn::utils::clip_grad_norm_(weights, 1.0) : nn::utils::get_total_norm(grads);
    trace.emplace_back(loss.item(), norm);
    sgd.step();
  }
  return trace;
};
const auto plain = train_chain(false);
const auto clipped = train_chain(true);
std::printf("ten weights in a chain, SGD lr 0.05: loss (and the gradient norm before clipping)\n");
std::printf("%5s   %-32s %s\n", "step", "no clipping", "clip_grad_norm_(weights, 1.0)");
for (int step : {0, 1, 2, 3, 5, 10, 20, 30, 40, 50, 60, 70, 79}) {
  const auto& [plain_loss, plain_norm] = plain[static_cast<std::size_t>(step)];
  const auto& [clipped_loss, clipped_norm] = clipped[static_cast<std::size_t>(step)];
  std::printf("%5d   %-11.4g (norm %-11.4g)    %-11.4g (norm %.4g)\n", step, plain_loss, plain_norm, clipped_loss,
              clipped_norm);
}

// %% [markdown]
// ## Summary
//
// You built the optimizers that train every network, with libtorch's names and PyTorch's exact
// numbers:
//
// - an **`Optimizer`** that holds handles to the model's own tensors and updates them **in
//   place**, unrecorded (`NoGradGuard`), skipping parameters without a gradient, with a
//   learning rate a schedule can change and per-parameter state;
// - **`zero_grad`** that sets gradients to none, PyTorch 2's default, and why;
// - **SGD** with weight decay, momentum (the buffer starts at the first gradient) and
//   Nesterov momentum;
// - **Adam**, with its two moments and bias correction, and **AdamW**, whose decoupled decay
//   shrinks the weight instead of the gradient;
// - **schedules** (`StepLR`, `CosineAnnealingLR`, `LinearLR` for warm-up) as closed-form
//   functions of the epoch;
// - **gradient clipping** by the norm of all gradients together.
//
// And every update is one pass over each parameter's memory, with no temporary tensors: the
// fused loop the demos timed against composed tensor ops.
//
// ## Reflect
//
// 1. Before measuring: how many bytes of optimizer state does Adam keep for a model with
//    235,146 parameters, and how many does SGD with momentum keep? Then run the memory demo.
//    What fraction of a 7-billion-parameter model's training memory (weights, gradients,
//    Adam's state, all float32) is optimizer state?
// 2. Estimate how much slower the composed-tensor-op Adam step is than the fused one, from the
//    passes over memory each makes (count the temporaries). Then compare with the demo's
//    timing. Where does your estimate go wrong?
// 3. In the learning-rate demo, predict the loss after 100 steps at `lr = 1.01 · (2/λ_max)`
//    before you look: how much does the error grow per step along the steepest direction?
//    Why does the loss at `0.99 · (2/λ_max)` still go down, and slowly?
// 4. Adam's first step moves every weight by almost exactly `lr`. Estimate how far the first
//    step would move a weight without bias correction, with `β₁ = 0.9`, `β₂ = 0.999`; then
//    switch the correction off in a copy of `adam_update` and measure.
// 5. A weight that gets a zero gradient for 100 steps: how far do Adam (with `weight_decay =
//    0.01`) and AdamW (the same) move it, at `lr = 10⁻³`? Estimate, then run both.
// 6. Clipping by norm versus clipping each parameter on its own: for gradients `[3, 4]` and
//    `[12]` and `max_norm = 6.5`, what step direction does each give? Why does the per-parameter
//    version change what the optimizer does, and not just how far?
//
// Next: module 07, training. A `Trainer` runs the loop of this module's first code block for
// you, epoch after epoch, with train and evaluation phases, one CONFIG struct for every
// hyperparameter (the optimizer and schedule among them), a CSV log, early stopping, and
// checkpoints that save the weights *and* this module's optimizer state: resuming Adam without
// its moments is a different run.
