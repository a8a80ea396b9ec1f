// %% [markdown]
// # Module 05: Autograd
//
// Training a network means changing its weights so that the loss goes down, and for that you
// need the gradient of the loss with respect to every weight: millions of partial
// derivatives, every step. Writing them by hand for each model is how neural networks were
// trained in 1986, and it is why almost nobody did. **Automatic differentiation** computes
// them from the program that computes the loss, exactly (not by finite differences) and at
// the cost of about two more forward passes.
//
// In this module you build the reverse-mode autograd of `torch::autograd`:
//
// ```cpp
// Tensor w = randn({3, 2}, 1).requires_grad_();   // a parameter
// Tensor loss = relu(x.matmul(w)).sum();           // any computation of modules 01-04
// loss.backward();                                  // d loss / d w, for every parameter
// std::cout << w.grad();                            // same shape as w
// ```
//
// ## The idea in one example
//
// Take `y = (a * b) + a` with `a = 2`, `b = 3`. Forward, each op computes its result:
// `t = a * b = 6`, `y = t + a = 8`. The **chain rule** says how a small change travels back:
//
//     dy/dy = 1                                   start at the output
//     dy/dt = 1,  dy/da += 1       (through +)    + passes the gradient to both inputs
//     dy/da += dy/dt · b = 3,  dy/db = dy/dt · a = 2    (through *)
//     so dy/da = 1 + 3 = 4, dy/db = 2
//
// Three things to notice, because they are the whole module:
//
// 1. Each op only needs its **local** derivative: `*` knows that `d(a·b)/da = b`, nothing about
//    the rest of the program. That is a **backward function** per op (part 3).
// 2. The gradients flow **backwards** through the ops, in the reverse order of a topological
//    sort of the graph: an op can send its gradient on only once every op that used its result
//    has sent theirs (part 4).
// 3. `a` is used twice, so its gradient is the **sum** of what arrives along both paths: gradients
//    accumulate.
//
// ## Nothing in modules 01 to 04 changes
//
// Module 01 left a dormant slot in every tensor and built every op in two layers: the kernel
// you wrote, and a wrapper that calls it through `autograd::record` (module 01, part 2). Until
// now nothing listened. This module installs the **recorder**: from the moment a program that
// uses `backward()` starts, every op on a tensor that requires grad attaches a **node** to its
// result, saying which op made it and from which inputs. `backward()` then walks those nodes.
// Your `relu`, your `log_softmax`, module 03's `Linear` and module 04's losses become
// differentiable without one line of them changing.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | the graph: nodes and the recorder | nothing: read it |
// | 2 | gradients of broadcasting | `sum_to` |
// | 3 | backward functions, op by op | `sub`, `mul`, `div`, `sum`, `sum_dim`, `max_dim`, `matmul`, `transpose`, `expand`, `exp`, `pow`, `relu`, `sigmoid`, `softmax`, `log_softmax`, `gather` |
// | 4 | the backward pass | `collect_graph`, `run_backward`, `accumulate_grad` |
// | 5 | checking gradients | `gradcheck` |
// | 6 | switching autograd off, detaching | nothing: read it, then use it |
// | 7 | ops with a backward of their own (for later modules) | nothing: read it |
// | 8 | where did that NaN come from? anomaly mode | nothing: read it, then use it |
//
// Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module.
//
// After each function, run `tito test autograd`; `tito module run autograd` shows the demos.

// %%
//| default_exp core/autograd

// %%
//| export
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <tinytorch/core/layers.hpp>
#include <tinytorch/core/losses.hpp>

// %%
//| export impl
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cxxabi.h>
#include <execinfo.h>
#include <limits>
#include <numbers>
#include <sstream>

// %% [markdown]
// ## Part 1: The graph (written for you)
//
// Module 01 declared `struct AutogradMeta;` and gave every `TensorImpl` a
// `std::shared_ptr<AutogradMeta> autograd`. Here is what that pointer holds: the gradient
// that `backward()` accumulates into this tensor, and the **node** of the op that made it
// (`grad_fn`, PyTorch's name). A tensor you made yourself (a *leaf*: a weight, an input) has
// no `grad_fn`.
//
// A `Node` is one recorded op. It keeps what its backward function will need:
//
// - `inputs`: the tensors the op read. They are also the graph's **edges**: an input that was
//   itself computed has a `grad_fn`, and that is where the gradient goes next.
// - `ints`, `scalar`: the op's other arguments (an axis, keepdim, the `c` of `x * c`).
// - `output`: the op's result, *detached* (same numbers, no autograd record). Sigmoid's
//   derivative is `out · (1 - out)`, so backward wants the result; but the result's own record
//   points at this node, and a node holding its result would make a cycle that `shared_ptr`
//   never frees.
// - `backward`: the op's backward function.
//
//     y = relu(x @ w + b)
//
//     y.grad_fn ──> Node "relu"      inputs: [h]
//                     │
//     h.grad_fn ──> Node "add"       inputs: [xw, b]        b: leaf (requires grad)
//                     │
//     xw.grad_fn ─> Node "matmul"    inputs: [x, w]         x: leaf (no grad), w: leaf (requires grad)
//
// A backward function receives a `BackwardContext`: the node's inputs and arguments, the
// op's output, the gradient `grad` that arrived at the output (always of the output's shape),
// and `needs_grad[i]`, whether input `i` wants a gradient at all. It returns one gradient per
// input, each of that input's shape, or an undefined `Tensor()` for an input that needs none:
// the gradient of the *data* `x` in `x @ w` is a whole extra matmul that nobody will read.

// %%
//| export
namespace tinytorch {
namespace autograd {

struct Node;

// What a backward function sees (see part 1).
struct BackwardContext {
  const std::vector<Tensor>& inputs;
  const std::vector<int64_t>& ints;
  float scalar;
  const Tensor& output;                 // the op's result (detached)
  const Tensor& grad;                   // d loss / d output, of the output's shape
  const std::vector<bool>& needs_grad;  // needs_grad[i]: input i wants a gradient
};

// An op's backward: one gradient per input, each of that input's shape (Tensor() for none).
using BackwardFn = std::function<std::vector<Tensor>(const BackwardContext&)>;

// One recorded op: a step of the backward graph.
struct Node {
  std::string name;              // the op, as recorded: "matmul", "relu", ...
  uint64_t sequence = 0;         // the how-manieth op recorded on this thread
  std::vector<Tensor> inputs;    // what the op read; their grad_fn are the next nodes
  std::vector<int64_t> ints;     // the op's arguments that are not tensors
  float scalar = 0.0f;
  Tensor output;                 // the op's result, detached
  BackwardFn backward;           // null: the op has no backward (an error if backward reaches it)
  std::string created_at;        // where the op was recorded (anomaly mode only, part 8)
  bool released = false;         // backward ran and freed what the node kept

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Frees the graph behind this node without recursion (a chain of 100,000 ops is fine).
  ~Node();
};

}  // namespace autograd

// Autograd's record of a tensor: the slot declared in module 01.
struct AutogradMeta {
  Tensor grad;                              // accumulated by backward()
  std::shared_ptr<autograd::Node> grad_fn;  // the op that made this tensor; null for a leaf
};

namespace autograd {

// The node of the op that made `t`, or null (a leaf, or a tensor autograd never saw).
std::shared_ptr<Node> grad_fn(const Tensor& t);
// Makes `node` the grad_fn of `output` (which then requires grad).
void attach(const Tensor& output, std::shared_ptr<Node> node);

}  // namespace autograd
}  // namespace tinytorch

// %% [markdown]
// Freeing a graph looks like nothing to write: when the last handle to a loss goes away, its
// `AutogradMeta` goes, then its node, then the node's inputs, their nodes, and so on. But that
// is a chain of destructors, each called from inside the previous one. For a chain of 100,000
// ops (an RNN unrolled over a long sequence does that) the call stack runs out and the
// program crashes while freeing memory. `~Node` therefore unlinks the graph behind it with a
// loop and an explicit stack of nodes, the same trick PyTorch uses.

// %%
//| export impl
namespace tinytorch::autograd {

std::shared_ptr<Node> grad_fn(const Tensor& t) {
  if (!t.defined()) return nullptr;
  const auto& meta = t.impl_ptr()->autograd;
  return meta ? meta->grad_fn : nullptr;
}

void attach(const Tensor& output, std::shared_ptr<Node> node) {
  TensorImpl& impl = *output.impl_ptr();
  impl.requires_grad = true;
  if (!impl.autograd) impl.autograd = std::make_shared<AutogradMeta>();
  impl.autograd->grad_fn = std::move(node);
}

namespace {

// Moves out of `tensors` the nodes that only they keep alive, so that destroying the tensors
// cannot start a chain of destructors; the caller frees those nodes one by one.
void unlink(std::vector<Tensor>& tensors, std::vector<std::shared_ptr<Node>>& orphans) {
  for (Tensor& t : tensors) {
    const std::shared_ptr<TensorImpl>& impl = t.impl_ptr();
    if (impl && impl.use_count() == 1 && impl->autograd && impl->autograd->grad_fn.use_count() == 1) {
      orphans.push_back(std::move(impl->autograd->grad_fn));
    }
  }
  tensors.clear();
}

}  // namespace

Node::~Node() {
  std::vector<std::shared_ptr<Node>> orphans;
  unlink(inputs, orphans);
  while (!orphans.empty()) {
    std::shared_ptr<Node> node = std::move(orphans.back());
    orphans.pop_back();
    unlink(node->inputs, orphans);
    node->backward = nullptr;
  }  // each orphan dies here with no inputs left: no recursion
}

}  // namespace tinytorch::autograd

// %% [markdown]
// The recorder (written for you) is what module 01's `autograd::record` calls. It turns the
// `OpCall` into a `Node`, looks up the op's backward function by name (part 3 builds the
// table), and attaches the node to the result. An op whose name is not in the table still
// gets a node, with no backward function: reaching it in `backward()` is then an error that
// names the op, never a silently missing gradient. That is what happens to `map`, which has
// no derivative autograd could know.
//
// The recorder is installed by a static object of this source file, so it is in place before
// `main` starts in every program that uses `backward()` (and only in those: a program that
// never differentiates records nothing and pays nothing).

// %%
//| export
namespace tinytorch::autograd {

// The backward function of a recorded op of modules 01-04, by name; null if there is none.
const BackwardFn* find_backward(std::string_view op);
// Runs op `op`'s backward function on one call, as backward() does: for tests and curious people.
std::vector<Tensor> backward_of(std::string_view op, std::vector<Tensor> inputs, const Tensor& output,
                                const Tensor& grad, std::vector<int64_t> ints = {}, float scalar = 0.0f);

}  // namespace tinytorch::autograd

// %%
//| export impl
namespace tinytorch::autograd {

namespace {
thread_local uint64_t ops_recorded = 0;
std::string capture_creation_trace();  // part 8
bool anomaly_enabled() noexcept;      // part 8

void record_node(OpCall call, const Tensor& output) {
  auto node = std::make_shared<Node>();
  node->name = call.op;
  node->sequence = ++ops_recorded;
  node->inputs = std::move(call.inputs);
  node->ints = std::move(call.ints);
  node->scalar = call.scalar;
  node->output = output.detach();
  if (const BackwardFn* backward = find_backward(node->name)) node->backward = *backward;
  if (anomaly_enabled()) node->created_at = capture_creation_trace();
  attach(output, std::move(node));
}

// Installs the recorder when the program starts (see the text above).
const bool recorder_installed = (set_recorder(&record_node), true);
}  // namespace

std::vector<Tensor> backward_of(std::string_view op, std::vector<Tensor> inputs, const Tensor& output,
                                const Tensor& grad, std::vector<int64_t> ints, float scalar) {
  const BackwardFn* backward = find_backward(op);
  if (!backward) throw std::invalid_argument("backward_of(): no op named '" + std::string(op) + "' has a backward");
  std::vector<bool> needs_grad(inputs.size(), true);
  const Tensor out = output.detach();
  PauseRecording inside_backward;
  return (*backward)(BackwardContext{inputs, ints, scalar, out, grad, needs_grad});
}

}  // namespace tinytorch::autograd

// %% [markdown]
// ## Part 2: Gradients of broadcasting
//
// `h + b` with `h` of shape `[64, 10]` and a bias `b` of shape `[10]`: broadcasting used each
// `b[j]` 64 times, once per row. So `b[j]`'s gradient is the **sum** of the 64 gradients that
// arrive at column `j`. In general, the gradient arriving at a broadcast op has the *output's*
// shape, and each input's gradient is that gradient **summed over the dimensions its
// broadcasting stretched**:
//
//     grad of the output   [64, 10]
//     to an input [10]:    sum over dimension 0 (missing in the input)     -> [10]
//     to an input [64, 1]: sum over dimension 1 (size 1 in the input)      -> [64, 1]
//     to an input [1, 10]: sum over dimension 0, keepdim                   -> [1, 10]
//
// This is the most common autograd bug in hand-written code: a bias gradient of shape
// `[64, 10]` where the bias is `[10]`. Every backward function of a broadcasting op calls
// `sum_to`.
//
// ### ⭐⭐ `sum_to`: undo broadcasting
//
// **TODO**: Return `grad` summed down to `shape`: `shape` must be what `grad`'s shape was
// broadcast from.
//
// **APPROACH**:
// 1. While `grad` has more dimensions than `shape`, sum away dimension 0 (the leading
//    dimensions are the ones broadcasting added).
// 2. Then for each dimension `d`: if `shape[d] == 1` but `grad` has more there, sum over `d`
//    with `keepdim = true`.
// 3. If the result's shape still differs from `shape`, throw `ShapeError` naming both shapes.
//
// **EXAMPLE**:
// ```cpp
// sum_to(ones({64, 10}), {10})      // [10], every element 64
// sum_to(ones({2, 3, 4}), {3, 1})   // [3, 1], every element 8
// sum_to(ones({2, 3}), {2, 3})      // grad itself: nothing to sum
// ```
//
// **HINTS**:
// - Return `grad` unchanged when the shapes already agree: that is the common case, and it
//   costs nothing.
// - `sum(0)` and `sum(d, true)` are module 01's: they accumulate in double, so summing a
//   million gradients loses nothing.
//
// **SYSTEMS THINKING**: the bias gradient of a layer is a reduction over the batch: for a batch
// of 128 it reads 128 times more numbers than it writes. Fused into the kernel that produced
// the gradient, it would cost nothing extra; as a separate pass over memory it is one more
// read of the whole `[128, out]` tensor.

// %%
//| export
namespace tinytorch::autograd {

// `grad` summed over the dimensions that broadcasting stretched, so that it has `shape`.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace tinytorch::autograd

// %%
//| export impl
namespace tinytorch::autograd {

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  // BEGIN SOLUTION
  if (grad.shape() == shape) return grad;
  Tensor result = grad;
  while (result.dim() > static_cast<int64_t>(shape.size())) result = result.sum(0);
  for (int64_t d = 0; d < result.dim(); ++d) {
    if (shape[static_cast<std::size_t>(d)] == 1 && result.size(d) != 1) result = result.sum(d, /*keepdim=*/true);
  }
  if (result.shape() != shape) {
    throw ShapeError("sum_to(): a gradient of shape " + shape_str(grad.shape()) + " cannot be summed to shape " +
                     shape_str(shape) + " (that shape does not broadcast to it)");
  }
  return result;
  // END SOLUTION
}

}  // namespace tinytorch::autograd

// %%
//| test
using namespace tinytorch;

TEST(UnitSumTo, SumsTheBroadcastDimensions) {
  EXPECT_EQ(autograd::sum_to(ones({64, 10}), {10}).to_vector(), std::vector<float>(10, 64.0f));
  EXPECT_EQ(autograd::sum_to(ones({2, 3, 4}), {3, 1}).shape(), (Shape{3, 1}));
  EXPECT_EQ(autograd::sum_to(ones({2, 3, 4}), {3, 1}).to_vector(), std::vector<float>(3, 8.0f));
}

// %% [markdown]
// ## Part 3: Backward functions, op by op
//
// Every recorded op of modules 01 to 04 gets a backward function here: the *local*
// derivative, applied to the gradient that arrives at the op's output. modules/README.md has
// the table of every op, its inputs and arguments; PyTorch keeps the same table in a file
// called `derivatives.yaml`, so ours live in namespace `autograd::derivatives`.
//
// Read the two written for you first. `add` passes the gradient to both inputs, each summed
// down to its input's shape (broadcasting, part 2):
//
// ```cpp
// std::vector<Tensor> add(const BackwardContext& ctx) {
//   return {sum_to(ctx.grad, ctx.inputs[0].shape()), sum_to(ctx.grad, ctx.inputs[1].shape())};
// }
// ```
//
// and `mul_scalar` (`y = x * c`) multiplies it by the constant: `dy/dx = c`.
//
// Rules for every backward function:
//
// - It runs with recording paused: the tensor ops you use inside it are plain computations.
// - Return exactly one gradient per input, each of **that input's shape**; `backward()` checks
//   and names the op if you get a shape wrong.
// - Skip what nobody needs: return `Tensor()` for an input with `ctx.needs_grad[i] == false`
//   (the data in `x @ w`, the targets of a loss). Where the gradient is one cheap expression,
//   computing it anyway is fine.
// - Never write into `ctx.grad` or into an input: other nodes may be reading the same tensors.

// %%
//| export
namespace tinytorch::autograd::derivatives {

// One backward function per recorded op of modules 01-04 (modules/README.md lists them).
std::vector<Tensor> add(const BackwardContext& ctx);
std::vector<Tensor> sub(const BackwardContext& ctx);
std::vector<Tensor> mul(const BackwardContext& ctx);
std::vector<Tensor> div(const BackwardContext& ctx);
std::vector<Tensor> add_scalar(const BackwardContext& ctx);
std::vector<Tensor> mul_scalar(const BackwardContext& ctx);
std::vector<Tensor> div_scalar(const BackwardContext& ctx);
std::vector<Tensor> rsub_scalar(const BackwardContext& ctx);
std::vector<Tensor> rdiv_scalar(const BackwardContext& ctx);
std::vector<Tensor> neg(const BackwardContext& ctx);
std::vector<Tensor> sum(const BackwardContext& ctx);
std::vector<Tensor> sum_dim(const BackwardContext& ctx);
std::vector<Tensor> max(const BackwardContext& ctx);
std::vector<Tensor> max_dim(const BackwardContext& ctx);
std::vector<Tensor> matmul(const BackwardContext& ctx);
std::vector<Tensor> clone(const BackwardContext& ctx);
std::vector<Tensor> reshape_back(const BackwardContext& ctx);  // view, unsqueeze, squeeze
std::vector<Tensor> transpose(const BackwardContext& ctx);
std::vector<Tensor> permute(const BackwardContext& ctx);
std::vector<Tensor> expand(const BackwardContext& ctx);
std::vector<Tensor> exp(const BackwardContext& ctx);
std::vector<Tensor> log(const BackwardContext& ctx);
std::vector<Tensor> sqrt(const BackwardContext& ctx);
std::vector<Tensor> abs(const BackwardContext& ctx);
std::vector<Tensor> pow(const BackwardContext& ctx);
std::vector<Tensor> clamp_min(const BackwardContext& ctx);
std::vector<Tensor> clamp_max(const BackwardContext& ctx);
std::vector<Tensor> relu(const BackwardContext& ctx);
std::vector<Tensor> leaky_relu(const BackwardContext& ctx);
std::vector<Tensor> sigmoid(const BackwardContext& ctx);
std::vector<Tensor> tanh(const BackwardContext& ctx);
std::vector<Tensor> gelu(const BackwardContext& ctx);
std::vector<Tensor> softmax(const BackwardContext& ctx);
std::vector<Tensor> log_softmax(const BackwardContext& ctx);
std::vector<Tensor> gather(const BackwardContext& ctx);
std::vector<Tensor> binary_cross_entropy(const BackwardContext& ctx);
std::vector<Tensor> binary_cross_entropy_with_logits(const BackwardContext& ctx);
std::vector<Tensor> cross_entropy(const BackwardContext& ctx);

}  // namespace tinytorch::autograd::derivatives

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> add(const BackwardContext& ctx) {
  return {sum_to(ctx.grad, ctx.inputs[0].shape()), sum_to(ctx.grad, ctx.inputs[1].shape())};
}

// x + c and x - c: the constant does not change the slope.
std::vector<Tensor> add_scalar(const BackwardContext& ctx) { return {ctx.grad}; }

std::vector<Tensor> mul_scalar(const BackwardContext& ctx) { return {ctx.grad * ctx.scalar}; }

std::vector<Tensor> div_scalar(const BackwardContext& ctx) { return {ctx.grad / ctx.scalar}; }

// c - x
std::vector<Tensor> rsub_scalar(const BackwardContext& ctx) { return {-ctx.grad}; }

// c / x: d/dx = -c / x^2
std::vector<Tensor> rdiv_scalar(const BackwardContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  return {-ctx.grad * ctx.scalar / (x * x)};
}

std::vector<Tensor> neg(const BackwardContext& ctx) { return {-ctx.grad}; }

}  // namespace tinytorch::autograd::derivatives

// %% [markdown]
// ### ⭐ `sub`: the gradient of `a - b`
//
// **TODO**: Return the gradients of `a - b` for `a` and for `b`, with broadcasting.
//
// **APPROACH**:
// 1. `d(a - b)/da = 1`, `d(a - b)/db = -1`: the gradient goes to `a` as it is, to `b` negated.
// 2. Sum each down to its input's shape with `sum_to`.
//
// **EXAMPLE**:
// ```cpp
// // a [2, 3], b [3], grad all ones [2, 3]
// sub(ctx)   // {ones [2, 3], full({3}, -2)}
// ```
//
// **HINTS**:
// - Negate before or after `sum_to`: the same numbers. After is cheaper when `b` is small.
//
// **SYSTEMS THINKING**: `add` and `sub` cost nothing in backward beyond the `sum_to` of a
// broadcast input: the gradient tensor is passed on, not copied. That is why residual
// connections (`x + f(x)`) are free to backpropagate through.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> sub(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  return {sum_to(ctx.grad, ctx.inputs[0].shape()), -sum_to(ctx.grad, ctx.inputs[1].shape())};
  // END SOLUTION
}

}  // namespace tinytorch::autograd::derivatives

// %% [markdown]
// ### ⭐⭐ `mul` and `div`: the product and quotient rules
//
// **TODO**: Return the gradients of `a * b` and of `a / b` for both inputs, with broadcasting.
//
// **APPROACH** (`mul`): `d(a b)/da = b` and `d(a b)/db = a`, so the gradients are
// `sum_to(grad * b, a.shape())` and `sum_to(grad * a, b.shape())`. Compute each only when
// `ctx.needs_grad` says so.
//
// **APPROACH** (`div`): `d(a / b)/da = 1 / b`, `d(a / b)/db = -a / b²`.
//
// **EXAMPLE**:
// ```cpp
// // a = [2, 3], b = [4, 5], grad = [1, 1]
// mul(ctx)   // {[4, 5], [2, 3]}
// div(ctx)   // {[0.25, 0.2], [-0.125, -0.12]}
// ```
//
// **HINTS**:
// - Multiply by the *other* input, then `sum_to` *this* input's shape: `grad * b` has the
//   broadcast shape, and it is `a`'s gradient only once it is summed to `a.shape()`.
// - `x * x` is cheaper and more exact than `pow(x, 2)` inside a formula.
//
// **SYSTEMS THINKING**: `mul` keeps both inputs alive until backward, because each input's
// gradient needs the other. A network's memory during training is mostly such saved inputs,
// one set per layer, which is why activation memory grows with depth and batch size while
// the weights stay the same size.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> mul(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const Tensor& a = ctx.inputs[0];
  const Tensor& b = ctx.inputs[1];
  Tensor grad_a = ctx.needs_grad[0] ? sum_to(ctx.grad * b, a.shape()) : Tensor();
  Tensor grad_b = ctx.needs_grad[1] ? sum_to(ctx.grad * a, b.shape()) : Tensor();
  return {grad_a, grad_b};
  // END SOLUTION
}

std::vector<Tensor> div(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const Tensor& a = ctx.inputs[0];
  const Tensor& b = ctx.inputs[1];
  Tensor grad_a = ctx.needs_grad[0] ? sum_to(ctx.grad / b, a.shape()) : Tensor();
  Tensor grad_b = ctx.needs_grad[1] ? sum_to(-ctx.grad * a / (b * b), b.shape()) : Tensor();
  return {grad_a, grad_b};
  // END SOLUTION
}

}  // namespace tinytorch::autograd::derivatives

// %%
//| test
TEST(UnitDerivatives, MulSendsEachInputTheOther) {
  const std::vector<Tensor> grads =
      autograd::backward_of("mul", {tensor({2, 3}), tensor({4, 5})}, tensor({8, 15}), tensor({1, 1}));
  EXPECT_EQ(grads[0].to_vector(), (std::vector<float>{4, 5}));
  EXPECT_EQ(grads[1].to_vector(), (std::vector<float>{2, 3}));
}

// %% [markdown]
// ### ⭐ `sum` and ⭐⭐ `sum_dim`: reductions spread the gradient back
//
// `y = x.sum()` adds every element once, so `dy/dx[i] = 1` for every `i`: the one number that
// arrives at `y` goes, unchanged, to every element of `x`. Along a dimension, each output
// element collects a slice, and its gradient goes back to every element of that slice.
//
// **TODO**: `sum`: the 0-D `grad` spread to `x`'s shape. `sum_dim` (`ints = {axis,
// keepdim}`): `grad` spread back along `axis`.
//
// **APPROACH**:
// 1. `sum`: `ctx.grad.expand(x.shape())`: a view with stride 0, no copy.
// 2. `sum_dim`: without `keepdim` the output lost dimension `axis`; put it back with
//    `ctx.grad.unsqueeze(axis)`. Then `expand(x.shape())`.
//
// **EXAMPLE**:
// ```cpp
// // x [2, 3], y = x.sum(1) [2], grad [10, 20]
// sum_dim(ctx)   // [[10, 10, 10], [20, 20, 20]]
// ```
//
// **HINTS**:
// - `ctx.ints[1]` is keepdim (1 or 0); `ctx.ints[0]` may be negative (-1 is the last), and
//   `unsqueeze` of the gradient counts it the same way.
//
// **SYSTEMS THINKING**: the gradient of a sum is an `expand`: free to make, and the next
// backward function reads it through stride 0. When it reaches a weight, `backward()` copies
// it into a real tensor, because an optimizer will write into the weight's gradient.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> sum(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  return {ctx.grad.expand(ctx.inputs[0].shape())};
  // END SOLUTION
}

std::vector<Tensor> sum_dim(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const int64_t axis = ctx.ints[0];
  const bool keepdim = ctx.ints[1] != 0;
  const Tensor kept = keepdim ? ctx.grad : ctx.grad.unsqueeze(axis);
  return {kept.expand(ctx.inputs[0].shape())};
  // END SOLUTION
}

}  // namespace tinytorch::autograd::derivatives

// %% [markdown]
// ### ⭐⭐ `max_dim`: only the winner learns
//
// `y = x.max()` takes one element; a small change in any *other* element leaves `y` alone.
// So the gradient goes to the maximum only, and the rest get 0. With ties (`max([3, 3])`), we
// split it equally between them, as PyTorch's `amax` does. `max` (over everything) is written
// for you; write `max_dim`, the same idea for each slice along `axis`.
//
// **TODO**: `max_dim` (`ints = {axis, keepdim}`): `grad[slice]` divided among the positions
// of each slice's maximum, 0 elsewhere.
//
// **APPROACH**:
// 1. Bring the output and the gradient back to keepdim shape (unsqueeze at `axis` unless
//    keepdim), so they broadcast against `x`.
// 2. `mask = map(x - out_kept, [](float d) { return d == 0 ? 1.0f : 0.0f; })`: 1 at the maxima.
// 3. `count = mask.sum(axis, true)`; return `mask * (grad_kept / count)`.
//
// **EXAMPLE**:
// ```cpp
// // x = [[1, 5, 5], [7, 2, 3]], y = x.max(1) = [5, 7], grad = [1, 1]
// max_dim(ctx)   // [[0, 0.5, 0.5], [1, 0, 0]]
// ```
//
// **HINTS**:
// - `ctx.output` is `y`, already computed: do not search for the maximum again.
// - `x - out_kept` is exactly 0 at a maximum: the output *is* one of the inputs, copied, so
//   the comparison is exact, not approximate.
//
// **SYSTEMS THINKING**: max pooling (module 09) is this, per window: its gradient is sparse,
// one position in four for 2×2 windows. Production kernels save the argmax position in the
// forward pass instead of recomputing the mask, trading a little memory for a pass over `x`.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> max(const BackwardContext& ctx) {
  const Tensor mask = map(ctx.inputs[0] - ctx.output, [](float d) { return d == 0.0f ? 1.0f : 0.0f; });
  return {mask * (ctx.grad / mask.sum())};
}

std::vector<Tensor> max_dim(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const int64_t axis = ctx.ints[0];
  const bool keepdim = ctx.ints[1] != 0;
  const Tensor out = keepdim ? ctx.output : ctx.output.unsqueeze(axis);
  const Tensor grad = keepdim ? ctx.grad : ctx.grad.unsqueeze(axis);
  const Tensor mask = map(ctx.inputs[0] - out, [](float d) { return d == 0.0f ? 1.0f : 0.0f; });
  return {mask * (grad / mask.sum(axis, /*keepdim=*/true))};
  // END SOLUTION
}

}  // namespace tinytorch::autograd::derivatives

// %% [markdown]
// ### ⭐⭐⭐ `matmul`: the backward of every linear layer
//
// For `C = A B` with `A` `[m, k]` and `B` `[k, n]`, and the gradient `G = dL/dC` of shape
// `[m, n]`:
//
//     dL/dA = G Bᵀ      [m, n] x [n, k] = [m, k]    the shape of A
//     dL/dB = Aᵀ G      [k, m] x [m, n] = [k, n]    the shape of B
//
// One way to remember them: they are the only products of `G` with the other operand whose
// shapes come out right. (Check one entry: `C[i][j] = Σ_p A[i][p] B[p][j]`, so
// `dL/dA[i][p] = Σ_j G[i][j] B[p][j]`, which is row `i` of `G` times row `p` of `B`: `(G Bᵀ)[i][p]`.)
//
// A 1-D operand was a row vector (on the left) or a column vector (on the right) in the
// forward pass; treat it the same way here, and give back a gradient of its own 1-D shape.
//
// **TODO**: Return the gradients of `a.matmul(b)` for `a` and `b`.
//
// **APPROACH**:
// 1. `a2 = a` as a matrix: `a.unsqueeze(0)` if `a` is 1-D; `b2 = b.unsqueeze(1)` if `b` is 1-D.
// 2. `g2 = ctx.grad.reshape({a2.size(0), b2.size(1)})`.
// 3. If needed: `grad_a = g2.matmul(b2.t()).reshape(a.shape())`,
//    `grad_b = a2.t().matmul(g2).reshape(b.shape())`.
// 4. Then the layout (see SYSTEMS THINKING): when `b2` is a transposed view (`!b2.is_contiguous()
//    && b2.t().is_contiguous()`), compute `grad_b = g2.t().matmul(a2).t()` instead, the same
//    numbers, since `(Aᵀ G)ᵀ = Gᵀ A`; likewise `grad_a = b2.matmul(g2.t()).t()` for a transposed `a2`.
//
// **EXAMPLE**:
// ```cpp
// // a [2, 3], b [3, 4], grad ones [2, 4]
// matmul(ctx)   // {[2, 3]: each row the row sums of b, [3, 4]: each column the column sums of a}
// ```
//
// **HINTS**:
// - The transposes are views; module 01's `matmul` makes them contiguous (one copy of the
//   smaller operand), so you need not.
// - Skip the gradient of an input that does not need it: in a first layer `x @ w`, the data
//   `x` needs none, and its gradient would be the most expensive product of the step.
//
// **SYSTEMS THINKING**: the forward pass is one matmul, the backward pass two of the same
// size: training costs about three times the arithmetic of inference, and almost all of it is
// in these products. Module 10 will measure that, and module 11 makes them fast.
// Layout matters too. `Linear` multiplies by `weight.t()`, a transposed view of a `[out, in]`
// weight. The plain `Aᵀ G` is its gradient as a contiguous `[in, out]` matrix, which the
// transpose's backward turns into a transposed view of the weight's shape, and the weight's
// `grad` must then be copied, element by element across rows, into the weight's own layout:
// for `Linear(784, 256)` that copy takes about half as long as the product itself. Computed as
// `(Gᵀ A)ᵀ`, the product is written straight in the weight's layout, and no copy follows.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> matmul(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const Tensor& a = ctx.inputs[0];
  const Tensor& b = ctx.inputs[1];
  const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  const Tensor g2 = ctx.grad.reshape({a2.size(0), b2.size(1)});
  // A transposed view (Linear's weight.t()) gets its gradient in its own layout: (G Bᵀ)ᵀ = B Gᵀ.
  const auto transposed = [](const Tensor& t) { return !t.is_contiguous() && t.t().is_contiguous(); };
  Tensor grad_a, grad_b;
  if (ctx.needs_grad[0]) grad_a = transposed(a2) ? b2.matmul(g2.t()).t() : g2.matmul(b2.t()).reshape(a.shape());
  if (ctx.needs_grad[1]) grad_b = transposed(b2) ? g2.t().matmul(a2).t() : a2.t().matmul(g2).reshape(b.shape());
  return {grad_a, grad_b};
  // END SOLUTION
}

}  // namespace tinytorch::autograd::derivatives

// %%
//| test
TEST(UnitDerivatives, MatmulGivesATransposedViewItsGradientInItsOwnLayout) {
  const Tensor x = randn({5, 4}, 1);
  const Tensor w = randn({3, 4}, 2);  // a Linear weight [out, in], used as w.t()
  const Tensor g = randn({5, 3}, 3);
  const std::vector<Tensor> grads = autograd::backward_of("matmul", {x, w.t()}, x.matmul(w.t()), g);
  EXPECT_TRUE(allclose(grads[0], g.matmul(w), 1e-5f, 1e-5f));
  EXPECT_TRUE(allclose(grads[1], x.t().matmul(g), 1e-5f, 1e-5f));
  EXPECT_EQ(grads[1].shape(), (Shape{4, 3}));
  EXPECT_TRUE(grads[1].t().is_contiguous())
      << "the gradient of w.t() should be computed as (G^T A)^T, so that it lies in w's own layout (step 4)";
  const std::vector<Tensor> plain = autograd::backward_of("matmul", {x, w.t().contiguous()}, x.matmul(w.t()), g);
  EXPECT_TRUE(plain[1].is_contiguous()) << "a contiguous input gets a contiguous gradient";
}

// %% [markdown]
// ### ⭐ Views: `transpose` and `expand`
//
// A view moves numbers around without changing them, so its backward moves the gradient
// back. `clone` passes it through; `view`, `unsqueeze` and `squeeze` reshape it to the input's
// shape; `permute` applies the inverse permutation. Those are written for you. Write the two
// that teach something:
//
// **TODO**: `transpose` (`ints = {dim0, dim1}`): the gradient transposed back. `expand`: the
// gradient of a broadcast is a sum (part 2).
//
// **APPROACH**:
// 1. `transpose`: `ctx.grad.transpose(dim0, dim1)`: swapping the same two dimensions again
//    undoes the swap.
// 2. `expand`: `sum_to(ctx.grad, x.shape())`.
//
// **EXAMPLE**:
// ```cpp
// // x [3], y = x.expand({4, 3}), grad ones [4, 3]
// expand(ctx)   // [4, 4, 4]
// ```
//
// **HINTS**:
// - `expand` is broadcasting made explicit; its gradient is the same `sum_to` that `add` uses.
//
// **SYSTEMS THINKING**: the backward of a transpose is another transpose: free. The cost of
// views shows up only where something must read them contiguously (a matmul), in forward and
// backward alike.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> clone(const BackwardContext& ctx) { return {ctx.grad}; }

std::vector<Tensor> reshape_back(const BackwardContext& ctx) { return {ctx.grad.reshape(ctx.inputs[0].shape())}; }

std::vector<Tensor> permute(const BackwardContext& ctx) {
  Shape inverse(ctx.ints.size());
  const auto rank = static_cast<int64_t>(ctx.ints.size());
  for (std::size_t i = 0; i < ctx.ints.size(); ++i) {
    const int64_t d = ctx.ints[i] < 0 ? ctx.ints[i] + rank : ctx.ints[i];
    inverse[static_cast<std::size_t>(d)] = static_cast<int64_t>(i);
  }
  return {ctx.grad.permute(inverse)};
}

std::vector<Tensor> transpose(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  return {ctx.grad.transpose(ctx.ints[0], ctx.ints[1])};
  // END SOLUTION
}

std::vector<Tensor> expand(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  return {sum_to(ctx.grad, ctx.inputs[0].shape())};
  // END SOLUTION
}

}  // namespace tinytorch::autograd::derivatives

// %% [markdown]
// ### ⭐ Element-wise math: `exp` and `pow`
//
// Element-wise functions have element-wise derivatives: `y = f(x)` gives `dL/dx = dL/dy ·
// f'(x)`. Written for you: `log` (`1/x`), `sqrt` (`1 / (2 sqrt(x))`, i.e. `0.5 / out`), `abs`
// (the sign of `x`), `clamp_min` and `clamp_max` (1 where the bound did not apply, else 0).
//
// **TODO**: `exp`: `d eˣ/dx = eˣ`. `pow` (`scalar` = the exponent `p`): `d xᵖ/dx = p xᵖ⁻¹`.
//
// **APPROACH**:
// 1. `exp`: `ctx.grad * ctx.output`: the output already *is* `eˣ`.
// 2. `pow`: `ctx.grad * (p * pow(x, p - 1))`.
//
// **EXAMPLE**:
// ```cpp
// // x = [0, 1], y = exp(x) = [1, 2.718], grad = [1, 1]
// exp(ctx)   // [1, 2.718]
// ```
//
// **HINTS**:
// - Reusing the output is why `Node` keeps it: recomputing `exp` would cost a pass and
//   could differ in the last bit.
//
// **SYSTEMS THINKING**: a backward function that needs only the output lets the input be
// freed right after the forward pass. Frameworks choose formulas by what they must keep:
// `sigmoid`'s `out (1 - out)` needs only the output, for that reason.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> log(const BackwardContext& ctx) { return {ctx.grad / ctx.inputs[0]}; }

std::vector<Tensor> sqrt(const BackwardContext& ctx) { return {ctx.grad * 0.5f / ctx.output}; }

std::vector<Tensor> abs(const BackwardContext& ctx) {
  const Tensor sign = map(ctx.inputs[0], [](float v) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); });
  return {ctx.grad * sign};
}

std::vector<Tensor> clamp_min(const BackwardContext& ctx) {
  const float bound = ctx.scalar;
  return {ctx.grad * map(ctx.inputs[0], [bound](float v) { return v >= bound ? 1.0f : 0.0f; })};
}

std::vector<Tensor> clamp_max(const BackwardContext& ctx) {
  const float bound = ctx.scalar;
  return {ctx.grad * map(ctx.inputs[0], [bound](float v) { return v <= bound ? 1.0f : 0.0f; })};
}

std::vector<Tensor> exp(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  return {ctx.grad * ctx.output};
  // END SOLUTION
}

std::vector<Tensor> pow(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const float p = ctx.scalar;
  return {ctx.grad * (p * tinytorch::pow(ctx.inputs[0], p - 1.0f))};
  // END SOLUTION
}

}  // namespace tinytorch::autograd::derivatives

// %% [markdown]
// ### ⭐ Activations: `relu` and `sigmoid`
//
// Written for you: `leaky_relu` (slope 1 or `negative_slope`), `tanh` (`1 - out²`) and `gelu`
// (the derivative of its tanh approximation, a page of calculus you can check with
// `gradcheck` in part 5).
//
// **TODO**: `relu`: the gradient passes where `x > 0`, and is 0 elsewhere. `sigmoid`:
// `d sigmoid(x)/dx = out · (1 - out)`.
//
// **APPROACH**:
// 1. `relu`: one pass over the gradient and the input together. `g = ctx.grad.contiguous()`,
//    `x = ctx.inputs[0].contiguous()` (the same shape), `dx = empty(x.shape())` (module 01: you
//    write every element); then `dx[i] = x[i] > 0 ? g[i] : 0` through `data()`.
// 2. `sigmoid`: `ctx.grad * ctx.output * (1 - ctx.output)`.
//
// **EXAMPLE**:
// ```cpp
// // x = [-1, 2], grad = [5, 5]
// relu(ctx)      // [0, 5]
// // x = [0], out = [0.5]
// sigmoid(ctx)   // [0.25] times grad
// ```
//
// **HINTS**:
// - At exactly `x = 0` ReLU has no derivative; PyTorch uses 0 there, and so do we (`x > 0`).
// - `1 - ctx.output` is module 01's number-minus-tensor operator.
//
// **SYSTEMS THINKING**: sigmoid's derivative is at most 0.25 (at `x = 0`). Ten sigmoid layers
// multiply the gradient by at most 0.25¹⁰ ≈ 10⁻⁶ on its way to the first layer: the
// *vanishing gradient* that stalled deep networks until ReLU, whose derivative is 1.
//
// The obvious relu, `ctx.grad * map(x, v > 0 ? 1 : 0)`, gives the same numbers in two passes: it
// writes a mask as large as the activation, then reads it back. For the reference CNN's first
// layer that is 8 MB written and read for nothing, twice per step; the one pass (a *fused* op)
// took relu's backward from 3.0 to 1.4 ms a step (`bench/cnn_bench --profile 20`). But only
// once the loop was written for the compiler: our first version called `x.numel()` in the loop's
// condition and read `g[i]` only where `x[i] > 0`, and ran at 26 ms a step. A call the compiler
// cannot see through in the condition, and a read that depends on a comparison, each keep it
// from turning the loop into SIMD: take the count before the loop, read both inputs always, and
// let `?:` pick.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> leaky_relu(const BackwardContext& ctx) {
  const float slope = ctx.scalar;
  return {ctx.grad * map(ctx.inputs[0], [slope](float v) { return v > 0.0f ? 1.0f : slope; })};
}

std::vector<Tensor> tanh(const BackwardContext& ctx) { return {ctx.grad * (1.0f - ctx.output * ctx.output)}; }

std::vector<Tensor> gelu(const BackwardContext& ctx) {
  const float k = std::sqrt(2.0f / std::numbers::pi_v<float>);
  const Tensor slope = map(ctx.inputs[0], [k](float x) {
    const float t = std::tanh(k * (x + 0.044715f * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k * (1.0f + 3.0f * 0.044715f * x * x);
  });
  return {ctx.grad * slope};
}

std::vector<Tensor> relu(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const Tensor g = ctx.grad.contiguous(), x = ctx.inputs[0].contiguous();
  Tensor dx = empty(x.shape());
  const float* pg = g.data();
  const float* px = x.data();
  float* out = dx.data();
  // In pieces for module 11's threads (module 01's parallel_for; one piece until then).
  native::parallel_for(x.numel(), native::kParallelGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float grad = pg[i];  // read whatever the sign, so the ?: can be a select, not a branch
      out[i] = px[i] > 0.0f ? grad : 0.0f;
    }
  });
  return {dx};
  // END SOLUTION
}

std::vector<Tensor> sigmoid(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  return {ctx.grad * ctx.output * (1.0f - ctx.output)};
  // END SOLUTION
}

}  // namespace tinytorch::autograd::derivatives

// %% [markdown]
// The claim of relu's SYSTEMS THINKING, measured: relu's backward on the reference CNN's first
// activation (`[64, 32, 32, 32]`, 8 MB), your one pass against a mask times the gradient, each
// the median of 5 runs.

// %%
//| demo
#include <tinytorch/timing.hpp>

const Tensor x = randn({64, 32, 32, 32}, 5), g = randn({64, 32, 32, 32}, 6);
const std::vector<Tensor> inputs{x};
const std::vector<int64_t> no_ints;
const std::vector<bool> needs{true};
const Tensor out = relu(x);
const autograd::BackwardContext ctx{inputs, no_ints, 0.0f, out, g, needs};
Tensor fused, two_passes;
const double t_fused = timing::median_seconds(5, [&] { fused = autograd::derivatives::relu(ctx)[0]; });
const double t_two =
    timing::median_seconds(5, [&] { two_passes = g * map(x, [](float v) { return v > 0.0f ? 1.0f : 0.0f; }); });
std::printf("relu backward on %s: one pass %.2f ms, mask then product %.2f ms (%.1fx)\n", shape_str(x.shape()).c_str(),
            t_fused * 1e3, t_two * 1e3, t_two / t_fused);
std::printf("the same numbers: %s\n", fused.to_vector() == two_passes.to_vector() ? "yes" : "NO");

// %% [markdown]
// ### ⭐⭐⭐ `softmax` and ⭐⭐ `log_softmax`
//
// Softmax mixes a whole slice: every output `s_i = e^{x_i} / Σ_j e^{x_j}` depends on every input
// of its slice. Its derivative is a matrix per slice, `ds_i/dx_j = s_i (δ_ij - s_j)`, but you
// never build it: multiplied by the incoming gradient `g`, it collapses to
//
//     dL/dx = s · (g - Σ_j g_j s_j)          (the sum along the axis, kept, broadcast back)
//
// For `log_softmax`, `y_i = x_i - log Σ_j e^{x_j}`, so `dy_i/dx_j = δ_ij - s_j` and
//
//     dL/dx = g - s · Σ_j g_j                 where s = exp(y) = softmax(x)
//
// **TODO**: Both backward functions (`ints = {axis}`).
//
// **APPROACH** (`softmax`):
// 1. `s = ctx.output`, `g = ctx.grad`.
// 2. `dot = (g * s).sum(axis, true)`: one number per slice.
// 3. Return `s * (g - dot)`.
//
// **APPROACH** (`log_softmax`):
// 1. `s = exp(ctx.output)`.
// 2. Return `g - s * g.sum(axis, true)`.
//
// **EXAMPLE**:
// ```cpp
// // x = [1, 2, 3], s = softmax(x) = [0.090, 0.245, 0.665], g = [1, 0, 0]
// softmax(ctx)   // s * (g - 0.090) = [0.082, -0.022, -0.060]: sums to 0
// ```
//
// **HINTS**:
// - The gradient of a softmax sums to 0 along the axis: shifting all logits of a slice by the
//   same amount changes no probability. A quick check of your formula.
// - Use `tinytorch::exp(ctx.output)`, not `softmax(x)` again: the output of log_softmax is
//   already stable, and exp of it is in (0, 1]. (Spell out `tinytorch::`: inside namespace
//   `derivatives`, `exp` is also the name of exp's backward function.)
//
// **SYSTEMS THINKING**: cross-entropy on top of log_softmax has the famous gradient
// `softmax(x) - onehot(target)`, divided by the batch. A fused kernel computes exactly that in
// one pass (module 11); composed from ops, backward runs two nodes and several temporaries.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> softmax(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const int64_t axis = ctx.ints[0];
  const Tensor& s = ctx.output;
  const Tensor dot = (ctx.grad * s).sum(axis, /*keepdim=*/true);
  return {s * (ctx.grad - dot)};
  // END SOLUTION
}

std::vector<Tensor> log_softmax(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const int64_t axis = ctx.ints[0];
  const Tensor s = tinytorch::exp(ctx.output);
  return {ctx.grad - s * ctx.grad.sum(axis, /*keepdim=*/true)};
  // END SOLUTION
}

}  // namespace tinytorch::autograd::derivatives

// %% [markdown]
// ### ⭐⭐ `gather`, and the three cross-entropies: module 04's ops
//
// Module 04 defined cross-entropy as `logsumexp(logits) - gather(logits, 1, targets)`:
// `logsumexp` is made of ops you have already differentiated (`exp`, `sum`, `log`), so only
// `gather` is new. `gather` *picks* entries: `out[o][j][i] = x[o][index[o][j][i]][i]` along
// `dim`. Each picked entry's gradient goes back to the position it came from, and everything
// that was not picked gets 0. An index picked twice receives both gradients: it is a
// **scatter-add**.
//
// Module 04 then computed the loss as one op, `cross_entropy`, so that no tensor as large as
// the logits is made. Its backward is the formula the composition would have assembled from
// seven nodes, `g[i] · (softmax(logits[i]) - onehot(targets[i]))`, in one pass over each row.
// The two binary cross-entropies are single ops too, because composing them from smaller ops
// gives wrong gradients at the edges (0/0 at p = 0; `abs` has no slope at 0). These three
// backward functions are written for you, from the formulas in modules/README.md.
//
// **TODO**: `gather` (`ints = {dim}`, already non-negative): the gradient for `x`, scattered
// back; none for `index`.
//
// **APPROACH**:
// 1. `grad_x = zeros(x.shape())`; `g = ctx.grad.contiguous()`, `picks = index.contiguous()`.
// 2. As in module 04's kernel, see `x` as `[outer, n, inner]` and `index` (and `g`) as
//    `[outer, k, inner]`.
// 3. Loops `o`, `j`, `i`: `p = index at (o * k + j) * inner + i`;
//    `grad_x[(o * n + p) * inner + i] += g[(o * k + j) * inner + i]` (add, never assign).
// 4. Return `{grad_x, Tensor()}`.
//
// **EXAMPLE**:
// ```cpp
// // x [2, 3], index = [[2], [0]], out = x.gather(1, index) [2, 1], grad = [[5], [7]]
// gather(ctx)   // {[[0, 0, 5], [7, 0, 0]], undefined}
// ```
//
// **HINTS**:
// - `+=`, not `=`: `gather(x, 1, tensor({{0, 0}}))` picks `x[0][0]` twice, and its gradient is
//   the sum of both.
// - Work on `grad_x.data()` directly: it is a fresh contiguous tensor of your own.
//
// **SYSTEMS THINKING**: the cross-entropy's gradient with respect to the logits is dense
// (`softmax - onehot`), but the part that comes through `gather` touches one float per row.
// In a language model with 50,000 classes, that is why the backward of the "pick" costs nothing
// next to the backward of the softmax.

// %%
//| export impl
namespace tinytorch::autograd::derivatives {

std::vector<Tensor> gather(const BackwardContext& ctx) {
  // BEGIN SOLUTION
  const Tensor& x = ctx.inputs[0];
  const Tensor& index = ctx.inputs[1];
  const int64_t dim = ctx.ints[0];
  Tensor grad_x = zeros(x.shape());
  const Tensor g = ctx.grad.contiguous();
  const Tensor picks = index.contiguous();
  int64_t outer = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= x.size(d);
  int64_t inner = 1;
  for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  const int64_t n = x.size(dim);
  const int64_t k = index.size(dim);
  const float* incoming = g.data();
  const float* positions = picks.data();
  float* result = grad_x.data();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < k; ++j) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t at = (o * k + j) * inner + i;
        const auto p = static_cast<int64_t>(positions[at]);
        result[(o * n + p) * inner + i] += incoming[at];
      }
    }
  }
  return {grad_x, Tensor()};
  // END SOLUTION
}

// p: g (p - y) / max(p (1 - p), 1e-12); y: g (log(1 - p) - log p), each log clamped at -100.
std::vector<Tensor> binary_cross_entropy(const BackwardContext& ctx) {
  const Tensor& p = ctx.inputs[0];
  const Tensor& y = ctx.inputs[1];
  Tensor grad_p = ctx.needs_grad[0] ? ctx.grad * (p - y) / clamp_min(p * (1.0f - p), 1e-12f) : Tensor();
  Tensor grad_y = ctx.needs_grad[1]
                      ? ctx.grad * (clamp_min(tinytorch::log(1.0f - p), -100.0f) - clamp_min(tinytorch::log(p), -100.0f))
                      : Tensor();
  return {grad_p, grad_y};
}

// logits [N, C]: g[i] (softmax(logits[i]) - onehot(targets[i])), one pass over each row;
// targets (class indices): none.
std::vector<Tensor> cross_entropy(const BackwardContext& ctx) {
  if (!ctx.needs_grad[0]) return {Tensor(), Tensor()};
  const Tensor x = ctx.inputs[0].contiguous();
  const Tensor targets = ctx.inputs[1].contiguous();
  const Tensor g = ctx.grad.contiguous();
  const int64_t rows = x.size(0);
  const int64_t classes = x.size(1);
  Tensor grad_x = empty(x.shape());
  const float* scores = x.data();
  const float* picks = targets.data();
  const float* incoming = g.data();
  float* result = grad_x.data();
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = scores + i * classes;
    float* out = result + i * classes;
    float m = row[0];
    for (int64_t c = 1; c < classes; ++c) m = std::max(m, row[c]);
    if (std::isinf(m)) m = 0.0f;
    float sum = 0.0f;
    for (int64_t c = 0; c < classes; ++c) {
      out[c] = std::exp(row[c] - m);
      sum += out[c];
    }
    const float scale = incoming[i] / sum;
    for (int64_t c = 0; c < classes; ++c) out[c] *= scale;
    out[static_cast<int64_t>(picks[i])] -= incoming[i];
  }
  return {grad_x, Tensor()};
}

// x: g (sigmoid(x) - y); y: -g x.
std::vector<Tensor> binary_cross_entropy_with_logits(const BackwardContext& ctx) {
  const Tensor& x = ctx.inputs[0];
  const Tensor& y = ctx.inputs[1];
  Tensor grad_x = ctx.needs_grad[0] ? ctx.grad * (tinytorch::sigmoid(x) - y) : Tensor();
  Tensor grad_y = ctx.needs_grad[1] ? -ctx.grad * x : Tensor();
  return {grad_x, grad_y};
}

}  // namespace tinytorch::autograd::derivatives

// %% [markdown]
// The table that the recorder reads: every op name of modules 01 to 04 and its backward
// function (written for you). An op missing here still records a node, with no backward.

// %%
//| export impl
namespace tinytorch::autograd {

const BackwardFn* find_backward(std::string_view op) {
  static const std::unordered_map<std::string_view, BackwardFn> table = {
      {"add", derivatives::add},
      {"sub", derivatives::sub},
      {"mul", derivatives::mul},
      {"div", derivatives::div},
      {"add_scalar", derivatives::add_scalar},
      {"sub_scalar", derivatives::add_scalar},
      {"mul_scalar", derivatives::mul_scalar},
      {"div_scalar", derivatives::div_scalar},
      {"rsub_scalar", derivatives::rsub_scalar},
      {"rdiv_scalar", derivatives::rdiv_scalar},
      {"neg", derivatives::neg},
      {"sum", derivatives::sum},
      {"sum_dim", derivatives::sum_dim},
      {"max", derivatives::max},
      {"max_dim", derivatives::max_dim},
      {"matmul", derivatives::matmul},
      {"clone", derivatives::clone},
      {"view", derivatives::reshape_back},
      {"unsqueeze", derivatives::reshape_back},
      {"squeeze", derivatives::reshape_back},
      {"transpose", derivatives::transpose},
      {"permute", derivatives::permute},
      {"expand", derivatives::expand},
      {"exp", derivatives::exp},
      {"log", derivatives::log},
      {"sqrt", derivatives::sqrt},
      {"abs", derivatives::abs},
      {"pow", derivatives::pow},
      {"clamp_min", derivatives::clamp_min},
      {"clamp_max", derivatives::clamp_max},
      {"relu", derivatives::relu},
      {"leaky_relu", derivatives::leaky_relu},
      {"sigmoid", derivatives::sigmoid},
      {"tanh", derivatives::tanh},
      {"gelu", derivatives::gelu},
      {"softmax", derivatives::softmax},
      {"log_softmax", derivatives::log_softmax},
      {"gather", derivatives::gather},
      {"binary_cross_entropy", derivatives::binary_cross_entropy},
      {"binary_cross_entropy_with_logits", derivatives::binary_cross_entropy_with_logits},
      {"cross_entropy", derivatives::cross_entropy},
  };
  const auto found = table.find(op);
  return found == table.end() ? nullptr : &found->second;
}

}  // namespace tinytorch::autograd

// %%
//| test
TEST(UnitDerivatives, SoftmaxGradientSumsToZero) {
  const Tensor x = tensor({1, 2, 3});
  const std::vector<Tensor> grads = autograd::backward_of("softmax", {x}, softmax(x), tensor({1, 0, 0}), {-1});
  EXPECT_NEAR(grads[0].sum().item(), 0.0f, 1e-6f);
  EXPECT_NEAR(grads[0].to_vector()[0], 0.0819f, 1e-4f);
}

// %% [markdown]
// ## Part 4: The backward pass
//
// `loss.backward()` must call every node's backward function, each exactly once, and only
// after it has received *all* of its gradient: a tensor used twice (`a` in `a * b + a`) gets
// one contribution per use, and its node may run only when both have arrived. Three steps:
//
// 1. **Collect the graph** (`collect_graph`): every node reachable from the loss's node, and
//    for each, its number of **dependencies**: how many edges from other reachable nodes lead
//    to it (how many gradients it will receive).
// 2. **Run** (`run_backward`): start with the loss's node, holding the seed gradient (1 for a
//    scalar loss). Take a ready node, run its backward function, and hand each result to the
//    input it belongs to: to the node that made that input (add it to what is pending there,
//    count down its dependencies, and when they reach 0 the node is ready), or, for a leaf,
//    into the leaf's `.grad()` (`accumulate_grad`).
// 3. **Free** each node once it has run: its inputs and output are no longer needed. That
//    is what frees the memory of a training step, and why a second `backward()` through the
//    same graph is an error.
//
// This is Kahn's algorithm for a topological order, and it uses no recursion: a chain of
// 100,000 ops (a recurrent network over a long sequence) is just a long loop. A recursive
// depth-first search would overflow the call stack there.

// %%
//| export
namespace tinytorch::autograd {

// The nodes reachable from a root, and how many edges lead to each from the other nodes.
struct GraphTask {
  std::vector<std::shared_ptr<Node>> nodes;           // keeps every node alive while backward runs
  std::unordered_map<const Node*, int> dependencies;  // gradients each node will receive
};

// Every node reachable from `root` (root first), with its dependency count; iterative.
GraphTask collect_graph(const std::shared_ptr<Node>& root);
// Adds `grad` into the leaf's .grad(), which becomes a tensor of its own on first use.
void accumulate_grad(const Tensor& leaf, const Tensor& grad);
// Runs the backward functions of the graph behind `root`, starting from `grad` at root.
void run_backward(const std::shared_ptr<Node>& root, const Tensor& grad, bool retain_graph);
// Runs one node's backward function, checking what it returns (written for you).
std::vector<Tensor> apply_node(Node& node, const Tensor& grad);
// Frees what a node kept for backward.
void release(Node& node);
// Back-propagation from `root`: what Tensor::backward() calls. `gradient` defaults to 1 for
// a one-element root; retain_graph keeps the graph for a second backward.
void backward(const Tensor& root, const Tensor& gradient = Tensor(), bool retain_graph = false);

}  // namespace tinytorch::autograd

// %% [markdown]
// `apply_node`, written for you, is where mistakes in part 3 are caught: it runs the node's
// backward function and checks that it returned one gradient per input, each of the input's
// shape, and names the op when not. A node without a backward function (`map`, or an op this
// table does not know) is an error here: gradients are never silently dropped.
// While module 10's profiler is installed, apply_node also tells it when each node's backward
// starts and ends, so a profile shows where the backward pass spends its time.

// %%
//| export impl
namespace tinytorch::autograd {

namespace {
std::string describe(const Node& node) {
  std::string text = "'" + node.name + "' (op #" + std::to_string(node.sequence) + ")";
  if (!node.created_at.empty()) text += ", created at:\n" + node.created_at;
  return text;
}
void check_finite(const Node& node, std::size_t input, const Tensor& grad);  // part 8
}  // namespace

std::vector<Tensor> apply_node(Node& node, const Tensor& grad) {
  if (node.released) {
    throw std::logic_error("backward(): the graph through " + describe(node) +
                           " was already freed by an earlier backward(); compute the forward pass again "
                           "(or pass retain_graph = true to autograd::backward the first time)");
  }
  if (!node.backward) {
    std::string message = "backward(): reached " + describe(node) + ", which has no backward function";
    if (node.name == "map") {
      message += ": autograd cannot differentiate the function you gave map(); make the op with "
                 "autograd::function and a backward of its own (module 05, part 7)";
    } else {
      message += "; add one to autograd::find_backward, or make the op with autograd::function (module 05, part 7)";
    }
    throw std::logic_error(message);
  }
  std::vector<bool> needs_grad(node.inputs.size());
  for (std::size_t i = 0; i < node.inputs.size(); ++i) {
    needs_grad[i] = node.inputs[i].defined() && node.inputs[i].requires_grad();
  }
  std::vector<Tensor> grads;
  if (const OpProfiler* profiler = op_profiler()) [[unlikely]] {  // module 10 times each node
    profiler->enter(EventKind::backward, node.name.c_str());
    try {
      grads = node.backward(BackwardContext{node.inputs, node.ints, node.scalar, node.output, grad, needs_grad});
    } catch (...) {
      profiler->exit(EventKind::backward, node.name.c_str(), node.inputs, node.ints, nullptr);
      throw;
    }
    profiler->exit(EventKind::backward, node.name.c_str(), node.inputs, node.ints, &node.output);
  } else {
    grads = node.backward(BackwardContext{node.inputs, node.ints, node.scalar, node.output, grad, needs_grad});
  }
  if (grads.size() != node.inputs.size()) {
    throw std::logic_error("backward of " + describe(node) + " returned " + std::to_string(grads.size()) +
                           " gradients for " + std::to_string(node.inputs.size()) + " inputs");
  }
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined() || !needs_grad[i]) continue;
    if (grads[i].shape() != node.inputs[i].shape()) {
      throw ShapeError("backward of " + describe(node) + " returned a gradient of shape " +
                       shape_str(grads[i].shape()) + " for input " + std::to_string(i) + " of shape " +
                       shape_str(node.inputs[i].shape()) + " (a broadcast gradient must be summed with sum_to)");
    }
    check_finite(node, i, grads[i]);
  }
  return grads;
}

void release(Node& node) {
  node.inputs.clear();
  node.ints.clear();
  node.output = Tensor();
  node.backward = nullptr;
  node.released = true;
}

}  // namespace tinytorch::autograd

// %% [markdown]
// ### ⭐⭐ `collect_graph`: who will receive how many gradients
//
// **TODO**: Walk the graph from `root` and return every node with its dependency count.
//
// **APPROACH**:
// 1. `task.nodes = {root}`, `task.dependencies[root.get()] = 0`; a stack of nodes to visit,
//    holding `root`.
// 2. While the stack is not empty, pop a node. For each of its inputs, `next = grad_fn(input)`;
//    skip it if null (a leaf, or no autograd record).
// 3. `++task.dependencies[next.get()]`. If this is the first time you see `next`, push it on
//    the stack and append it to `task.nodes`.
//
// **EXAMPLE**:
// ```cpp
// // y = (a * b) + (a * b).exp()  with t = a * b used twice
// collect_graph(y's node)   // nodes: add, mul, exp; dependencies: add 0, exp 1, mul 2
// ```
//
// **HINTS**:
// - `try_emplace(key, 0)` returns `{iterator, inserted}`: `inserted` tells you whether this is
//   the first visit, in one lookup.
// - An input used twice by the same op (`x * x`) is two edges: count it twice, and
//   `run_backward` will count it down twice.
//
// **SYSTEMS THINKING**: the graph of one training step has a few nodes per layer, hundreds
// for a deep network, so this walk is cheap. What is not cheap is what the nodes keep alive:
// every saved input is memory until its node runs.

// %%
//| export impl
namespace tinytorch::autograd {

GraphTask collect_graph(const std::shared_ptr<Node>& root) {
  // BEGIN SOLUTION
  GraphTask task;
  task.nodes.push_back(root);
  task.dependencies[root.get()] = 0;
  std::vector<Node*> stack{root.get()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Tensor& input : node->inputs) {
      std::shared_ptr<Node> next = grad_fn(input);
      if (!next) continue;
      auto [entry, first_visit] = task.dependencies.try_emplace(next.get(), 0);
      ++entry->second;
      if (first_visit) {
        stack.push_back(next.get());
        task.nodes.push_back(std::move(next));
      }
    }
  }
  return task;
  // END SOLUTION
}

}  // namespace tinytorch::autograd

// %% [markdown]
// ### ⭐⭐ `accumulate_grad`: gradients add up
//
// A weight used in two places (or a second `backward()` before the optimizer's
// `zero_grad()`) receives gradients more than once; they **add up** in its `.grad()`, as in
// PyTorch. That is also what makes gradient accumulation over several small batches work.
//
// **TODO**: Add `grad` into `leaf.mutable_grad()`.
//
// **APPROACH**:
// 1. `Tensor& slot = leaf.mutable_grad();`
// 2. If `slot` is undefined, it becomes `grad`, but only if `grad` is a tensor nobody else
//    shares (`owns_storage(grad)`, written for you); otherwise `grad.clone()`.
// 3. Otherwise add in place: `slot += grad`, so that whoever holds the gradient tensor sees it.
//
// **EXAMPLE**:
// ```cpp
// Tensor w = ones({2}).requires_grad_();
// accumulate_grad(w, tensor({1, 2}));   // w.grad() = [1, 2]
// accumulate_grad(w, tensor({1, 2}));   // w.grad() = [2, 4]
// ```
//
// **HINTS**:
// - Why not always keep `grad` as it is? `add`'s backward hands the *same* tensor to both of
//   its inputs, and `sum`'s hands an `expand` view where every element is one float. Keep
//   either as a weight's gradient, and the next `+=` writes into someone else's numbers (or
//   into one float, a thousand times).
//
// **SYSTEMS THINKING**: taking over the gradient tensor instead of copying it saves one full
// pass over the weight's memory per step. PyTorch does the same check with reference counts.

// %%
//| export impl
namespace tinytorch::autograd {

namespace {
// True when `t` is a contiguous tensor that no other handle or view shares.
bool owns_storage(const Tensor& t) {
  return t.is_contiguous() && t.offset() == 0 && t.impl_ptr().use_count() == 1 && t.storage().use_count() == 1 &&
         t.storage()->size() == t.numel();
}
}  // namespace

void accumulate_grad(const Tensor& leaf, const Tensor& grad) {
  // BEGIN SOLUTION
  Tensor& slot = leaf.mutable_grad();
  if (!slot.defined()) {
    slot = owns_storage(grad) ? grad : grad.clone();
  } else {
    slot += grad;
  }
  // END SOLUTION
}

}  // namespace tinytorch::autograd

// %% [markdown]
// ### ⭐⭐⭐ `run_backward`: the engine
//
// **TODO**: Run every node of the graph behind `root` once, in dependency order.
//
// **APPROACH**:
// 1. `task = collect_graph(root)`; `pending` maps a node to the gradient gathered for it so
//    far: `pending[root.get()] = grad`. `ready` is a stack of nodes whose dependencies are 0:
//    just `root` at first.
// 2. While `ready` is not empty: pop a node; take (and erase) its pending gradient; if it is
//    defined, `input_grads = apply_node(*node, node_grad)`.
// 3. For each input `i` (with `next = grad_fn(input)`): if `input_grads[i]` is defined and
//    the input requires grad, send it on: to `pending[next]` (add it to what is there) when
//    `next` exists, else into the leaf with `accumulate_grad`. Then, whether or not a gradient
//    was sent, if `next` exists and `--task.dependencies[next] == 0`, push `next` on `ready`.
// 4. After a node's inputs are done, `release(*node)` unless `retain_graph`.
//
// **EXAMPLE**:
// ```cpp
// Tensor a = tensor({2}).requires_grad_(), b = tensor({3}).requires_grad_();
// Tensor y = a * b + a;
// y.backward();          // calls run_backward(y's node, ones({1}), false)
// a.grad()               // [4]  (3 through the product, 1 directly)
// ```
//
// **HINTS**:
// - `input_grads` is empty when the node's gradient was undefined (no gradient reached it):
//   check `i < input_grads.size()` before reading it, but count the dependencies down anyway,
//   or the nodes behind it never run.
// - Read the input and its `grad_fn` before you `release` the node: release clears `inputs`.
// - `task.nodes` keeps every node alive; releasing a node may drop the last *other* handle to
//   the nodes behind it.
// - Drop the node's gradient (`node_grad = Tensor()`) once `apply_node` has returned. A view's
//   backward returns a view of it (the transpose of `weight.t()` does), and `accumulate_grad`
//   can keep a gradient that owns its memory alone instead of copying it.
//
// **SYSTEMS THINKING**: the order matters for memory. Running a node as soon as it is ready
// frees its saved tensors as early as possible: the activation memory of a training step is
// given back layer by layer, from the last layer to the first.

// %%
//| export impl
namespace tinytorch::autograd {

void run_backward(const std::shared_ptr<Node>& root, const Tensor& grad, bool retain_graph) {
  // BEGIN SOLUTION
  GraphTask task = collect_graph(root);
  std::unordered_map<const Node*, Tensor> pending{{root.get(), grad}};
  std::vector<Node*> ready{root.get()};
  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    const auto found = pending.find(node);
    Tensor node_grad = found == pending.end() ? Tensor() : std::move(found->second);
    if (found != pending.end()) pending.erase(found);
    std::vector<Tensor> input_grads;
    if (node_grad.defined()) input_grads = apply_node(*node, node_grad);
    node_grad = Tensor();  // done with it: a view of it passed on below now owns its memory alone
    for (std::size_t i = 0; i < node->inputs.size(); ++i) {
      const Tensor& input = node->inputs[i];
      const std::shared_ptr<Node> next = grad_fn(input);
      if (i < input_grads.size() && input_grads[i].defined() && input.requires_grad()) {
        if (next) {
          Tensor& slot = pending[next.get()];
          slot = slot.defined() ? slot + input_grads[i] : input_grads[i];
        } else {
          accumulate_grad(input, input_grads[i]);
        }
      }
      if (next && --task.dependencies[next.get()] == 0) ready.push_back(next.get());
    }
    if (!retain_graph) release(*node);
  }
  // END SOLUTION
}

}  // namespace tinytorch::autograd

// %% [markdown]
// `backward()`, written for you, checks what it is given, seeds the gradient (1 for a loss),
// and runs your engine with recording paused (a backward pass is not itself recorded: no
// gradients of gradients in this course). The methods module 01 declared on `Tensor` are
// defined here too.

// %%
//| export impl
namespace tinytorch {
namespace autograd {

void backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  if (!root.defined()) throw std::logic_error("backward(): called on an undefined Tensor");
  if (!root.requires_grad()) {
    throw std::logic_error(
        "backward(): this tensor does not require grad, so there is nothing to differentiate. Call "
        "requires_grad_() on the inputs you want gradients for (layers do it for their parameters), and do not "
        "compute the loss under NoGradGuard");
  }
  Tensor seed = gradient;
  if (!seed.defined()) {
    if (root.numel() != 1) {
      throw ShapeError("backward(): a tensor of shape " + shape_str(root.shape()) +
                       " needs a gradient of its shape (backward(gradient)); only a one-element tensor, such as a "
                       "loss, can start backward on its own");
    }
    seed = ones(root.shape());
  } else if (seed.shape() != root.shape()) {
    throw ShapeError("backward(): the gradient has shape " + shape_str(seed.shape()) + ", the tensor " +
                     shape_str(root.shape()));
  }
  PauseRecording inside_backward;
  const std::shared_ptr<Node> node = grad_fn(root);
  if (!node) {
    accumulate_grad(root, seed);  // the root is a leaf: d root / d root = 1
    return;
  }
  run_backward(node, seed, retain_graph);
}

}  // namespace autograd

Tensor Tensor::grad() const {
  const auto& meta = impl().autograd;
  return meta ? meta->grad : Tensor();
}

Tensor& Tensor::mutable_grad() const {
  (void)impl();  // an undefined tensor throws, as everywhere
  if (!impl_->autograd) impl_->autograd = std::make_shared<AutogradMeta>();
  return impl_->autograd->grad;
}

void Tensor::backward(const Tensor& gradient) const { autograd::backward(*this, gradient, false); }

}  // namespace tinytorch

// %%
//| test
TEST(UnitBackward, ATensorUsedTwiceGetsBothGradients) {
  Tensor a = tensor({2}).requires_grad_();
  Tensor b = tensor({3}).requires_grad_();
  Tensor y = a * b + a;
  y.backward();
  EXPECT_EQ(a.grad().item(), 4.0f);
  EXPECT_EQ(b.grad().item(), 2.0f);
}

// %% [markdown]
// ## Part 5: Checking gradients
//
// A wrong backward function does not crash. It trains a little worse, or not at all, and
// nothing tells you why. So every backward function is checked against the definition of the
// derivative, the **central finite difference**:
//
//     df/dx  ≈  (f(x + ε) - f(x - ε)) / (2ε)
//
// For a tensor function `f` with many outputs we check one number: `L = Σ f(x) · v` for a
// *random* upstream gradient `v`. Autograd gives `dL/dx` for every element of `x` in one
// backward pass; finite differences nudge each element in turn. A random `v` (rather than
// all ones) catches a backward function that gets the outputs' weights wrong, for example
// one that sums the gradient where it should have kept it per element.
//
// Our tensors are `float`, with about 7 digits. Too small an `ε` and `f(x + ε) - f(x - ε)`
// is mostly rounding; too large and the curvature of `f` shows. `ε = 10⁻²` with a tolerance of
// 1% works for the smooth functions of this course; the comparison sums in `double`.
//
// `gradcheck` (written for you) runs autograd and compares. You write the finite-difference
// half.
//
// ### ⭐⭐ `numerical_gradient`
//
// **TODO**: Return `dL/dx` for input `which`, by central differences, as a tensor of that
// input's shape.
//
// **APPROACH**:
// 1. Work under `NoGradGuard guard;` (part 6): these forward passes need no graph.
// 2. `float* x = inputs[which].data();` (gradcheck hands you contiguous copies). For each
//    element `j`: keep `x[j]`; set `x[j] = old + eps`, `plus = loss(inputs)`; set
//    `x[j] = old - eps`, `minus = loss(inputs)`; restore `x[j] = old`.
// 3. Element `j` of the result is `(plus - minus) / (2 eps)`.
//
// **EXAMPLE**:
// ```cpp
// // loss(x) = Σ x² · v with v = 1, at x = [1, 2]
// numerical_gradient(loss, {tensor({1, 2})}, 0, 1e-2)   // ≈ [2, 4]
// ```
//
// **HINTS**:
// - `loss` returns a `double`: keep the subtraction in `double` too.
// - Restore every element before you move on: the next element's differences must see the
//   original `x`.
//
// **SYSTEMS THINKING**: a check costs two forward passes per element of the input, against
// one backward pass for all of them. For a layer with a million weights that is two million
// forward passes: finite differences are a test, never a way to train. That gap is the whole
// reason reverse-mode autograd exists.

// %%
//| export
namespace tinytorch::autograd {

// A scalar function of some tensors, in double precision: what numerical_gradient differentiates.
using ScalarFunction = std::function<double(const std::vector<Tensor>&)>;
// d loss / d inputs[which] by central differences with step `eps`, in the input's shape.
Tensor numerical_gradient(const ScalarFunction& loss, const std::vector<Tensor>& inputs, std::size_t which, float eps);

struct GradcheckOptions {
  uint64_t seed = 0;    // of the random upstream gradient
  float eps = 1e-2f;    // finite-difference step
  float rtol = 1e-2f;   // |autograd - numeric| <= atol + rtol * |numeric|
  float atol = 1e-3f;
};

struct GradcheckResult {
  bool ok = true;
  double max_error = 0.0;  // the largest |autograd - numeric|
  std::string report;      // the worst element of each input that failed, or "ok"
};

// Checks autograd's gradients of f at `inputs` against finite differences, for every input
// that requires grad, with a random upstream gradient (see part 5).
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace tinytorch::autograd

// %%
//| export impl
namespace tinytorch::autograd {

Tensor numerical_gradient(const ScalarFunction& loss, const std::vector<Tensor>& inputs, std::size_t which, float eps) {
  // BEGIN SOLUTION
  NoGradGuard guard;
  const Tensor& input = inputs[which];
  float* x = input.data();
  std::vector<float> result(static_cast<std::size_t>(input.numel()));
  for (std::size_t j = 0; j < result.size(); ++j) {
    const float old = x[j];
    x[j] = old + eps;
    const double plus = loss(inputs);
    x[j] = old - eps;
    const double minus = loss(inputs);
    x[j] = old;
    result[j] = static_cast<float>((plus - minus) / (2.0 * static_cast<double>(eps)));
  }
  return Tensor(std::move(result), input.shape());
  // END SOLUTION
}

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  // Fresh contiguous leaves, so the caller's tensors and gradients are left alone.
  std::vector<Tensor> leaves;
  for (const Tensor& input : inputs) {
    Tensor copy = input.detach().clone();
    if (input.requires_grad()) copy.requires_grad_();
    leaves.push_back(copy);
  }
  Tensor out = f(leaves);
  const Tensor v = randn(out.shape(), options.seed);
  (out * v).sum().backward();
  const std::vector<float> weights = v.to_vector();
  const ScalarFunction loss = [&](const std::vector<Tensor>& xs) {
    const std::vector<float> y = f(xs).to_vector();
    double total = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) total += static_cast<double>(y[i]) * weights[i];
    return total;
  };
  GradcheckResult result;
  std::ostringstream report;
  for (std::size_t which = 0; which < leaves.size(); ++which) {
    if (!leaves[which].requires_grad()) continue;
    const Tensor numeric = numerical_gradient(loss, leaves, which, options.eps);
    const Tensor analytic = leaves[which].grad().defined() ? leaves[which].grad() : zeros(leaves[which].shape());
    const std::vector<float> a = analytic.to_vector();
    const std::vector<float> n = numeric.to_vector();
    std::size_t worst = 0;
    double worst_excess = -1.0;
    for (std::size_t j = 0; j < a.size(); ++j) {
      const double error = std::fabs(static_cast<double>(a[j]) - n[j]);
      result.max_error = std::max(result.max_error, error);
      const double excess = error - (options.atol + options.rtol * std::fabs(static_cast<double>(n[j])));
      if (!(excess <= 0.0) && (worst_excess < 0.0 || excess > worst_excess || std::isnan(excess))) {
        worst = j;
        worst_excess = std::isnan(excess) ? std::numeric_limits<double>::infinity() : excess;
      }
    }
    if (worst_excess >= 0.0) {
      result.ok = false;
      report << "input " << which << " " << shape_str(leaves[which].shape()) << ", element " << worst
             << ": autograd " << a[worst] << ", finite differences " << n[worst] << "\n";
    }
  }
  result.report = result.ok ? "ok" : report.str();
  return result;
}

}  // namespace tinytorch::autograd

// %%
//| test
TEST(UnitGradcheck, FindsTheGradientOfASquare) {
  const autograd::ScalarFunction loss = [](const std::vector<Tensor>& xs) {
    return static_cast<double>((xs[0] * xs[0]).sum().item());
  };
  const Tensor g = autograd::numerical_gradient(loss, {tensor({1, 2})}, 0, 1e-2f);
  EXPECT_NEAR(g.to_vector()[0], 2.0f, 1e-3f);
  EXPECT_NEAR(g.to_vector()[1], 4.0f, 1e-3f);
}

// %% [markdown]
// ## Part 6: Switching autograd off, and detaching (written for you)
//
// Not every computation should be recorded. Evaluating a model on the test set needs no
// gradients, and an optimizer's update `w -= lr * w.grad()` must not become part of the next
// step's graph. `NoGradGuard` (libtorch's name) pauses recording on this thread while it
// lives; module 01 already refuses in-place changes of recorded tensors *outside* one.
//
// ```cpp
// {
//   NoGradGuard no_grad;
//   Tensor predictions = model(test_images);   // no graph, no saved tensors, less memory
// }
// ```
//
// `t.detach()` (module 01) is the other tool: the same numbers, cut off from the graph, for
// when a value must be used as a constant (a target computed from the model itself, or a
// value kept for logging).

// %%
//| export
namespace tinytorch {

// While one lives, no op on this thread is recorded (torch::NoGradGuard).
class NoGradGuard {
 public:
  NoGradGuard() = default;

 private:
  autograd::PauseRecording pause_;
};

// Whether ops on this thread are being recorded (false inside a NoGradGuard).
struct GradMode {
  static bool is_enabled() noexcept { return !autograd::recording_paused(); }
};

}  // namespace tinytorch

// %% [markdown]
// ## Part 7: Ops with a backward of their own (written for you)
//
// From now on a new op does not need a row in a table: it says how to differentiate itself
// when it is made. `autograd::function` runs the forward computation (recording paused
// inside, as `record` does) and attaches a node whose backward function you give:
//
// ```cpp
// Tensor square(const Tensor& x) {
//   return autograd::function("square", {x}, [&] { return x * x; },
//                             [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
//                               return {ctx.grad * 2.0f * ctx.inputs[0]};
//                             });
// }
// ```
//
// Module 09's convolution and module 11's fast matmul are made this way. One rule: a backward
// function gets its inputs and output through `ctx`. If it captures other tensors, capture
// them detached (`t.detach()`), never a tensor that carries the graph: the node would keep its
// own past alive, and a tensor that points back at its own node is a cycle that is never freed.

// %%
//| export
namespace tinytorch::autograd {

// Records `output` as computed from `inputs` by an op named `name` (which must stay valid:
// a string literal), differentiated by `backward`.
void attach_function(const char* name, std::initializer_list<Tensor> inputs, std::vector<int64_t> ints, float scalar,
                     const Tensor& output, BackwardFn backward);

// compute(), recorded as op `name` with the given backward when an input requires grad.
template <typename Compute>
Tensor function(const char* name, std::initializer_list<Tensor> inputs, Compute compute, BackwardFn backward,
                std::vector<int64_t> ints = {}, float scalar = 0.0f) {
  auto run = [&] {
    if (const OpProfiler* profiler = op_profiler()) [[unlikely]] {  // module 10 times the op
      return detail::profiled(*profiler, EventKind::op, name, std::span<const Tensor>(inputs.begin(), inputs.size()),
                              std::span<const int64_t>(ints), compute);
    }
    return compute();
  };
  if (!should_record(inputs)) return run();
  Tensor output;
  {
    PauseRecording kernel_only;
    output = run();
  }
  for (const Tensor& input : inputs) {
    if (output.impl_ptr() == input.impl_ptr()) output = output.detach();
  }
  attach_function(name, inputs, std::move(ints), scalar, output, std::move(backward));
  return output;
}

}  // namespace tinytorch::autograd

// %%
//| export impl
namespace tinytorch::autograd {

void attach_function(const char* name, std::initializer_list<Tensor> inputs, std::vector<int64_t> ints, float scalar,
                     const Tensor& output, BackwardFn backward) {
  auto node = std::make_shared<Node>();
  node->name = name;
  node->sequence = ++ops_recorded;
  node->inputs = std::vector<Tensor>(inputs);
  node->ints = std::move(ints);
  node->scalar = scalar;
  node->output = output.detach();
  node->backward = std::move(backward);
  if (anomaly_enabled()) node->created_at = capture_creation_trace();
  attach(output, std::move(node));
}

}  // namespace tinytorch::autograd

// %% [markdown]
// ## Part 8: Where did that NaN come from? (written for you)
//
// A loss that turns into NaN after an hour of training is the most common bad day in deep
// learning. The NaN appears in one op's backward (a `log` of a probability that rounded to
// 0, a `sqrt` at 0, a division by a tiny norm) and then spreads to every weight at the next
// update, so by the time you look, it is everywhere. **Anomaly mode**, as
// `torch::autograd::DetectAnomalyGuard`, finds the first one:
//
// - while a `DetectAnomalyGuard` lives, every node records *where it was created*: the call
//   stack, as function names (the library and the programs of this course are linked so that
//   names can be read at run time);
// - `backward()` checks every gradient it computes, and at the first NaN or infinity it throws
//   `AnomalyError`, naming the op, its number, the input whose gradient went bad, and where the
//   op was created.
//
// ```cpp
// autograd::DetectAnomalyGuard detect;   // slower: use it to hunt, not to train
// loss.backward();                       // AnomalyError: backward of 'sqrt' (op #7) produced NaN ...
// ```

// %%
//| export
namespace tinytorch::autograd {

// A NaN or infinity found in backward while anomaly mode is on.
class AnomalyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// While one lives (on any thread), nodes record where they were created and backward checks
// every gradient for NaN and infinity.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;
};

// Whether anomaly mode is on.
bool is_anomaly_enabled() noexcept;

}  // namespace tinytorch::autograd

// %%
//| export impl
namespace tinytorch::autograd {

namespace {

std::atomic<int> anomaly_guards{0};

bool anomaly_enabled() noexcept { return anomaly_guards.load(std::memory_order_relaxed) > 0; }

// "tinytorch::nn::Linear::forward(tinytorch::Tensor const&)" from a backtrace_symbols line
// "./prog(_ZN9tinytorch2nn6Linear7forwardERKNS_6TensorE+0x4f) [0x55d0c1]".
std::string demangled_function(const char* symbol_line) {
  const std::string line = symbol_line;
  const std::size_t open = line.find('(');
  const std::size_t plus = line.find('+', open);
  if (open == std::string::npos || plus == std::string::npos || plus == open + 1) return "";
  const std::string mangled = line.substr(open + 1, plus - open - 1);
  int status = 0;
  char* readable = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  std::string name = status == 0 && readable ? readable : mangled;
  std::free(readable);
  return name;
}

// The call stack where an op was recorded, without autograd's own frames: "  at f\n  at g\n".
std::string capture_creation_trace() {
  void* frames[32];
  const int count = backtrace(frames, 32);
  char** symbols = backtrace_symbols(frames, count);
  if (!symbols) return "  (no call stack available)\n";
  std::string trace;
  int shown = 0;
  for (int i = 1; i < count && shown < 8; ++i) {
    const std::string name = demangled_function(symbols[i]);
    if (name.empty() || name.rfind("tinytorch::autograd::", 0) == 0 || name.find("__libc_start") != std::string::npos ||
        name == "_start") {
      continue;
    }
    trace += "  at " + name + "\n";
    ++shown;
  }
  std::free(symbols);
  return trace.empty() ? "  (no function names: the program was linked without -rdynamic)\n" : trace;
}

void check_finite(const Node& node, std::size_t input, const Tensor& grad) {
  if (!anomaly_enabled()) return;
  const std::vector<float> values = grad.to_vector();
  for (std::size_t j = 0; j < values.size(); ++j) {
    if (std::isfinite(values[j])) continue;
    std::string what = std::isnan(values[j]) ? "NaN" : "infinity";
    std::string message = "anomaly: backward of '" + node.name + "' (op #" + std::to_string(node.sequence) +
                          ") produced " + what + " in the gradient of its input " + std::to_string(input) + " " +
                          shape_str(grad.shape()) + " (element " + std::to_string(j) + ")";
    message += node.created_at.empty() ? "; the op was created before anomaly mode was switched on"
                                       : ". The op was created\n" + node.created_at;
    throw AnomalyError(message);
  }
}

}  // namespace

DetectAnomalyGuard::DetectAnomalyGuard() { ++anomaly_guards; }
DetectAnomalyGuard::~DetectAnomalyGuard() { --anomaly_guards; }
bool is_anomaly_enabled() noexcept { return anomaly_enabled(); }

}  // namespace tinytorch::autograd

// %% [markdown]
// Last, a way to *see* the graph (written for you): `graph_str(t)` prints the nodes behind a
// tensor as a tree, each node once (a node reached again is marked `(above)`), leaves with
// their shapes.

// %%
//| export
namespace tinytorch::autograd {

// The backward graph behind `t`, as an indented tree.
std::string graph_str(const Tensor& t);

}  // namespace tinytorch::autograd

// %%
//| export impl
namespace tinytorch::autograd {

std::string graph_str(const Tensor& t) {
  std::ostringstream out;
  std::unordered_map<const Node*, bool> seen;
  struct Item {
    Tensor tensor;
    std::string prefix;
    bool last;
    bool root;
  };
  std::vector<Item> stack{{t, "", true, true}};
  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    const std::string branch = item.root ? "" : (item.last ? "└── " : "├── ");
    const std::shared_ptr<Node> node = grad_fn(item.tensor);
    out << item.prefix << branch;
    if (!node) {
      out << (item.tensor.requires_grad() ? "leaf " : "constant ") << shape_str(item.tensor.shape()) << "\n";
      continue;
    }
    out << node->name << " #" << node->sequence << " -> " << shape_str(item.tensor.shape());
    if (seen[node.get()]) {
      out << " (above)\n";
      continue;
    }
    seen[node.get()] = true;
    out << (node->released ? " (freed)\n" : "\n");
    const std::string child_prefix = item.prefix + (item.root ? "" : (item.last ? "    " : "│   "));
    for (std::size_t i = node->inputs.size(); i-- > 0;) {
      stack.push_back({node->inputs[i], child_prefix, i + 1 == node->inputs.size(), false});
    }
  }
  return out.str();
}

}  // namespace tinytorch::autograd

// %%
//| demo
// The example from the top of the module: y = a * b + a at a = 2, b = 3.
Tensor a = tensor({2}).requires_grad_();
Tensor b = tensor({3}).requires_grad_();
Tensor y = a * b + a;
std::cout << "y = a * b + a = " << y.item() << ", recorded as:\n" << autograd::graph_str(y);
y.backward();
std::cout << "dy/da = " << a.grad().item() << " (b + 1), dy/db = " << b.grad().item() << " (a)\n";

// %%
//| demo
// A layer: relu(x @ w + bias).sum(). The data x needs no gradient, so it is a constant.
Tensor x = randn({4, 3}, 1);
Tensor w = randn({3, 2}, 2).requires_grad_();
Tensor bias = zeros({2}).requires_grad_();
Tensor loss = relu(x.matmul(w) + bias).sum();
std::cout << "the graph of relu(x @ w + bias).sum():\n" << autograd::graph_str(loss);
loss.backward();
std::cout << "w.grad() =\n" << w.grad() << "\nbias.grad() = " << bias.grad()
          << "  (one number per output column: how many rows were positive there)\n";
std::cout << "after backward the graph is freed:\n" << autograd::graph_str(loss);

// %%
//| demo
#include <iomanip>

// Every backward function of part 3 against finite differences (random inputs, random v).
struct Check {
  const char* name;
  std::function<Tensor(const std::vector<Tensor>&)> f;
  std::vector<Tensor> inputs;
};
Tensor p = (rand({3, 4}, 3) + 0.5f).requires_grad_();  // positive: log, sqrt and pow are smooth there
Tensor q = randn({3, 4}, 4).requires_grad_();
Tensor row = randn({4}, 5).requires_grad_();
Tensor m = randn({4, 2}, 6).requires_grad_();
std::vector<Check> checks = {
    {"add (broadcast)", [](const auto& v) { return v[0] + v[1]; }, {q, row}},
    {"sub (broadcast)", [](const auto& v) { return v[0] - v[1]; }, {q, row}},
    {"mul (broadcast)", [](const auto& v) { return v[0] * v[1]; }, {q, row}},
    {"div (broadcast)", [](const auto& v) { return v[0] / v[1]; }, {q, p}},
    {"number ops", [](const auto& v) { return (2.0f - v[0] * 3.0f + 1.0f) / 2.0f + 1.0f / v[1]; }, {q, p}},
    {"sum, mean", [](const auto& v) { return v[0].sum(0) + v[0].mean(); }, {q}},
    {"max along an axis", [](const auto& v) { return v[0].max(1, true); }, {q}},
    {"matmul", [](const auto& v) { return v[0].matmul(v[1]); }, {q, m}},
    {"matrix @ vector", [](const auto& v) { return v[0].matmul(v[1]); }, {q, row}},
    {"views", [](const auto& v) { return v[0].t().reshape({2, 6}).unsqueeze(0).permute({2, 0, 1}).squeeze(1); }, {q}},
    {"expand", [](const auto& v) { return v[0].expand({3, 4}); }, {row}},
    {"exp, log, sqrt, pow", [](const auto& v) { return exp(v[0]) + log(v[1]) + sqrt(v[1]) + pow(v[1], 1.5f); }, {q, p}},
    {"relu, leaky_relu", [](const auto& v) { return relu(v[0]) + leaky_relu(v[0], 0.1f); }, {q}},
    {"sigmoid, tanh, gelu", [](const auto& v) { return sigmoid(v[0]) + tanh(v[0]) + gelu(v[0]); }, {q}},
    {"softmax, log_softmax", [](const auto& v) { return softmax(v[0], 1) + log_softmax(v[0], 0); }, {q}},
};
std::cout << "gradient checks (autograd against finite differences):\n";
for (const Check& check : checks) {
  const autograd::GradcheckResult r = autograd::gradcheck(check.f, check.inputs, {.seed = 7});
  std::cout << "  " << std::left << std::setw(22) << check.name << (r.ok ? "ok" : "FAILED") << "   largest difference "
            << r.max_error << "\n";
}

// %%
//| demo
#include <chrono>
#include <cmath>

// A chain of 100,000 ops: y = x * c, a hundred thousand times, with c = 1.00001f.
// dy/dx = c^100000, about e (the float nearest 1.00001 is 1.0000100136, so a little more).
Tensor start = tensor({1}).requires_grad_();
const auto t0 = std::chrono::steady_clock::now();
Tensor chain = start;
for (int i = 0; i < 100000; ++i) chain = chain * 1.00001f;
const auto t1 = std::chrono::steady_clock::now();
chain.backward();
const auto t2 = std::chrono::steady_clock::now();
std::cout << "100,000 ops: forward " << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms, backward "
          << std::chrono::duration<double, std::milli>(t2 - t1).count() << " ms, d chain / d x = " << start.grad().item()
          << " (c^100000 = " << std::pow(static_cast<double>(1.00001f), 100000) << ")\n";

// %%
//| demo
// Anomaly mode: where does the infinity come from?
Tensor v = tensor({1, 2, 3}).requires_grad_();
try {
  autograd::DetectAnomalyGuard detect;
  Tensor distance = sqrt((v - v.detach()) * (v - v.detach()));  // |v - v| = 0: sqrt's slope there is infinite
  distance.sum().backward();
} catch (const autograd::AnomalyError& e) {
  std::cout << e.what() << "\n";
}
// And an op autograd cannot differentiate:
try {
  map(v, [](float t) { return t * t; }).sum().backward();
} catch (const std::logic_error& e) {
  std::cout << e.what() << "\n";
}

// %% [markdown]
// ## Summary
//
// You built reverse-mode automatic differentiation:
//
// - a **graph** recorded as a side effect of running ops: a node per op, holding its inputs,
//   arguments and (detached) output, attached to the op's result;
// - **backward functions** for every op of modules 01 to 04, checked against finite
//   differences, with broadcasting undone by `sum_to`;
// - an **engine** that runs them in dependency order without recursion, accumulates into
//   leaves, and frees the graph as it goes;
// - the tools around it: `NoGradGuard`, `detach()`, `gradcheck`, `autograd::function` for the
//   ops of later modules, and an anomaly mode that names the op where a NaN was born.
//
// And you did not change a line of modules 01 to 04: their ops were recording all along,
// waiting for a recorder.
//
// ## Reflect
//
// 1. Before measuring: how many nodes does `relu(x.matmul(w) + b).sum()` record, and how many
//    tensors stay alive until `backward()`? Print `graph_str` and count.
// 2. Estimate the memory a training step keeps for backward for a 784-256-128-10 MLP at batch
//    128 (which tensors does each node keep?), then check your estimate against what the
//    nodes hold.
// 3. `gradcheck` uses `ε = 10⁻²`. Predict what happens to its error with `ε = 10⁻⁴` and with
//    `ε = 1`, then try both on `exp`. Why does float32 force a larger `ε` than float64 would?
// 4. Backward of the 100,000-op chain: how long should it take, compared with the forward
//    pass? Compare your guess with the demo's figures. Where does the time go?
// 5. `backward()` frees the graph. What would go wrong in a training loop that kept every
//    step's graph alive (for example by storing every loss tensor in a vector for a plot)?
//    How would you store the losses instead?
//
// Next: module 06, optimizers. With gradients in every parameter's `.grad()`, SGD, momentum and
// Adam are a few lines each, and the network finally learns.
