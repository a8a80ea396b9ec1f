// %% [markdown]
// # Module 02: Activations
//
// A linear layer computes `y = x W + b`. Stack two of them and you get
// `(x W1 + b1) W2 + b2 = x (W1 W2) + (b1 W2 + b2)`: one linear layer again. However many
// you stack, a network of linear layers can only draw straight lines through its data.
// What breaks the collapse is a **nonlinearity** between the layers, an *activation
// function* applied to every element:
//
//     y = activation(x W1 + b1) W2 + b2
//
// With that one bend, a network of two layers can approximate any continuous function
// (the universal approximation theorem). In this module you write the activations every
// later module uses, as free functions in namespace `tinytorch`, the way libtorch offers
// `torch::relu`, `torch::sigmoid` and `torch::softmax`:
//
// | part | functions | where they show up later |
// |---|---|---|
// | 1 | `relu`, `leaky_relu` | the hidden layers of almost every network, and every CNN |
// | 2 | `sigmoid`, `tanh` | binary outputs, gates of recurrent networks |
// | 3 | `gelu` | the feed-forward block of every transformer (GPT, BERT) |
// | 4 | `softmax`, `log_softmax` | class probabilities, cross-entropy loss, attention weights |
//
// Two ideas run through the whole module.
//
// **Element-wise versus along an axis.** ReLU, sigmoid, tanh and GELU look at one number at a
// time: the output has the input's shape and element `i` depends only on input `i`. Softmax
// looks at a whole *slice* (a row of class scores, say) at once: every output depends on
// every input of its slice, so it takes an `axis` that says which way the slices run.
//
// **Floats are finite.** A `float` holds nothing above about `3.4 × 10³⁸`, and `exp(89)` is
// already larger. Written as in the textbook, sigmoid and softmax compute `exp` of large
// numbers, get infinity, and then `inf / inf = NaN`. One NaN in one activation spreads to
// every weight at the next update, and training is dead. So every function here is written
// to be **numerically stable**: it gives the right answer for `x = ±1000`, not just for the
// small numbers in the textbook.
//
// Everything is built on the public API of module 01 (`to_vector`, `shape`, broadcasting
// arithmetic, `max` and `sum` along an axis with `keepdim`), so it works for any tensor,
// views included. Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module.
//
// After each function, run `tito test activations` to see which tests pass, and
// `tito module run activations` to watch the demos print.

// %%
//| default_exp core/activations

// %%
//| export
#include <cstdint>

#include <tinytorch/core/tensor.hpp>

// %%
//| export impl
#include <cmath>
#include <numbers>
#include <utility>
#include <vector>

// %% [markdown]
// ## The functions you will write
//
// Here is the whole public API of this module. Each function returns a **new** tensor with
// the input's shape and leaves the input alone (PyTorch's in-place versions end in `_`, such
// as `relu_`; we do not need them). Every function accepts any tensor, including a
// non-contiguous view such as a transpose.

// %%
//| export
namespace tinytorch {

// max(x, 0), element-wise.
Tensor relu(const Tensor& x);
// x where x >= 0, negative_slope * x where x < 0 (PyTorch's default slope is 0.01).
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
// 1 / (1 + exp(-x)), element-wise, without overflow for large |x|.
Tensor sigmoid(const Tensor& x);
// The hyperbolic tangent, element-wise: (e^x - e^-x) / (e^x + e^-x), in (-1, 1).
Tensor tanh(const Tensor& x);
// GELU, tanh approximation (PyTorch's approximate="tanh"):
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
Tensor gelu(const Tensor& x);
// exp(x) / sum(exp(x)) along `axis` (negative counts from the end): every slice along
// `axis` becomes positive numbers summing to 1. Stable for large inputs.
Tensor softmax(const Tensor& x, int64_t axis = -1);
// log(softmax(x, axis)), computed without ever taking the log of 0.
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

}  // namespace tinytorch

// %% [markdown]
// ## Part 0: applying a function to every element (written for you)
//
// The element-wise activations all have the same skeleton: read the elements in row-major
// order, transform each one, and put the results into a new tensor of the same shape. That
// skeleton is module 01's `map` (part 7 there): it takes any view, transposed or broadcast,
// and a function of one float. Use it in every function below:
//
// ```cpp
// map(tensor({1, 2, 3}), [](float v) { return 2 * v; })   // tensor([2., 4., 6.])
// ```
//
// Each activation comes in the two layers of module 01. You write the **kernel**, in
// namespace `native`, that computes the numbers (`native::relu`); the **op** `relu`, written
// for you, calls it through `autograd::record`, so that module 05 can later differentiate
// `relu` without your kernel changing.
//
// The element-wise math that every later module needs is here too, written for you on top
// of `map`: `exp`, `log`, `sqrt`, `abs`, `pow` with a number exponent, and `clamp` (with
// `clamp_min` and `clamp_max`). Each is one recorded op, so autograd will differentiate it.

// %%
//| export
namespace tinytorch {

// e^x, element-wise.
Tensor exp(const Tensor& x);
// The natural logarithm, element-wise (-inf at 0, NaN below).
Tensor log(const Tensor& x);
// The square root, element-wise.
Tensor sqrt(const Tensor& x);
// |x|, element-wise.
Tensor abs(const Tensor& x);
// x^exponent, element-wise.
Tensor pow(const Tensor& x, float exponent);
// max(x, min), element-wise.
Tensor clamp_min(const Tensor& x, float min);
// min(x, max), element-wise.
Tensor clamp_max(const Tensor& x, float max);
// x limited to [min, max], element-wise.
Tensor clamp(const Tensor& x, float min, float max);

}  // namespace tinytorch

// %%
//| export impl
namespace tinytorch {

Tensor exp(const Tensor& x) {
  return autograd::record("exp", {x}, [&] { return map(x, [](float v) { return std::exp(v); }); });
}
Tensor log(const Tensor& x) {
  return autograd::record("log", {x}, [&] { return map(x, [](float v) { return std::log(v); }); });
}
Tensor sqrt(const Tensor& x) {
  return autograd::record("sqrt", {x}, [&] { return map(x, [](float v) { return std::sqrt(v); }); });
}
Tensor abs(const Tensor& x) {
  return autograd::record("abs", {x}, [&] { return map(x, [](float v) { return std::fabs(v); }); });
}
Tensor pow(const Tensor& x, float exponent) {
  return autograd::record("pow", {x}, {}, exponent, [&] {
    if (exponent == 2.0f) return map(x, [](float v) { return v * v; });  // exact, and the common case
    return map(x, [exponent](float v) { return std::pow(v, exponent); });
  });
}
Tensor clamp_min(const Tensor& x, float min) {
  return autograd::record("clamp_min", {x}, {}, min,
                          [&] { return map(x, [min](float v) { return v < min ? min : v; }); });
}
Tensor clamp_max(const Tensor& x, float max) {
  return autograd::record("clamp_max", {x}, {}, max,
                          [&] { return map(x, [max](float v) { return v > max ? max : v; }); });
}
Tensor clamp(const Tensor& x, float min, float max) {
  if (min > max) {
    throw std::invalid_argument("clamp(): min " + std::to_string(min) + " is larger than max " + std::to_string(max));
  }
  return clamp_max(clamp_min(x, min), max);
}

}  // namespace tinytorch

// %% [markdown]
// ## Part 1: The ReLU family
//
// ### ⭐ `relu`: the default activation
//
// The **rectified linear unit** keeps positive numbers and replaces negative ones by 0:
//
//     relu(x) = max(x, 0)
//
//        |      /
//        |     /
//        |    /
//     ---+---/---------
//        0
//
// It is the default in hidden layers because it is as cheap as an activation can be (one
// comparison), and because its gradient is exactly 1 for every positive input: it does not
// shrink the signal that backpropagation sends through deep networks, which is what made
// sigmoid networks so hard to train.
//
// **TODO**: In the kernel `native::relu`, return a new tensor with every negative element
// replaced by 0.
//
// **APPROACH**:
// 1. `return map(x, [](float v) { ... });`
// 2. Inside the lambda, return `v` when it is positive and `0.0f` otherwise.
//
// **EXAMPLE**:
// ```cpp
// relu(tensor({-2, -0.5, 0, 0.5, 2}))   // tensor([0.0000, 0.0000, 0.0000, 0.5000, 2.0000])
// relu(tensor({{1, -2}, {-3, 4}}))      // tensor([[1., 0.], [0., 4.]])  (shape kept)
// ```
//
// **HINTS**:
// - Write `v < 0.0f ? 0.0f : v` rather than `v > 0.0f ? v : 0.0f`: the two differ only for
//   NaN, and the first one passes a NaN through, as PyTorch does. Hiding a NaN as 0 would
//   hide a bug upstream.
//
// **SYSTEMS THINKING**: ReLU does one comparison per element but reads and writes 4 bytes
// each. On a real machine it is limited by memory bandwidth, not arithmetic; that is why
// production libraries *fuse* it into the layer before it instead of running it as a pass
// of its own.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor relu(const Tensor& x) {
  // BEGIN SOLUTION
  return map(x, [](float v) { return v < 0.0f ? 0.0f : v; });
  // END SOLUTION
}

}  // namespace native

Tensor relu(const Tensor& x) {
  return autograd::record("relu", {x}, [&] { return native::relu(x); });
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `leaky_relu`: a ReLU that never goes flat
//
// A ReLU whose input is negative for every example outputs 0 and gets gradient 0: it never
// learns again (a "dead" ReLU). **Leaky ReLU** keeps a small slope on the negative side, so
// some gradient always flows:
//
//     leaky_relu(x) = x                    if x >= 0
//                     negative_slope * x   if x <  0
//
// **TODO**: In `native::leaky_relu`, return a new tensor applying the formula to every element.
//
// **APPROACH**:
// 1. `map` again; capture `negative_slope` in the lambda: `[negative_slope](float v) {...}`.
//
// **EXAMPLE**:
// ```cpp
// leaky_relu(tensor({-10, -1, 0, 2}), 0.1f)   // tensor([-1.0000, -0.1000,  0.0000,  2.0000])
// leaky_relu(tensor({-100, 3}))               // tensor([-1., 3.])  (default slope 0.01)
// ```
//
// **HINTS**:
// - A slope of 0 gives back `relu`, a slope of 1 the identity: two quick checks of your code.
//
// **SYSTEMS THINKING**: the default argument lives in the declaration (the header), not in
// the definition: C++ lets you state it only once, and the caller's compiler needs to see it.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor leaky_relu(const Tensor& x, float negative_slope) {
  // BEGIN SOLUTION
  return map(x, [negative_slope](float v) { return v < 0.0f ? negative_slope * v : v; });
  // END SOLUTION
}

}  // namespace native

Tensor leaky_relu(const Tensor& x, float negative_slope) {
  return autograd::record("leaky_relu", {x}, {}, negative_slope, [&] { return native::leaky_relu(x, negative_slope); });
}

}  // namespace tinytorch

// %%
//| test
using namespace tinytorch;

TEST(UnitRelu, ZeroesTheNegatives) {
  EXPECT_EQ(relu(tensor({-2, 0, 3})).to_vector(), (std::vector<float>{0, 0, 3}));
}

TEST(UnitRelu, LeakyReluScalesTheNegatives) {
  EXPECT_EQ(leaky_relu(tensor({-10, 4}), 0.5f).to_vector(), (std::vector<float>{-5, 4}));
}

// %%
//| demo
Tensor x = arange(-3, 4);
std::cout << "x                  = " << x << "\n";
std::cout << "relu(x)            = " << relu(x) << "\n";
std::cout << "leaky_relu(x, 0.1) = " << leaky_relu(x, 0.1f) << "\n";

// %% [markdown]
// ## Part 2: Sigmoid and tanh, the S-curves
//
// ### ⭐⭐ `sigmoid`: squash to (0, 1), without overflow
//
// The **logistic sigmoid** turns any number into a probability-like value in (0, 1):
//
//     sigmoid(x) = 1 / (1 + exp(-x))      sigmoid(0) = 0.5, sigmoid(2) ≈ 0.8808
//
// Written exactly like that, it breaks for large negative `x`: `sigmoid(-1000)` computes
// `exp(1000)`, which overflows a float (anything above `exp(88.72) ≈ 3.4 × 10³⁸` does) to
// `inf`. Here `1 / (1 + inf)` happens to give the right `0`, but the overflow raises a
// floating-point exception flag, and the same expression inside a gradient computes
// `inf / inf = NaN`. A stable implementation never calls `exp` on a positive number:
//
//     x >= 0:   1 / (1 + exp(-x))          exp(-x) is in (0, 1]: safe
//     x <  0:   exp(x) / (1 + exp(x))      exp(x)  is in (0, 1): safe
//
// The second line is the first multiplied by `exp(x) / exp(x)`: the same function, another
// way to compute it.
//
// **TODO**: In `native::sigmoid`, return the sigmoid of every element, choosing the safe
// formula by the sign.
//
// **APPROACH**:
// 1. `map(x, [](float v) { ... })`.
// 2. If `v >= 0`, return `1 / (1 + std::exp(-v))`.
// 3. Otherwise compute `e = std::exp(v)` once and return `e / (1 + e)`.
//
// **EXAMPLE**:
// ```cpp
// sigmoid(tensor({-2, 0, 2}))        // tensor([0.1192, 0.5000, 0.8808])
// sigmoid(tensor({-1000, 1000}))     // tensor([0., 1.])  no inf, no NaN
// ```
//
// **HINTS**:
// - Write `std::exp`, not `exp`: inside namespace `tinytorch`, an unqualified name finds
//   the library's own functions first. The same goes for `std::tanh` below.
// - Use float literals (`1.0f`) so the arithmetic stays in `float`.
//
// **SYSTEMS THINKING**: the "if" costs a branch per element, and with random signs the CPU
// mispredicts half of them. Libraries write it branch-free: `e = exp(-|x|)`, then
// `x >= 0 ? 1 / (1 + e) : e / (1 + e)`, which compiles to a conditional move.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor sigmoid(const Tensor& x) {
  // BEGIN SOLUTION
  return map(x, [](float v) {
    if (v >= 0.0f) return 1.0f / (1.0f + std::exp(-v));
    const float e = std::exp(v);  // v < 0, so e is in (0, 1): no overflow
    return e / (1.0f + e);
  });
  // END SOLUTION
}

}  // namespace native

Tensor sigmoid(const Tensor& x) {
  return autograd::record("sigmoid", {x}, [&] { return native::sigmoid(x); });
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `tanh`: squash to (-1, 1)
//
// The hyperbolic tangent is a sigmoid stretched to (-1, 1) and centred on 0:
// `tanh(x) = 2 sigmoid(2x) - 1`. Being centred makes it the activation of choice inside
// recurrent networks (LSTM and GRU cells).
//
// **TODO**: In `native::tanh`, return the tanh of every element.
//
// **APPROACH**:
// 1. `map` with `std::tanh`, which is already stable: it returns exactly ±1 for
//    large |x| instead of computing `inf / inf`.
//
// **EXAMPLE**:
// ```cpp
// tanh(tensor({-1, 0, 0.5f, 1}))     // tensor([-0.7616,  0.0000,  0.4621,  0.7616])
// tanh(tensor({-1000, 1000}))        // tensor([-1.,  1.])
// ```
//
// **HINTS**:
// - Our function is called `tanh` too, and it takes a `Tensor`. Inside it, `std::tanh(v)`
//   with a `float` is the C++ library's; `tanh(v)` would look for ours first.
//
// **SYSTEMS THINKING**: why not write `(std::exp(v) - std::exp(-v)) / (std::exp(v) +
// std::exp(-v))` from the definition? Try `v = 100`: both `exp` values are `inf` or `0`, and
// the quotient is NaN. Library functions such as `std::tanh` exist as much for their
// careful handling of the extremes as for their speed.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor tanh(const Tensor& x) {
  // BEGIN SOLUTION
  return map(x, [](float v) { return std::tanh(v); });
  // END SOLUTION
}

}  // namespace native

Tensor tanh(const Tensor& x) {
  return autograd::record("tanh", {x}, [&] { return native::tanh(x); });
}

}  // namespace tinytorch

// %%
//| test
TEST(UnitSigmoid, HalfAtZeroAndNoOverflow) {
  EXPECT_EQ(sigmoid(tensor({0})).to_vector(), (std::vector<float>{0.5f}));
  const std::vector<float> extremes = sigmoid(tensor({-1000, 1000})).to_vector();
  EXPECT_EQ(extremes, (std::vector<float>{0, 1}));
}

TEST(UnitTanh, OddAroundZero) {
  const std::vector<float> y = tanh(tensor({-1, 0, 1})).to_vector();
  EXPECT_NEAR(y[0], -0.7615942f, 1e-6f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_NEAR(y[2], 0.7615942f, 1e-6f);
}

// %%
//| demo
Tensor x = arange(-3, 4);
std::cout << "sigmoid(arange(-3, 4)) = " << sigmoid(x) << "\n";
std::cout << "tanh(arange(-3, 4))    = " << tanh(x) << "\n";
std::cout << "sigmoid(-1000), sigmoid(1000) = " << sigmoid(tensor({-1000, 1000}))
          << "   (the textbook formula computes exp(1000) = " << std::exp(1000.0f) << " first)\n";

// %% [markdown]
// ## Part 3: GELU, the transformer's activation
//
// ### ⭐⭐ `gelu`: a smooth ReLU
//
// The **Gaussian error linear unit** weights its input by the probability that a standard
// normal variable is smaller: `gelu(x) = x Φ(x)`, where `Φ` is the normal CDF. For large
// positive `x` it is `x` (like ReLU), for large negative `x` it is 0, and in between it is
// smooth, with a small dip to about `-0.17` near `x = -0.75`. BERT and GPT use it in every
// feed-forward block.
//
// `Φ` needs the error function `erf`. The original paper (and GPT-2, and PyTorch's
// `gelu(x, approximate="tanh")`) uses the **tanh approximation** instead, and so do we:
//
//     gelu(x) ≈ 0.5 x (1 + tanh( sqrt(2/π) (x + 0.044715 x³) ))
//
// It differs from the exact `x Φ(x)` by less than 0.001 everywhere.
//
// **TODO**: In `native::gelu`, return the tanh-approximated GELU of every element.
//
// **APPROACH**:
// 1. Precompute the constant `k = sqrt(2/π)`: `std::sqrt(2.0f / std::numbers::pi_v<float>)`
//    (about 0.7978846).
// 2. `map`; in the lambda compute `inner = k * (v + 0.044715f * v * v * v)` and return
//    `0.5f * v * (1.0f + std::tanh(inner))`.
//
// **EXAMPLE**:
// ```cpp
// gelu(tensor({-1, 0, 1}))     // tensor([-0.1588,  0.0000,  0.8412])
// gelu(tensor({3}))            // tensor([2.9964])  almost x
// gelu(tensor({-1000, 1000}))  // tensor([-0., 1000.])  no NaN
// ```
//
// **HINTS**:
// - For `v = -1000`, `v * v * v` is `-10⁹` (and for `v = -10¹³` it would overflow to
//   `-inf`). Check that your formula still gives a finite answer: `std::tanh(-inf)` is `-1`,
//   and `0.5 * v * (1 - 1)` is 0. An implementation that computed `exp(2 * inner)` itself
//   would give NaN there.
//
// **SYSTEMS THINKING**: GELU costs a cube, a tanh and a few multiplies per element, about
// twenty times a ReLU's arithmetic, and still runs at about the same speed on a GPU, where
// both are limited by reading and writing memory. That is why transformers could afford to
// switch.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor gelu(const Tensor& x) {
  // BEGIN SOLUTION
  const float k = std::sqrt(2.0f / std::numbers::pi_v<float>);
  return map(x, [k](float v) {
    const float inner = k * (v + 0.044715f * v * v * v);
    return 0.5f * v * (1.0f + std::tanh(inner));
  });
  // END SOLUTION
}

}  // namespace native

Tensor gelu(const Tensor& x) {
  return autograd::record("gelu", {x}, [&] { return native::gelu(x); });
}

}  // namespace tinytorch

// %%
//| test
TEST(UnitGelu, TanhApproximationAtOne) {
  EXPECT_NEAR(gelu(tensor({1})).item(), 0.8411920f, 1e-6f);
  EXPECT_EQ(gelu(tensor({0})).item(), 0.0f);
}

// %%
//| demo
Tensor x = arange(-3, 4);
std::cout << "gelu(arange(-3, 4)) = " << gelu(x) << "\n";
std::cout << "relu(arange(-3, 4)) = " << relu(x) << "   (GELU is a smooth version of it)\n";

// %% [markdown]
// ## Part 4: Softmax, from scores to probabilities
//
// ### ⭐⭐⭐ `softmax`: stable, along any axis
//
// A classifier ends in one score (a *logit*) per class. **Softmax** turns a row of scores
// into probabilities, positive and summing to 1, keeping their order:
//
//     softmax(x)_i = exp(x_i) / Σ_j exp(x_j)
//
//     softmax([1, 2, 3]) = [e¹, e², e³] / (e¹ + e² + e³) = [0.0900, 0.2447, 0.6652]
//
// **The overflow.** Logits of 1000 are unusual but not absurd (an untrained network with a
// large learning rate produces them). `exp(1000)` is about `10⁴³⁴`; a float stops at
// `3.4 × 10³⁸`, i.e. `exp(88.7)`. So the naive formula computes `inf / (inf + inf + inf)` =
// `NaN` for `[1000, 1001, 1002]`, and `0 / 0 = NaN` for `[-1000, -1000]`, where every `exp`
// underflows to 0.
//
// **The fix** is one line of algebra: multiplying top and bottom by `exp(-m)` changes
// nothing, so for any number `m`
//
//     softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m)
//
// Choose `m = max(x)`. Then the largest shifted entry is exactly 0, every `exp` is in
// (0, 1] (no overflow), and the denominator is at least `exp(0) = 1` (no division by 0).
// `softmax([1000, 1001, 1002]) = softmax([-2, -1, 0]) = [0.0900, 0.2447, 0.6652]`.
//
// **The axis.** For a batch of scores of shape `[batch, classes]`, each *row* is normalized
// on its own: `axis = -1` (the last, the default, as in PyTorch's usual call). With
// `axis = 0` each column is. The max and the sum are taken *along* `axis` with `keepdim =
// true`, so they keep a size-1 dimension there and broadcast back against `x`:
//
//     x            [4, 10]
//     x.max(1, true)  [4, 1]     one max per row; x - max broadcasts to [4, 10]
//     e.sum(1, true)  [4, 1]     one sum per row;  e / sum broadcasts to [4, 10]
//
// **TODO**: In `native::softmax`, return the softmax of `x` along `axis`, stably.
//
// **APPROACH**:
// 1. `shifted = x - x.max(axis, true)`: every slice now has its largest entry at 0.
// 2. `e = exp(shifted)` (the element-wise `exp` of part 0).
// 3. Return `e / e.sum(axis, true)`.
//
// **EXAMPLE**:
// ```cpp
// softmax(tensor({1, 2, 3}))                   // tensor([0.0900, 0.2447, 0.6652])
// softmax(tensor({1000, 1001, 1002}))          // the same: no NaN
// softmax(tensor({{0, 1}, {0, 1}}), 0)         // tensor([[0.5, 0.5], [0.5, 0.5]])
// softmax(tensor({0, -INFINITY}))              // tensor([1., 0.])  a masked entry gets 0
// ```
//
// **HINTS**:
// - `max` and `sum` from module 01 already accept a negative `axis` and throw `IndexError`
//   for a bad one: pass `axis` straight through and you get both for free.
// - They also work on any view, and `map` reads views in logical order, so a
//   transposed `x` needs no special care.
// - Do not forget `keepdim = true`: without it `x.max(1)` has shape `[4]`, which broadcasts
//   against the *last* dimension of `[4, 10]` and fails (or, for a square matrix, silently
//   subtracts the wrong numbers).
//
// **SYSTEMS THINKING**: the stable version reads `x` three times (max, exp, sum) and writes
// two temporaries. Attention in a transformer does this on a `[seq, seq]` matrix per head;
// for long sequences those passes over memory are the bottleneck, and FlashAttention's main
// trick is an "online softmax" that keeps a running max and rescales the running sum, so it
// needs a single pass.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor softmax(const Tensor& x, int64_t axis) {
  // BEGIN SOLUTION
  const Tensor shifted = x - x.max(axis, /*keepdim=*/true);  // largest entry of each slice is 0
  const Tensor e = exp(shifted);  // in (0, 1]
  return e / e.sum(axis, /*keepdim=*/true);  // each sum is >= 1
  // END SOLUTION
}

}  // namespace native

Tensor softmax(const Tensor& x, int64_t axis) {
  return autograd::record("softmax", {x}, {axis}, 0.0f, [&] { return native::softmax(x, axis); });
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `log_softmax`: probabilities as logarithms
//
// The cross-entropy loss (a later module) needs `log(softmax(x))`. Computing the softmax
// and then its log loses the small probabilities: `softmax([1000, 0])` is `[1, e⁻¹⁰⁰⁰]`, and
// `e⁻¹⁰⁰⁰` underflows to 0 in a float, so `log` gives `-inf` where the true answer is
// `-1000`. Take the log of the stable formula instead:
//
//     log_softmax(x)_i = (x_i - m) - log Σ_j exp(x_j - m)        m = max(x)
//
// The sum is at least 1 (its largest term is `exp(0)`), so its log is finite and small, and
// `x_i - m` is just a subtraction: nothing can underflow to `log(0)`.
// `log_softmax([1000, 0]) = [0 - log(1 + e⁻¹⁰⁰⁰), -1000 - log(…)] = [0, -1000]`.
// (`log Σ exp` is the *log-sum-exp*; this is the trick behind every stable loss.)
//
// **TODO**: In `native::log_softmax`, return `log(softmax(x, axis))`, computed as above.
//
// **APPROACH**:
// 1. `shifted = x - x.max(axis, true)`, as in `softmax`.
// 2. `sums = exp(shifted).sum(axis, true)`: one sum per slice, a size-1 axis.
// 3. Return `shifted - log(sums)`: the log of each sum, broadcast back.
//
// **EXAMPLE**:
// ```cpp
// log_softmax(tensor({1, 2, 3}))     // tensor([-2.4076, -1.4076, -0.4076])
// log_softmax(tensor({1000, 0}))     // tensor([    0., -1000.])  not -inf
// ```
//
// **HINTS**:
// - Check: `exp` of your result is `softmax(x)`, and each slice of it sums to 1.
//
// **SYSTEMS THINKING**: `log_softmax` takes the log of one number per slice, not one per
// element: for 1000 classes, 1000 times fewer calls to `log` than `log(softmax(x))`.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor log_softmax(const Tensor& x, int64_t axis) {
  // BEGIN SOLUTION
  const Tensor shifted = x - x.max(axis, /*keepdim=*/true);
  const Tensor sums = exp(shifted).sum(axis, /*keepdim=*/true);
  return shifted - log(sums);  // log-sum-exp, broadcast back
  // END SOLUTION
}

}  // namespace native

Tensor log_softmax(const Tensor& x, int64_t axis) {
  return autograd::record("log_softmax", {x}, {axis}, 0.0f, [&] { return native::log_softmax(x, axis); });
}

}  // namespace tinytorch

// %%
//| test
TEST(UnitSoftmax, RowsSumToOne) {
  const Tensor p = softmax(tensor({{1, 2, 3}, {-1, 0, 5}}));
  EXPECT_EQ(p.shape(), (Shape{2, 3}));
  EXPECT_NEAR(p.sum(1).at({0}), 1.0f, 1e-6f);
  EXPECT_NEAR(p.sum(1).at({1}), 1.0f, 1e-6f);
}

TEST(UnitSoftmax, LogSoftmaxOfLargeLogitsIsFinite) {
  const std::vector<float> y = log_softmax(tensor({1000, 0})).to_vector();
  EXPECT_NEAR(y[0], 0.0f, 1e-6f);
  EXPECT_NEAR(y[1], -1000.0f, 1e-3f);
}

// %%
//| demo
#include <cmath>
#include <limits>

Tensor logits = tensor({{1, 2, 3}, {2, 2, 2}, {-1, 0, 5}});
Tensor probs = softmax(logits);
std::cout << "logits =\n" << logits << "\n";
std::cout << "softmax(logits) =\n" << probs << "\n";
std::cout << "each row sums to " << probs.sum(1) << "\n";
std::cout << "softmax(logits, 0) (columns) sum along axis 0 to " << softmax(logits, 0).sum(0) << "\n";

// The textbook formula, at x = [1000, 1001, 1002].
std::vector<float> big = {1000, 1001, 1002};
std::vector<float> e(big.size());
float total = 0;
for (std::size_t i = 0; i < big.size(); ++i) total += e[i] = std::exp(big[i]);
std::cout << "\nnaive:  exp(1000) = " << e[0] << ", sum = " << total << ", softmax = [";
for (std::size_t i = 0; i < big.size(); ++i) {
  const float p = e[i] / total;  // inf / inf
  std::cout << (i ? ", " : "") << (std::isnan(p) ? "NaN" : std::to_string(p));
}
std::cout << "]\n";
std::cout << "stable: softmax([1000, 1001, 1002]) = " << softmax(tensor({1000, 1001, 1002})) << "\n";
std::cout << "        softmax([1, 2, 3])          = " << softmax(tensor({1, 2, 3})) << "\n";
std::cout << "log(softmax([1000, 0]))[1] = " << std::log(softmax(tensor({1000, 0})).to_vector()[1])
          << ", log_softmax([1000, 0]) = " << log_softmax(tensor({1000, 0})) << "\n";
const float neg_inf = -std::numeric_limits<float>::infinity();
std::cout << "a masked score (-inf) gets probability 0: softmax([0, 1, -inf]) = "
          << softmax(tensor({0, 1, neg_inf})) << "\n";

// %% [markdown]
// ## Summary
//
// You wrote the activations every later network uses, as free functions like libtorch's:
//
// - **element-wise** maps, `relu`, `leaky_relu`, `sigmoid`, `tanh`, `gelu`, that keep the
//   shape and work on any view;
// - **slice-wise** functions, `softmax` and `log_softmax`, that combine a reduction with
//   `keepdim`, broadcasting and an element-wise map, along any axis;
// - **numerical stability**: choose the formula that never computes `exp` of a large
//   positive number (sigmoid), subtract the max (softmax), and take logs before they can
//   underflow (log-sum-exp).
//
// ## Reflect
//
// 1. Two linear layers without an activation are one linear layer. Show it for
//    `y = (x W1) W2` with `W1` of shape `[784, 256]` and `W2` of shape `[256, 10]`: which
//    single matrix does the same, and how many parameters does it have compared with the two?
// 2. `softmax(x + c) == softmax(x)` for any number `c`. Why? Which value of `c` did you
//    choose, and what goes wrong with `c = -min(x)` instead of `-max(x)`?
// 3. `sigmoid(x)` is `softmax([x, 0])[0]`. Check it on paper. What does that say about a
//    binary classifier with one output versus one with two?
// 4. `relu` reads and writes every element once and does one comparison. Estimate how long
//    it takes on a `[64, 256, 32, 32]` activation at 20 GB/s of memory bandwidth. Is the
//    comparison or the memory the bottleneck?
// 5. Our `softmax` allocates three temporary tensors. Which ones could you avoid by writing
//    the loop over slices by hand, and what would it cost you in code that handles any axis
//    and any view?
//
// Next: layers. A `Linear` layer followed by `relu` is the building block of the
// multi-layer perceptron, and `log_softmax` is half of the cross-entropy loss.
