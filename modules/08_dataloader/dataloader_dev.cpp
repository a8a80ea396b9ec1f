// %% [markdown]
// # Module 08: DataLoader
//
// Until now every network of the course ate numbers you made up on the spot, or a handful of
// real images read by a few lines of code that were not part of the library. Training a real
// network means reading 60,000 images, cutting them into batches, visiting them in a new random
// order every epoch, and changing each image a little every time it is seen (data
// augmentation), and doing all of that fast enough that the model, not the data, decides how
// long an epoch takes. That is the **input pipeline**, and in this module you build it, with the
// names of PyTorch's C++ frontend (`torch::data`):
//
// ```cpp
// auto train = data::datasets::FashionMNIST(/*train=*/true);              // 60,000 real images
// auto augmented = data::MapDataset(train, transforms::Compose(
//     transforms::RandomCrop(28, /*padding=*/2, /*seed=*/1), transforms::Normalize({0.286f}, {0.353f})));
// data::DataLoader loader(augmented, data::DataLoaderOptions().batch_size(64).shuffle(true).seed(42));
// for (int64_t epoch = 0; epoch < 10; ++epoch) {
//   loader.start_epoch(epoch);                 // a new order and new crops, from the seed and the epoch
//   for (data::Example batch : loader) {       // batch.data [64, 1, 28, 28], batch.target [64]
//     ...                                       // the training step of module 06
//   }
// }
// ```
//
// `DataLoader` is a `data::BatchSource`, the interface module 07's `Trainer` reads, so the
// loader you build here is what every later network trains from.
//
// ## Objectives
//
// - Cut examples out of a big tensor without copying (`narrow`, `select`), and join examples into
//   a batch with one copy (`cat`, `stack`); make both differentiable with module 05's
//   `autograd::function`.
// - Write a `Dataset` and a `DataLoader` whose shuffle is a **pure function of the seed and the
//   epoch**, so a run can be repeated exactly and resumed in the middle.
// - See why module 07's Fisher–Yates shuffle is unbiased, and measure the bias of the shuffle
//   most people write first.
// - Read the real files: the IDX format of MNIST and Fashion-MNIST (a big-endian header) and
//   CIFAR-10's binary records (three colour planes), fast: 60,000 images in well under a second.
// - Write seeded transforms (`Normalize`, `RandomCrop`, `RandomHorizontalFlip`, `Compose`) whose
//   randomness depends on *which* example and epoch they see, never on the order examples are
//   read in.
// - Measure what the pipeline costs: load time, images per second, bytes against floats.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | tensor ops for batches | `native::narrow`, `native::cat`, `stack` |
// | 2 | datasets | `TensorDataset::get` |
// | 3 | shuffling, revisited: module 07's `shuffle_order`, and why | nothing (a demo measures a biased shuffle) |
// | 4 | the DataLoader | `num_batches`/`num_examples`, `start_epoch`, `batch_indices`, `collate` |
// | 5 | reading the real files | `read_be32`, `parse_idx_header`, `decode_idx_images`, `decode_idx_labels`, `decode_cifar10_records` |
// | 6 | transforms | `Normalize`, `padded_crop`, `hflip`, `RandomCrop`, `MapDataset::get` |
//
// Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module (this module has
// none: its pieces are small, and the lesson is in how they fit).
//
// The demos and several tests read the real Fashion-MNIST from the `tito data` cache. Import it
// once (Debian's `dataset-fashion-mnist` package brings the files, no network needed):
//
//     tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist
//
// After each function, run `tito test dataloader`; `tito module run dataloader` shows the demos.

// %%
//| default_exp core/data

// %%
//| export
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <tinytorch/core/training.hpp>

// %%
//| export impl
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <sstream>

#include <tinytorch/course.hpp>

// %% [markdown]
// ## Part 1: Tensor ops for batches
//
// A dataset in memory is a few big tensors: Fashion-MNIST's training images are one tensor of
// shape `[60000, 1, 28, 28]`. An **example** is one slice of it, `[1, 28, 28]`, and a **batch**
// is some examples joined again, `[64, 1, 28, 28]`, in a new order. Two kinds of op do that:
//
// - **slicing**, `narrow` and `select`: a window of a dimension, as a *view* (module 01): the
//   same storage, another offset, no number copied. `select(images, 0, i)` is example `i`.
// - **joining**, `cat` and `stack`: a new tensor that holds the pieces one after the other.
//   `stack` of 64 examples `[1, 28, 28]` is the batch `[64, 1, 28, 28]`.
//
//     images [60000, 1, 28, 28]          select(images, 0, 7)         stack({e7, e3, e9, ...})
//     ┌───┬───┬───┬───┬───┬───┐           ┌───┐                        ┌───┬───┬───┬───┐
//     │ 0 │ 1 │ 2 │ 3 │...│   │   ──►     │ 7 │  a view: offset 7·784  │ 7 │ 3 │ 9 │...│ one copy
//     └───┴───┴───┴───┴───┴───┘           └───┘                        └───┴───┴───┴───┘
//
// These ops come after autograd (module 05), so each differentiable one attaches its backward
// itself with `autograd::function` (module 05, part 7), and has a gradient check in the tests:
// a network that slices or concatenates its activations (a U-Net, an attention head split
// into pieces) needs them.

// %%
//| export
namespace tinytorch {

// The elements start .. start + length - 1 along dimension `dim` (negative counts from the end),
// as a view of the same storage (torch::narrow): nothing is copied. A negative `start` counts
// from the end. IndexError when the window does not fit in the dimension.
Tensor narrow(const Tensor& self, int64_t dim, int64_t start, int64_t length);
// Element `index` along dimension `dim`, which the result drops (torch::select): a view.
// select(images, 0, i) is example i. A negative `index` counts from the end.
Tensor select(const Tensor& self, int64_t dim, int64_t index);
// The tensors joined along dimension `dim` (torch::cat): a new contiguous tensor. They must have
// the same number of dimensions and agree on every size but the one along `dim`.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Tensors of one shape joined along a new dimension `dim` (torch::stack): n tensors [C, H, W]
// become [n, C, H, W] with dim 0; n 0-D tensors become [n].
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);

namespace native {
// narrow's kernel, for arguments already checked: 0 <= dim < self.dim(), the window inside.
Tensor narrow(const Tensor& self, int64_t dim, int64_t start, int64_t length);
// cat's kernel, for arguments already checked: a non-empty list, 0 <= dim < their dim(), sizes
// that agree.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
}  // namespace native

}  // namespace tinytorch

// %% [markdown]
// A few helpers first (written for you): the dimension checks every op of this part makes, and
// `record_list`, which attaches a backward to an op with *any number* of inputs. Module 05's
// `autograd::function` takes its inputs as a braced list (`{a, b}`), fixed when you write the
// call; `cat` has as many inputs as the caller has tensors. So `record_list` builds the graph
// node itself, through module 05's public `autograd::Node` and `autograd::attach`, exactly as
// `autograd::function` does: the inputs, the arguments, the output (detached, so the node
// does not keep itself alive) and the backward function.

// %%
//| export impl
namespace tinytorch {
namespace {

// `dim` of a tensor with `ndim` dimensions, counted from the end when negative; IndexError naming `op`.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  if (dim < -ndim || dim >= ndim) {
    throw IndexError(std::string(op) + ": dimension " + std::to_string(dim) + " is out of range for a tensor with " +
                     std::to_string(ndim) + " dimensions (expected " + std::to_string(-ndim) + " to " +
                     std::to_string(ndim - 1) + ")");
  }
  return dim < 0 ? dim + ndim : dim;
}

// Whether an op on `inputs` must be recorded (autograd::should_record, for a list of any length).
bool should_record_list(const std::vector<Tensor>& inputs) {
  if (autograd::recorder() == nullptr || autograd::recording_paused()) return false;
  return std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.requires_grad(); });
}

// compute(), recorded as op `name` from `inputs` with `backward` when one of them requires grad:
// autograd::function for an op with any number of inputs.
template <typename Compute>
Tensor record_list(const char* name, const std::vector<Tensor>& inputs, std::vector<int64_t> ints, Compute compute,
                   autograd::BackwardFn backward) {
  if (!should_record_list(inputs)) return compute();
  Tensor output;
  {
    autograd::PauseRecording kernel_only;
    output = compute();
  }
  auto node = std::make_shared<autograd::Node>();
  node->name = name;
  node->inputs = inputs;
  node->ints = std::move(ints);
  node->output = output.detach();
  node->backward = std::move(backward);
  autograd::attach(output, std::move(node));
  return output;
}

}  // namespace
}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `native::narrow`: a window as a view
//
// Module 01's views change a tensor's shape, strides and offset and leave its storage alone.
// `narrow` is one more: along dimension `dim` it keeps `length` elements starting at `start`.
// The strides do not change (one step along any dimension still skips as many floats as
// before); the shape along `dim` becomes `length`; and element `[0, 0, ...]` of the window is
// element `start` along `dim` of the original, `start * strides[dim]` floats further on.
//
// **TODO**: Return the view of elements `start .. start + length - 1` along `dim`.
//
// **APPROACH**:
// 1. Copy `self.shape()` and set the size of `dim` to `length`.
// 2. The offset is `self.offset() + start * self.strides()[dim]`.
// 3. Return `Tensor(self.storage(), shape, self.strides(), offset)`: module 01's view
//    constructor, which checks that the view stays inside the storage.
//
// **EXAMPLE**:
// ```cpp
// Tensor m = arange(12).reshape({3, 4});   // [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
// narrow(m, 0, 1, 2)   // rows 1 and 2: [[4, 5, 6, 7], [8, 9, 10, 11]]; offset 4, strides [4, 1]
// narrow(m, 1, 2, 2)   // columns 2 and 3: [[2, 3], [6, 7], [10, 11]]; offset 2, strides [4, 1]
// ```
//
// **HINTS**:
// - Start from `self.offset()`, not from 0: `self` may be a view already (a row of a batch, a
//   narrow of a narrow). A test narrows a view whose offset is not 0.
// - `narrow(m, 1, 2, 2)` is not contiguous (its rows have gaps): that is fine for a view, and
//   `contiguous()` copies it when a kernel needs plain rows.
//
// **SYSTEMS THINKING**: a view costs one small allocation whatever its size: cutting all 60,000
// examples out of the training set makes 60,000 `TensorImpl`s, not 188 MB of copies. The price
// is that a view keeps its whole storage alive: one example kept in a list keeps all 60,000
// images in memory. `clone()` is the way out when that matters.

// %%
//| export impl
namespace tinytorch {

Tensor native::narrow(const Tensor& self, int64_t dim, int64_t start, int64_t length) {
  // BEGIN SOLUTION
  Shape shape = self.shape();
  shape[static_cast<std::size_t>(dim)] = length;
  const int64_t offset = self.offset() + start * self.strides()[static_cast<std::size_t>(dim)];
  return Tensor(self.storage(), std::move(shape), self.strides(), offset);
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// The public `narrow` and `select` (written for you) check their arguments and attach the
// backward: the gradient of a window is the upstream gradient put back into the window of a
// zero tensor of the input's shape (the elements outside it did not affect the result).
// `select` is `narrow` of length 1 followed by module 01's `squeeze`, both recorded, so it needs
// no backward of its own.

// %%
//| export impl
namespace tinytorch {

Tensor narrow(const Tensor& self, int64_t dim, int64_t start, int64_t length) {
  const int64_t d = wrap_dim(dim, self.dim(), "narrow()");
  const int64_t size = self.size(d);
  if (start < 0 && start >= -size) start += size;
  if (start < 0 || length < 0 || start + length > size) {
    throw IndexError("narrow(): start " + std::to_string(start) + " and length " + std::to_string(length) +
                     " do not fit in dimension " + std::to_string(d) + " of size " + std::to_string(size) + " (shape " +
                     shape_str(self.shape()) + ")");
  }
  return autograd::function(
      "narrow", {self}, [&] { return native::narrow(self, d, start, length); },
      [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
        Tensor grad = zeros(ctx.inputs[0].shape());
        native::narrow(grad, ctx.ints[0], ctx.ints[1], ctx.ints[2]).copy_(ctx.grad);
        return {grad};
      },
      {d, start, length});
}

Tensor select(const Tensor& self, int64_t dim, int64_t index) {
  const int64_t d = wrap_dim(dim, self.dim(), "select()");
  const int64_t size = self.size(d);
  if (index < -size || index >= size) {
    throw IndexError("select(): index " + std::to_string(index) + " is out of range for dimension " +
                     std::to_string(d) + " of size " + std::to_string(size) + " (shape " + shape_str(self.shape()) +
                     ")");
  }
  if (index < 0) index += size;
  return narrow(self, d, index, 1).squeeze(d);
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `native::cat`: pieces one after the other
//
// Joining along dimension 0 is easy to picture: the rows of the first tensor, then the rows of
// the second. Along another dimension it is the same idea once you see each tensor the way
// module 01's `reduce_dim` did, as `[outer, size, inner]`: `outer` is the product of the sizes
// before `dim`, `inner` the product of the sizes after it. For each of the `outer` indices,
// a contiguous tensor holds one unbroken **run** of `size · inner` floats, and the result's run
// for that index is the runs of all the inputs, one after the other:
//
//     cat({a [2, 3], b [2, 1]}, dim 1):  outer 2, inner 1
//     a: [a00 a01 a02 | a10 a11 a12]         result [2, 4]:
//     b: [b00 | b10]                         [a00 a01 a02 b00 | a10 a11 a12 b10]
//                                              run 0 (4 floats)   run 1
//
// **TODO**: Return a new contiguous tensor holding the inputs one after the other along `dim`.
//
// **APPROACH**:
// 1. The result's shape is `tensors[0]`'s with the size along `dim` replaced by the sum of the
//    inputs' sizes along `dim`; make it with `zeros(shape)`.
// 2. `outer` = product of the result's sizes before `dim`, `inner` = product after it;
//    `out_run = shape[dim] * inner` is the length of one run of the result.
// 3. Keep `done`, the floats of each result run the earlier inputs already filled (start at 0).
//    For each input: `c = t.contiguous()`, `run = c.size(dim) * inner`; for each `o` below
//    `outer`, copy `run` floats from `c.data() + o * run` to `out.data() + o * out_run + done`;
//    then `done += run`.
//
// **EXAMPLE**:
// ```cpp
// cat({ones({2, 3}), zeros({1, 3})}, 0)   // [3, 3]: rows of ones, ones, zeros
// cat({ones({2, 3}), zeros({2, 1})}, 1)   // [2, 4]: [[1, 1, 1, 0], [1, 1, 1, 0]]
// cat({a [2, 5, 4], b [2, 3, 4]}, 1)      // [2, 8, 4]
// ```
//
// **HINTS**:
// - `std::copy_n(source, count, destination)` copies a run (header `<algorithm>`).
// - Call `contiguous()` on each input: a narrowed or transposed input has gaps, and the run
//   arithmetic above is only true for plain row-major memory. A test passes a transposed input.
// - An input of size 0 along `dim` contributes empty runs; the loop above handles it as is.
//
// **SYSTEMS THINKING**: `cat` reads and writes every float once, so it runs at memory speed: a
// batch of 128 Fashion-MNIST images is 400 KB, some tens of microseconds. What does not shrink
// with the size is the cost per input (a `contiguous()` check, a handle), which is why a loader
// collates a batch in one `cat` of all its examples. Growing a batch by concatenating one
// example at a time would copy the batch again for every example: O(n²) floats instead of O(n).

// %%
//| export impl
namespace tinytorch {

Tensor native::cat(const std::vector<Tensor>& tensors, int64_t dim) {
  // BEGIN SOLUTION
  const auto d = static_cast<std::size_t>(dim);
  Shape shape = tensors[0].shape();
  shape[d] = 0;
  for (const Tensor& t : tensors) shape[d] += t.size(dim);
  Tensor out = zeros(shape);
  int64_t outer = 1, inner = 1;
  for (std::size_t k = 0; k < d; ++k) outer *= shape[k];
  for (std::size_t k = d + 1; k < shape.size(); ++k) inner *= shape[k];
  const int64_t out_run = shape[d] * inner;
  int64_t done = 0;
  for (const Tensor& t : tensors) {
    const Tensor c = t.contiguous();
    const int64_t run = c.size(dim) * inner;
    for (int64_t o = 0; o < outer; ++o) std::copy_n(c.data() + o * run, run, out.data() + o * out_run + done);
    done += run;
  }
  return out;
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// The public `cat` (written for you) checks the list and records the op: each input's gradient
// is its own window of the upstream gradient, `narrow(g, dim, start_i, size_i)`, copied so that
// every input gets a tensor of its own.

// %%
//| export impl
namespace tinytorch {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  if (tensors.empty()) throw std::invalid_argument("cat(): got an empty list of tensors");
  const Tensor& first = tensors[0];
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) throw std::invalid_argument("cat(): tensor " + std::to_string(i) + " is undefined");
  }
  if (first.dim() == 0) {
    throw ShapeError(
        "cat(): tensor 0 is 0-D (a single number), which has no dimension to join along; stack() "
        "joins 0-D tensors");
  }
  const int64_t d = wrap_dim(dim, first.dim(), "cat()");
  for (std::size_t i = 1; i < tensors.size(); ++i) {
    Shape expected = first.shape(), found = tensors[i].shape();
    if (found.size() == expected.size()) expected[static_cast<std::size_t>(d)] = found[static_cast<std::size_t>(d)];
    if (found != expected) {
      throw ShapeError("cat(): tensor " + std::to_string(i) + " has shape " + shape_str(tensors[i].shape()) +
                       " but tensor 0 has shape " + shape_str(first.shape()) +
                       "; they must agree in every dimension but dimension " + std::to_string(d));
    }
  }
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.size(d));
  sizes.push_back(d);  // the last int is the dimension; the others are the inputs' sizes along it
  return record_list(
      "cat", tensors, sizes, [&] { return native::cat(tensors, d); },
      [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
        const int64_t along = ctx.ints.back();
        std::vector<Tensor> grads(ctx.inputs.size());
        int64_t start = 0;
        for (std::size_t i = 0; i < ctx.inputs.size(); ++i) {
          if (ctx.needs_grad[i]) grads[i] = native::narrow(ctx.grad, along, start, ctx.ints[i]).clone();
          start += ctx.ints[i];
        }
        return grads;
      });
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `stack`: a batch from examples
//
// `stack` joins tensors of one shape along a **new** dimension: give each a dimension of size 1
// where the new one goes (`unsqueeze`, a view), then `cat` along it. 64 examples `[1, 28, 28]`
// become `[64, 1, 28, 28]`; 64 labels, each a 0-D tensor, become `[64]`.
//
// **TODO**: Check the inputs, then unsqueeze each at `dim` and `cat` them along `dim`.
//
// **APPROACH**:
// 1. An empty list is an error: `std::invalid_argument("stack(): got an empty list of tensors")`.
// 2. Every tensor must have `tensors[0]`'s shape, else
//    `ShapeError("stack(): tensor 3 has shape [1, 28, 27] but tensor 0 has shape [1, 28, 28]; stack needs tensors of one shape")`.
// 3. The new dimension goes anywhere from `0` to `dim()` (after the last); a negative `dim` counts
//    from the end of the *result*: add `tensors[0].dim() + 1`.
// 4. Collect `t.unsqueeze(dim)` for every input, and return `cat(those, dim)`.
//
// **EXAMPLE**:
// ```cpp
// stack({a, b})            // a, b of shape [2, 3] -> [2, 2, 3]; result[0] is a
// stack({a, b}, 1)         // -> [2, 2, 3]; result[:, 0] is a
// stack({a, b}, -1)        // -> [2, 3, 2]
// stack({scalar_tensor(3), scalar_tensor(1)})   // -> [2]: the labels of a batch
// ```
//
// **HINTS**:
// - Check the shapes yourself before calling `cat`: without the check, a mismatch is reported
//   by `cat` about the unsqueezed shapes, `[1, 1, 28, 27]`, which is not what the caller passed.
// - `unsqueeze` is module 01's, recorded by autograd; `cat` is recorded too, so `stack` needs no
//   backward of its own.
//
// **SYSTEMS THINKING**: this is the **collate** step of every data loader (PyTorch's
// `default_collate` calls `torch.stack`): the one place where the examples of a batch are
// copied. A batch of 64 images is 200 KB of floats; 60,000 images an epoch is 188 MB copied,
// which at a few GB/s is a few tens of milliseconds. That is cheap next to a training step,
// and the demos measure it.

// %%
//| export impl
namespace tinytorch {

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  // BEGIN SOLUTION
  if (tensors.empty()) throw std::invalid_argument("stack(): got an empty list of tensors");
  const Shape& shape = tensors[0].shape();
  for (std::size_t i = 1; i < tensors.size(); ++i) {
    if (tensors[i].shape() != shape) {
      throw ShapeError("stack(): tensor " + std::to_string(i) + " has shape " + shape_str(tensors[i].shape()) +
                       " but tensor 0 has shape " + shape_str(shape) + "; stack needs tensors of one shape");
    }
  }
  const int64_t ndim = tensors[0].dim() + 1;
  const int64_t d = wrap_dim(dim, ndim, "stack()");
  std::vector<Tensor> pieces;
  pieces.reserve(tensors.size());
  for (const Tensor& t : tensors) pieces.push_back(t.unsqueeze(d));
  return cat(pieces, d);
  // END SOLUTION
}

}  // namespace tinytorch

// %%
//| test
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace tinytorch;

TEST(UnitNarrow, IsAViewWithTheWindowsOffset) {
  const Tensor m = arange(12).reshape({3, 4});
  const Tensor rows = narrow(m, 0, 1, 2);
  EXPECT_EQ(rows.shape(), (Shape{2, 4}));
  EXPECT_EQ(rows.offset(), 4);
  EXPECT_EQ(rows.storage(), m.storage()) << "narrow must be a view of the same storage, not a copy";
  EXPECT_EQ(narrow(m, 1, 2, 2).to_vector(), (std::vector<float>{2, 3, 6, 7, 10, 11}));
}

TEST(UnitCat, JoinsAlongAnyDimension) {
  EXPECT_EQ(cat({ones({2, 3}), zeros({1, 3})}, 0).to_vector(), (std::vector<float>{1, 1, 1, 1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(cat({ones({2, 3}), zeros({2, 1})}, 1).to_vector(), (std::vector<float>{1, 1, 1, 0, 1, 1, 1, 0}));
}

TEST(UnitStack, MakesABatchDimension) {
  const Tensor batch = stack({tensor({1, 2}), tensor({3, 4}), tensor({5, 6})});
  EXPECT_EQ(batch.shape(), (Shape{3, 2}));
  EXPECT_EQ(stack({scalar_tensor(3), scalar_tensor(1)}).shape(), (Shape{2}));
}

// %% [markdown]
// Here is what a batch is made of: four examples cut out of a tensor of ten (views: they share
// its storage, each with its own offset), stacked into one new tensor.

// %%
//| demo
const Tensor images = arange(10 * 2 * 3).reshape({10, 2, 3});  // ten "images" of 2x3 pixels
std::cout << "images: shape " << shape_str(images.shape()) << ", " << images.storage()->size() << " floats\n";
std::vector<Tensor> examples;
for (int64_t i : {7, 2, 9, 4}) {
  examples.push_back(select(images, 0, i));
  std::cout << "  select(images, 0, " << i << "): shape " << shape_str(examples.back().shape()) << ", offset "
            << examples.back().offset() << ", same storage: " << std::boolalpha
            << (examples.back().storage() == images.storage()) << "\n";
}
const Tensor batch = stack(examples);
std::cout << "stack of the four: shape " << shape_str(batch.shape()) << ", its own storage of "
          << batch.storage()->size() << " floats:\n"
          << batch << "\n";
std::cout << "cat of two examples along dim 0: " << shape_str(cat({examples[0], examples[1]}, 0).shape())
          << ", along dim 1: " << shape_str(cat({examples[0], examples[1]}, 1).shape()) << "\n";

// %% [markdown]
// ## Part 2: Datasets
//
// A **dataset** answers two questions: how many examples it has, and what example `i` is. That
// is all a loader needs, and it leaves the dataset free to keep its examples however it likes:
// in one tensor in memory (everything in this course), in files on disk read on demand, or
// computed on the fly. libtorch's `torch::data::datasets::Dataset` is the same two functions,
// `size()` and `get(index)`.
//
// An example is module 07's `data::Example`: `data` (an image `[1, 28, 28]`) and `target` (its
// class, a 0-D tensor holding the class index as a float, the form `cross_entropy` takes).
//
// `set_epoch` is the third, optional, function: the loader calls it at the start of every epoch,
// and a dataset whose examples change from epoch to epoch (the random crops of part 6) uses it.
// PyTorch's `DistributedSampler.set_epoch` is the same idea.

// %%
//| export
namespace tinytorch::data {

// A source of examples by index (torch::data::datasets::Dataset).
class Dataset {
 public:
  virtual ~Dataset() = default;
  // Number of examples.
  virtual int64_t size() const = 0;
  // Example `index`, 0 <= index < size(). IndexError outside.
  virtual Example get(int64_t index) = 0;
  // Tells the dataset that epoch `epoch` (0, 1, ...) starts: the DataLoader calls it from
  // start_epoch. Datasets whose examples change per epoch use it (MapDataset); the default
  // does nothing.
  virtual void set_epoch(int64_t epoch) { (void)epoch; }
  // The examples `indices`, collated into one batch (torch::data::BatchDataset::get_batch): the
  // DataLoader asks for a whole batch at once. The default collates get(i) for each index (part
  // 4); a dataset that can cut a batch out of its storage directly overrides it (TensorDataset).
  virtual Example get_batch(const std::vector<int64_t>& indices);
};

// Examples cut out of two tensors along their first dimension
// (torch::data::datasets::TensorDataset): example i is {data[i], targets[i]}, two views.
class TensorDataset : public Dataset {
 public:
  // data [N, ...] and targets [N] or [N, ...]; ShapeError when they are 0-D or disagree on N.
  TensorDataset(Tensor data, Tensor targets);

  int64_t size() const override { return data_.size(0); }
  Example get(int64_t index) override;
  // The rows `indices` of both tensors, copied straight into the batch (part 4).
  Example get_batch(const std::vector<int64_t>& indices) override;

  // The tensors, whole: [N, ...] and [N, ...].
  const Tensor& data() const noexcept { return data_; }
  const Tensor& targets() const noexcept { return targets_; }

 private:
  Tensor data_;
  Tensor targets_;
};

}  // namespace tinytorch::data

// %%
//| export impl
namespace tinytorch::data {
namespace {

// IndexError unless 0 <= index < size: "TensorDataset::get(): index 60000 is out of range for a dataset of 60000
// examples".
[[maybe_unused]] void check_example_index(int64_t index, int64_t size, const char* where) {
  if (index < 0 || index >= size) {
    throw IndexError(std::string(where) + ": index " + std::to_string(index) + " is out of range for a dataset of " +
                     std::to_string(size) + " examples (0 to " + std::to_string(size - 1) + ")");
  }
}

}  // namespace

TensorDataset::TensorDataset(Tensor data, Tensor targets) : data_(std::move(data)), targets_(std::move(targets)) {
  if (data_.dim() == 0 || targets_.dim() == 0) {
    throw ShapeError("TensorDataset: data " + shape_str(data_.shape()) + " and targets " + shape_str(targets_.shape()) +
                     " must both have a first dimension, one entry per example");
  }
  if (data_.size(0) != targets_.size(0)) {
    throw ShapeError("TensorDataset: data " + shape_str(data_.shape()) + " has " + std::to_string(data_.size(0)) +
                     " examples but targets " + shape_str(targets_.shape()) + " has " +
                     std::to_string(targets_.size(0)));
  }
}

}  // namespace tinytorch::data

// %% [markdown]
// ### ⭐ `TensorDataset::get`: an example is two views
//
// **TODO**: Return example `index`: `{data[index], targets[index]}`, each a view.
//
// **APPROACH**:
// 1. `check_example_index(index, size(), "TensorDataset::get()")` (written above) throws the
//    error for an index outside the dataset.
// 2. Return `Example{select(data_, 0, index), select(targets_, 0, index)}`.
//
// **EXAMPLE**:
// ```cpp
// TensorDataset ds(zeros({100, 1, 28, 28}), arange(100));
// ds.size()              // 100
// ds.get(7).data         // shape [1, 28, 28], a view of ds.data() at offset 7 * 784
// ds.get(7).target       // shape [] (0-D), value 7
// ds.get(100)            // IndexError
// ```
//
// **HINTS**:
// - Check the index yourself: `select` accepts `-1` (the last example), but a dataset index of
//   -1 is a bug in the caller, and should say so.
//
// **SYSTEMS THINKING**: `get` copies nothing, so a loader can ask for any example in any order
// for the price of two small allocations. A dataset on disk would read (and decode) the example
// here instead; that is why production loaders run `get` on several threads at once, and why
// the `get` of a dataset that lives in memory is so much simpler to make fast.

// %%
//| export impl
namespace tinytorch::data {

Example TensorDataset::get(int64_t index) {
  // BEGIN SOLUTION
  check_example_index(index, size(), "TensorDataset::get()");
  return Example{select(data_, 0, index), select(targets_, 0, index)};
  // END SOLUTION
}

}  // namespace tinytorch::data

// %%
//| test
TEST(UnitTensorDataset, AnExampleIsARowOfEachTensor) {
  data::TensorDataset ds(arange(12).reshape({6, 2}), arange(6));
  EXPECT_EQ(ds.size(), 6);
  const data::Example e = ds.get(4);
  EXPECT_EQ(e.data.to_vector(), (std::vector<float>{8, 9}));
  EXPECT_EQ(e.target.shape(), (Shape{}));
  EXPECT_EQ(e.target.item(), 4.0f);
}

// %% [markdown]
// ## Part 3: Shuffling, revisited
//
// Stochastic gradient descent assumes each batch is a fair sample of the data. Files are rarely
// in a fair order (MNIST's test set was written writer by writer; plenty of datasets are sorted
// by class), and even when they are, visiting them in the same order every epoch lets the network
// learn the order. So every epoch visits every example exactly once, in a new random order.
//
// You wrote that order in module 07: `data::shuffle_order(n, seed, epoch)`, Fisher–Yates drawing
// from `Generator(derive_seed(seed, epoch))`. The DataLoader of part 4 uses it as it is, so this
// part has nothing to write. It shows why the recipe had to be exactly that, now that it orders
// 60,000 real images epoch after epoch. Two demands shape it:
//
// 1. **Unbiased.** Every one of the `n!` orders must be equally likely.
// 2. **A pure function of the seed and the epoch.** The order of epoch 7 must come from
//    `(seed, 7)` alone, not from a generator that has been running since epoch 0. Then a run
//    repeats exactly, and a run resumed from a checkpoint at epoch 7 sees the very batches the
//    interrupted run would have seen (module 07 saves the epoch, not the state of a generator).
//
// **Fisher–Yates** (Durstenfeld's version, 1964) meets the first: walk from the last position
// down, and swap each position `i` with a position `j` drawn uniformly from `0 .. i` (itself
// included). Position `n-1` gets each element with probability `1/n`, position `n-2` each of the
// remaining ones with probability `1/(n-1)`, and so on: `n!` equally likely paths, one per order.
//
// The shuffle most people write first swaps position `i` with *any* position `j` in `0 .. n-1`.
// It has `nⁿ` equally likely paths onto `n!` orders, and since `nⁿ` is not a multiple of `n!`
// (for n > 2) some orders must come up more often than others.
//
// `shuffle_order` meets the second by building its generator inside the call, from
// `derive_seed(seed, epoch)`, module 07's one seed mixer. Part 6 draws from the same function
// again: every example of every epoch gets a stream of its own for its random crop.
//
// The demo shows both. First the order of the first indices in three epochs of one seed, the
// same seed again, and another seed. Then the bias: 600,000 shuffles of `{0, 1, 2}`, by your
// `shuffle_order` (a new epoch for each shuffle) and by the swap-with-anyone loop drawing from
// the same streams, counting how often each of the 6 orders comes up (a fair shuffle gives each
// 100,000, give or take about 300).

// %%
//| demo
#include <array>
#include <map>

auto first = [](const std::vector<int64_t>& order) {
  std::string text;
  for (std::size_t i = 0; i < 10; ++i) text += std::to_string(order[i]) + " ";
  return text + "...";
};
for (int64_t epoch = 0; epoch < 3; ++epoch) {
  std::cout << "seed 42, epoch " << epoch << ": " << first(data::shuffle_order(60000, 42, epoch)) << "\n";
}
std::cout << "seed 42, epoch 0 again: " << first(data::shuffle_order(60000, 42, 0)) << "  (the same)\n";
std::cout << "seed 7,  epoch 0:       " << first(data::shuffle_order(60000, 7, 0)) << "\n\n";

std::map<std::array<int64_t, 3>, int> fisher_yates, naive;
for (int64_t trial = 0; trial < 600000; ++trial) {
  const std::vector<int64_t> p = data::shuffle_order(3, 2024, trial);
  ++fisher_yates[{p[0], p[1], p[2]}];
  Generator g(data::derive_seed(2024, static_cast<uint64_t>(trial)));  // the stream shuffle_order drew from
  std::array<int64_t, 3> q = {0, 1, 2};
  for (std::size_t i = 0; i < 3; ++i) std::swap(q[i], q[g.next_u64() % 3]);  // swap with anyone
  ++naive[q];
}
std::cout << "order      Fisher-Yates   swap-with-anyone\n";
for (const auto& [order, count] : fisher_yates) {
  std::printf("{%lld,%lld,%lld}    %8d       %8d  %s\n", static_cast<long long>(order[0]),
              static_cast<long long>(order[1]), static_cast<long long>(order[2]), count, naive[order],
              std::string(static_cast<std::size_t>(naive[order] / 5000), '#').c_str());
}
std::cout << "swap-with-anyone has 27 equally likely paths onto 6 orders: 3 orders get 4 paths, 3 get 5\n";

// %% [markdown]
// ## Part 4: The DataLoader
//
// A **DataLoader** turns a dataset into batches, epoch after epoch:
//
// 1. `start_epoch(epoch)` fixes the **order** of the epoch: `0 .. n-1` without shuffling,
//    `shuffle_order(n, seed, epoch)` (module 07) with it. It also tells the dataset which epoch starts (`set_epoch`).
// 2. Batch `b` is the examples at positions `b·B .. b·B + B - 1` of the order (`B` the batch
//    size), each fetched with `get`, and **collated**: their data stacked into `[B, ...]`,
//    their targets into `[B]`.
// 3. When `n` is not a multiple of `B`, the last batch is short. `drop_last` decides what
//    happens to it: kept (the default: every example is seen every epoch), or dropped (every
//    batch has exactly `B` examples, which some layers, such as batch normalization with tiny
//    batches, prefer). With a shuffle, the dropped examples are different ones every epoch.
//
//     n = 10, B = 4          order: 7 2 9 4 | 0 5 8 1 | 3 6
//     drop_last = false      3 batches: [7 2 9 4] [0 5 8 1] [3 6]      num_examples 10
//     drop_last = true       2 batches: [7 2 9 4] [0 5 8 1]            num_examples 8
//
// `DataLoader` implements module 07's `data::BatchSource` (`num_batches`, `num_examples`,
// `start_epoch`, `batch`), so the `Trainer` reads it. Batches are asked for by index, so any
// batch of an epoch can be built again: the epoch's order is a pure function of the seed and the
// epoch, and batch `b` a pure function of the order. It can also be used in a range-for, which
// goes through the batches of the current epoch:
//
// ```cpp
// data::DataLoader loader(dataset, data::DataLoaderOptions().batch_size(64).shuffle(true).seed(42));
// for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//   loader.start_epoch(epoch);
//   for (data::Example batch : loader) { ... }
// }
// ```
//
// libtorch starts a new epoch each time a loop begins (`begin()` resets its sampler, drawing a
// new order from a generator that runs on). Here the epoch is explicit, because that is what
// makes the order reproducible and resumable: a loop that never calls `start_epoch` reads epoch 0
// every time, and a test shows it.
//
// Options are libtorch's builder style (module 06's `TINYTORCH_ARG`):
// `DataLoaderOptions().batch_size(64).shuffle(true).seed(42).drop_last(true)`, or
// `DataLoaderOptions(64)` for the batch size alone.

// %%
//| export
namespace tinytorch::data {

// The options of a DataLoader (torch::data::DataLoaderOptions):
// DataLoaderOptions().batch_size(64).shuffle(true).seed(42).drop_last(true).
struct DataLoaderOptions {
  DataLoaderOptions() = default;
  explicit DataLoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}
  // Examples per batch (>= 1); the last batch may be shorter unless drop_last.
  TINYTORCH_ARG(int64_t, batch_size) = 1;
  // A new random order every epoch (from seed and the epoch), or the dataset's order.
  TINYTORCH_ARG(bool, shuffle) = false;
  // The seed of the shuffle.
  TINYTORCH_ARG(uint64_t, seed) = 0;
  // Leave out the last batch when it is shorter than batch_size.
  TINYTORCH_ARG(bool, drop_last) = false;
};

// Collates examples into a batch (PyTorch's default_collate, libtorch's transforms::Stack):
// data stacked into [B, ...], targets stacked into [B] (or [B, ...]).
Example collate(const std::vector<Example>& examples);

// Batches of a dataset, epoch after epoch (torch::data::DataLoader): a BatchSource for module
// 07's Trainer, and a range over the batches of the current epoch.
class DataLoader : public BatchSource {
 public:
  // The loader shares `dataset` (a train and an evaluation loader may share one).
  // std::invalid_argument for a null dataset or a batch size below 1.
  DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options = DataLoaderOptions());
  // The loader keeps a copy of `dataset` (cheap: a dataset's tensors are handles).
  template <std::derived_from<Dataset> D>
  DataLoader(D dataset, DataLoaderOptions options = DataLoaderOptions())
      : DataLoader(std::make_shared<D>(std::move(dataset)), options) {}

  // Batches in one epoch: the last short one counts unless drop_last.
  int64_t num_batches() const override;
  // Examples in one epoch: all of them, or those of the whole batches with drop_last.
  int64_t num_examples() const override;
  // Starts epoch `epoch` (>= 0): fixes its order and calls the dataset's set_epoch.
  void start_epoch(int64_t epoch) override;
  // Batch `index` of the current epoch (epoch 0 when none was started); IndexError outside
  // 0 .. num_batches() - 1.
  Example batch(int64_t index) override;

  // The dataset indices of batch `index` of the current epoch, in order.
  std::vector<int64_t> batch_indices(int64_t index) const;
  // The current epoch: the last start_epoch, or -1 before the first.
  int64_t epoch() const noexcept { return epoch_; }
  // The order of the current epoch: a permutation of 0 .. size - 1 (empty before the first).
  const std::vector<int64_t>& order() const noexcept { return order_; }
  const DataLoaderOptions& options() const noexcept { return options_; }
  Dataset& dataset() const noexcept { return *dataset_; }

  // A position in the batches of the current epoch, for range-for.
  class Iterator {
   public:
    using value_type = Example;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    Iterator(DataLoader* loader, int64_t index) : loader_(loader), index_(index) {}
    // The batch here, built when asked for.
    Example operator*() const { return loader_->batch(index_); }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++index_;
      return before;
    }
    bool operator==(const Iterator& other) const noexcept { return index_ == other.index_; }

   private:
    DataLoader* loader_ = nullptr;
    int64_t index_ = 0;
  };
  // The first batch of the current epoch (starting epoch 0 when none was started).
  Iterator begin();
  Iterator end();

 private:
  std::shared_ptr<Dataset> dataset_;
  DataLoaderOptions options_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace tinytorch::data

// %%
//| export impl
namespace tinytorch::data {

DataLoader::DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  if (!dataset_) throw std::invalid_argument("DataLoader: the dataset is null");
  if (options_.batch_size() < 1) {
    throw std::invalid_argument("DataLoader: batch_size must be at least 1, got " +
                                std::to_string(options_.batch_size()));
  }
}

}  // namespace tinytorch::data

// %% [markdown]
// ### ⭐ `num_batches` and `num_examples`: what `drop_last` changes
//
// **TODO**: Count the batches and the examples of one epoch.
//
// **APPROACH**:
// 1. `n = dataset_->size()`, `b = options_.batch_size()`.
// 2. `num_batches`: with `drop_last`, the whole batches only, `n / b`; without it, one more when
//    `n` is not a multiple of `b`: `(n + b - 1) / b` (the ceiling of `n / b` in integers).
// 3. `num_examples`: with `drop_last`, `num_batches() * b`; without it, `n`.
//
// **EXAMPLE**:
// ```cpp
// // 10 examples, batch_size 4
// num_batches()    // 3 (4 + 4 + 2)       with drop_last: 2
// num_examples()   // 10                  with drop_last: 8
// // 8 examples, batch_size 4: 2 batches either way
// ```
//
// **HINTS**:
// - `n / b` alone loses the last short batch: 2 examples of the 10 would never be seen, in any
//   epoch, without anyone asking for it. A test looks for them.
// - A batch size larger than the dataset gives one short batch, or none with `drop_last`.
//
// **SYSTEMS THINKING**: Fashion-MNIST's 60,000 images in batches of 128 leave 96 over. Dropping
// them costs 0.16% of each epoch; keeping them makes one step's gradient an average over 96
// examples instead of 128, a slightly noisier step. Either is fine for training; what is not
// fine is an evaluation loader with `drop_last`, which measures accuracy on part of the test set.

// %%
//| export impl
namespace tinytorch::data {

int64_t DataLoader::num_batches() const {
  // BEGIN SOLUTION
  const int64_t n = dataset_->size();
  const int64_t b = options_.batch_size();
  return options_.drop_last() ? n / b : (n + b - 1) / b;
  // END SOLUTION
}

int64_t DataLoader::num_examples() const {
  // BEGIN SOLUTION
  return options_.drop_last() ? num_batches() * options_.batch_size() : dataset_->size();
  // END SOLUTION
}

}  // namespace tinytorch::data

// %% [markdown]
// ### ⭐ `start_epoch`: the order of an epoch
//
// **TODO**: Fix the order of epoch `epoch`, tell the dataset, and remember the epoch.
//
// **APPROACH**:
// 1. With `options_.shuffle()`: `order_ = shuffle_order(n, options_.seed(), epoch)`, yours from
//    module 07. Without: `order_` is `0, 1, ..., n-1`.
// 2. `dataset_->set_epoch(epoch)`: a dataset with random transforms draws this epoch's crops.
// 3. `epoch_ = epoch`.
//
// **EXAMPLE**:
// ```cpp
// DataLoader loader(ds, DataLoaderOptions(4).shuffle(true).seed(42));
// loader.start_epoch(0);  loader.order()   // a permutation of 0 .. n-1
// loader.start_epoch(1);  loader.order()   // another one
// DataLoader again(ds, DataLoaderOptions(4).shuffle(true).seed(42));
// again.start_epoch(1);   again.order()    // the same as loader's epoch 1: nothing else matters
// ```
//
// **HINTS**:
// - Do not keep a `Generator` in the loader and draw each epoch's order from it: epoch 5 would
//   then depend on how many epochs this loader object has run, and a resumed run (a new loader
//   that starts at epoch 5) would see other batches. A test resumes a loader.
// - `std::iota(order_.begin(), order_.end(), int64_t{0})` after `order_.resize(n)`.
//
// **SYSTEMS THINKING**: the order is 8 bytes per example (480 KB for Fashion-MNIST), built once
// per epoch in well under a millisecond. Loaders for datasets of billions of examples cannot keep
// it, and shuffle within a buffer of a few thousand examples instead (tf.data's `shuffle(buffer)`,
// WebDataset's shards): an approximate shuffle, traded for memory.

// %%
//| export impl
namespace tinytorch::data {

void DataLoader::start_epoch(int64_t epoch) {
  if (epoch < 0)
    throw std::invalid_argument("DataLoader::start_epoch(): epoch must be >= 0, got " + std::to_string(epoch));
  // BEGIN SOLUTION
  const int64_t n = dataset_->size();
  if (options_.shuffle()) {
    order_ = shuffle_order(n, options_.seed(), epoch);
  } else {
    order_.resize(static_cast<std::size_t>(n));
    std::iota(order_.begin(), order_.end(), int64_t{0});
  }
  dataset_->set_epoch(epoch);
  epoch_ = epoch;
  // END SOLUTION
}

}  // namespace tinytorch::data

// %% [markdown]
// ### ⭐ `batch_indices`: which examples are in batch `b`
//
// **TODO**: Return the positions `index·B .. index·B + B - 1` of `order_`, cut at its end.
//
// **APPROACH**:
// 1. `begin = index * options_.batch_size()`; `end = min(begin + batch_size, order_.size())`.
// 2. Return the elements of `order_` from `begin` to `end` (a vector built from two iterators).
//
// **EXAMPLE**:
// ```cpp
// // order 7 2 9 4 0 5 8 1 3 6, batch_size 4
// batch_indices(0)   // {7, 2, 9, 4}
// batch_indices(2)   // {3, 6}: the short last batch
// ```
//
// **HINTS**:
// - `batch()` (written for you, below) has already checked `index` against `num_batches()`, so
//   with `drop_last` the short batch is never asked for; `batch_indices` only has to stop at the
//   end of the order.
//
// **SYSTEMS THINKING**: a batch is described by its indices long before its pixels exist. That
// is what lets real loaders prefetch: worker threads build batch `b + 1` (and `b + 2`, ...) while
// the model trains on batch `b`, so that the accelerator never waits for data. PyTorch's
// `DataLoader(num_workers=4, prefetch_factor=2)` is exactly this.

// %%
//| export impl
namespace tinytorch::data {

std::vector<int64_t> DataLoader::batch_indices(int64_t index) const {
  // BEGIN SOLUTION
  const int64_t size = static_cast<int64_t>(order_.size());
  const int64_t begin = std::min(index * options_.batch_size(), size);
  const int64_t end = std::min(begin + options_.batch_size(), size);
  return std::vector<int64_t>(order_.begin() + begin, order_.begin() + end);
  // END SOLUTION
}

}  // namespace tinytorch::data

// %% [markdown]
// ### ⭐ `collate`: examples into a batch
//
// **TODO**: Stack the examples' data into one tensor and their targets into another.
//
// **APPROACH**:
// 1. An empty list is an error: `std::invalid_argument("collate(): got no examples")`.
// 2. Collect the `data` of every example in one vector and the `target` of every example in
//    another.
// 3. Return `Example{stack(data), stack(targets)}` (your `stack` from part 1, along dim 0).
//
// **EXAMPLE**:
// ```cpp
// collate({ds.get(7), ds.get(2), ds.get(9)})   // data [3, 1, 28, 28], target [3]: {label 7, label 2, label 9}
// ```
//
// **HINTS**:
// - `reserve` both vectors first: the batch size is known.
// - The order of the batch is the order of the list: target `k` must stay the label of image `k`.
//
// **SYSTEMS THINKING**: collating is where the examples of a batch are copied, once: `[64, 1, 28,
// 28]` is 200 KB. If the model ran on a GPU, this buffer is what would be copied to it, and
// production loaders collate straight into page-locked ("pinned") memory
// (`pin_memory=True`) so that the copy can overlap with the computation.

// %%
//| export impl
namespace tinytorch::data {

Example collate(const std::vector<Example>& examples) {
  // BEGIN SOLUTION
  if (examples.empty()) throw std::invalid_argument("collate(): got no examples");
  std::vector<Tensor> data, targets;
  data.reserve(examples.size());
  targets.reserve(examples.size());
  for (const Example& e : examples) {
    data.push_back(e.data);
    targets.push_back(e.target);
  }
  return Example{stack(data), stack(targets)};
  // END SOLUTION
}

}  // namespace tinytorch::data

// %% [markdown]
// `Dataset::get_batch` is `get` and `collate` together, and the loader asks for each batch
// through it (written for you). For a `TensorDataset` whose tensors are contiguous, it skips
// the views altogether: module 07's `gather_rows` copies each example's row with one `memcpy`
// from the dataset's storage into the batch. Batching 128 Fashion-MNIST images through `get` and `collate` makes 256 views (a
// `select` is a `narrow` and a `squeeze`) and 256 more for `stack`'s `unsqueeze`, each an
// allocation and a recorded op: about a tenth of the time of a whole MLP training step, for
// a copy of 400 KB.

// %%
//| export impl
namespace tinytorch::data {

Example Dataset::get_batch(const std::vector<int64_t>& indices) {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (int64_t i : indices) examples.push_back(get(i));
  return collate(examples);
}

Example TensorDataset::get_batch(const std::vector<int64_t>& indices) {
  const bool direct = !indices.empty() && data_.is_contiguous() && targets_.is_contiguous() &&
                      !data_.requires_grad() && !targets_.requires_grad();
  if (!direct) return Dataset::get_batch(indices);  // the errors, and autograd, are get's and collate's
  for (int64_t i : indices) check_example_index(i, size(), "TensorDataset::get_batch()");
  return Example{gather_rows(data_, indices), gather_rows(targets_, indices)};
}

}  // namespace tinytorch::data

// %%
//| test
TEST(UnitTensorDataset, GetBatchCopiesTheRowsInTheOrderAsked) {
  data::TensorDataset ds(arange(12).reshape({6, 2}), arange(6).mul(10.0f));
  const data::Example batch = ds.get_batch({4, 0, 4, 5});
  EXPECT_EQ(batch.data.shape(), (Shape{4, 2}));
  EXPECT_EQ(batch.data.to_vector(), (std::vector<float>{8, 9, 0, 1, 8, 9, 10, 11}));
  EXPECT_EQ(batch.target.to_vector(), (std::vector<float>{40, 0, 40, 50}));
  EXPECT_NE(batch.data.storage(), ds.data().storage()) << "a batch is a copy, not a view of the dataset";
  EXPECT_THROW(ds.get_batch({1, 6}), IndexError);
  // A dataset of views (here a transposed one) goes through get and collate: the same batch.
  data::TensorDataset strided(arange(12).reshape({2, 6}).t(), arange(6));
  const data::Example from_views = strided.get_batch({5, 1});
  EXPECT_EQ(from_views.data.to_vector(), (std::vector<float>{5, 11, 1, 7}));
  EXPECT_EQ(from_views.target.to_vector(), (std::vector<float>{5, 1}));
}

// %% [markdown]
// `batch` puts the pieces together (written for you): start epoch 0 if no epoch was started,
// check the index, fetch the batch's examples and collate them (`get_batch`).

// %%
//| export impl
namespace tinytorch::data {

Example DataLoader::batch(int64_t index) {
  if (epoch_ < 0) start_epoch(0);
  if (index < 0 || index >= num_batches()) {
    throw IndexError("DataLoader::batch(): index " + std::to_string(index) + " is out of range: epoch " +
                     std::to_string(epoch_) + " has " + std::to_string(num_batches()) + " batches" +
                     (options_.drop_last() ? " (drop_last)" : ""));
  }
  return dataset_->get_batch(batch_indices(index));
}

DataLoader::Iterator DataLoader::begin() {
  if (epoch_ < 0) start_epoch(0);
  return Iterator(this, 0);
}

DataLoader::Iterator DataLoader::end() { return Iterator(this, num_batches()); }

}  // namespace tinytorch::data

// %%
//| test
TEST(UnitDataLoader, KeepsTheShortLastBatchUnlessDropLast) {
  data::TensorDataset ds(arange(10), arange(10));
  data::DataLoader keep(ds, data::DataLoaderOptions(4));
  EXPECT_EQ(keep.num_batches(), 3);
  EXPECT_EQ(keep.num_examples(), 10);
  EXPECT_EQ(keep.batch(2).data.to_vector(), (std::vector<float>{8, 9}));
  data::DataLoader drop(ds, data::DataLoaderOptions(4).drop_last(true));
  EXPECT_EQ(drop.num_batches(), 2);
  EXPECT_EQ(drop.num_examples(), 8);
}

TEST(UnitDataLoader, ShufflesByEpoch) {
  data::TensorDataset ds(arange(20), arange(20));
  data::DataLoader loader(ds, data::DataLoaderOptions(5).shuffle(true).seed(3));
  loader.start_epoch(0);
  const std::vector<int64_t> epoch0 = loader.order();
  loader.start_epoch(1);
  EXPECT_NE(loader.order(), epoch0) << "the order must change from one epoch to the next";
  loader.start_epoch(0);
  EXPECT_EQ(loader.order(), epoch0) << "epoch 0 must give the same order every time";
}

// %% [markdown]
// Ten examples in batches of four, with and without `drop_last`, in order and shuffled (each
// example's data is its own index, so the batches show which examples they hold).

// %%
//| demo
data::TensorDataset ten(arange(10), arange(10));
auto show = [](data::DataLoader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::string text;
  for (data::Example batch : loader) {
    text += "[";
    for (float v : batch.data.to_vector()) text += " " + std::to_string(static_cast<int>(v));
    text += " ] ";
  }
  return text + " (" + std::to_string(loader.num_batches()) + " batches, " + std::to_string(loader.num_examples()) +
         " examples)";
};
data::DataLoader in_order(ten, data::DataLoaderOptions(4));
data::DataLoader dropping(ten, data::DataLoaderOptions(4).drop_last(true));
data::DataLoader shuffled(ten, data::DataLoaderOptions(4).shuffle(true).seed(42).drop_last(true));
std::cout << "in order:                    " << show(in_order, 0) << "\n";
std::cout << "drop_last:                   " << show(dropping, 0) << "\n";
std::cout << "shuffled, drop_last, epoch 0: " << show(shuffled, 0) << "\n";
std::cout << "shuffled, drop_last, epoch 1: " << show(shuffled, 1) << "  (other examples left out)\n";

// %% [markdown]
// ## Part 5: Reading the real files
//
// ### Where the data is
//
// `tito data fetch` downloads a dataset, checks its checksums and unpacks it into the **tito
// data cache** (`data/README.md`): `$TITO_DATA_DIR` if it is set, else the course's
// `data/cache/`. Each dataset has a folder of its own there, laid out as `data/datasets.json`
// says:
//
//     data/cache/fashion-mnist/idx/train-images-idx3-ubyte    60,000 images   47,040,016 bytes
//     data/cache/fashion-mnist/idx/train-labels-idx1-ubyte    60,000 labels       60,008 bytes
//     data/cache/fashion-mnist/idx/t10k-images-idx3-ubyte     10,000 images    7,840,016 bytes
//     data/cache/fashion-mnist/idx/t10k-labels-idx1-ubyte     10,000 labels       10,008 bytes
//     data/cache/mnist/idx/...                                 the same four names
//     data/cache/cifar10/cifar-10-batches-bin/data_batch_1.bin ... data_batch_5.bin, test_batch.bin
//
// The readers find the cache the same way tito does (written for you): `$TITO_DATA_DIR`, else
// `<course>/data/cache`, where `<course>` is the folder the library was built from. The build
// records it (`package/CMakeLists.txt` gives `package/support/src/course.cpp` a compile
// definition, `TINYTORCH_COURSE_ROOT`), so a program finds the data wherever it is started from.
// Each reader also takes the cache folder as an argument, for tests and for data kept elsewhere.
//
// Reading goes wrong in a few ways, and each gets an error a person can act on:
//
// - a file is missing: `DatasetNotFound`, naming the file and the exact `tito data fetch`
//   command that brings it (and, for Fashion-MNIST, the offline import from Debian's package);
// - a file is there but wrong: `DatasetFormatError`, naming the file and what was found (a
//   wrong magic number, fewer bytes than the header promises, 60,000 images but 59,999 labels).

// %%
//| export
namespace tinytorch::data {

// A dataset file that is not there; what() names it and the tito command that fetches it.
class DatasetNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A dataset file that is there but not what it should be (truncated, a wrong magic number,
// counts that disagree); what() names the file and what was found.
class DatasetFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tinytorch::data

namespace tinytorch::data::datasets {

// The tito data cache: $TITO_DATA_DIR if set, else <course>/data/cache.
std::filesystem::path cache_dir();

// The command that fetches dataset `name` ("fashion-mnist") into `cache`, as a person types it
// (with --cache when `cache` is not cache_dir()), with the offline import where there is one.
std::string fetch_command(const std::string& name, const std::filesystem::path& cache);

// Every byte of `file`, read in one call. DatasetNotFound carrying `missing` when the file does
// not exist; DatasetFormatError when it cannot be read.
std::vector<uint8_t> read_file(const std::filesystem::path& file, const std::string& missing);

}  // namespace tinytorch::data::datasets

// %%
//| export impl
namespace tinytorch::data::datasets {

namespace fs = std::filesystem;

fs::path cache_dir() {
  if (const char* dir = std::getenv("TITO_DATA_DIR"); dir != nullptr && *dir != '\0') return fs::path(dir);
  return fs::path(course::root()) / "data" / "cache";
}

std::string fetch_command(const std::string& name, const fs::path& cache) {
  std::error_code ec;
  const bool usual =
      fs::equivalent(cache, cache_dir(), ec) || cache.lexically_normal() == cache_dir().lexically_normal();
  const std::string tito = usual ? "tito data" : "tito data --cache " + cache.string();
  std::string text = "  " + tito + " fetch " + name + "\n";
  if (name == "fashion-mnist") {
    text += "or, without the network, from Debian's dataset-fashion-mnist package:\n  " + tito + " fetch " + name +
            " --from /usr/share/datasets/fashion-mnist\n";
  } else if (name == "cifar10") {
    text += "(a 170 MB download; with the archive at hand: " + tito + " fetch cifar10 --from cifar-10-binary.tar.gz)\n";
  }
  return text;
}

std::vector<uint8_t> read_file(const fs::path& file, const std::string& missing) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw DatasetNotFound(missing);
  if (!fs::is_regular_file(file, ec)) throw DatasetFormatError(file.string() + ": is not a regular file");
  std::ifstream in(file, std::ios::binary);
  const auto size = static_cast<std::streamsize>(fs::file_size(file, ec));
  if (!in || ec) throw DatasetFormatError(file.string() + ": cannot be opened for reading");
  std::vector<uint8_t> bytes(static_cast<std::size_t>(size));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw DatasetFormatError(file.string() + ": reading failed after " + std::to_string(in.gcount()) + " of " +
                             std::to_string(size) + " bytes");
  }
  return bytes;
}

}  // namespace tinytorch::data::datasets

// %% [markdown]
// ### The IDX format
//
// MNIST and Fashion-MNIST come as **IDX** files (LeCun's format from 1998): a tiny header, then
// the raw bytes of a row-major array.
//
//     offset        bytes        what
//     0             4            the magic number: 0x00, 0x00, 0x08 (unsigned bytes), then the
//                                number of dimensions: 0x03 for images, 0x01 for labels
//     4             4 · ndim     the size of each dimension, a 32-bit unsigned integer each
//     4 + 4 · ndim  ...          the data: one byte per element, row-major
//
//     train-images-idx3-ubyte:  00 00 08 03 | 00 00 EA 60 | 00 00 00 1C | 00 00 00 1C | pixels...
//                               magic 0x803   60000          28            28           47,040,000 bytes
//
// The integers are **big-endian**: the most significant byte first, the order a person writes
// digits in. Your CPU (x86 and ARM alike) is little-endian, and stores `60000 = 0x0000EA60` as
// `60 EA 00 00`. So copying the four bytes into a `uint32_t` (`memcpy`, or a cast of the pointer)
// reads `00 00 EA 60` as `0x60EA0000 = 1,625,948,160` images. The portable way assembles the
// number from its bytes with shifts, and says what it means on every CPU.
//
// Pixels are bytes, 0 (black) to 255 (white); the readers make them floats in `[0, 1]` by
// dividing by 255, and labels floats holding the class index (0 to 9), the form `cross_entropy`
// expects.

// %%
//| export
namespace tinytorch::data::datasets {

// The big-endian (most significant byte first) 32-bit unsigned number in bytes[0 .. 3].
uint32_t read_be32(const uint8_t* bytes);

// What the header of an IDX file says.
struct IdxHeader {
  std::vector<int64_t> dims;  // the size of each dimension: {60000, 28, 28} for images, {60000} for labels
  int64_t data_offset = 0;    // where the data starts: 4 + 4 * dims.size()
};

// The header of an IDX file of unsigned bytes with `ndim` dimensions, checked against the
// file's size. DatasetFormatError naming `file` when the file is too short for its header, has
// another magic number, or holds more or fewer bytes than the header says.
IdxHeader parse_idx_header(const std::vector<uint8_t>& bytes, int64_t ndim, const std::filesystem::path& file);

// The images of an IDX file of 3 dimensions as floats in [0, 1]: [N, 1, rows, cols].
Tensor decode_idx_images(const IdxHeader& header, const std::vector<uint8_t>& bytes);
// The labels of an IDX file of 1 dimension as floats: [N], each a class index.
Tensor decode_idx_labels(const IdxHeader& header, const std::vector<uint8_t>& bytes);

}  // namespace tinytorch::data::datasets

// %% [markdown]
// ### ⭐ `read_be32`: four bytes, most significant first
//
// **TODO**: Return the 32-bit number whose bytes, most significant first, are
// `bytes[0], bytes[1], bytes[2], bytes[3]`.
//
// **APPROACH**:
// 1. Make each byte a `uint32_t`, *then* shift it: `bytes[0]` by 24 bits, `bytes[1]` by 16,
//    `bytes[2]` by 8, `bytes[3]` not at all.
// 2. Combine the four with `|`.
//
// **EXAMPLE**:
// ```cpp
// const uint8_t count[] = {0x00, 0x00, 0xEA, 0x60};
// read_be32(count)      // 60000 (0x0000EA60), on every CPU
// const uint8_t magic[] = {0x00, 0x00, 0x08, 0x03};
// read_be32(magic)      // 0x00000803 = 2051
// ```
//
// **HINTS**:
// - Cast before shifting: `uint32_t{bytes[0]} << 24`. A `uint8_t` is promoted to a (signed)
//   `int` in arithmetic, and `0xEA << 24` does not fit in an `int` (that is undefined behaviour
//   in C++17, and the compiler may do anything with it).
// - `*reinterpret_cast<const uint32_t*>(bytes)` is the little-endian answer on your machine
//   (1,625,948,160 for the count above); a test feeds it the real header.
//
// **SYSTEMS THINKING**: network protocols are big-endian too ("network byte order": `ntohl`),
// which is why formats of that era are. Modern formats (safetensors, NumPy's `.npy`, most of
// PyTorch's checkpoints) are little-endian, matching the CPUs that read them, so a loader can
// map the file and use the numbers in place, with no conversion at all.

// %%
//| export impl
namespace tinytorch::data::datasets {

uint32_t read_be32(const uint8_t* bytes) {
  // BEGIN SOLUTION
  return uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 | uint32_t{bytes[3]};
  // END SOLUTION
}

}  // namespace tinytorch::data::datasets

// %% [markdown]
// ### ⭐⭐ `parse_idx_header`: trust the file only after checking it
//
// A reader that believes a header blindly reads past the end of a truncated file, or takes an
// HTML error page saved under the right name for 2 billion images. `parse_idx_header` reads the
// header and checks it against the file's size, so that everything after it can index the
// bytes without a bound check. The helpers `format_error(file, what)` (a `DatasetFormatError`
// whose message starts with the file) and `hex32(x)` (`"0x00000803"`) are written for you.
//
// **TODO**: Check the file's length, its magic number and its size, and return the dimensions
// and where the data starts.
//
// **APPROACH**:
// 1. The magic number comes first, so check it first: a file shorter than its 4 bytes is
//    `throw format_error(file, "truncated: " + std::to_string(bytes.size()) + " bytes, but the header of an IDX file with " + std::to_string(ndim) + " dimensions is " + std::to_string(header_bytes) + " bytes");`
//    where `header_bytes = 4 + 4 * ndim`.
// 2. `magic = read_be32(bytes.data())` must be `0x00000800 + ndim`, else
//    `throw format_error(file, "magic number " + hex32(magic) + ", expected " + hex32(expected) + " (an IDX file of unsigned bytes with " + std::to_string(ndim) + " dimensions)");`
// 3. A file shorter than `header_bytes` is truncated too (the same message as in step 1).
// 4. Size `d` is `read_be32(bytes.data() + 4 + 4 * d)`, for `d` in `0 .. ndim - 1`; their
//    product is the number of data bytes.
// 5. The file must hold exactly `header_bytes + product` bytes, else
//    `throw format_error(file, "truncated: the header says 60000 x 28 x 28 (47040016 bytes with the header), the file has 1000 bytes");`
//    (the sizes joined with `" x "`; say "too long" instead of "truncated" when the file holds more).
// 6. Return `IdxHeader{dims, header_bytes}`.
//
// **EXAMPLE**:
// ```cpp
// parse_idx_header(read_file("train-images-idx3-ubyte", ...), 3, "train-images-idx3-ubyte")
//     // {dims {60000, 28, 28}, data_offset 16}
// parse_idx_header(label_bytes, 1, "train-labels-idx1-ubyte")   // {dims {60000}, data_offset 8}
// parse_idx_header(label_bytes, 3, "train-labels-idx1-ubyte")
//     // DatasetFormatError: "train-labels-idx1-ubyte: magic number 0x00000801, expected 0x00000803 (...)"
// ```
//
// **HINTS**:
// - Check the length *before* each read: `read_be32` on the bytes of a 2-byte file reads memory
//   that is not the file's. But check the magic number before the rest of the header's length: a
//   label file opened as an image file is "the wrong file", not "a truncated image file".
// - Multiply the sizes in `int64_t`: 60,000 · 28 · 28 is 47 million, fine in 32 bits, but a
//   corrupt header can say 100,000 × 100,000 × 1, and 10¹⁰ does not fit in 32 bits.
// - Compare the sizes as `int64_t` (cast `bytes.size()`): mixing signed and unsigned in a `!=`
//   is how a negative number becomes a huge one.
//
// **SYSTEMS THINKING**: the check costs nothing (a few integer operations on a 16-byte header) and
// it is what turns "the program crashed somewhere in the decode loop" into "this file is cut
// short, fetch it again". Checksums (`tito data verify`) catch a wrong byte in the middle; the
// header check catches the wrong file, a partial copy, or a format mix-up, before any work.

// %%
//| export impl
namespace tinytorch::data::datasets {
namespace {

// "0x00000803"
[[maybe_unused]] std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

// A DatasetFormatError whose message is "FILE: what".
DatasetFormatError format_error(const fs::path& file, const std::string& what) {
  return DatasetFormatError(file.string() + ": " + what);
}

}  // namespace

IdxHeader parse_idx_header(const std::vector<uint8_t>& bytes, int64_t ndim, const fs::path& file) {
  // BEGIN SOLUTION
  const int64_t header_bytes = 4 + 4 * ndim;
  const auto size = static_cast<int64_t>(bytes.size());
  auto truncated_header = [&] {
    return format_error(file, "truncated: " + std::to_string(size) + " bytes, but the header of an IDX file with " +
                                  std::to_string(ndim) + " dimensions is " + std::to_string(header_bytes) + " bytes");
  };
  if (size < 4) throw truncated_header();
  const uint32_t magic = read_be32(bytes.data());
  const auto expected = static_cast<uint32_t>(0x00000800 + ndim);
  if (magic != expected) {
    throw format_error(file, "magic number " + hex32(magic) + ", expected " + hex32(expected) +
                                 " (an IDX file of unsigned bytes with " + std::to_string(ndim) + " dimensions)");
  }
  if (size < header_bytes) throw truncated_header();
  IdxHeader header{{}, header_bytes};
  int64_t elements = 1;
  std::string sizes;
  for (int64_t d = 0; d < ndim; ++d) {
    header.dims.push_back(read_be32(bytes.data() + 4 + 4 * d));
    elements *= header.dims.back();
    sizes += (d > 0 ? " x " : "") + std::to_string(header.dims.back());
  }
  if (size != header_bytes + elements) {
    throw format_error(file, std::string(size < header_bytes + elements ? "truncated" : "too long") +
                                 ": the header says " + sizes + " (" + std::to_string(header_bytes + elements) +
                                 " bytes with the header), the file has " + std::to_string(size) + " bytes");
  }
  return header;
  // END SOLUTION
}

}  // namespace tinytorch::data::datasets

// %% [markdown]
// ### ⭐ `decode_idx_images`: bytes to floats, in one loop
//
// After the header, the pixels are exactly the row-major layout of a `[N, rows, cols]` tensor,
// so decoding is one loop over all of them: 47 million bytes for the training set.
//
// **TODO**: Return the pixels as a float tensor `[N, 1, rows, cols]` with values in `[0, 1]`.
//
// **APPROACH**:
// 1. `n = dims[0] * dims[1] * dims[2]`; `std::vector<float> pixels(n)`.
// 2. `source = bytes.data() + header.data_offset`; for every `i`:
//    `pixels[i] = static_cast<float>(source[i]) / 255.0f`.
// 3. Return `Tensor(std::move(pixels), {dims[0], 1, dims[1], dims[2]})`: the `1` is the channel
//    (one grey channel), so a grey image has the `[C, H, W]` layout a colour image has.
//
// **EXAMPLE**:
// ```cpp
// // a file with 2 images of 2x2 pixels: 0, 255, 51, 102 | 0, 0, 0, 255
// decode_idx_images(header, bytes)   // shape [2, 1, 2, 2]: 0, 1, 0.2, 0.4 | 0, 0, 0, 1
// ```
//
// **HINTS**:
// - Keep the bytes `uint8_t` (unsigned): through a `char`, which is signed on x86, a pixel of
//   200 becomes -56.
// - Divide by 255, not 256: white must be exactly 1.
// - One plain loop over raw pointers: no `at()`, no `Tensor` ops per pixel. The compiler
//   vectorizes it (the library is built with `-O3 -march=native`), and the demo times it.
//
// **SYSTEMS THINKING**: as floats the training set is 188 MB; as bytes it was 47 MB. Four times
// the memory, for the convenience of never converting again. Large image datasets keep the
// bytes (or even the compressed JPEGs) and convert each batch as it is read, which costs a little
// work per epoch and saves three quarters of the memory. Which would you choose for a dataset of
// a million 224×224 colour images? (Reflect, question 1.)

// %%
//| export impl
namespace tinytorch::data::datasets {

Tensor decode_idx_images(const IdxHeader& header, const std::vector<uint8_t>& bytes) {
  // BEGIN SOLUTION
  const int64_t count = header.dims[0] * header.dims[1] * header.dims[2];
  std::vector<float> pixels(static_cast<std::size_t>(count));
  const uint8_t* source = bytes.data() + header.data_offset;
  float* target = pixels.data();
  for (int64_t i = 0; i < count; ++i) target[i] = static_cast<float>(source[i]) / 255.0f;
  return Tensor(std::move(pixels), {header.dims[0], 1, header.dims[1], header.dims[2]});
  // END SOLUTION
}

}  // namespace tinytorch::data::datasets

// %% [markdown]
// ### ⭐ `decode_idx_labels`: class indices
//
// **TODO**: Return the labels as a float tensor `[N]`: label byte `k` becomes the float `k`.
//
// **APPROACH**:
// 1. `std::vector<float> labels(dims[0])`; `source = bytes.data() + header.data_offset`.
// 2. `labels[i] = static_cast<float>(source[i])`.
// 3. Return `Tensor(std::move(labels), {dims[0]})`.
//
// **EXAMPLE**:
// ```cpp
// // a label file holding 9, 0, 0, 3 (Fashion-MNIST's first training labels)
// decode_idx_labels(header, bytes)   // [9, 0, 0, 3]: ankle boot, T-shirt/top, T-shirt/top, dress
// ```
//
// **HINTS**:
// - Start at `header.data_offset` (8 for a label file), not at the 16 of an image file: every
//   label would then be the label of the example four places further on.
// - The classes are already numbered from 0; do not subtract or add 1.
//
// **SYSTEMS THINKING**: labels are stored as floats because that is what module 04's
// `cross_entropy` takes (it `gather`s with them). libtorch keeps them as 64-bit integers
// (`torch::kLong`): 8 bytes a label, twice ours, to index without converting. For 60,000 labels
// neither matters; for a language model's billions of tokens it does, and token ids are then
// stored as 16- or 32-bit integers on disk.

// %%
//| export impl
namespace tinytorch::data::datasets {

Tensor decode_idx_labels(const IdxHeader& header, const std::vector<uint8_t>& bytes) {
  // BEGIN SOLUTION
  const int64_t count = header.dims[0];
  std::vector<float> labels(static_cast<std::size_t>(count));
  const uint8_t* source = bytes.data() + header.data_offset;
  for (int64_t i = 0; i < count; ++i) labels[static_cast<std::size_t>(i)] = static_cast<float>(source[i]);
  return Tensor(std::move(labels), {count});
  // END SOLUTION
}

}  // namespace tinytorch::data::datasets

// %%
//| test
TEST(UnitReadBe32, MostSignificantByteFirst) {
  const uint8_t count[] = {0x00, 0x00, 0xEA, 0x60};
  EXPECT_EQ(data::datasets::read_be32(count), 60000u)
      << "IDX numbers are big-endian; 1625948160 means the bytes were read little-endian";
  const uint8_t magic[] = {0x00, 0x00, 0x08, 0x03};
  EXPECT_EQ(data::datasets::read_be32(magic), 0x803u);
}

TEST(UnitIdx, ParsesAndDecodesASmallFile) {
  const std::vector<uint8_t> file = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 51, 102};
  const data::datasets::IdxHeader header = data::datasets::parse_idx_header(file, 3, "tiny");
  EXPECT_EQ(header.dims, (std::vector<int64_t>{2, 1, 2}));
  EXPECT_EQ(header.data_offset, 16);
  const Tensor images = data::datasets::decode_idx_images(header, file);
  EXPECT_EQ(images.shape(), (Shape{2, 1, 1, 2}));
  EXPECT_FLOAT_EQ(images.to_vector()[1], 1.0f) << "a pixel of 255 is white: 1.0";
}

// %% [markdown]
// ### CIFAR-10's binary records
//
// CIFAR-10 (Krizhevsky, 2009: 60,000 colour photos of 32×32 pixels in 10 classes) has no header
// at all. Each file is a run of 10,000 **records** of 3,073 bytes:
//
//     byte 0          the label, 0 to 9
//     bytes 1-1024    the red values of the 32x32 image, row by row
//     bytes 1025-2048 the green values
//     bytes 2049-3072 the blue values
//
// Colour **planes**, one after the other, not interleaved `R G B R G B ...` pixels as in a PNG or
// a camera's buffer. That is exactly the layout of a `[3, 32, 32]` tensor (channel, row, column:
// the `[C, H, W]` layout convolution wants), so a record's 3,072 pixel bytes copy straight into
// the image. The classic mistake is to "know" that pixels are RGB triples and read
// `record[1 + 3·p + c]`: every image comes out as a grey-ish scramble, the network still learns
// a little from it, and nothing crashes. A test builds records whose three planes are
// different, and catches it.

// %%
//| export
namespace tinytorch::data::datasets {

// Bytes of one CIFAR-10 record: the label, then 3 planes of 32 x 32 pixels (red, green, blue).
inline constexpr int64_t kCifar10RecordBytes = 1 + 3 * 32 * 32;

// Decodes `count` CIFAR-10 records into `images` (count * 3 * 32 * 32 floats: [count, 3, 32, 32],
// values in [0, 1]) and `labels` (count floats, the class indices).
void decode_cifar10_records(const uint8_t* records, int64_t count, float* images, float* labels);

}  // namespace tinytorch::data::datasets

// %% [markdown]
// ### ⭐⭐ `decode_cifar10_records`: a label, then three planes
//
// The reader (written for you, below) reads each of the five training files and hands you its
// records, and where in one big output its images and labels go: five files of 10,000 records
// decode into one `[50000, 3, 32, 32]` tensor (614 MB of floats) without a copy in between.
//
// **TODO**: For each record, write its label and its 3,072 pixels (divided by 255) into the
// outputs.
//
// **APPROACH**:
// 1. For record `r`: `record = records + r * kCifar10RecordBytes`;
//    `labels[r] = static_cast<float>(record[0])`.
// 2. The image of record `r` starts at `images + r * 3072`; its float `k` (channel `k / 1024`,
//    row `k % 1024 / 32`, column `k % 32`) is `record[1 + k] / 255.0f`.
//
// **EXAMPLE**:
// ```cpp
// // one record: label 6, then 1024 bytes of 255 (red), 1024 of 0 (green), 1024 of 128 (blue)
// decode_cifar10_records(bytes, 1, images, labels)
// // labels[0] = 6; images[0 .. 1023] = 1.0 (channel 0), images[1024 .. 2047] = 0 (channel 1),
// // images[2048 .. 3071] = 0.502 (channel 2)
// ```
//
// **HINTS**:
// - The planes are already in `[C, H, W]` order: the inner loop is a straight copy of 3,072
//   bytes, `image[k] = record[1 + k] / 255`. No `3 * p + c` anywhere.
// - The label is *before* the pixels: pixel `k` is `record[1 + k]`, not `record[k]`.
//
// **SYSTEMS THINKING**: "planar" (CHW) and "interleaved" (HWC) layouts are both everywhere:
// JPEG decoders, OpenCV and TensorFlow's default use HWC; PyTorch and cuDNN's classic kernels
// CHW; modern GPU kernels often prefer HWC again ("channels last") because neighbouring
// channels of one pixel are then neighbours in memory. Converting costs a full pass over the
// data, which is why a pipeline picks one layout early and keeps it.

// %%
//| export impl
namespace tinytorch::data::datasets {

void decode_cifar10_records(const uint8_t* records, int64_t count, float* images, float* labels) {
  // BEGIN SOLUTION
  constexpr int64_t pixels = 3 * 32 * 32;
  for (int64_t r = 0; r < count; ++r) {
    const uint8_t* record = records + r * kCifar10RecordBytes;
    labels[r] = static_cast<float>(record[0]);
    float* image = images + r * pixels;
    for (int64_t k = 0; k < pixels; ++k) image[k] = static_cast<float>(record[1 + k]) / 255.0f;
  }
  // END SOLUTION
}

}  // namespace tinytorch::data::datasets

// %% [markdown]
// ### The readers (written for you)
//
// With the decoders written, a reader is plumbing: find the files, read each once, check that
// images and labels agree and that every label is a class, keep the class names. All three
// readers return an `ImageDataset`: a `TensorDataset` of images `[N, C, H, W]` and labels `[N]`
// (so `get` is your `TensorDataset::get`) that also knows its class names and where its files
// were.
//
// ```cpp
// data::datasets::FashionMNIST train(true), test(false);   // from the tito data cache
// train.size()                 // 60000
// train.get(0).data.shape()    // [1, 28, 28]
// train.classes()[9]           // "Ankle boot"
// data::datasets::CIFAR10 cifar(cache_folder, /*train=*/true);   // any cache folder
// ```
//
// The constructors take `(train)` to read the tito data cache, or `(cache, train)` for a cache
// folder of your own, laid out the same way (`cache/fashion-mnist/idx/...`).

// %%
//| export
namespace tinytorch::data::datasets {

// Images [N, C, H, W] with values in [0, 1] and labels [N] (float class indices), with the
// names of the classes: what the readers of MNIST, Fashion-MNIST and CIFAR-10 return.
class ImageDataset : public TensorDataset {
 public:
  ImageDataset(Tensor images, Tensor targets, std::vector<std::string> classes, std::filesystem::path folder);

  // The images, [N, C, H, W].
  const Tensor& images() const noexcept { return data(); }
  // classes()[k] is the name of class k: "Ankle boot".
  const std::vector<std::string>& classes() const noexcept { return classes_; }
  // The folder the files were read from.
  const std::filesystem::path& folder() const noexcept { return folder_; }

 private:
  std::vector<std::string> classes_;
  std::filesystem::path folder_;
};

// MNIST's handwritten digits (torch::data::datasets::MNIST): 60,000 training or 10,000 test
// images [1, 28, 28], classes "0" to "9", from cache/mnist/idx/ (`tito data fetch mnist`).
class MNIST : public ImageDataset {
 public:
  explicit MNIST(bool train = true);                      // from cache_dir()
  MNIST(const std::filesystem::path& cache, bool train);  // from another cache folder
  MNIST(const char*) = delete;                            // MNIST("folder") would pick the bool: say (folder, train)
};

// Zalando's Fashion-MNIST: 60,000 training or 10,000 test images [1, 28, 28] of clothes in 10
// classes, from cache/fashion-mnist/idx/ (`tito data fetch fashion-mnist`).
class FashionMNIST : public ImageDataset {
 public:
  explicit FashionMNIST(bool train = true);
  FashionMNIST(const std::filesystem::path& cache, bool train);
  FashionMNIST(const char*) = delete;
};

// CIFAR-10: 50,000 training images (data_batch_1..5.bin) or 10,000 test images (test_batch.bin)
// [3, 32, 32] in 10 classes, from cache/cifar10/cifar-10-batches-bin/ (`tito data fetch cifar10`).
class CIFAR10 : public ImageDataset {
 public:
  explicit CIFAR10(bool train = true);
  CIFAR10(const std::filesystem::path& cache, bool train);
  CIFAR10(const char*) = delete;
};

}  // namespace tinytorch::data::datasets

// %%
//| export impl
namespace tinytorch::data::datasets {
namespace {

// "fashion-mnist: /course/data/cache/fashion-mnist/idx/train-images-idx3-ubyte does not exist; fetch ..."
std::string missing_message(const std::string& name, const fs::path& cache, const fs::path& file) {
  return name + ": " + file.string() + " does not exist. Fetch the dataset into the cache (" + cache.string() +
         ") with\n" + fetch_command(name, cache) +
         "(the cache is $TITO_DATA_DIR when it is set, else the course's data/cache/)";
}

// DatasetFormatError unless every label is a class: 0 <= label < classes.
void check_labels(const Tensor& labels, std::size_t classes, const fs::path& file) {
  const float* label = labels.data();
  for (int64_t i = 0; i < labels.numel(); ++i) {
    if (label[i] < 0 || label[i] >= static_cast<float>(classes)) {
      throw format_error(file, "label " + std::to_string(static_cast<int>(label[i])) + " of example " +
                                   std::to_string(i) + " is not a class (expected 0 to " + std::to_string(classes - 1) +
                                   ")");
    }
  }
}

// An IDX dataset (MNIST's layout): cache/NAME/idx/{train,t10k}-{images-idx3,labels-idx1}-ubyte.
ImageDataset read_idx_dataset(const std::string& name, const fs::path& cache, bool train,
                              std::vector<std::string> classes) {
  const fs::path folder = cache / name / "idx";
  const std::string split = train ? "train" : "t10k";
  const fs::path image_file = folder / (split + "-images-idx3-ubyte");
  const fs::path label_file = folder / (split + "-labels-idx1-ubyte");
  const std::vector<uint8_t> image_bytes = read_file(image_file, missing_message(name, cache, image_file));
  const std::vector<uint8_t> label_bytes = read_file(label_file, missing_message(name, cache, label_file));
  const IdxHeader image_header = parse_idx_header(image_bytes, 3, image_file);
  const IdxHeader label_header = parse_idx_header(label_bytes, 1, label_file);
  if (image_header.dims[0] != label_header.dims[0]) {
    throw DatasetFormatError(image_file.string() + " holds " + std::to_string(image_header.dims[0]) + " images but " +
                             label_file.string() + " holds " + std::to_string(label_header.dims[0]) +
                             " labels; the files come from different datasets or copies (tito data verify " + name +
                             ")");
  }
  Tensor images = decode_idx_images(image_header, image_bytes);
  Tensor labels = decode_idx_labels(label_header, label_bytes);
  check_labels(labels, classes.size(), label_file);
  return ImageDataset(std::move(images), std::move(labels), std::move(classes), folder);
}

// The ten classes, as data/datasets.json lists them.
std::vector<std::string> mnist_classes() { return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; }
std::vector<std::string> fashion_mnist_classes() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}
std::vector<std::string> cifar10_classes() {
  return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

// CIFAR-10: cache/cifar10/cifar-10-batches-bin/, five training files or the test file.
ImageDataset read_cifar10(const fs::path& cache, bool train) {
  const fs::path folder = cache / "cifar10" / "cifar-10-batches-bin";
  std::vector<fs::path> files;
  if (train) {
    for (int b = 1; b <= 5; ++b) files.push_back(folder / ("data_batch_" + std::to_string(b) + ".bin"));
  } else {
    files.push_back(folder / "test_batch.bin");
  }
  // First the sizes, so that the output is allocated once, then each file read and decoded into its part.
  std::vector<int64_t> counts;
  for (const fs::path& file : files) {
    std::error_code ec;
    if (!fs::exists(file, ec)) throw DatasetNotFound(missing_message("cifar10", cache, file));
    const auto size = static_cast<int64_t>(fs::file_size(file, ec));
    if (ec || size == 0 || size % kCifar10RecordBytes != 0) {
      throw format_error(file, "truncated: " + std::to_string(size) + " bytes is " +
                                   std::to_string(size / kCifar10RecordBytes) + " whole records of " +
                                   std::to_string(kCifar10RecordBytes) + " bytes and " +
                                   std::to_string(size % kCifar10RecordBytes) + " bytes more");
    }
    counts.push_back(size / kCifar10RecordBytes);
  }
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  std::vector<float> images(static_cast<std::size_t>(total * 3 * 32 * 32));
  std::vector<float> labels(static_cast<std::size_t>(total));
  int64_t done = 0;
  for (std::size_t f = 0; f < files.size(); ++f) {
    const std::vector<uint8_t> bytes = read_file(files[f], missing_message("cifar10", cache, files[f]));
    if (static_cast<int64_t>(bytes.size()) != counts[f] * kCifar10RecordBytes) {
      throw format_error(files[f], "changed size while it was being read");
    }
    decode_cifar10_records(bytes.data(), counts[f], images.data() + done * 3 * 32 * 32, labels.data() + done);
    Tensor part(std::vector<float>(labels.begin() + done, labels.begin() + done + counts[f]), {counts[f]});
    check_labels(part, 10, files[f]);
    done += counts[f];
  }
  return ImageDataset(Tensor(std::move(images), {total, 3, 32, 32}), Tensor(std::move(labels), {total}),
                      cifar10_classes(), folder);
}

}  // namespace

ImageDataset::ImageDataset(Tensor images, Tensor targets, std::vector<std::string> classes, fs::path folder)
    : TensorDataset(std::move(images), std::move(targets)), classes_(std::move(classes)), folder_(std::move(folder)) {
  if (data().dim() != 4) {
    throw ShapeError("ImageDataset: images must be [N, C, H, W], got " + shape_str(data().shape()));
  }
}

MNIST::MNIST(bool train) : MNIST(cache_dir(), train) {}
MNIST::MNIST(const fs::path& cache, bool train)
    : ImageDataset(read_idx_dataset("mnist", cache, train, mnist_classes())) {}

FashionMNIST::FashionMNIST(bool train) : FashionMNIST(cache_dir(), train) {}
FashionMNIST::FashionMNIST(const fs::path& cache, bool train)
    : ImageDataset(read_idx_dataset("fashion-mnist", cache, train, fashion_mnist_classes())) {}

CIFAR10::CIFAR10(bool train) : CIFAR10(cache_dir(), train) {}
CIFAR10::CIFAR10(const fs::path& cache, bool train) : ImageDataset(read_cifar10(cache, train)) {}

}  // namespace tinytorch::data::datasets

// %% [markdown]
// ### Seeing the data (written for you)
//
// A data pipeline is debugged by looking at what comes out of it. `ascii_art` draws an image in
// the terminal, one character per pixel column and one line per two pixel rows (a character is
// about twice as tall as it is wide), brighter pixels as denser characters; `ascii_grid` puts
// several side by side with captions. Colour images are drawn by their mean over the channels.

// %%
//| export
namespace tinytorch::data {

// An image [C, H, W] or [H, W] with values in [0, 1], as lines of text.
std::vector<std::string> ascii_art(const Tensor& image);
// Images side by side, `per_row` to a row, each with its caption under it (cut to its width).
std::string ascii_grid(const std::vector<Tensor>& images, const std::vector<std::string>& captions,
                       int64_t per_row = 4);

}  // namespace tinytorch::data

// %%
//| export impl
namespace tinytorch::data {

std::vector<std::string> ascii_art(const Tensor& image) {
  if (image.dim() != 2 && image.dim() != 3) {
    throw ShapeError("ascii_art(): expected an image [C, H, W] or [H, W], got " + shape_str(image.shape()));
  }
  const Tensor x = (image.dim() == 2 ? image.unsqueeze(0) : image).contiguous();
  const int64_t channels = x.size(0), height = x.size(1), width = x.size(2);
  static const std::string ramp = " .:-=+*#%@";
  std::vector<std::string> lines;
  for (int64_t row = 0; row < height; row += 2) {
    std::string line;
    for (int64_t col = 0; col < width; ++col) {
      double sum = 0.0;
      int64_t count = 0;
      for (int64_t c = 0; c < channels; ++c) {
        for (int64_t r = row; r < std::min(row + 2, height); ++r, ++count)
          sum += x.data()[(c * height + r) * width + col];
      }
      const double v = std::clamp(sum / static_cast<double>(count), 0.0, 1.0);
      line += ramp[static_cast<std::size_t>(std::lround(v * static_cast<double>(ramp.size() - 1)))];
    }
    lines.push_back(line);
  }
  return lines;
}

std::string ascii_grid(const std::vector<Tensor>& images, const std::vector<std::string>& captions, int64_t per_row) {
  std::string out;
  for (std::size_t first = 0; first < images.size(); first += static_cast<std::size_t>(per_row)) {
    const std::size_t last = std::min(images.size(), first + static_cast<std::size_t>(per_row));
    std::vector<std::vector<std::string>> arts;
    std::size_t rows = 0;
    for (std::size_t i = first; i < last; ++i) {
      arts.push_back(ascii_art(images[i]));
      rows = std::max(rows, arts.back().size());
    }
    auto width = [&](std::size_t k) { return arts[k].empty() ? std::size_t{0} : arts[k][0].size(); };
    for (std::size_t r = 0; r < rows; ++r) {
      std::string line;
      for (std::size_t k = 0; k < arts.size(); ++k) {
        line += "|" + (r < arts[k].size() ? arts[k][r] : std::string(width(k), ' ')) + "|  ";
      }
      out += line + "\n";
    }
    std::string caption_line;
    for (std::size_t k = 0; k < arts.size(); ++k) {
      std::string caption = first + k < captions.size() ? captions[first + k] : "";
      caption.resize(width(k) + 2, ' ');
      caption_line += caption + "  ";
    }
    out += caption_line + "\n\n";
  }
  return out;
}

}  // namespace tinytorch::data

// %% [markdown]
// The real thing: the first eight test images of Fashion-MNIST from the tito data cache, with
// their class names, and what loading costs. The load is timed three times; the first run may
// include reading the files from disk, the others read them from the operating system's cache.

// %%
//| demo
#include <chrono>

try {
  auto seconds_since = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  data::datasets::FashionMNIST test(false);
  std::vector<Tensor> images;
  std::vector<std::string> captions;
  for (int64_t i = 0; i < 8; ++i) {
    const data::Example e = test.get(i);
    images.push_back(e.data);
    captions.push_back(std::to_string(static_cast<int>(e.target.item())) + " " +
                       test.classes()[static_cast<std::size_t>(e.target.item())]);
  }
  std::cout << "Fashion-MNIST, the first 8 of " << test.size() << " test images (real data, from "
            << test.folder().string() << "):\n\n"
            << data::ascii_grid(images, captions, 4);

  std::vector<double> times;
  int64_t n = 0;
  for (int run = 0; run < 3; ++run) {
    const auto start = std::chrono::steady_clock::now();
    const data::datasets::FashionMNIST train(true);
    times.push_back(seconds_since(start));
    n = train.size();
  }
  std::sort(times.begin(), times.end());
  const double bytes = 16.0 + 60000.0 * 784 + 8 + 60000;
  std::printf(
      "loading the training set (%lld images): %.0f ms median of 3 (fastest %.0f ms), %.0f images/s, %.0f MB/s of "
      "file\n",
      static_cast<long long>(n), times[1] * 1e3, times[0] * 1e3, static_cast<double>(n) / times[1],
      bytes / times[1] / 1e6);
  std::printf("memory: %.1f MB of bytes on disk, %.1f MB of floats in memory (4 bytes a pixel instead of 1)\n",
              bytes / 1e6, 60000.0 * 784 * 4 / 1e6);
} catch (const data::DatasetNotFound& e) {
  std::cout << e.what() << "\n";
}

// %% [markdown]
// A batch of the real training set: its shapes, and how many of each class it holds. A shuffled
// batch of 256 holds about 25 of each of the 10 classes, give or take 5; the training set holds
// exactly 6,000 of each.

// %%
//| demo
try {
  const data::datasets::FashionMNIST train(true);
  data::DataLoader loader(train, data::DataLoaderOptions(256).shuffle(true).seed(0));
  loader.start_epoch(0);
  const data::Example batch = loader.batch(0);
  std::cout << "batch 0 of " << loader.num_batches() << ": data " << shape_str(batch.data.shape()) << ", target "
            << shape_str(batch.target.shape()) << "; pixels from " << -(-batch.data).max().item() << " to "
            << batch.data.max().item() << "\n";
  std::vector<int> counts(10, 0);
  for (float label : batch.target.to_vector()) ++counts[static_cast<std::size_t>(label)];
  for (std::size_t k = 0; k < 10; ++k) {
    std::printf("  %-12s %3d %s\n", train.classes()[k].c_str(), counts[k],
                std::string(static_cast<std::size_t>(counts[k]), '#').c_str());
  }
  std::cout << "the first 8 examples of epoch 0 and of epoch 1 (seed 0), and their labels:\n";
  for (int64_t epoch : {0, 1}) {
    loader.start_epoch(epoch);
    std::cout << "  epoch " << epoch << ":";
    for (std::size_t i = 0; i < 8; ++i) {
      const int64_t index = loader.order()[i];
      std::cout << " " << index << " (" << train.classes()[static_cast<std::size_t>(train.targets().data()[index])]
                << ")";
    }
    std::cout << "\n";
  }
} catch (const data::DatasetNotFound& e) {
  std::cout << e.what() << "\n";
}

// %% [markdown]
// CIFAR-10 cannot be downloaded on every machine (it is a 170 MB download). This demo writes a few
// **generated** records in CIFAR-10's binary format into a temporary cache folder and reads them
// back with `CIFAR10`: its images are made-up patterns, *not* CIFAR-10 photos. Each has a
// different pattern in each colour plane, so the three channels of one image look different,
// as they must when the planes are read as planes.

// %%
//| demo
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
const fs::path cache = fs::temp_directory_path() / ("tinytorch-generated-cifar10-" + std::to_string(::getpid()));
const fs::path folder = cache / "cifar10" / "cifar-10-batches-bin";
fs::create_directories(folder);
// Two records per file: plane 0 (red) a left-to-right ramp, plane 1 (green) a top-to-bottom ramp,
// plane 2 (blue) a checkerboard; label = the record's number.
auto write_batch = [&](const std::string& name, int first) {
  std::ofstream out(folder / name, std::ios::binary);
  for (int k = first; k < first + 2; ++k) {
    std::vector<uint8_t> record(static_cast<std::size_t>(data::datasets::kCifar10RecordBytes));
    record[0] = static_cast<uint8_t>(k % 10);
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        record[static_cast<std::size_t>(1 + y * 32 + x)] = static_cast<uint8_t>(x * 8);
        record[static_cast<std::size_t>(1 + 1024 + y * 32 + x)] = static_cast<uint8_t>(y * 8);
        record[static_cast<std::size_t>(1 + 2048 + y * 32 + x)] = ((x / (4 + k)) + (y / (4 + k))) % 2 ? 255 : 0;
      }
    }
    out.write(reinterpret_cast<const char*>(record.data()), static_cast<std::streamsize>(record.size()));
  }
};
for (int b = 1; b <= 5; ++b) write_batch("data_batch_" + std::to_string(b) + ".bin", 2 * (b - 1));
write_batch("test_batch.bin", 10);
data::datasets::CIFAR10 generated(cache, true);
std::cout << "GENERATED data in CIFAR-10's binary format (not CIFAR-10): " << generated.size() << " images "
          << shape_str(generated.get(0).data.shape()) << " from " << folder.string() << "\n";
const data::Example e = generated.get(3);
std::cout << "image 3, label " << e.target.item() << " ('" << generated.classes()[3]
          << "' is only the name of class 3), its three planes:\n\n"
          << data::ascii_grid({select(e.data, 0, 0), select(e.data, 0, 1), select(e.data, 0, 2)},
                              {"red: x ramp", "green: y ramp", "blue: checks"}, 3);
fs::remove_all(cache);

// %% [markdown]
// ## Part 6: Transforms
//
// A network that sees the same 60,000 images forty times learns them by heart. **Data
// augmentation** shows it a slightly different image each time: shifted by a few pixels
// (a random crop of a zero-padded image), mirrored (a horizontal flip: a mirrored sneaker is
// still a sneaker), and the model learns what does not change under those moves. A
// **transform** is a function from an image `[C, H, W]` to an image; **Normalize** is one that
// is not random, and shifts and scales each channel so that the inputs have mean 0 and standard
// deviation 1 (the scale module 03's initializations assume).
//
// Transforms run per example, inside `get`: `MapDataset(dataset, transform)` is a dataset whose
// example `i` is the transform of the wrapped dataset's example `i` (libtorch's
// `dataset.map(transform)`). The target is left alone.
//
// ### Where does the randomness come from?
//
// A random crop draws its position from a generator. From which one, is the interesting
// question. A transform holding one generator, drawing the next numbers for whatever image comes
// next, gives example 7 a crop that depends on how many examples were transformed before it:
// on the shuffle, on the batch size, on which batch a resumed run starts at, and (with several
// loader threads, as in any real loader) on which thread got there first. The run is then not
// reproducible, and PyTorch users know the symptom: with NumPy's global generator, every worker
// process of a `DataLoader` used to make the *same* "random" crops.
//
// Here a random transform draws from a generator made for the example it is looking at: the
// `ExampleKey` `{index, epoch}` that `MapDataset` passes, mixed with the transform's own seed by
// module 07's `derive_seed` (the mixer `shuffle_order` seeds each epoch with). Example 7 of epoch
// 3 gets the same crop whatever order the examples are read in, and another crop in epoch 4. Two
// random transforms with different seeds draw independently.

// %%
//| export
namespace tinytorch::data {

// Which example a transform is looking at: its index in the dataset, and the epoch. A random
// transform draws from these (and its seed) alone, never from the order examples are read in.
struct ExampleKey {
  int64_t index = 0;
  int64_t epoch = 0;
};

}  // namespace tinytorch::data

namespace tinytorch::data::transforms {

// A function from an image [C, H, W] to an image (torchvision.transforms, torch::data::transforms).
class Transform {
 public:
  virtual ~Transform() = default;
  // The transformed image. The result may share memory with `image`; neither is written to later.
  Tensor operator()(const Tensor& image, ExampleKey key = {}) const { return apply(image, key); }
  // What operator() does: the transform of `image` for the example `key`.
  virtual Tensor apply(const Tensor& image, ExampleKey key) const = 0;
};

// The generator a random transform with `seed` uses for the example `key`.
Generator example_generator(uint64_t seed, ExampleKey key);

}  // namespace tinytorch::data::transforms

// %%
//| export impl
namespace tinytorch::data::transforms {
namespace {

// ShapeError unless `image` is [C, H, W].
void check_image(const Tensor& image, const char* where) {
  if (image.dim() != 3) {
    throw ShapeError(std::string(where) + ": expected an image [C, H, W], got shape " + shape_str(image.shape()));
  }
}

}  // namespace

Generator example_generator(uint64_t seed, ExampleKey key) {
  return Generator(derive_seed(derive_seed(seed, static_cast<uint64_t>(key.epoch)), static_cast<uint64_t>(key.index)));
}

}  // namespace tinytorch::data::transforms

// %% [markdown]
// ### ⭐ `Normalize`: each channel to mean 0, standard deviation 1
//
// `Normalize(mean, std)` computes `(x − mean[c]) / std[c]` for every pixel of channel `c`, with
// the mean and standard deviation *of the training set*, measured once (torchvision's famous
// `(0.1307,), (0.3081,)` for MNIST). Fashion-MNIST's are measured in the tests and a demo: about
// 0.286 and 0.353. With one number for each, every channel uses it.
//
// **TODO**: Return `(image[c] − mean[c]) / std[c]` for every channel `c`, as a new tensor.
//
// **APPROACH**:
// 1. `check_image(image, "Normalize")`; `in = image.contiguous()`; `out = zeros(in.shape())`.
// 2. A channel is `plane = H * W` contiguous floats. For channel `c`, `m = mean_[c]` and
//    `s = std_[c]` (or `mean_[0]`, `std_[0]` when one number was given for all).
// 3. For every `k` in the plane: `out[c * plane + k] = (in[c * plane + k] − m) / s`.
// 4. The number of channels must be `mean_.size()` (or `mean_` has one number), else
//    `ShapeError("Normalize: the image has 3 channels but 1 means and standard deviations were given")`.
//
// **EXAMPLE**:
// ```cpp
// Normalize norm({0.5f, 0.0f}, {0.5f, 2.0f});
// norm(tensor of 2 channels: [[0, 1]], [[4, 2]])   // [[-1, 1]], [[2, 1]]
// ```
//
// **HINTS**:
// - Divide by the standard deviation, not the variance, and subtract before dividing.
// - Use the *given* statistics, not the image's own mean: normalizing every image by its own
//   statistics throws away its brightness, which is information (a white T-shirt against a
//   dark coat).
//
// **SYSTEMS THINKING**: Normalize is a multiply-add per pixel, nothing next to a layer; but it
// runs on every example of every epoch. Folding it into the first layer instead
// (`W·((x − m)/s) + b = (W/s)·x + (b − W·m/s)`) makes it free at inference time, and is what
// deployment tools do with it.

// %%
//| export
namespace tinytorch::data::transforms {

// (x - mean[c]) / std[c] for each channel c (torchvision.transforms.Normalize); one number
// applies to every channel. std::invalid_argument for empty lists, lists of different lengths,
// or a standard deviation that is not positive.
class Normalize : public Transform {
 public:
  Normalize(std::vector<float> mean, std::vector<float> std);
  Tensor apply(const Tensor& image, ExampleKey key) const override;

 private:
  std::vector<float> mean_;
  std::vector<float> std_;
};

}  // namespace tinytorch::data::transforms

// %%
//| export impl
namespace tinytorch::data::transforms {

Normalize::Normalize(std::vector<float> mean, std::vector<float> std) : mean_(std::move(mean)), std_(std::move(std)) {
  if (mean_.empty() || mean_.size() != std_.size()) {
    throw std::invalid_argument("Normalize: expected as many means as standard deviations (at least one), got " +
                                std::to_string(mean_.size()) + " and " + std::to_string(std_.size()));
  }
  for (float s : std_) {
    if (!(s > 0.0f))
      throw std::invalid_argument("Normalize: a standard deviation must be > 0, got " + std::to_string(s));
  }
}

Tensor Normalize::apply(const Tensor& image, ExampleKey key) const {
  (void)key;  // not random
  // BEGIN SOLUTION
  check_image(image, "Normalize");
  const int64_t channels = image.size(0);
  if (mean_.size() != 1 && static_cast<int64_t>(mean_.size()) != channels) {
    throw ShapeError("Normalize: the image has " + std::to_string(channels) + " channels but " +
                     std::to_string(mean_.size()) + " means and standard deviations were given");
  }
  const Tensor in = image.contiguous();
  Tensor out = zeros(in.shape());
  const int64_t plane = in.size(1) * in.size(2);
  for (int64_t c = 0; c < channels; ++c) {
    const std::size_t which = mean_.size() == 1 ? 0 : static_cast<std::size_t>(c);
    const float m = mean_[which], s = std_[which];
    const float* source = in.data() + c * plane;
    float* target = out.data() + c * plane;
    for (int64_t k = 0; k < plane; ++k) target[k] = (source[k] - m) / s;
  }
  return out;
  // END SOLUTION
}

}  // namespace tinytorch::data::transforms

// %% [markdown]
// ### ⭐⭐ `padded_crop`: a window of a zero-padded image
//
// torchvision's `RandomCrop(size, padding)` pads the image with `padding` zeros on every side,
// then cuts a `size × size` window at a random position of the padded image. A 28×28 image with
// padding 2 is 32×32 padded, and a 28×28 window fits at 5 × 5 = 25 positions: top-left corner
// `(top, left)` with `top`, `left` in `0 .. 4`. At `(2, 2)` the window is the image itself; at
// `(0, 0)` it is the image shifted 2 pixels right and down, with 2 rows and 2 columns of zeros
// at the top and left.
//
//     padded (6x6, padding 1) of a 4x4 image      window of size 4 at (top 0, left 0)
//     0 0 0 0 0 0                                 0 0 0 0
//     0 a b c d 0                                 0 a b c
//     0 e f g h 0                                 0 e f g
//     0 i j k l 0                                 0 i j k
//     0 m n o p 0
//     0 0 0 0 0 0
//
// There is no need to build the padded image: window pixel `(y, x)` is padded pixel
// `(top + y, left + x)`, which is image pixel `(top + y − padding, left + x − padding)` when that
// is inside the image, and a zero otherwise.
//
// **TODO**: Return the `size × size` window at `(top, left)` of the image padded with `padding`
// zeros, for every channel: a new tensor `[C, size, size]`.
//
// **APPROACH**:
// 1. `in = image.contiguous()`; `out = zeros({C, size, size})` (so the padding is already 0).
// 2. For each channel `c`, row `y` and column `x` of the window: `sy = top + y − padding`,
//    `sx = left + x − padding`; if `0 <= sy < H` and `0 <= sx < W`, copy
//    `in[(c * H + sy) * W + sx]` to `out[(c * size + y) * size + x]`.
//
// **EXAMPLE**:
// ```cpp
// // image [1, 4, 4] holding 1 .. 16 row by row
// padded_crop(image, 0, 0, 4, 2)   // [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 2], [0, 0, 5, 6]]
// padded_crop(image, 2, 2, 4, 2)   // the image itself
// padded_crop(image, 1, 0, 2, 0)   // no padding: rows 1-2, columns 0-1: [[5, 6], [9, 10]]
// padded_crop(image, 3, 0, 2, 0)   // ShapeError (checked for you): rows 3-4 do not fit in 4 rows
// ```
//
// **HINTS**:
// - `(top, left)` are coordinates in the *padded* image: subtract the padding. Without it, the
//   crop at `(2, 2)` is shifted by 2 pixels, and the crop at `(0, 0)` never shows the padding.
//   A test crops at both.
// - Use signed arithmetic: `top + y − padding` is negative in the padding.
//
// **SYSTEMS THINKING**: computing the source of each output pixel, instead of building the padded
// image and cutting it, saves a whole image of writes (32×32 floats per example here, far more
// for ImageNet's 224×224 colour crops). It is the same idea as the views of module 01: describe
// where the numbers are, and touch only those you need.

// %%
//| export
namespace tinytorch::data::transforms::functional {

// The size x size window whose top-left corner is (top, left) in `image` [C, H, W] padded with
// `padding` zeros on every side: [C, size, size]. ShapeError when the window does not fit.
Tensor padded_crop(const Tensor& image, int64_t top, int64_t left, int64_t size, int64_t padding);

// `image` [C, H, W] mirrored left to right: column x becomes column W - 1 - x.
Tensor hflip(const Tensor& image);

}  // namespace tinytorch::data::transforms::functional

// %%
//| export impl
namespace tinytorch::data::transforms::functional {

Tensor padded_crop(const Tensor& image, int64_t top, int64_t left, int64_t size, int64_t padding) {
  check_image(image, "padded_crop()");
  const int64_t height = image.size(1), width = image.size(2);
  if (size < 1 || padding < 0 || top < 0 || left < 0 || top + size > height + 2 * padding ||
      left + size > width + 2 * padding) {
    throw ShapeError("padded_crop(): a window of size " + std::to_string(size) + " at (top " + std::to_string(top) +
                     ", left " + std::to_string(left) + ") does not fit in the " + std::to_string(height) + "x" +
                     std::to_string(width) + " image padded by " + std::to_string(padding) + " (" +
                     std::to_string(height + 2 * padding) + "x" + std::to_string(width + 2 * padding) + ")");
  }
  // BEGIN SOLUTION
  const Tensor in = image.contiguous();
  const int64_t channels = in.size(0);
  Tensor out = zeros({channels, size, size});
  const float* source = in.data();
  float* target = out.data();
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t y = 0; y < size; ++y) {
      const int64_t sy = top + y - padding;
      if (sy < 0 || sy >= height) continue;
      for (int64_t x = 0; x < size; ++x) {
        const int64_t sx = left + x - padding;
        if (sx >= 0 && sx < width) target[(c * size + y) * size + x] = source[(c * height + sy) * width + sx];
      }
    }
  }
  return out;
  // END SOLUTION
}

}  // namespace tinytorch::data::transforms::functional

// %% [markdown]
// ### ⭐ `hflip`: a mirror image
//
// **TODO**: Return the image with every row reversed: `out[c][y][x] = in[c][y][W − 1 − x]`.
//
// **APPROACH**:
// 1. `check_image(image, "hflip()")`; `in = image.contiguous()`; `out = zeros(in.shape())`.
// 2. For each channel and row (`C · H` rows of `W` floats), copy the row backwards.
//
// **EXAMPLE**:
// ```cpp
// hflip(image [1, 2, 3] = [[1, 2, 3], [4, 5, 6]])   // [[3, 2, 1], [6, 5, 4]]
// hflip(hflip(image))                                 // image
// ```
//
// **HINTS**:
// - Horizontal means left-right: the *columns* swap, the rows stay where they are. Reversing the
//   order of the rows is the vertical flip, which turns a boot upside down (not a boot any more,
//   as far as Fashion-MNIST's test set is concerned). A test tells them apart.
// - `std::reverse_copy(first, last, destination)` copies a row backwards in one call.
//
// **SYSTEMS THINKING**: a flip could be a view with a stride of −1 along the width (NumPy's
// `x[:, :, ::-1]` is one). Module 01's tensors refuse negative strides, so here it is a copy; and
// since `collate` copies every example anyway, a view would save one pass over an image, not the
// batch's copy.

// %%
//| export impl
namespace tinytorch::data::transforms::functional {

Tensor hflip(const Tensor& image) {
  // BEGIN SOLUTION
  check_image(image, "hflip()");
  const Tensor in = image.contiguous();
  Tensor out = zeros(in.shape());
  const int64_t width = in.size(2), rows = in.size(0) * in.size(1);
  for (int64_t r = 0; r < rows; ++r) {
    std::reverse_copy(in.data() + r * width, in.data() + (r + 1) * width, out.data() + r * width);
  }
  return out;
  // END SOLUTION
}

}  // namespace tinytorch::data::transforms::functional

// %% [markdown]
// ### ⭐ `RandomCrop`: a random position, drawn for this example
//
// **TODO**: Draw the window's position from the example's generator, then crop.
//
// **APPROACH**:
// 1. `Generator generator = example_generator(seed_, key);`
// 2. The window fits at `H + 2·padding − size + 1` rows (and as many columns, with `W`):
//    `top = generator.next_u64() % rows`, then `left = generator.next_u64() % columns`, in that
//    order (a test checks the position a key gives).
// 3. Return `functional::padded_crop(image, top, left, size_, padding_)`.
//
// **EXAMPLE**:
// ```cpp
// RandomCrop crop(28, /*padding=*/2, /*seed=*/1);
// crop(image, {7, 0})    // [1, 28, 28]: image 7 of epoch 0, at one of the 25 positions
// crop(image, {7, 0})    // the same window again: the key decides
// crop(image, {7, 1})    // (almost always) another window: epoch 1
// ```
//
// **HINTS**:
// - `+ 1`: with padding 2 the positions are 0, 1, 2, 3 and 4. `% (H + 2·padding − size)`
//   never draws 4, and the image is then never shifted left or up; a test draws many keys and
//   looks for every position.
// - The shape check (an image that is too small for the crop) is in the constructor's and
//   `padded_crop`'s hands; here, only draw and crop.
//
// **SYSTEMS THINKING**: the generator is made per example: two multiply-xorshift mixes and two
// draws, a few nanoseconds, against the microseconds the crop itself takes. That is the price of
// reproducibility, and it buys parallelism too: any thread can transform any example and get the
// same answer.

// %%
//| export
namespace tinytorch::data::transforms {

// A size x size window at a random position of the image padded with `padding` zeros
// (torchvision.transforms.RandomCrop(size, padding)); the position is drawn from the example's
// key and `seed`. std::invalid_argument for size < 1 or padding < 0.
class RandomCrop : public Transform {
 public:
  explicit RandomCrop(int64_t size, int64_t padding = 0, uint64_t seed = 0);
  Tensor apply(const Tensor& image, ExampleKey key) const override;

 private:
  int64_t size_;
  int64_t padding_;
  uint64_t seed_;
};

// The image mirrored left to right with probability p (torchvision.transforms.RandomHorizontalFlip),
// decided from the example's key and `seed`. std::invalid_argument for p outside [0, 1].
class RandomHorizontalFlip : public Transform {
 public:
  explicit RandomHorizontalFlip(double p = 0.5, uint64_t seed = 0);
  Tensor apply(const Tensor& image, ExampleKey key) const override;

 private:
  double p_;
  uint64_t seed_;
};

// Transforms applied one after the other, each to the previous one's result, with the same key
// (torchvision.transforms.Compose): Compose(RandomCrop(28, 2, 1), Normalize({0.286f}, {0.353f})).
class Compose : public Transform {
 public:
  template <std::derived_from<Transform>... T>
  explicit Compose(T... transforms) : transforms_{std::make_shared<T>(std::move(transforms))...} {}
  explicit Compose(std::vector<std::shared_ptr<const Transform>> transforms) : transforms_(std::move(transforms)) {}
  Tensor apply(const Tensor& image, ExampleKey key) const override;

 private:
  std::vector<std::shared_ptr<const Transform>> transforms_;
};

}  // namespace tinytorch::data::transforms

// %%
//| export impl
namespace tinytorch::data::transforms {

RandomCrop::RandomCrop(int64_t size, int64_t padding, uint64_t seed) : size_(size), padding_(padding), seed_(seed) {
  if (size < 1 || padding < 0) {
    throw std::invalid_argument("RandomCrop: size must be >= 1 and padding >= 0, got size " + std::to_string(size) +
                                " and padding " + std::to_string(padding));
  }
}

Tensor RandomCrop::apply(const Tensor& image, ExampleKey key) const {
  check_image(image, "RandomCrop");
  const int64_t rows = image.size(1) + 2 * padding_ - size_ + 1, columns = image.size(2) + 2 * padding_ - size_ + 1;
  if (rows < 1 || columns < 1) {
    throw ShapeError("RandomCrop: a crop of size " + std::to_string(size_) + " does not fit in the image " +
                     shape_str(image.shape()) + " padded by " + std::to_string(padding_));
  }
  // BEGIN SOLUTION
  Generator generator = example_generator(seed_, key);
  const auto top = static_cast<int64_t>(generator.next_u64() % static_cast<uint64_t>(rows));
  const auto left = static_cast<int64_t>(generator.next_u64() % static_cast<uint64_t>(columns));
  return functional::padded_crop(image, top, left, size_, padding_);
  // END SOLUTION
}

RandomHorizontalFlip::RandomHorizontalFlip(double p, uint64_t seed) : p_(p), seed_(seed) {
  if (!(p >= 0.0 && p <= 1.0))
    throw std::invalid_argument("RandomHorizontalFlip: p must be in [0, 1], got " + std::to_string(p));
}

Tensor RandomHorizontalFlip::apply(const Tensor& image, ExampleKey key) const {
  Generator generator = example_generator(seed_, key);
  return static_cast<double>(generator.uniform()) < p_ ? functional::hflip(image) : image;
}

Tensor Compose::apply(const Tensor& image, ExampleKey key) const {
  Tensor x = image;
  for (const auto& transform : transforms_) x = transform->apply(x, key);
  return x;
}

}  // namespace tinytorch::data::transforms

// %% [markdown]
// ### ⭐ `MapDataset::get`: a transformed example, keyed
//
// `MapDataset` remembers the epoch the loader announced (`set_epoch`, written for you: it also
// passes it on to the dataset it wraps), and hands each example's key to the transform.
//
// **TODO**: Return example `index` of the wrapped dataset with its data transformed for the key
// `{index, epoch_}`, and its target unchanged.
//
// **APPROACH**:
// 1. `Example e = dataset_->get(index);` (the wrapped dataset checks the index).
// 2. Return `Example{transform_->apply(e.data, ExampleKey{index, epoch_}), e.target}`.
//
// **EXAMPLE**:
// ```cpp
// data::MapDataset flipped(train, transforms::RandomHorizontalFlip(1.0));
// flipped.get(7).data       // hflip(train.get(7).data)
// flipped.get(7).target     // train.get(7).target
// ```
//
// **HINTS**:
// - The key is the example's index in the dataset, not a count of the examples fetched so far:
//   a test fetches examples in two different orders and expects the same images.
// - Pass `epoch_`, or every epoch sees the same crops (the test trains nothing, it just looks).
//
// **SYSTEMS THINKING**: the transform runs each time an example is fetched, so its cost is paid
// every epoch: a crop and a flip of a 28×28 image are a few microseconds, about what collating
// costs. For big images, decoding and augmenting is often the slowest part of training, and why
// loaders run it on many threads (or on the GPU, as NVIDIA's DALI does).

// %%
//| export
namespace tinytorch::data {

// A dataset whose examples pass through a transform (libtorch's dataset.map(transform)):
// example i is {transform(data_i, {i, epoch}), target_i}.
class MapDataset : public Dataset {
 public:
  MapDataset(std::shared_ptr<Dataset> dataset, std::shared_ptr<const transforms::Transform> transform);
  // Keeps copies of `dataset` and `transform` (cheap: tensors are handles).
  template <std::derived_from<Dataset> D, std::derived_from<transforms::Transform> T>
  MapDataset(D dataset, T transform)
      : MapDataset(std::make_shared<D>(std::move(dataset)), std::make_shared<T>(std::move(transform))) {}

  int64_t size() const override { return dataset_->size(); }
  Example get(int64_t index) override;
  // Remembers the epoch (for the transform's keys) and tells the wrapped dataset.
  void set_epoch(int64_t epoch) override;
  // The epoch of the keys: the last set_epoch, 0 before.
  int64_t epoch() const noexcept { return epoch_; }

 private:
  std::shared_ptr<Dataset> dataset_;
  std::shared_ptr<const transforms::Transform> transform_;
  int64_t epoch_ = 0;
};

}  // namespace tinytorch::data

// %%
//| export impl
namespace tinytorch::data {

MapDataset::MapDataset(std::shared_ptr<Dataset> dataset, std::shared_ptr<const transforms::Transform> transform)
    : dataset_(std::move(dataset)), transform_(std::move(transform)) {
  if (!dataset_ || !transform_)
    throw std::invalid_argument("MapDataset: the dataset and the transform must not be null");
}

void MapDataset::set_epoch(int64_t epoch) {
  epoch_ = epoch;
  dataset_->set_epoch(epoch);
}

Example MapDataset::get(int64_t index) {
  // BEGIN SOLUTION
  Example e = dataset_->get(index);
  return Example{transform_->apply(e.data, ExampleKey{index, epoch_}), e.target};
  // END SOLUTION
}

}  // namespace tinytorch::data

// %%
//| test
TEST(UnitTransforms, FlipCropNormalize) {
  namespace T = data::transforms;
  const Tensor image = tensor({{1, 2, 3}, {4, 5, 6}}).unsqueeze(0);  // [1, 2, 3]
  EXPECT_EQ(T::functional::hflip(image).to_vector(), (std::vector<float>{3, 2, 1, 6, 5, 4}));
  EXPECT_EQ(T::functional::padded_crop(image, 1, 1, 2, 1).to_vector(), (std::vector<float>{1, 2, 4, 5}));
  EXPECT_EQ(T::Normalize({1.0f}, {2.0f})(image).to_vector(), (std::vector<float>{0, 0.5f, 1, 1.5f, 2, 2.5f}));
}

TEST(UnitMapDataset, TransformsTheDataAndKeepsTheTarget) {
  data::MapDataset flipped(data::TensorDataset(arange(12).reshape({2, 1, 2, 3}), tensor({5, 7})),
                           data::transforms::RandomHorizontalFlip(1.0));
  const data::Example e = flipped.get(1);
  EXPECT_EQ(e.data.to_vector(), (std::vector<float>{8, 7, 6, 11, 10, 9}));
  EXPECT_EQ(e.target.item(), 7.0f);
}

// %% [markdown]
// A real image under the transforms: a Fashion-MNIST test image, then `RandomCrop(28, 4)` for the
// same example in epochs 0, 1 and 2 (the 4-pixel shift shows as a band of zeros on one side or
// two), and the horizontal flip.

// %%
//| demo
try {
  namespace T = data::transforms;
  data::datasets::FashionMNIST test(false);
  const data::Example e = test.get(0);
  const T::RandomCrop crop(28, /*padding=*/4, /*seed=*/1);
  std::cout << "test image 0 (" << test.classes()[static_cast<std::size_t>(e.target.item())]
            << "), before and after (real data):\n\n"
            << data::ascii_grid({e.data, crop(e.data, {0, 0}), crop(e.data, {0, 1}), crop(e.data, {0, 2})},
                                {"original", "crop, epoch 0", "crop, epoch 1", "crop, epoch 2"}, 4)
            << data::ascii_grid(
                   {e.data, T::functional::hflip(e.data), T::functional::hflip(T::functional::hflip(e.data))},
                   {"original", "hflip", "hflip twice"}, 3);
} catch (const data::DatasetNotFound& error) {
  std::cout << error.what() << "\n";
}

// %% [markdown]
// The training set's statistics, measured (what `Normalize` should be given), and a whole epoch
// through the loader: batches of 64, shuffled, first as they are, then through a crop, a flip and
// `Normalize`. The images per second say whether data loading could slow training down: compare
// them with module 06's training step.

// %%
//| demo
#include <chrono>
#include <cmath>

try {
  namespace T = data::transforms;
  const data::datasets::FashionMNIST train(true);
  const float* pixel = train.images().data();
  double sum = 0.0, square = 0.0;
  const int64_t count = train.images().numel();
  for (int64_t i = 0; i < count; ++i) sum += pixel[i];
  const double mean = sum / static_cast<double>(count);
  for (int64_t i = 0; i < count; ++i) square += (pixel[i] - mean) * (pixel[i] - mean);
  const double std_dev = std::sqrt(square / static_cast<double>(count));
  std::printf("Fashion-MNIST training pixels: mean %.4f, standard deviation %.4f (over %lld pixels)\n", mean, std_dev,
              static_cast<long long>(count));

  auto epoch_time = [](data::DataLoader& loader) {
    const auto start = std::chrono::steady_clock::now();
    loader.start_epoch(0);
    int64_t seen = 0;
    for (data::Example batch : loader) seen += batch.data.size(0);
    return std::pair<double, int64_t>{std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                                      seen};
  };
  data::DataLoader plain(train, data::DataLoaderOptions(64).shuffle(true).seed(0));
  const auto [plain_seconds, plain_seen] = epoch_time(plain);
  std::printf("one epoch, batches of 64, shuffled:                      %5.0f ms, %8.0f images/s (%lld images)\n",
              plain_seconds * 1e3, static_cast<double>(plain_seen) / plain_seconds, static_cast<long long>(plain_seen));
  data::MapDataset augmented(train,
                             T::Compose(T::RandomCrop(28, 2, 1), T::RandomHorizontalFlip(0.5, 2),
                                        T::Normalize({static_cast<float>(mean)}, {static_cast<float>(std_dev)})));
  data::DataLoader loader(augmented, data::DataLoaderOptions(64).shuffle(true).seed(0));
  const auto [seconds, seen] = epoch_time(loader);
  std::printf("the same through RandomCrop, RandomHorizontalFlip, Normalize: %5.0f ms, %8.0f images/s\n", seconds * 1e3,
              static_cast<double>(seen) / seconds);
  loader.start_epoch(0);
  const Tensor batch = loader.batch(0).data;
  std::printf("one augmented batch of 64: mean %.3f, standard deviation %.3f (about 0 and 1)\n", batch.mean().item(),
              std::sqrt(((batch - batch.mean()) * (batch - batch.mean())).mean().item()));
} catch (const data::DatasetNotFound& error) {
  std::cout << error.what() << "\n";
}

// %% [markdown]
// ## Summary
//
// You built the input pipeline every later network trains from, with libtorch's names:
//
// - **tensor ops for batches**: `narrow` and `select`, views that cut examples out of a dataset
//   without a copy; `cat` and `stack`, which join them with one copy; all differentiable, with a
//   backward attached through `autograd::function` (and `record_list` for a list of inputs);
// - **`Dataset` and `TensorDataset`**: `size()` and `get(index)`, an example being two views;
// - a **`DataLoader`** that implements module 07's `BatchSource`: batches by index, `drop_last`,
//   collating with `stack`, and a range-for over an epoch, in the order of module 07's
//   `shuffle_order`: unbiased (Fisher–Yates, where the swap-with-anyone shuffle favours some
//   orders, as the demo counted) and a pure function of the seed and the epoch, so a run repeats
//   exactly and resumes in the middle;
// - **readers** for the real IDX files of MNIST and Fashion-MNIST (a big-endian header, checked
//   against the file) and CIFAR-10's binary records (colour planes, not interleaved pixels),
//   found through the tito data cache, with errors that name the file and the command to run,
//   and fast: the training set loads in a fraction of a second;
// - seeded **transforms**, `Normalize`, `RandomCrop`, `RandomHorizontalFlip`, `Compose`, applied
//   per example by `MapDataset`, whose randomness depends on the example and the epoch, never on
//   the order of reading.
//
// With this module the **MLP milestone (1986)** unlocks: `tito milestone run mlp` trains a
// 784-256-128-10 network on Fashion-MNIST from your loader, to 88% test accuracy or better.
//
// ## Reflect
//
// 1. Estimate, then measure: how much memory does Fashion-MNIST's training set take as bytes on
//    disk, and as floats in memory? (The loading demo prints both.) Then estimate the same for a
//    million 224×224 colour images: which representation would you keep in memory, and where
//    would you convert?
// 2. Before running the loading demo, estimate how long it should take to read 47 MB (from the
//    operating system's cache, at a few GB/s) and to convert 47 million bytes to floats (one
//    division each, vectorized). Then compare with the measured time. Where does the rest go?
//    (Try timing `read_file` and `decode_idx_images` separately.)
// 3. How many images per second does one epoch through the loader reach, with and without the
//    transforms? Estimate first from the bytes a batch copies. Then compare with how many
//    images per second module 06's training step processes for the MLP: is the loader the
//    bottleneck? At what model size would it become one?
// 4. The swap-with-anyone shuffle of 3 elements favours 3 of the 6 orders. Predict by how much
//    (the demo counts 600,000 shuffles), then work out the same for 4 elements: 4⁴ = 256 paths
//    onto 24 orders. Could any n > 2 be unbiased that way?
// 5. A run is interrupted after batch 300 of epoch 4 and resumed from a checkpoint that saved only
//    the model, the optimizer and "epoch 4, batch 300". Which batches and which crops does the
//    resumed run see? Now answer again for a loader whose shuffle and transforms each draw from
//    one generator that runs from the first epoch.
// 6. `RandomCrop(28, padding = 4)`: estimate the fraction of a cropped image that is padding, on
//    average (the shift along each axis is uniform in -4 .. 4). Then measure it on a batch of
//    real images. How does it change the mean a `Normalize` after the crop should use?
//
// Next: module 09, spatial. Everything so far treated an image as 784 independent numbers: a
// Linear layer does not know that pixel 5 sits next to pixel 6. Convolution does: `Conv2d`
// slides small learned filters over the `[C, H, W]` images this module delivers (through
// im2col, one big matmul), `MaxPool2d` and `AvgPool2d` shrink them, `BatchNorm2d` keeps their
// scale in check, and `Flatten` hands the result to a Linear layer. With them, the CNN milestone
// (1998) reaches 91% on Fashion-MNIST.
