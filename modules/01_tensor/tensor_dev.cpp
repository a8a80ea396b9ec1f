// %% [markdown]
// # Module 01: Tensor
//
// Every number a neural network touches lives in a tensor: the pixels of an image, the
// weights of a layer, the gradients autograd computes for them. In this module you build
// `tinytorch::Tensor`, the class every later module uses. It is modelled on `torch::Tensor`
// from PyTorch's C++ frontend (libtorch), so what you learn here carries over.
//
// ## What a tensor is
//
// A tensor is an n-dimensional array of `float` numbers with a **shape**: a scalar has
// shape `[]`, a vector of 3 numbers `[3]`, a 2×3 matrix `[2, 3]`, a batch of 64 RGB images
// of 32×32 pixels `[64, 3, 32, 32]`.
//
// Memory, however, is one long line of bytes. So a tensor is really four things:
//
// 1. a **storage**: one flat buffer of floats;
// 2. a **shape**: how many elements there are along each dimension;
// 3. **strides**: how many floats to skip in the buffer to take one step along each dimension;
// 4. an **offset**: where element `[0, 0, ...]` sits in the buffer.
//
// Element `[i, j]` of a 2-D tensor lives at
//
//     position = offset + i * strides[0] + j * strides[1]
//
// A freshly made 2×3 matrix stores its rows one after the other (*row-major* order):
//
//     what you see            what memory holds
//     [[1, 2, 3],      ->     [1, 2, 3, 4, 5, 6]      shape [2, 3], strides [3, 1], offset 0
//      [4, 5, 6]]
//
// One step down a column skips 3 floats; one step along a row skips 1.
//
// ## Why strides
//
// With strides, many operations never copy a single number:
//
// - the **transpose** of that matrix is the same buffer read with strides `[1, 3]`;
// - **reshaping** `[2, 3]` into `[3, 2]` or `[6]` only changes shape and strides;
// - **broadcasting** a row across all rows of a matrix is a stride of `0`.
//
// These are **views**: they share the storage, so they cost nothing to make, and writing
// through a view changes the original. Some operations (matmul, the element-wise loops)
// want their input **contiguous**, laid out in plain row-major order with no gaps, and
// `contiguous()` copies only when a tensor is not.
//
// This is not an implementation detail you can forget. Autograd, a later module, hangs a
// computation graph on `Tensor`; convolution turns images into one big matmul and needs that
// matmul to be fast. Both depend on the storage, strides and contiguity you make explicit
// here, so every function in this module says what it does with them.
//
// ## A tensor is a handle
//
// Like `torch::Tensor`, a `tinytorch::Tensor` is a cheap **handle**: it holds one
// `std::shared_ptr<TensorImpl>`, and the `TensorImpl` holds the shape, strides, offset and a
// `std::shared_ptr<Storage>`. Copying a `Tensor` copies a pointer, never the numbers:
//
// ```cpp
// Tensor a = zeros({2, 2});
// Tensor b = a;          // b is a second handle to the same tensor
// b.at({0, 0}) = 5;      // a.at({0, 0}) is 5 as well
// Tensor c = a.clone();  // c has storage of its own
// ```
//
// That is how PyTorch behaves, and it is what later lets a layer hand its weight to an
// optimizer that updates it in place. Two kinds of sharing, then: a *copy* of a `Tensor`
// shares everything (it is the same tensor), a *view* shares only the storage (its own shape,
// strides and offset).
//
// A consequence: `const Tensor&` means "this handle will not be re-pointed", not "these
// numbers will not change", just as `const std::shared_ptr<T>` still lets you change the `T`.
// So `data()` and `at()` hand out writable floats from a `const Tensor&`, as libtorch does.
// Functions that change a tensor in place end in `_` (`fill_`, `copy_`), as in PyTorch.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | shapes and strides | `shape_str`, `shape_numel`, `contiguous_strides` |
// | 2 | storage and the `Tensor` handle | the constructor |
// | 3 | printing (written for you) | nothing: read it, then use it to debug |
// | 4 | making tensors | `tensor`, `full`, `arange`, `Generator::normal`, `randn` |
// | 5 | reading and writing elements | `at`, `item` |
// | 6 | views and copies | `is_contiguous`, `for_each_element`, `native::clone`, `contiguous`, `infer_size`, `native::view`, `reshape`, `native::transpose` |
// | 7 | arithmetic with broadcasting | `broadcast_shapes`, `native::expand`, `native::elementwise` (one odometer for two views) |
// | 8 | reductions | `native::sum`, `native::max`, `native::reduce_dim` |
// | 9 | matrix multiplication | `native::matmul_2d` |
//
// A name in `native::` is a *kernel*: the function that computes the numbers of an op.
// Part 2 explains why each op has one, and why you will never have to rewrite it.
//
// Work top to bottom: each part uses the ones before it. Difficulty: ⭐ a few lines,
// ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module, take your time.
//
// After each function, run `tito test tensor` to see which tests pass, and
// `tito module run tensor` to watch the demos print.

// %%
//| default_exp core/tensor

// %%
//| export
#include <cstdint>
#include <cstddef>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <tinytorch/not_implemented.hpp>

// %%
//| export impl
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <numbers>
#include <ostream>
#include <unordered_map>

// %% [markdown]
// ## Part 1: Shapes and strides
//
// A shape is a list of sizes, outermost dimension first. We use `std::vector<int64_t>`,
// as libtorch does (`int64_t` because a tensor can hold more than 2³¹ elements, and signed
// because negative numbers mean something: `-1` is "the last dimension" or "infer this size").
// Strides are lists of the same kind, so they share the type.
//
// Errors get their own types, so callers (and tests) can tell a shape problem from a bad
// index. Both derive from the standard exception a C++ programmer would expect.

// %%
//| export
namespace tinytorch {

// The size of each dimension, outermost first: a 2x3 matrix has shape {2, 3}.
// Strides and indices use the same type.
using Shape = std::vector<int64_t>;

// Shapes that do not fit together: broadcasting, matmul, reshape, view.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// An index or a dimension outside a tensor.
class IndexError : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

// "[2, 3]"; the scalar shape is "[]".
std::string shape_str(const Shape& shape);

// How many elements a tensor of this shape holds: the product of the sizes, 1 for [].
int64_t shape_numel(const Shape& shape);

// Row-major strides for a shape: [2, 3, 4] -> [12, 4, 1].
Shape contiguous_strides(const Shape& shape);

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `shape_str`: shapes in error messages
//
// Every error message in this library names the shapes involved, so start with the
// function that writes them.
//
// **TODO**: Return the shape as a bracketed, comma-separated list.
//
// **APPROACH**:
// 1. Start with `"["`.
// 2. Append each size with `std::to_string`, putting `", "` between sizes (not before the first).
// 3. Close with `"]"`.
//
// **EXAMPLE**:
// ```cpp
// shape_str({2, 3})     // "[2, 3]"
// shape_str({64})       // "[64]"
// shape_str({})         // "[]"  (a scalar)
// ```
//
// **HINTS**:
// - PyTorch prints `torch.Size([2, 3])`; we print just the list, so the message
//   "cannot broadcast shapes [2, 3] and [4]" reads well.
//
// **SYSTEMS THINKING**: building a string allocates memory, which is slow next to the
// arithmetic of a tensor op. That is fine here because messages are built only when
// something has already gone wrong; never build one on the path that runs when all is well.

// %%
//| export impl
namespace tinytorch {

std::string shape_str(const Shape& shape) {
  // BEGIN SOLUTION
  std::string out = "[";
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (d > 0) out += ", ";
    out += std::to_string(shape[d]);
  }
  return out + "]";
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `shape_numel`: how many elements
//
// **TODO**: Return the product of the sizes. Throw `ShapeError` for a negative size.
//
// **APPROACH**:
// 1. Start from `1` (the empty product: a scalar holds one element).
// 2. Multiply by each size; if a size is negative, throw
//    `ShapeError("negative dimension -1 in shape [-1, 3]")`.
//
// **EXAMPLE**:
// ```cpp
// shape_numel({2, 3})   // 6
// shape_numel({})       // 1
// shape_numel({4, 0})   // 0  (an empty tensor is allowed)
// ```
//
// **HINTS**:
// - Check each size *before* multiplying it in: after a negative size the product means
//   nothing, and the message should name the whole shape (`shape_str` from above).
//
// **SYSTEMS THINKING**: a `[64, 3, 32, 32]` batch holds 196,608 floats, 768 KiB. Knowing
// `numel × 4 bytes` at a glance is how you will reason about memory for the rest of the course.

// %%
//| export impl
namespace tinytorch {

int64_t shape_numel(const Shape& shape) {
  // BEGIN SOLUTION
  int64_t count = 1;
  for (int64_t size : shape) {
    if (size < 0) {
      throw ShapeError("negative dimension " + std::to_string(size) + " in shape " + shape_str(shape));
    }
    count *= size;
  }
  return count;
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `contiguous_strides`: the row-major layout
//
// In row-major order the **last** dimension changes fastest. Its stride is 1; each
// dimension to the left skips over one whole block of everything to its right.
//
// **TODO**: Return the strides of a contiguous tensor of this shape.
//
// **APPROACH**:
// 1. Make a result the same length as `shape`.
// 2. Walk the dimensions from last to first, keeping a running product `step` (start at 1).
// 3. The stride of dimension `d` is the current `step`; then `step *= shape[d]`.
//
// **EXAMPLE**:
// ```cpp
// contiguous_strides({2, 3})      // {3, 1}
// contiguous_strides({2, 3, 4})   // {12, 4, 1}
// contiguous_strides({})          // {}
// ```
//
// **HINTS**:
// - Looping down with an unsigned index is a classic bug (`d >= 0` is always true).
//   Use `for (std::size_t d = n; d-- > 0;)` or a signed index.
//
// **SYSTEMS THINKING**: strides count *elements*, not bytes (NumPy counts bytes, PyTorch
// elements). The element `[i, j, k]` of a `[2, 3, 4]` tensor is at `12i + 4j + k`: the
// same arithmetic a C array `float x[2][3][4]` does for you.

// %%
//| export impl
namespace tinytorch {

Shape contiguous_strides(const Shape& shape) {
  // BEGIN SOLUTION
  Shape strides(shape.size());
  int64_t step = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
  // END SOLUTION
}

}  // namespace tinytorch

// %%
//| test
using namespace tinytorch;

TEST(UnitShapes, ShapeStrListsSizes) {
  EXPECT_EQ(shape_str({2, 3}), "[2, 3]");
  EXPECT_EQ(shape_str({}), "[]");
}

TEST(UnitShapes, NumelIsTheProductOfSizes) {
  EXPECT_EQ(shape_numel({2, 3, 4}), 24);
  EXPECT_EQ(shape_numel({}), 1);
}

TEST(UnitShapes, StridesAreRowMajor) {
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}));
}

// %% [markdown]
// ## Part 2: Storage and the `Tensor` handle
//
// Here is the whole class. Read the declarations: each one says in a line what the
// function does, and the rest of the module implements them. Three layers:
//
// - `Storage` owns the floats (a `std::vector<float>`), and nothing else.
// - `TensorImpl` is one view of a storage: shape, strides, offset.
// - `Tensor` is a handle: one `shared_ptr<TensorImpl>`.
//
// A default-constructed `Tensor` is *undefined* (no `TensorImpl`), like a default
// `torch::Tensor`; autograd will use that for "no gradient yet". Touching it throws a
// `std::logic_error` instead of crashing.
//
// `Storage` also carries a hook for module 10, where you measure how much memory a training
// step needs: while a memory counter is installed, every new buffer reports its bytes, and
// reports them freed when it goes. Until then it costs one relaxed atomic load per buffer.
//
// ### Where buffers come from (written for you)
//
// A training step makes the same tensors every step: the same sizes, freed at the end of one
// step and made again in the next. Getting a large buffer from `malloc` looks free, but is not:
// glibc gives large freed blocks back to the kernel, and the next one arrives as fresh pages.
// The first write to each 4 KiB page is then a *page fault*: the kernel stops the program,
// finds a page, zeroes it and maps it. In the course's CNN (`bench/cnn_bench --buffer-cache
// off`) that was a third of a training step's time, spent on memory the step had just freed.
//
// So a `Storage` gives its buffer back when it dies, and `memory::new_buffer(n)` hands it out
// again to the next tensor of `n` floats: no fault, no zeroing, no trip to the kernel. This
// is what PyTorch's caching allocator does for GPU memory. The cache keeps a buffer only
// when it is large (64 KiB or more: `malloc` recycles small blocks well by itself) and of a
// size someone has asked `new_buffer` for, and it holds at most 1 GiB
// (`memory::set_buffer_cache_limit`); `memory::empty_buffer_cache()` frees what it holds and
// `memory::buffer_cache_stats()` counts its hits and misses. A buffer from `new_buffer` may
// hold an old tensor's numbers, so whoever takes one writes every value.

// %%
//| export
namespace tinytorch {

namespace memory {
// Told of every Storage made and freed while it is installed: module 10's memory counter.
// Nothing is installed before module 10, and then a Storage costs one relaxed atomic load.
struct AllocationObserver {
  void (*allocated)(std::size_t bytes) noexcept;
  void (*freed)(std::size_t bytes) noexcept;
};
// Installs `observer` (static lifetime) for every thread; nullptr removes it.
void set_allocation_observer(const AllocationObserver* observer) noexcept;
// The installed observer, or nullptr.
const AllocationObserver* allocation_observer() noexcept;

// A buffer of `count` floats for a new tensor. Its values are unspecified: the caller writes
// every one. A large buffer comes from the buffer cache when it holds one of that size (the
// buffer of a tensor freed earlier), and is new otherwise.
std::vector<float> new_buffer(std::size_t count);
// Offers the buffer of a Storage being destroyed to the cache, which keeps it only if it is
// large and of a size that new_buffer was asked for; otherwise `buffer` is left as it was.
void give_back(std::vector<float>&& buffer) noexcept;

struct BufferCacheStats {
  std::size_t hits = 0;          // new_buffer calls served from the cache
  std::size_t misses = 0;        // large new_buffer calls that had to allocate
  std::size_t cached_bytes = 0;  // held now, ready for the next new_buffer
  std::size_t limit_bytes = 0;   // the most it holds (set_buffer_cache_limit)
};
BufferCacheStats buffer_cache_stats() noexcept;
// The most the cache holds, in bytes (default 1 GiB); 0 turns caching off. Frees what is over.
void set_buffer_cache_limit(std::size_t bytes) noexcept;
// Frees every cached buffer, like torch.cuda.empty_cache(). Tensors alive are not touched.
void empty_buffer_cache() noexcept;
}  // namespace memory

// A flat buffer of float32 numbers. Tensors never own numbers directly: they look at a
// Storage through a shape, strides and an offset, and several tensors may share one.
class Storage {
 public:
  explicit Storage(std::vector<float> values) : values_(std::move(values)) { count_allocation(); }
  Storage(const Storage& other) : values_(other.values_) { count_allocation(); }
  Storage& operator=(const Storage&) = delete;
  // A buffer counted when it was made is reported freed to the same observer, even if that
  // observer was removed since: live bytes stay exact.
  ~Storage() {
    if (counted_by_) counted_by_->freed(bytes());
    memory::give_back(std::move(values_));
  }

  float* data() noexcept { return values_.data(); }
  const float* data() const noexcept { return values_.data(); }
  // Number of floats in the buffer.
  int64_t size() const noexcept { return static_cast<int64_t>(values_.size()); }

 private:
  std::size_t bytes() const noexcept { return values_.size() * sizeof(float); }
  void count_allocation() noexcept {
    counted_by_ = memory::allocation_observer();
    if (counted_by_) counted_by_->allocated(bytes());
  }

  std::vector<float> values_;
  const memory::AllocationObserver* counted_by_ = nullptr;
};

// Autograd's record of a tensor: its gradient and the op that made it. Module 05 defines it;
// until then no tensor has one.
struct AutogradMeta;

// One view of a Storage: what a Tensor handle points at.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // floats to skip for one step along each dimension
  int64_t offset = 0;  // where element [0, 0, ...] lives in the storage
  // The autograd slot, dormant until module 05: whether gradients flow to this tensor, and
  // autograd's record of it (null until an op is recorded or a gradient arrives).
  bool requires_grad = false;
  std::shared_ptr<AutogradMeta> autograd;
};

// A float32 n-dimensional array: a cheap handle, copies share the same tensor (as in
// libtorch). Use clone() for an independent copy.
class Tensor {
 public:
  // An undefined tensor (like a default torch::Tensor): defined() is false.
  Tensor() = default;
  // A contiguous tensor holding `data` in row-major order; data.size() must equal the
  // number of elements of `shape`.
  Tensor(std::vector<float> data, Shape shape);
  // A view of `storage` with the given shape, strides and offset; checked to stay inside it.
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset);

  // --- What it is --------------------------------------------------------------------
  bool defined() const noexcept { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  // Position of element [0, 0, ...] in the storage.
  int64_t offset() const { return impl().offset; }
  // Number of dimensions.
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  // Number of elements.
  int64_t numel() const { return shape_numel(shape()); }
  // Size of one dimension; negative counts from the end (-1 is the last).
  int64_t size(int64_t dim) const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  // Pointer to element [0, 0, ...]. Walk it with strides(), or call contiguous() first.
  float* data() const { return storage()->data() + offset(); }
  // True when the elements lie in row-major order with no gaps (strides ignore size-1 dims).
  bool is_contiguous() const;

  // --- Elements ------------------------------------------------------------------------
  // The element at `index` (one entry per dimension, negative counts from the end),
  // writable: t.at({0, 1}) = 5. Throws IndexError when out of bounds.
  float& at(const std::vector<int64_t>& index) const;
  // The value of a one-element tensor.
  float item() const;
  // All elements in row-major order.
  std::vector<float> to_vector() const;

  // --- Views and copies ----------------------------------------------------------------
  // A contiguous tensor with new storage, always.
  Tensor clone() const;
  // This tensor if already contiguous, otherwise a contiguous copy.
  Tensor contiguous() const;
  // Same storage, new shape (one size may be -1). Requires a contiguous tensor.
  Tensor view(const Shape& shape) const;
  // Like view, but copies when the tensor is not contiguous.
  Tensor reshape(const Shape& shape) const;
  // A 1-D tensor of all elements.
  Tensor flatten() const;
  // View with dimensions dim0 and dim1 swapped (shape and strides swapped, no copy).
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  // Transpose of a matrix; a 0-D or 1-D tensor is returned as it is.
  Tensor t() const;
  // View broadcast to `shape`: size-1 and missing leading dimensions get stride 0.
  Tensor expand(const Shape& shape) const;
  // View with a new size-1 dimension inserted at `dim` (0 .. dim(); negative counts from the end).
  Tensor unsqueeze(int64_t dim) const;
  // View without dimension `dim`, which must have size 1.
  Tensor squeeze(int64_t dim) const;
  // View with the dimensions reordered: result dimension i is this tensor's dims[i].
  Tensor permute(const Shape& dims) const;

  // --- In place (writes through views) -------------------------------------------------
  Tensor& fill_(float value);
  // Copies `src` (broadcast to this shape) into this tensor's elements.
  Tensor& copy_(const Tensor& src);
  Tensor& operator+=(const Tensor& other);
  Tensor& operator-=(const Tensor& other);
  Tensor& operator*=(const Tensor& other);
  Tensor& operator/=(const Tensor& other);
  Tensor& operator+=(float value);
  Tensor& operator-=(float value);
  Tensor& operator*=(float value);
  Tensor& operator/=(float value);

  // --- Element-wise arithmetic, with broadcasting --------------------------------------
  Tensor add(const Tensor& other) const;
  Tensor sub(const Tensor& other) const;
  Tensor mul(const Tensor& other) const;
  Tensor div(const Tensor& other) const;
  Tensor add(float value) const;
  Tensor sub(float value) const;
  Tensor mul(float value) const;
  Tensor div(float value) const;
  Tensor neg() const;

  // --- Reductions ----------------------------------------------------------------------
  // Over all elements: a 0-D tensor.
  Tensor sum() const;
  Tensor mean() const;
  Tensor max() const;
  // Over one dimension (negative counts from the end); keepdim leaves it as size 1.
  Tensor sum(int64_t axis, bool keepdim = false) const;
  Tensor mean(int64_t axis, bool keepdim = false) const;
  Tensor max(int64_t axis, bool keepdim = false) const;

  // --- Linear algebra ------------------------------------------------------------------
  // Matrix product of 1-D and 2-D tensors: [m, k] x [k, n] -> [m, n]; a 1-D left operand
  // is a row vector, a 1-D right operand a column vector, and the result drops them.
  Tensor matmul(const Tensor& other) const;

  // --- Autograd: the slot is here from the start; module 05 brings it to life ----------
  // Whether gradients flow to this tensor: a leaf that asked for them, or an op's result
  // computed from one while autograd was recording.
  bool requires_grad() const { return impl().requires_grad; }
  // Asks for the gradient of this (leaf) tensor, as layers do for their parameters; returns *this.
  Tensor& requires_grad_(bool requires_grad = true);
  // The same numbers (a view of the same storage) cut off from autograd: requires_grad() is
  // false and no op before it is recorded.
  Tensor detach() const;
  // Declared here, written in module 05: the gradient that backward() accumulated into
  // this tensor (undefined until then).
  Tensor grad() const;
  // Declared here, written in module 05: the gradient slot itself, for optimizers (set it to
  // Tensor() to drop the gradient).
  Tensor& mutable_grad() const;
  // Declared here, written in module 05: back-propagation from this tensor. A one-element
  // tensor needs no argument; any other needs `gradient`, of its shape.
  void backward(const Tensor& gradient = Tensor()) const;

  // The TensorImpl this handle points at, for autograd: a handle from one, and back.
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  const TensorImpl& impl() const {
    if (!impl_) {
      throw std::logic_error("use of an undefined Tensor (default-constructed); make one with tensor(), zeros(), ...");
    }
    return *impl_;
  }

  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ The constructor: from numbers to a tensor
//
// `Tensor({1, 2, 3, 4, 5, 6}, {2, 3})` takes numbers already in row-major order and a
// shape. It checks that they fit, moves them into a new `Storage`, and records the
// contiguous strides you computed in part 1.
//
// **TODO**: Validate, then set `impl_` to a new `TensorImpl`.
//
// **APPROACH**:
// 1. `shape_numel(shape)` must equal `data.size()`; otherwise throw `ShapeError` saying how
//    many values you got and which shape they should fill.
// 2. `auto storage = std::make_shared<Storage>(std::move(data));`
// 3. Compute `contiguous_strides(shape)`.
// 4. `impl_ = std::make_shared<TensorImpl>(TensorImpl{storage, shape, strides, 0});`
//
// **EXAMPLE**:
// ```cpp
// Tensor m({1, 2, 3, 4, 5, 6}, {2, 3});   // shape [2, 3], strides [3, 1], offset 0
// Tensor bad({1, 2, 3}, {2, 2});          // ShapeError: 3 values cannot fill shape [2, 2] (4 elements)
// ```
//
// **HINTS**:
// - `data.size()` is a `std::size_t`; cast it to `int64_t` before comparing (the compiler
//   warns about signed/unsigned comparisons, and it is right to).
// - Take the arguments by value and `std::move` them: a caller passing a temporary vector
//   then pays for no copy at all.
//
// **SYSTEMS THINKING**: the numbers are allocated exactly once, here. Every view you build
// later shares this buffer through the `shared_ptr`; it is freed when the last tensor
// looking at it goes away.

// %%
//| export impl
namespace tinytorch {

Tensor::Tensor(std::vector<float> data, Shape shape) {
  // BEGIN SOLUTION
  const int64_t count = shape_numel(shape);
  if (static_cast<int64_t>(data.size()) != count) {
    throw ShapeError(std::to_string(data.size()) + " values cannot fill shape " + shape_str(shape) + " (" +
                     std::to_string(count) + " elements)");
  }
  auto storage = std::make_shared<Storage>(std::move(data));
  Shape strides = contiguous_strides(shape);
  impl_ = std::make_shared<TensorImpl>(TensorImpl{std::move(storage), std::move(shape), std::move(strides), 0});
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// The view constructor and `size()` are written for you. The view constructor is the one
// door through which every view (transpose, reshape, expand) is made, so it checks that
// the view cannot reach outside its storage: with non-negative strides the farthest element
// is at `offset + Σ (shape[d] - 1) * strides[d]`.
//
// `wrap_dim` turns a dimension like `-1` into `dim() - 1`; `size`, `transpose` and the
// reductions use it.

// %%
//| export impl
namespace tinytorch {

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset) {
  if (!storage) throw std::invalid_argument("Tensor(): storage is null");
  if (shape.size() != strides.size()) {
    throw ShapeError("Tensor(): shape " + shape_str(shape) + " and strides " + shape_str(strides) +
                     " have different lengths");
  }
  int64_t last = offset;  // farthest position the view can reach
  if (shape_numel(shape) > 0) {
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (strides[d] < 0) throw ShapeError("Tensor(): negative strides are not supported: " + shape_str(strides));
      last += (shape[d] - 1) * strides[d];
    }
    if (offset < 0 || last >= storage->size()) {
      throw IndexError("Tensor(): a view with shape " + shape_str(shape) + ", strides " + shape_str(strides) +
                       " and offset " + std::to_string(offset) + " reaches position " + std::to_string(last) +
                       ", outside a storage of " + std::to_string(storage->size()) + " floats");
    }
  }
  impl_ = std::make_shared<TensorImpl>(TensorImpl{std::move(storage), std::move(shape), std::move(strides), offset});
}

// `dim` counted from the end when negative: wrap_dim(-1, 3) == 2.
static int64_t wrap_dim(int64_t dim, int64_t ndim) {
  if (dim < -ndim || dim >= ndim) {
    throw IndexError("dimension " + std::to_string(dim) + " is out of range for a tensor with " + std::to_string(ndim) +
                     " dimensions (expected " + std::to_string(-ndim) + " to " + std::to_string(ndim - 1) + ")");
  }
  return dim < 0 ? dim + ndim : dim;
}

int64_t Tensor::size(int64_t dim) const { return shape()[wrap_dim(dim, this->dim())]; }

}  // namespace tinytorch

// %% [markdown]
// ### A slot for autograd (written for you; it sleeps until module 05)
//
// In module 05 you will write *autograd*: every op remembers how it made its result, so
// that `loss.backward()` can send gradients back through the whole computation. That only
// works if every op you write in modules 01 to 04 takes part, and you should not have to
// rewrite them when the time comes. So the hooks are here from the start, as they are in
// PyTorch, and they cost nothing until module 05 wakes them up:
//
// - `TensorImpl` has a `requires_grad` flag and an `autograd` pointer, empty for now;
// - each op in this library comes in two layers, as in PyTorch. The **kernel**, in namespace
//   `tinytorch::native`, computes the numbers: that is the code you write. The **op** that
//   everyone calls (`Tensor::transpose`, `operator+`, `relu`) is a thin wrapper, written for
//   you, that calls the kernel through `autograd::record`:
//
// ```cpp
// Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
//   return autograd::record("transpose", {*this}, {dim0, dim1}, 0.0f,
//                           [&] { return native::transpose(*this, dim0, dim1); });
// }
// ```
//
// `record` runs the kernel. If module 05 has installed a *recorder*, and one of the inputs
// requires grad, it also hands the recorder the op's name, inputs and arguments, and the
// recorder attaches "how this was made" to the result. Before module 05 no recorder exists,
// and `record` is exactly a call of the kernel.
//
// Ops that are combinations of other ops (`mean` is `sum` then a division, `reshape` is
// `view` or `clone` then `view`) need no wrapper: their parts are recorded one by one.
//
// `record` has a second sleeping hook, for module 10's profiler: while a profiler is
// installed, it is told when each op's kernel starts and ends, with the op's inputs and
// output, so that it can time the op and count its FLOPs and bytes. Until then the hook costs
// one relaxed atomic load per op (a load of a pointer that stays null).

// %%
//| export
namespace tinytorch::autograd {

// One call of a differentiable op, as autograd sees it: the op's name, its inputs, and the
// arguments that are not tensors (dimensions, keepdim, a scalar).
struct OpCall {
  const char* op = "";
  std::vector<Tensor> inputs;
  std::vector<int64_t> ints;
  float scalar = 0.0f;
};

// Attaches to `output` autograd's record of the call that made it. Module 05 installs one.
using Recorder = void (*)(OpCall call, const Tensor& output);

// Installs `recorder` for every thread (nullptr removes it). Module 05 does this once, when
// the program starts.
void set_recorder(Recorder recorder) noexcept;
// The installed recorder, or nullptr.
Recorder recorder() noexcept;

// While one lives, ops on this thread record nothing (module 05's NoGradGuard is one).
class PauseRecording {
 public:
  PauseRecording() noexcept;
  ~PauseRecording();
  PauseRecording(const PauseRecording&) = delete;
  PauseRecording& operator=(const PauseRecording&) = delete;
};

// True while a PauseRecording lives on this thread.
bool recording_paused() noexcept;

// True when an op on `inputs` must be recorded: a recorder is installed, this thread is not
// paused, and one of the inputs requires grad.
bool should_record(std::initializer_list<Tensor> inputs) noexcept;

// What module 10's profiler is told: an op's kernel (through record), a node of the backward
// pass (module 05), or a range a program names (module 10's RecordFunction).
enum class EventKind { op, backward, range };

// Called around every op, backward node and range while installed: `enter` before, `exit`
// after (with what the cost formulas need; `output` is null when the op threw). Module 10
// installs one while a profiler runs; until then an op pays one relaxed atomic load.
struct OpProfiler {
  void (*enter)(EventKind kind, const char* name);
  void (*exit)(EventKind kind, const char* name, std::span<const Tensor> inputs, std::span<const int64_t> ints,
               const Tensor* output);
};
// Installs `profiler` (static lifetime) for every thread; nullptr removes it.
void set_op_profiler(const OpProfiler* profiler) noexcept;
// The installed profiler, or nullptr (one relaxed atomic load).
const OpProfiler* op_profiler() noexcept;

namespace detail {
// The recording half of record(): hands the installed recorder the call that made `output`.
void record_call(const char* op, std::initializer_list<Tensor> inputs, const int64_t* ints, std::size_t count,
                 float scalar, Tensor& output);

// compute(), between the profiler's enter and exit.
template <typename Compute>
Tensor profiled(const OpProfiler& profiler, EventKind kind, const char* op, std::span<const Tensor> inputs,
                std::span<const int64_t> ints, Compute& compute) {
  profiler.enter(kind, op);
  Tensor output;
  try {
    output = compute();
  } catch (...) {
    profiler.exit(kind, op, inputs, ints, nullptr);
    throw;
  }
  profiler.exit(kind, op, inputs, ints, &output);
  return output;
}

template <typename Compute>
Tensor record_unprofiled(const char* op, std::initializer_list<Tensor> inputs, const int64_t* ints,
                         std::size_t count, float scalar, Compute& compute) {
  if (!should_record(inputs)) return compute();
  Tensor output;
  {
    PauseRecording kernel_only;
    output = compute();
  }
  record_call(op, inputs, ints, count, scalar, output);
  return output;
}

template <typename Compute>
Tensor record(const char* op, std::initializer_list<Tensor> inputs, const int64_t* ints, std::size_t count,
              float scalar, Compute& compute) {
  if (const OpProfiler* profiler = op_profiler()) [[unlikely]] {
    auto timed = [&] {
      return profiled(*profiler, EventKind::op, op, std::span<const Tensor>(inputs.begin(), inputs.size()),
                      std::span<const int64_t>(ints, count), compute);
    };
    return record_unprofiled(op, inputs, ints, count, scalar, timed);
  }
  return record_unprofiled(op, inputs, ints, count, scalar, compute);
}
}  // namespace detail

// Returns compute() and, when should_record(inputs), records the call. The kernel's own
// tensor operations are not recorded: the op is one step of the graph, however it is computed.
template <typename Compute>
Tensor record(const char* op, std::initializer_list<Tensor> inputs, std::initializer_list<int64_t> ints,
              float scalar, Compute compute) {
  return detail::record(op, inputs, ints.begin(), ints.size(), scalar, compute);
}

// The same, with the integer arguments in a vector (permute's dimensions).
template <typename Compute>
Tensor record(const char* op, std::initializer_list<Tensor> inputs, const Shape& ints, float scalar,
              Compute compute) {
  return detail::record(op, inputs, ints.data(), ints.size(), scalar, compute);
}

// An op with tensor inputs only.
template <typename Compute>
Tensor record(const char* op, std::initializer_list<Tensor> inputs, Compute compute) {
  return detail::record(op, inputs, nullptr, 0, 0.0f, compute);
}

}  // namespace tinytorch::autograd

// %%
//| export impl
namespace tinytorch {
namespace autograd {
namespace {
std::atomic<Recorder> installed_recorder{nullptr};
std::atomic<const OpProfiler*> installed_profiler{nullptr};
thread_local int pause_depth = 0;
}  // namespace

void set_recorder(Recorder recorder) noexcept { installed_recorder.store(recorder); }
Recorder recorder() noexcept { return installed_recorder.load(std::memory_order_relaxed); }
void set_op_profiler(const OpProfiler* profiler) noexcept { installed_profiler.store(profiler); }
const OpProfiler* op_profiler() noexcept { return installed_profiler.load(std::memory_order_relaxed); }

PauseRecording::PauseRecording() noexcept { ++pause_depth; }
PauseRecording::~PauseRecording() { --pause_depth; }
bool recording_paused() noexcept { return pause_depth > 0; }

bool should_record(std::initializer_list<Tensor> inputs) noexcept {
  if (pause_depth > 0 || recorder() == nullptr) return false;
  for (const Tensor& input : inputs) {
    if (input.defined() && input.requires_grad()) return true;
  }
  return false;
}

namespace detail {

void record_call(const char* op, std::initializer_list<Tensor> inputs, const int64_t* ints, std::size_t count,
                 float scalar, Tensor& output) {
  for (const Tensor& input : inputs) {  // an op's result is a tensor of its own, never one of its inputs
    if (output.impl_ptr() == input.impl_ptr()) output = output.detach();
  }
  OpCall call{op, std::vector<Tensor>(inputs), std::vector<int64_t>(ints, ints + count), scalar};
  if (Recorder installed = recorder()) installed(std::move(call), output);
}

}  // namespace detail

}  // namespace autograd

namespace memory {
namespace {
std::atomic<const AllocationObserver*> installed_observer{nullptr};
}  // namespace
void set_allocation_observer(const AllocationObserver* observer) noexcept { installed_observer.store(observer); }
const AllocationObserver* allocation_observer() noexcept {
  return installed_observer.load(std::memory_order_relaxed);
}

namespace {

// Buffers below this many floats (64 KiB) are left to malloc, which keeps small blocks of its
// own and reuses them quickly; caching them would only add a lock.
constexpr std::size_t kSmallestCached = std::size_t{1} << 14;

// Freed buffers by capacity, for the next new_buffer of that size.
class BufferCache {
 public:
  std::vector<float> take(std::size_t count) {
    if (count < kSmallestCached) return std::vector<float>(count);
    {
      const std::lock_guard lock(mutex_);
      const auto free = free_.find(count);
      if (free != free_.end() && !free->second.empty()) {
        std::vector<float> buffer = std::move(free->second.back());
        free->second.pop_back();
        cached_bytes_ -= buffer.capacity() * sizeof(float);
        ++hits_;
        buffer.resize(count);  // within its capacity: never reallocates
        return buffer;
      }
      ++misses_;
      if (free == free_.end()) free_.try_emplace(count);  // this size is wanted from now on
    }
    return std::vector<float>(count);
  }

  void give_back(std::vector<float>& buffer) noexcept {
    const std::size_t capacity = buffer.capacity();
    if (capacity < kSmallestCached) return;
    const std::lock_guard lock(mutex_);
    const auto free = free_.find(capacity);
    if (free == free_.end()) return;  // a size nobody asked new_buffer for
    const std::size_t bytes = capacity * sizeof(float);
    if (cached_bytes_ + bytes > limit_bytes_) return;
    try {
      free->second.push_back(std::move(buffer));
      cached_bytes_ += bytes;
    } catch (const std::bad_alloc&) {  // no room to remember it: the buffer is simply freed
    }
  }

  BufferCacheStats stats() {
    const std::lock_guard lock(mutex_);
    return {hits_, misses_, cached_bytes_, limit_bytes_};
  }

  void set_limit(std::size_t bytes) noexcept {
    {
      const std::lock_guard lock(mutex_);
      limit_bytes_ = bytes;
    }
    trim(bytes);
  }

  // Frees cached buffers until at most `bytes` are held.
  void trim(std::size_t bytes) noexcept {
    const std::lock_guard lock(mutex_);
    for (auto& [capacity, buffers] : free_) {
      while (cached_bytes_ > bytes && !buffers.empty()) {
        cached_bytes_ -= capacity * sizeof(float);
        buffers.pop_back();
      }
    }
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<std::vector<float>>> free_;
  std::size_t cached_bytes_ = 0;
  std::size_t limit_bytes_ = std::size_t{1} << 30;
  std::size_t hits_ = 0;
  std::size_t misses_ = 0;
};

// Never destroyed: a static tensor of the user's may die after every other static.
BufferCache& buffer_cache() {
  static BufferCache* cache = new BufferCache;
  return *cache;
}

}  // namespace

std::vector<float> new_buffer(std::size_t count) { return buffer_cache().take(count); }
void give_back(std::vector<float>&& buffer) noexcept { buffer_cache().give_back(buffer); }
BufferCacheStats buffer_cache_stats() noexcept { return buffer_cache().stats(); }
void set_buffer_cache_limit(std::size_t bytes) noexcept { buffer_cache().set_limit(bytes); }
void empty_buffer_cache() noexcept { buffer_cache().trim(0); }
}  // namespace memory

Tensor& Tensor::requires_grad_(bool requires_grad) {
  (void)impl();  // an undefined tensor throws, as everywhere
  impl_->requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::detach() const { return Tensor(storage(), shape(), strides(), offset()); }

}  // namespace tinytorch

// %%
//| test
TEST(UnitConstruct, KeepsValuesShapeAndStrides) {
  Tensor m({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(m.shape(), (Shape{2, 3}));
  EXPECT_EQ(m.strides(), (Shape{3, 1}));
  EXPECT_EQ(m.numel(), 6);
  EXPECT_EQ(m.data()[4], 5.0f);
}

TEST(UnitConstruct, WrongNumberOfValuesIsAShapeError) {
  EXPECT_THROW(Tensor({1, 2, 3}, {2, 2}), ShapeError);
}

// %% [markdown]
// ## Part 3: Seeing tensors
//
// `std::cout << t` prints a tensor the way PyTorch does, so you can compare the two side by
// side:
//
//     tensor([[1., 2., 3.],
//             [4., 5., 6.]])
//
// This part is written for you (read it; you will want to print tensors while you debug
// the rest). It follows PyTorch's rules:
//
// - if every value is a whole number, print `1.` (the dot says "float");
//   otherwise four decimals `0.5000`; scientific `1.0000e+08` when the magnitudes span
//   more than a factor of 1000 or exceed 10⁸, or when a fraction is below 10⁻⁴;
// - right-align every number to the widest one, so columns line up;
// - wrap long rows at 80 characters;
// - above 1000 elements, show only the first and last 3 along each dimension, with `...`.
//
// Notice how it reads elements: `storage()->data()[position]`, moving `position` by
// `strides()[d]` for each step along dimension `d`. Printing a transposed view therefore
// works without copying anything.

// %%
//| export
namespace tinytorch {

// PyTorch-style text: "tensor([[1., 2.],\n        [3., 4.]])".
std::ostream& operator<<(std::ostream& os, const Tensor& tensor);

}  // namespace tinytorch

// %%
//| export impl
namespace tinytorch {
namespace {

constexpr int64_t kSummarizeAbove = 1000;  // more elements than this: show only the edges
constexpr int64_t kEdgeItems = 3;          // elements kept at each end of a summarized dimension
constexpr int64_t kLineWidth = 80;

// Indices of a dimension that get printed; -1 marks the "..." gap.
std::vector<int64_t> shown_indices(int64_t size, bool summarize) {
  std::vector<int64_t> indices;
  const bool cut = summarize && size > 2 * kEdgeItems;
  for (int64_t i = 0; i < size; ++i) {
    if (cut && i == kEdgeItems) {
      indices.push_back(-1);
      i = size - kEdgeItems;
    }
    indices.push_back(i);
  }
  return indices;
}

// Chooses one format for all printed values (PyTorch's _Formatter), from the nonzero finite ones.
class ValueFormatter {
 public:
  explicit ValueFormatter(const std::vector<float>& values) {
    double max_abs = 0.0;
    double min_abs = std::numeric_limits<double>::infinity();
    for (float v : values) {
      if (!std::isfinite(v) || v == 0.0f) continue;
      if (v != std::ceil(v)) int_mode_ = false;
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(v)));
      min_abs = std::min(min_abs, std::fabs(static_cast<double>(v)));
    }
    if (max_abs == 0.0) return;  // only zeros, infinities and NaNs
    sci_mode_ = max_abs / min_abs > 1000.0 || max_abs > 1.0e8 || (!int_mode_ && min_abs < 1.0e-4);
    for (float v : values) {
      if (std::isfinite(v) && v != 0.0f) width_ = std::max(width_, raw(v).size());
    }
  }

  // `v` right-aligned to the common width.
  std::string operator()(float v) const {
    std::string text = raw(v);
    return std::string(width_ > text.size() ? width_ - text.size() : 0, ' ') + text;
  }

  std::size_t width() const { return width_; }

 private:
  std::string raw(float v) const {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buffer[64];
    const double x = v;
    if (sci_mode_) {
      std::snprintf(buffer, sizeof buffer, "%.4e", x);
    } else if (int_mode_) {
      std::snprintf(buffer, sizeof buffer, "%.0f.", x);
    } else {
      std::snprintf(buffer, sizeof buffer, "%.4f", x);
    }
    return buffer;
  }

  bool int_mode_ = true;
  bool sci_mode_ = false;
  std::size_t width_ = 1;
};

class TensorPrinter {
 public:
  explicit TensorPrinter(const Tensor& tensor)
      : tensor_(tensor),
        base_(tensor.storage()->data()),
        summarize_(tensor.numel() > kSummarizeAbove),
        format_(shown_values()) {}

  std::string str() const {
    if (tensor_.numel() == 0) {
      if (tensor_.dim() == 1) return "tensor([])";
      std::string sizes = shape_str(tensor_.shape());
      return "tensor([], size=(" + sizes.substr(1, sizes.size() - 2) + "))";
    }
    const int64_t indent = 7;  // the width of "tensor("
    return "tensor(" + str(0, tensor_.offset(), indent) + ")";
  }

 private:
  std::vector<float> shown_values() const {
    std::vector<float> values;
    collect(0, tensor_.offset(), values);
    return values;
  }

  void collect(int64_t d, int64_t position, std::vector<float>& values) const {
    if (d == tensor_.dim()) {
      values.push_back(base_[position]);
      return;
    }
    for (int64_t i : shown_indices(tensor_.shape()[d], summarize_)) {
      if (i >= 0) collect(d + 1, position + i * tensor_.strides()[d], values);
    }
  }

  // Dimensions d.. of the element block starting at `position`.
  std::string str(int64_t d, int64_t position, int64_t indent) const {
    if (d == tensor_.dim()) return format_(base_[position]);  // a 0-D tensor
    const int64_t stride = tensor_.strides()[d];
    const std::vector<int64_t> indices = shown_indices(tensor_.shape()[d], summarize_);
    std::string out = "[";
    if (d == tensor_.dim() - 1) {  // a row of numbers, wrapped to the line width
      const auto per_line = std::max<int64_t>(1, (kLineWidth - indent) / static_cast<int64_t>(format_.width() + 2));
      for (std::size_t k = 0; k < indices.size(); ++k) {
        if (k > 0) out += static_cast<int64_t>(k) % per_line == 0 ? ",\n" + std::string(indent + 1, ' ') : ", ";
        out += indices[k] < 0 ? " ..." : format_(base_[position + indices[k] * stride]);
      }
    } else {  // blocks separated by one newline per remaining dimension, minus one
      const std::string separator =
          "," + std::string(tensor_.dim() - d - 1, '\n') + std::string(indent + 1, ' ');
      for (std::size_t k = 0; k < indices.size(); ++k) {
        if (k > 0) out += separator;
        out += indices[k] < 0 ? "..." : str(d + 1, position + indices[k] * stride, indent + 1);
      }
    }
    return out + "]";
  }

  const Tensor& tensor_;
  const float* base_;
  bool summarize_;
  ValueFormatter format_;
};

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& tensor) {
  if (!tensor.defined()) return os << "tensor(undefined)";
  std::string text = TensorPrinter(tensor).str();
  if (tensor.requires_grad()) text.insert(text.size() - 1, ", requires_grad=True");  // as PyTorch prints it
  return os << text;
}

}  // namespace tinytorch

// %%
//| demo
Tensor m({1, 2, 3, 4, 5, 6}, {2, 3});
std::cout << "A 2x3 matrix:\n" << m << "\n";
std::cout << "shape " << shape_str(m.shape()) << ", strides " << shape_str(m.strides()) << ", offset "
          << m.offset() << ", " << m.numel() << " elements\n";
std::cout << "Its storage, as memory holds it: [";
for (int64_t i = 0; i < m.storage()->size(); ++i) std::cout << (i ? ", " : "") << m.storage()->data()[i];
std::cout << "]\n";

// %% [markdown]
// ## Part 4: Making tensors
//
// libtorch makes tensors with free functions (`torch::zeros({2, 3})`, `torch::tensor(...)`),
// and so do we. The constructor does the real work; these are conveniences on top.

// %%
//| export
namespace tinytorch {

namespace detail {
// One number of a 1-D tensor({...}) list. A class rather than a plain float, so that a
// column tensor({{1}, {2}}) picks the 2-D overload instead of being ambiguous.
struct ListValue {
  ListValue(float v) : value(v) {}  // implicit on purpose: tensor({1, 2, 3})
  float value;
};
}  // namespace detail

// 1-D tensor from a list: tensor({1, 2, 3}).
Tensor tensor(std::initializer_list<detail::ListValue> values);
// 2-D tensor from rows of equal length: tensor({{1, 2}, {3, 4}}).
Tensor tensor(std::initializer_list<std::initializer_list<float>> rows);
// 0-D tensor holding one value (shape []).
Tensor scalar_tensor(float value);
// Every element equal to `value`.
Tensor full(Shape shape, float value);
Tensor zeros(Shape shape);
Tensor ones(Shape shape);
// Values unset (torch::empty): a buffer from memory::new_buffer, which may hold a freed tensor's
// numbers. For an output that is about to have every element written.
Tensor empty(Shape shape);
// Same shape as `other`, new storage.
Tensor zeros_like(const Tensor& other);
Tensor ones_like(const Tensor& other);
// start, start + step, start + 2 step, ... up to but excluding `end` (1-D).
Tensor arange(float start, float end, float step = 1.0f);
// 0, 1, ..., end - 1.
Tensor arange(float end);

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `tensor`: from C++ lists
//
// **TODO**: Build a 1-D tensor from a flat list, and a 2-D tensor from a list of rows.
//
// **APPROACH** (1-D):
// 1. Copy each number (`v.value`) into a `std::vector<float>`; the shape is `{values.size()}`.
//    (The list holds `detail::ListValue`, a float in a thin wrapper; the declaration above
//    says why.)
//
// **APPROACH** (2-D):
// 1. The shape is `{rows.size(), first row's size}` (0 columns if there are no rows).
// 2. Append every row to one vector, row after row: that *is* row-major order.
// 3. If a row has a different length, throw
//    `ShapeError("tensor(): row 1 has 3 values, but row 0 has 2")`: a matrix cannot be ragged.
//
// **EXAMPLE**:
// ```cpp
// tensor({1, 2, 3})           // tensor([1., 2., 3.]), shape [3]
// tensor({{1, 2}, {3, 4}})    // shape [2, 2]
// tensor({{1, 2}, {3}})       // ShapeError
// ```
//
// **HINTS**:
// - `std::initializer_list` has `size()`, `begin()` and `end()`, so range-for works on it.
// - `reserve` the vector before appending: one allocation instead of several.
//
// **SYSTEMS THINKING**: the numbers in `tensor({1, 2, 3})` are copied twice, from the
// compiler's constant array into the list and from the list into your vector. For a handful
// of numbers in a test that costs nothing; real data (a batch of images) is never built this
// way, but read straight into a tensor's storage.

// %%
//| export impl
namespace tinytorch {

Tensor tensor(std::initializer_list<detail::ListValue> values) {
  // BEGIN SOLUTION
  std::vector<float> data;
  data.reserve(values.size());
  for (detail::ListValue v : values) data.push_back(v.value);
  return Tensor(std::move(data), {static_cast<int64_t>(values.size())});
  // END SOLUTION
}

Tensor tensor(std::initializer_list<std::initializer_list<float>> rows) {
  // BEGIN SOLUTION
  const std::size_t columns = rows.size() == 0 ? 0 : rows.begin()->size();
  std::vector<float> values;
  values.reserve(rows.size() * columns);
  std::size_t r = 0;
  for (const auto& row : rows) {
    if (row.size() != columns) {
      throw ShapeError("tensor(): row " + std::to_string(r) + " has " + std::to_string(row.size()) +
                       " values, but row 0 has " + std::to_string(columns));
    }
    values.insert(values.end(), row.begin(), row.end());
    ++r;
  }
  return Tensor(std::move(values), {static_cast<int64_t>(rows.size()), static_cast<int64_t>(columns)});
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `full`, and the helpers built on it
//
// **TODO**: Return a tensor of `shape` with every element equal to `value`.
//
// **APPROACH**:
// 1. `memory::new_buffer(n)` with `n = shape_numel(shape)`: a `std::vector<float>` of `n`
//    values, perhaps a freed tensor's buffer (see "Where buffers come from" in part 2), so
//    its values are whatever that tensor held.
// 2. Set every value with `std::fill`, and hand the vector to the constructor.
//
// **EXAMPLE**:
// ```cpp
// full({2, 2}, 7)   // tensor([[7., 7.], [7., 7.]])
// zeros({3})        // tensor([0., 0., 0.])   (written for you: full(shape, 0))
// ```
//
// **HINTS**:
// - Compute `n` before you `std::move(shape)` into the constructor: the order in which
//   function arguments are evaluated is unspecified in C++.
//
// **SYSTEMS THINKING**: `zeros({1024, 1024, 64})` writes 256 MiB of zeros before anyone
// reads them. An op's output is about to be overwritten anyway, so the ops of this library
// (`map`, `native::elementwise`, the pooling and GEMM outputs of later modules) make it with
// `empty` (written for you, PyTorch's `torch::empty`): `new_buffer` and nothing else, no pass
// over memory. The price: an op that forgets an element leaves a freed tensor's number there,
// not a zero, so the tests compare every element. In the course's CNN the skipped fills were
// about 7% of a training step (`perf record` on `bench/cnn_bench`).

// %%
//| export impl
namespace tinytorch {

Tensor full(Shape shape, float value) {
  // BEGIN SOLUTION
  std::vector<float> values = memory::new_buffer(static_cast<std::size_t>(shape_numel(shape)));
  std::fill(values.begin(), values.end(), value);
  return Tensor(std::move(values), std::move(shape));
  // END SOLUTION
}

Tensor scalar_tensor(float value) { return Tensor({value}, Shape{}); }
Tensor zeros(Shape shape) { return full(std::move(shape), 0.0f); }
Tensor ones(Shape shape) { return full(std::move(shape), 1.0f); }
Tensor empty(Shape shape) {
  std::vector<float> values = memory::new_buffer(static_cast<std::size_t>(shape_numel(shape)));
  return Tensor(std::move(values), std::move(shape));
}
Tensor zeros_like(const Tensor& other) { return zeros(other.shape()); }
Tensor ones_like(const Tensor& other) { return ones(other.shape()); }

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `arange`: evenly spaced values
//
// **TODO**: Return the 1-D tensor `start, start + step, ...`, stopping *before* `end`.
//
// **APPROACH**:
// 1. `step == 0` never reaches the end: throw `std::invalid_argument`.
// 2. The count is `ceil((end - start) / step)`. If it is negative the step points away
//    from `end`: throw `std::invalid_argument` too.
// 3. Element `i` is `start + i * step`.
//
// **EXAMPLE**:
// ```cpp
// arange(5)             // tensor([0., 1., 2., 3., 4.])
// arange(1, 2, 0.25)    // tensor([1.0000, 1.2500, 1.5000, 1.7500])
// arange(3, 0, -1)      // tensor([3., 2., 1.])
// ```
//
// **HINTS**:
// - Do the count arithmetic in `double`.
// - Compute each element as `start + i * step`, not by adding `step` again and again: a
//   running sum collects one rounding error per addition, the product only one.
//
// **SYSTEMS THINKING**: a `float` holds every integer only up to 2²⁴ = 16,777,216. Beyond
// that `arange` cannot list consecutive integers at all: 16,777,217 rounds to 16,777,216.
// Indices are therefore kept in `int64_t`, never in the tensor's own floats.

// %%
//| export impl
namespace tinytorch {

Tensor arange(float start, float end, float step) {
  // BEGIN SOLUTION
  if (step == 0.0f) throw std::invalid_argument("arange(): step must not be zero");
  const double span = (static_cast<double>(end) - start) / step;
  if (span < 0) {
    throw std::invalid_argument("arange(): the step points away from the end (a positive step needs start <= end, "
                                "a negative one start >= end)");
  }
  const auto count = static_cast<int64_t>(std::ceil(span));
  std::vector<float> values(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    values[static_cast<std::size_t>(i)] = static_cast<float>(start + static_cast<double>(i) * step);
  }
  return Tensor(std::move(values), {count});
  // END SOLUTION
}

Tensor arange(float end) { return arange(0.0f, end, 1.0f); }

}  // namespace tinytorch

// %% [markdown]
// ### Random tensors that are the same everywhere
//
// Neural networks start from random weights, and experiments must be repeatable: the same
// seed must give the same numbers on your laptop, on the grader and in CI. The C++ standard
// library does **not** promise that. `std::mt19937` is specified bit for bit, but
// `std::normal_distribution` is not: libstdc++ (GCC), libc++ (Clang/macOS) and MSVC use
// different algorithms and give different numbers for the same seed. So we write the
// generator ourselves, from integer arithmetic that is identical on every machine.
//
// `Generator` (written for you) is **SplitMix64**: a 64-bit counter, scrambled by two
// multiply-xorshift rounds. It is tiny, fast and passes the standard statistical test
// batteries. `uniform()` takes the top 24 bits and scales them by 2⁻²⁴, which gives every
// float `k / 2²⁴` in [0, 1) with equal probability, exactly.
//
// Gaussian numbers come from uniform ones by the **Box–Muller transform**: for independent
// uniform `u1` in (0, 1] and `u2` in [0, 1),
//
//     z = sqrt(-2 ln u1) * cos(2π u2)
//
// is a standard normal number (mean 0, standard deviation 1). You write that part.
//
// A `Generator` is also passed around on its own, so one seed can drive many tensors (all
// the layers of a model, or the shuffling of a dataset).

// %%
//| export
namespace tinytorch {

// A reproducible random number generator (SplitMix64): the same seed gives the same stream
// on every platform and compiler.
class Generator {
 public:
  explicit Generator(uint64_t seed) : state_(seed) {}
  // The next 64 random bits.
  uint64_t next_u64();
  // Uniform in [0, 1), in steps of 2^-24.
  float uniform();
  // Standard normal (mean 0, standard deviation 1), by Box-Muller.
  float normal();

 private:
  uint64_t state_;
};

// Uniform values in [0, 1), in row-major order.
Tensor rand(Shape shape, uint64_t seed);
Tensor rand(Shape shape, Generator& generator);
// Standard normal values, in row-major order.
Tensor randn(Shape shape, uint64_t seed);
Tensor randn(Shape shape, Generator& generator);

}  // namespace tinytorch

// %%
//| export impl
namespace tinytorch {

uint64_t Generator::next_u64() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float Generator::uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `Generator::normal`: Box–Muller
//
// **TODO**: Return one standard normal number.
//
// **APPROACH**:
// 1. `u1 = 1.0 - uniform()`: in (0, 1], so `log(u1)` is finite (`log(0)` is `-inf`).
// 2. `u2 = uniform()`.
// 3. Return `sqrt(-2 log u1) * cos(2π u2)`, computed in `double`, converted to `float`.
//
// Use exactly this recipe (first draw is `u1`, second is `u2`, cosine not sine): a test
// checks the numbers a seed produces, which is the whole point of a reproducible generator.
//
// **EXAMPLE**:
// ```cpp
// Generator g(42);
// g.normal();   // 0.882249, the same on every machine
// ```
//
// **HINTS**:
// - `std::numbers::pi` (header `<numbers>`, C++20).
// - Box–Muller makes *two* normals per pair (`sin` gives the second); we keep only one,
//   which is simpler and still exact in distribution.
//
// **SYSTEMS THINKING**: the integers are identical everywhere; `log` and `cos` are computed
// in `double` and rounded to `float`, so a last-bit difference between two math libraries
// almost never shows. Production libraries (PyTorch's Philox, JAX's threefry) go further and
// use counter-based generators, so that thousands of GPU threads can each jump to their own
// part of the stream.

// %%
//| export impl
namespace tinytorch {

float Generator::normal() {
  // BEGIN SOLUTION
  const double u1 = 1.0 - static_cast<double>(uniform());
  const double u2 = static_cast<double>(uniform());
  const double radius = std::sqrt(-2.0 * std::log(u1));
  return static_cast<float>(radius * std::cos(2.0 * std::numbers::pi * u2));
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `randn`: a tensor of normal numbers
//
// **TODO**: Fill a tensor of `shape` with `generator.normal()`, in row-major order.
//
// **APPROACH**:
// 1. Take `memory::new_buffer(shape_numel(shape))` and set each value to `generator.normal()`.
// 2. Hand it to the constructor.
//
// **EXAMPLE**:
// ```cpp
// randn({2, 3}, 42)        // the same 6 numbers every run, on every machine
// Generator g(7);
// randn({3}, g); randn({2}, g);   // together the same 5 numbers as randn({5}, 7)
// ```
//
// The seed overloads (written for you) start a fresh `Generator(seed)`.
//
// **HINTS**:
// - Draw the numbers in row-major order, one `generator.normal()` per element: a test
//   checks that `randn({2, 3}, 7)` is `randn({6}, 7)` reshaped.
// - Take the generator by reference (`Generator&`): a copy would hand the next caller the
//   same numbers again.
//
// **SYSTEMS THINKING**: each normal number costs a logarithm, a square root and a cosine,
// a few dozen nanoseconds. Initializing a model of 25 million weights is then about a
// second of arithmetic: noticeable, which is why libraries generate random numbers in
// parallel and with vector instructions.

// %%
//| export impl
namespace tinytorch {

Tensor randn(Shape shape, Generator& generator) {
  // BEGIN SOLUTION
  std::vector<float> values = memory::new_buffer(static_cast<std::size_t>(shape_numel(shape)));
  for (float& value : values) value = generator.normal();
  return Tensor(std::move(values), std::move(shape));
  // END SOLUTION
}

Tensor randn(Shape shape, uint64_t seed) {
  Generator generator(seed);
  return randn(std::move(shape), generator);
}

Tensor rand(Shape shape, Generator& generator) {
  std::vector<float> values = memory::new_buffer(static_cast<std::size_t>(shape_numel(shape)));
  for (float& value : values) value = generator.uniform();
  return Tensor(std::move(values), std::move(shape));
}

Tensor rand(Shape shape, uint64_t seed) {
  Generator generator(seed);
  return rand(std::move(shape), generator);
}

}  // namespace tinytorch

// %%
//| test
TEST(UnitCreate, TwoDimensionalListIsRowMajor) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(m.shape(), (Shape{2, 3}));
  EXPECT_EQ(m.data()[3], 4.0f);
}

TEST(UnitCreate, ArangeStopsBeforeEnd) {
  Tensor r = arange(5);
  EXPECT_EQ(r.shape(), (Shape{5}));
  EXPECT_EQ(r.data()[4], 4.0f);
}

TEST(UnitCreate, FullFillsABufferThatHeldAnotherTensor) {
  constexpr int64_t n = 1 << 16;  // large enough for the buffer cache
  { Tensor sevens = full({n}, 7); }
  Tensor zero = zeros({n});  // most likely the sevens' buffer, handed out again
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(zero.data()[i], 0.0f) << "element " << i;
}

TEST(UnitCreate, SameSeedGivesSameNumbers) {
  Tensor a = randn({100}, 7);
  Tensor b = randn({100}, 7);
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(a.data()[i], b.data()[i]);
}

// %%
//| demo
std::cout << "arange(0, 1, 0.25) = " << arange(0, 1, 0.25) << "\n";
std::cout << "full({2, 2}, 7) =\n" << full({2, 2}, 7) << "\n";
std::cout << "randn({2, 3}, 42) =\n" << randn({2, 3}, 42) << "\n";
Tensor samples = randn({10000}, 1);
Tensor centred = samples - samples.mean();
std::cout << "10000 samples of randn: mean " << samples.mean().item() << ", variance "
          << (centred * centred).mean().item() << " (near 0 and 1)\n";
std::cout << "Above 1000 elements, only the edges are printed:\n" << randn({40, 50}, 3) << "\n";

// %% [markdown]
// The claim of `full`'s SYSTEMS THINKING, measured: a tensor of 64 MiB, as a training step makes
// them, with its buffer from the cache each time, by `zeros` and by `empty` (median of 5 runs).

// %%
//| demo
#include <tinytorch/timing.hpp>

{ Tensor warm = zeros({16, 1024, 1024}); }  // one buffer of this size in the cache, as after a first step
const double t_zeros = timing::median_seconds(5, [] { (void)zeros({16, 1024, 1024}); });
const double t_empty = timing::median_seconds(5, [] { (void)empty({16, 1024, 1024}); });
std::printf("a [16, 1024, 1024] tensor (64 MiB): zeros %.2f ms, empty %.1f us\n", t_zeros * 1e3, t_empty * 1e6);

// %% [markdown]
// ## Part 5: Reading and writing elements
//
// ### ⭐⭐ `at`: find an element through the strides
//
// This is the formula from the top of the module, in code. Everything else in the module is
// a more efficient way of doing what `at` does.
//
// **TODO**: Return a reference to element `index` in the storage.
//
// **APPROACH**:
// 1. `index.size()` must equal `dim()`; otherwise throw `IndexError` naming both.
// 2. Start with `position = offset()`.
// 3. For each dimension `d`: let `i = index[d]`. If `i < -size` or `i >= size`, throw
//    `IndexError("index 3 is out of bounds for dimension 1 with size 3")`. If `i` is
//    negative add `size` (Python-style: `-1` is the last). Then `position += i * strides()[d]`.
// 4. Return `storage()->data()[position]`.
//
// **EXAMPLE**:
// ```cpp
// Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
// m.at({1, 0})       // 4
// m.at({-1, -1})     // 6
// m.at({0, 1}) = 9;  // writes into the storage
// m.at({0, 3})       // IndexError: index 3 is out of bounds for dimension 1 with size 3
// ```
//
// **HINTS**:
// - Use `storage()->data()` plus `position`, where `position` already includes `offset()`;
//   `data()` has the offset added, so do not add it twice.
//
// **SYSTEMS THINKING**: `at` costs a multiply-add per dimension and a bounds check per call.
// That is fine for tests and for poking at a tensor, far too slow for a loop over a million
// elements. The fast loops later in this module work on raw pointers instead.

// %%
//| export impl
namespace tinytorch {

float& Tensor::at(const std::vector<int64_t>& index) const {
  // BEGIN SOLUTION
  if (static_cast<int64_t>(index.size()) != dim()) {
    throw IndexError("at(): got " + std::to_string(index.size()) + " indices for a tensor of shape " +
                     shape_str(shape()) + ", which needs " + std::to_string(dim()));
  }
  int64_t position = offset();
  for (int64_t d = 0; d < dim(); ++d) {
    const int64_t size = shape()[d];
    int64_t i = index[d];
    if (i < -size || i >= size) {
      throw IndexError("index " + std::to_string(i) + " is out of bounds for dimension " + std::to_string(d) +
                       " with size " + std::to_string(size));
    }
    if (i < 0) i += size;
    position += i * strides()[d];
  }
  return storage()->data()[position];
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `item`: the one number
//
// Reductions return 0-D tensors (`sum()` has shape `[]`); `item()` takes the number out,
// like `tensor.item<float>()` in libtorch.
//
// **TODO**: Return the only element, or throw `ShapeError` if there is not exactly one.
//
// **APPROACH**:
// 1. If `numel() != 1`, throw a `ShapeError` naming the element count and the shape.
// 2. Otherwise return the element `data()` points at.
//
// **EXAMPLE**:
// ```cpp
// scalar_tensor(3).item()    // 3
// tensor({5}).item()         // 5   (shape [1] is fine too)
// tensor({1, 2}).item()      // ShapeError: a tensor with 2 elements (shape [2]) ...
// ```
//
// **HINTS**:
// - `data()` already points at the first element of the view: it adds `offset()` for you.
//   A view that starts in the middle of its storage is the test that catches the bug.
//
// **SYSTEMS THINKING**: on a GPU, `item()` is the moment the CPU must wait for every
// queued kernel to finish and copy one number back. In PyTorch, calling `loss.item()`
// after every step is a classic slowdown; logging every hundredth step is the cure.

// %%
//| export impl
namespace tinytorch {

float Tensor::item() const {
  // BEGIN SOLUTION
  if (numel() != 1) {
    throw ShapeError("item(): a tensor with " + std::to_string(numel()) + " elements (shape " + shape_str(shape()) +
                     ") cannot be converted to a single number");
  }
  return *data();
  // END SOLUTION
}

}  // namespace tinytorch

// %%
//| test
TEST(UnitAccess, AtFollowsStrides) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(m.at({1, 0}), 4.0f);
  m.at({0, 2}) = 9;
  EXPECT_EQ(m.data()[2], 9.0f);
}

TEST(UnitAccess, ItemOfScalar) { EXPECT_EQ(scalar_tensor(3).item(), 3.0f); }

// %% [markdown]
// ## Part 6: Views and copies
//
// A view is a new `TensorImpl` on the *same* storage. Making one never touches the numbers:
// it computes a new shape, strides and offset and calls the view constructor
// `Tensor(storage(), shape, strides, offset)`.
//
//     m = tensor({{1, 2, 3}, {4, 5, 6}})   storage [1 2 3 4 5 6]   shape [2, 3]  strides [3, 1]
//     m.t()                                same storage            shape [3, 2]  strides [1, 3]
//     m.view({3, 2})                       same storage            shape [3, 2]  strides [2, 1]
//
// `m.t()` and `m.view({3, 2})` have the same shape and hold different numbers: the
// transpose reads the storage column by column, the view row by row. Only the first is laid
// out in row-major order in memory, i.e. **contiguous**.
//
// ### ⭐⭐ `is_contiguous`
//
// **TODO**: Return true when the strides are the row-major strides of the shape, ignoring
// dimensions of size 1.
//
// **APPROACH**:
// 1. `expected = 1`.
// 2. Walk the dimensions from last to first. Skip a dimension of size 1 (you never step
//    along it, so its stride does not matter). Otherwise its stride must equal `expected`;
//    then `expected *= size`.
//
// **EXAMPLE**:
// ```cpp
// tensor({{1, 2, 3}, {4, 5, 6}}).is_contiguous()       // true   strides [3, 1]
// tensor({{1, 2, 3}, {4, 5, 6}}).t().is_contiguous()   // false  strides [1, 3]
// tensor({1, 2, 3}).reshape({3, 1}).t()                // shape [1, 3], strides [1, 1]: true
// ```
//
// **HINTS**:
// - Count `d` down with a signed `int64_t` from `dim() - 1` to `0`.
// - A scalar (no dimensions) and an empty tensor are contiguous: the loop finds nothing
//   wrong with them.
//
// **SYSTEMS THINKING**: contiguous means "the next element is the next float in memory".
// A loop over contiguous data reads whole 64-byte cache lines (16 floats) front to back,
// and the hardware prefetcher sees the pattern coming; that is as fast as memory goes.

// %%
//| export impl
namespace tinytorch {

bool Tensor::is_contiguous() const {
  // BEGIN SOLUTION
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐⭐ `for_each_element`: walking any view in order
//
// To copy a transposed view into fresh memory, print it, or write into it, you must visit
// its elements in row-major (logical) order, whatever its strides. `at()` could do it, but
// recomputes the whole position for every element. Instead, keep the position as you go,
// like a car's **odometer**: the last digit turns fastest; when a digit rolls over, it goes
// back to 0 and the digit to its left moves on.
//
//     shape [2, 3]:   index [0,0] [0,1] [0,2] [1,0] [1,1] [1,2]
//
// **TODO**: Call `visit(i, position)` for every element: `i` counts 0, 1, 2, ... in
// row-major order, `position` is where element `i` sits in the storage.
//
// **APPROACH**:
// 1. A 0-D tensor has one element: `visit(0, offset())`, done. An empty one has none.
// 2. Copy `shape` and `strides`, and merge neighbours that walk like one dimension: going from
//    `d` to `d + 1`, when `strides[d] == shape[d + 1] * strides[d + 1]`, stepping once along `d`
//    is stepping `shape[d + 1]` times along `d + 1`, so the two are one dimension of
//    `shape[d] * shape[d + 1]` elements with stride `strides[d + 1]`. A contiguous tensor
//    becomes one long row; so does the `[H, W]` of an image broadcast from a `[C, 1, 1]` bias
//    (strides 0 and 0). Walk the merged shape from here on.
// 3. `index` = one counter per (merged) dimension, all 0; `position = tensor.offset()`.
// 4. The last dimension is the fastest digit: walk it as a plain loop, `visit(i + j, position
//    + j * strides[last])` for `j` from 0 to `shape[last] - 1`; then `i += shape[last]`.
// 5. After each such row, advance the odometer of the dimensions before the last: for `d`
//    from `last - 1` down to 0,
//    - `++index[d]`; if it is still `< shape[d]`: `position += strides[d]`, stop.
//    - otherwise the digit rolls over: `position -= (shape[d] - 1) * strides[d]`,
//      `index[d] = 0`, and carry on to `d - 1`.
// 6. Repeat 4 and 5 until `i == numel()`.
//
// **EXAMPLE**:
// ```cpp
// // m.t() has shape [3, 2], strides [1, 3] over storage [1 2 3 4 5 6]
// for_each_element(m.t(), visit);   // visit(0, 0) (1, 3) (2, 1) (3, 4) (4, 2) (5, 5)
// ```
//
// **HINTS**:
// - An empty tensor (`numel() == 0`) visits nothing: return before step 3, or a dimension of
//   size 0 would make the row loop spin forever.
// - `visit` is a template parameter, so the compiler can inline your lambda into the loop.
//
// **SYSTEMS THINKING**: the odometer turns once per row, not once per element, and the row
// loop is a plain loop with a constant stride: after inlining `visit`, the compiler can
// vectorize it (a broadcast row of stride 0, or a contiguous one of stride 1, copies at memory
// speed). Turning the odometer for every element instead costs about 2 ns each: a quarter of
// a millisecond for a `[256, 784]` weight. Merging dimensions (as PyTorch's `TensorIterator`
// does) makes the rows as long as they can be: a convolution's `[64, 32, 32, 32]` output has
// rows of 32 elements, merged rows of 1,024.

// %%
//| export impl
namespace tinytorch {

template <typename Visit>
static void for_each_element(const Tensor& tensor, Visit visit) {
  // BEGIN SOLUTION
  const int64_t count = tensor.numel();
  if (count == 0) return;
  if (tensor.dim() == 0) {
    visit(0, tensor.offset());
    return;
  }
  Shape shape = tensor.shape();
  Shape strides = tensor.strides();
  for (int64_t d = tensor.dim() - 2; d >= 0; --d) {
    const auto at = static_cast<std::size_t>(d);
    if (strides[at] == shape[at + 1] * strides[at + 1]) {
      shape[at + 1] *= shape[at];
      shape.erase(shape.begin() + d);
      strides.erase(strides.begin() + d);
    }
  }
  const auto last = static_cast<int64_t>(shape.size()) - 1;
  const int64_t row = shape[last];
  const int64_t step = strides[last];
  std::vector<int64_t> index(shape.size(), 0);
  int64_t position = tensor.offset();
  for (int64_t i = 0; i < count; i += row) {
    for (int64_t j = 0; j < row; ++j) visit(i + j, position + j * step);
    for (int64_t d = last - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) {
        position += strides[d];
        break;
      }
      position -= (shape[d] - 1) * strides[d];
      index[d] = 0;
    }
  }
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `clone` and `contiguous`
//
// This is the first *kernel* you write (see "A slot for autograd" in part 2): the function
// `native::clone(self)` computes the copy, and `Tensor::clone()`, written for you below it,
// calls it through `autograd::record`. Inside a kernel, the tensor is the parameter `self`.
//
// **TODO**: `native::clone(self)` copies the elements of `self`, in row-major order, into a
// new contiguous tensor. `Tensor::contiguous()` returns `*this` when it is already
// contiguous, and `clone()` otherwise.
//
// **APPROACH** (`clone`):
// 1. `memory::new_buffer(self.numel())`: a `std::vector<float>` of `self.numel()` values.
// 2. `for_each_element(self, ...)` with a lambda that copies
//    `self.storage()->data()[position]` into `values[i]`.
// 3. Return `Tensor(values, self.shape())`.
//
// **EXAMPLE**:
// ```cpp
// Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
// m.t().contiguous()   // storage [1 4 2 5 3 6], strides [2, 1]
// m.contiguous()       // m itself: same storage, nothing copied
// ```
//
// **HINTS**:
// - `position` already includes the offset, so index `storage()->data()`, not `data()`
//   (which adds the offset a second time).
// - `contiguous()` is a one-liner: it is an op made of other ops, so it needs no kernel.
//
// **SYSTEMS THINKING**: `contiguous()` is free when there is nothing to do, so call it
// without a second thought before a loop that wants row-major data. `clone()` always pays
// for an allocation and a full pass over memory.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor clone(const Tensor& self) {
  // BEGIN SOLUTION
  std::vector<float> values = memory::new_buffer(static_cast<std::size_t>(self.numel()));
  const float* base = self.storage()->data();
  for_each_element(self, [&](int64_t i, int64_t position) { values[static_cast<std::size_t>(i)] = base[position]; });
  return Tensor(std::move(values), self.shape());
  // END SOLUTION
}

}  // namespace native

Tensor Tensor::clone() const {
  return autograd::record("clone", {*this}, [&] { return native::clone(*this); });
}

Tensor Tensor::contiguous() const {
  // BEGIN SOLUTION
  return is_contiguous() ? *this : clone();
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// Reading tensors out, written for you: `to_vector()` for tests and small outputs, and
// `allclose` (as in PyTorch) to compare floats with a tolerance; the order in which
// numbers are added changes the last bits, so exact equality is the wrong test for most
// computed results.

// %%
//| export
namespace tinytorch {

// Same shape, and |a - b| <= atol + rtol * |b| for every element (NaN never matches).
bool allclose(const Tensor& a, const Tensor& b, float rtol = 1e-5f, float atol = 1e-8f);

// `requested` with its one -1 (if any) replaced so it holds `numel` elements; ShapeError
// naming both shapes if it cannot. `current` is the shape being reshaped (for the message).
Shape infer_size(const Shape& requested, const Shape& current);

}  // namespace tinytorch

// %%
//| export impl
namespace tinytorch {

std::vector<float> Tensor::to_vector() const {
  // A freshly made tensor is row-major already: copy it straight out (this also lets the
  // tests of parts 1 to 5 read results before contiguous() is written).
  if (strides() == contiguous_strides(shape())) return std::vector<float>(data(), data() + numel());
  const Tensor c = contiguous();
  return std::vector<float>(c.data(), c.data() + c.numel());
}

bool allclose(const Tensor& a, const Tensor& b, float rtol, float atol) {
  if (a.shape() != b.shape()) return false;
  const std::vector<float> x = a.to_vector();
  const std::vector<float> y = b.to_vector();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(std::fabs(x[i] - y[i]) <= atol + rtol * std::fabs(y[i]))) return false;
  }
  return true;
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `infer_size`: the `-1` in a shape
//
// `reshape({-1, 2})` means "2 columns, and as many rows as it takes".
//
// **TODO**: Return `requested` with the `-1` filled in, after checking it all fits.
//
// **APPROACH**:
// 1. `total = shape_numel(current)`.
// 2. Walk `requested`: remember where the `-1` is (a second `-1` is a `ShapeError`; so is
//    any other negative size), and multiply the other sizes into `known`.
// 3. If there is a `-1`: `total` must be divisible by `known` (and `known` not 0); put
//    `total / known` in its place.
// 4. The result must hold exactly `total` elements. Every failure throws a `ShapeError`
//    naming both shapes: "cannot reshape a tensor of shape [2, 3] (6 elements) into [4, 2]".
//
// **EXAMPLE**:
// ```cpp
// infer_size({-1, 2}, {2, 3})   // {3, 2}
// infer_size({6}, {2, 3})       // {6}
// infer_size({4, -1}, {2, 3})   // ShapeError (6 is not a multiple of 4)
// infer_size({-1, -1}, {2, 3})  // ShapeError: only one dimension can be -1
// ```
//
// **HINTS**:
// - Build the error message once, before the loop, and reuse it in every `throw`.
// - `{0, -1}` for a tensor with 0 elements cannot be inferred (any size would do): check
//   `known == 0` before dividing.
//
// **SYSTEMS THINKING**: a wrong `-1` does not always fail. `x.reshape({-1, 784})` on a
// batch of `[64, 28, 28]` images gives `[64, 784]`; on `[64, 1, 28, 28]` the same, but on a
// batch of `[64, 28, 28, 3]` colour images it gives `[192, 784]`, a "batch" of 192 mixed-up
// rows, and training runs on garbage. Name the dimensions you expect; check them.

// %%
//| export impl
namespace tinytorch {

Shape infer_size(const Shape& requested, const Shape& current) {
  // BEGIN SOLUTION
  const int64_t total = shape_numel(current);
  const std::string mismatch = "cannot reshape a tensor of shape " + shape_str(current) + " (" +
                               std::to_string(total) + " elements) into " + shape_str(requested);
  Shape result = requested;
  int64_t known = 1;
  int64_t inferred = -1;  // the position of the -1, if any
  for (std::size_t d = 0; d < result.size(); ++d) {
    if (result[d] == -1) {
      if (inferred >= 0) throw ShapeError(mismatch + ": only one dimension can be -1");
      inferred = static_cast<int64_t>(d);
    } else if (result[d] < 0) {
      throw ShapeError(mismatch + ": negative dimension " + std::to_string(result[d]));
    } else {
      known *= result[d];
    }
  }
  if (inferred >= 0) {
    if (known == 0 || total % known != 0) throw ShapeError(mismatch);
    result[static_cast<std::size_t>(inferred)] = total / known;
  }
  if (shape_numel(result) != total) throw ShapeError(mismatch);
  return result;
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐ `view`, `reshape` (and `flatten`)
//
// `view` reinterprets the same storage with a new shape. That is only possible when the
// elements already lie in row-major order, so `view` of a non-contiguous tensor is an error.
// (PyTorch allows a few more cases; "contiguous" is the rule that always works.)
//
// `reshape` is the friendly version: a view when it can, a copy when it must.
//
// **TODO** (`view`, the kernel `native::view(self, target)`): a view of `self` with shape
// `target`, or a `ShapeError` when `self` is not contiguous.
//
// **APPROACH** (`view`):
// 1. If `!self.is_contiguous()`, throw `ShapeError`, saying to use `reshape()` or `contiguous()`.
// 2. `new_shape = infer_size(target, self.shape())`.
// 3. Return `Tensor(self.storage(), new_shape, contiguous_strides(new_shape), self.offset())`.
//
// **TODO** (`reshape`, an op made of other ops): `view(target)` if contiguous, otherwise
// `clone().view(target)`.
//
// **EXAMPLE**:
// ```cpp
// Tensor m = arange(6).view({2, 3});   // shares arange's storage
// m.reshape({3, -1})                   // a view, shape [3, 2]
// m.t().view({6})                      // ShapeError: not contiguous
// m.t().reshape({6})                   // a copy: [0, 3, 1, 4, 2, 5]
// ```
//
// **HINTS**:
// - Name both shapes and the strides in the error: "view(): a tensor of shape [3, 2] with
//   strides [1, 3] is not contiguous ...". The person reading it is you, in a month.
//
// **SYSTEMS THINKING**: keep the `offset()`: a view of a view may start in the middle of
// the storage. And note that after `reshape` you do not know whether you share memory with
// the input. Write through it only if that is what you mean.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor view(const Tensor& self, const Shape& target) {
  // BEGIN SOLUTION
  if (!self.is_contiguous()) {
    throw ShapeError("view(): a tensor of shape " + shape_str(self.shape()) + " with strides " +
                     shape_str(self.strides()) + " is not contiguous, so it cannot be viewed as " +
                     shape_str(target) + "; use reshape(), or call contiguous() first");
  }
  Shape new_shape = infer_size(target, self.shape());
  Shape new_strides = contiguous_strides(new_shape);
  return Tensor(self.storage(), std::move(new_shape), std::move(new_strides), self.offset());
  // END SOLUTION
}

}  // namespace native

Tensor Tensor::view(const Shape& target) const {
  return autograd::record("view", {*this}, [&] { return native::view(*this, target); });
}

Tensor Tensor::reshape(const Shape& target) const {
  // BEGIN SOLUTION
  return is_contiguous() ? view(target) : clone().view(target);
  // END SOLUTION
}

Tensor Tensor::flatten() const { return reshape({-1}); }

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `transpose`: swap two dimensions without moving a number
//
// **TODO**: In the kernel `native::transpose(self, dim0, dim1)`, return a view of `self`
// whose shape and strides have entries `dim0` and `dim1` swapped.
//
// **APPROACH**:
// 1. Wrap negative dimensions: `wrap_dim(dim0, self.dim())` (it also throws for a bad one).
// 2. Copy `self.shape()` and `self.strides()`, `std::swap` the two entries in each.
// 3. Return the view `Tensor(self.storage(), shape, strides, self.offset())`.
//
// **EXAMPLE**:
// ```cpp
// Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});   // shape [2, 3], strides [3, 1]
// Tensor mt = m.transpose(0, 1);               // shape [3, 2], strides [1, 3]
// mt.at({2, 0})                                // 3: position 0 + 2*1 + 0*3 = 2
// mt.at({2, 0}) = 30;                          // m.at({0, 2}) is now 30 as well
// x.transpose(-1, -2)                          // swap the last two dimensions of x
// ```
//
// `t()` (written for you) is `transpose(0, 1)` for a matrix.
//
// **HINTS**:
// - `wrap_dim` returns `int64_t`; cast to `std::size_t` once, to index the vectors.
// - Swapping a dimension with itself is allowed and gives back the same layout.
//
// **SYSTEMS THINKING**: `transpose` is O(1) whatever the size of the tensor. The cost moves
// to whoever reads the result: walking a transposed matrix row by row jumps through memory
// column by column. Part 9 shows what that does to matmul.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor transpose(const Tensor& self, int64_t dim0, int64_t dim1) {
  // BEGIN SOLUTION
  const auto a = static_cast<std::size_t>(wrap_dim(dim0, self.dim()));
  const auto b = static_cast<std::size_t>(wrap_dim(dim1, self.dim()));
  Shape new_shape = self.shape();
  Shape new_strides = self.strides();
  std::swap(new_shape[a], new_shape[b]);
  std::swap(new_strides[a], new_strides[b]);
  return Tensor(self.storage(), std::move(new_shape), std::move(new_strides), self.offset());
  // END SOLUTION
}

}  // namespace native

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  return autograd::record("transpose", {*this}, {dim0, dim1}, 0.0f,
                          [&] { return native::transpose(*this, dim0, dim1); });
}

Tensor Tensor::t() const {
  if (dim() > 2) {
    throw ShapeError("t() expects a tensor with at most 2 dimensions, got shape " + shape_str(shape()) +
                     "; use transpose(dim0, dim1)");
  }
  return dim() < 2 ? *this : transpose(0, 1);
}

}  // namespace tinytorch

// %% [markdown]
// Three more views, written for you, in the same style: `unsqueeze` inserts a size-1
// dimension (a `[3]` bias becomes a `[1, 3]` row), `squeeze` removes one, and `permute`
// reorders all dimensions at once (`[N, H, W, C]` images become `[N, C, H, W]`). Each only
// rearranges the shape and strides; for `unsqueeze` the new dimension's stride does not
// matter (you never step along a size-1 dimension), so it takes the value a contiguous
// tensor would have.

// %%
//| export impl
namespace tinytorch {
namespace native {

Tensor unsqueeze(const Tensor& self, int64_t dim) {
  const auto d = static_cast<std::size_t>(wrap_dim(dim, self.dim() + 1));
  Shape new_shape = self.shape();
  Shape new_strides = self.strides();
  const int64_t stride = d < new_shape.size() ? new_shape[d] * new_strides[d] : 1;
  new_shape.insert(new_shape.begin() + static_cast<std::ptrdiff_t>(d), 1);
  new_strides.insert(new_strides.begin() + static_cast<std::ptrdiff_t>(d), stride);
  return Tensor(self.storage(), std::move(new_shape), std::move(new_strides), self.offset());
}

Tensor squeeze(const Tensor& self, int64_t dim) {
  const auto d = static_cast<std::size_t>(wrap_dim(dim, self.dim()));
  if (self.shape()[d] != 1) {
    throw ShapeError("squeeze(): dimension " + std::to_string(dim) + " of shape " + shape_str(self.shape()) +
                     " has size " + std::to_string(self.shape()[d]) + ", not 1");
  }
  Shape new_shape = self.shape();
  Shape new_strides = self.strides();
  new_shape.erase(new_shape.begin() + static_cast<std::ptrdiff_t>(d));
  new_strides.erase(new_strides.begin() + static_cast<std::ptrdiff_t>(d));
  return Tensor(self.storage(), std::move(new_shape), std::move(new_strides), self.offset());
}

Tensor permute(const Tensor& self, const Shape& dims) {
  if (static_cast<int64_t>(dims.size()) != self.dim()) {
    throw ShapeError("permute(): got " + std::to_string(dims.size()) + " dimensions " + shape_str(dims) +
                     " for a tensor of shape " + shape_str(self.shape()));
  }
  Shape new_shape(dims.size());
  Shape new_strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const auto d = static_cast<std::size_t>(wrap_dim(dims[i], self.dim()));
    if (seen[d]) throw ShapeError("permute(): dimension " + std::to_string(d) + " repeats in " + shape_str(dims));
    seen[d] = true;
    new_shape[i] = self.shape()[d];
    new_strides[i] = self.strides()[d];
  }
  return Tensor(self.storage(), std::move(new_shape), std::move(new_strides), self.offset());
}

}  // namespace native

Tensor Tensor::unsqueeze(int64_t dim) const {
  return autograd::record("unsqueeze", {*this}, {dim}, 0.0f, [&] { return native::unsqueeze(*this, dim); });
}

Tensor Tensor::squeeze(int64_t dim) const {
  return autograd::record("squeeze", {*this}, {dim}, 0.0f, [&] { return native::squeeze(*this, dim); });
}

Tensor Tensor::permute(const Shape& dims) const {
  return autograd::record("permute", {*this}, dims, 0.0f, [&] { return native::permute(*this, dims); });
}

}  // namespace tinytorch

// %%
//| test
TEST(UnitViews, TransposeIsANonContiguousView) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor mt = m.t();
  EXPECT_EQ(mt.strides(), (Shape{1, 3}));
  EXPECT_FALSE(mt.is_contiguous());
  EXPECT_EQ(mt.storage(), m.storage());
}

TEST(UnitViews, ContiguousCopiesInLogicalOrder) {
  Tensor mt = tensor({{1, 2, 3}, {4, 5, 6}}).t().contiguous();
  EXPECT_EQ(mt.to_vector(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_TRUE(mt.is_contiguous());
}

TEST(UnitViews, ReshapeInfersMinusOne) {
  EXPECT_EQ(arange(6).reshape({-1, 2}).shape(), (Shape{3, 2}));
}

// %%
//| demo
Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
Tensor mt = m.t();
std::cout << "m.t() =\n" << mt << "\n";
std::cout << "m strides " << shape_str(m.strides()) << ", m.t() strides " << shape_str(mt.strides())
          << "; m.t() is contiguous: " << std::boolalpha << mt.is_contiguous() << "\n";
mt.at({2, 0}) = 30;
std::cout << "after m.t().at({2, 0}) = 30, m is\n" << m << "  (a view writes into the shared storage)\n";
std::cout << "m.view({3, 2}) =\n" << m.view({3, 2}) << "\n  (same shape as m.t(), different numbers)\n";

// %% [markdown]
// ## Part 7: Arithmetic with broadcasting
//
// `a + b` adds element by element. When the shapes differ, NumPy's **broadcasting** rules
// decide whether they still fit:
//
// 1. Line the shapes up on the **right**. A missing dimension on the left counts as size 1.
// 2. In each position the sizes must be equal, or one of them must be 1.
// 3. A size-1 dimension is stretched to match the other.
//
//     [2, 3] + [3]       ->  [2, 3]     the row is added to every row
//     [2, 3] + [2, 1]    ->  [2, 3]     the column is added to every column
//     [3, 1] + [1, 4]    ->  [3, 4]     both stretch: an addition table
//     [2, 3] + [4]       ->  error: 3 and 4 differ and neither is 1
//
// This is how a layer adds one bias vector `[out]` to a whole batch `[batch, out]`.
//
// "Stretching" never copies: it is a view with **stride 0** along the stretched dimension,
// so every step along it reads the same number again. That view is `expand`.

// %%
//| export
namespace tinytorch {

// The shape `a` and `b` broadcast to; ShapeError naming both shapes if they cannot.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// Element-wise, with broadcasting.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
// With a number on either side.
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator/(const Tensor& a, float b);
Tensor operator+(float a, const Tensor& b);
Tensor operator-(float a, const Tensor& b);
Tensor operator*(float a, const Tensor& b);
Tensor operator/(float a, const Tensor& b);
Tensor operator-(const Tensor& a);

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `broadcast_shapes`
//
// **TODO**: Return the broadcast shape, or throw
// `ShapeError("cannot broadcast shapes [2, 3] and [4]: ...")`. The message must name both
// shapes: they are the first thing you need when this goes wrong deep inside a model.
//
// **APPROACH**:
// 1. The result has `rank = max(a.size(), b.size())` dimensions.
// 2. For `i = 0 .. rank-1`, counting from the **right** (`i = 0` is the last dimension):
//    `da = a[a.size() - 1 - i]` if `i < a.size()`, else 1; the same for `db`.
// 3. If `da != db` and neither is 1: throw. Otherwise the result at `rank - 1 - i` is the
//    larger of the two (the one that is not 1).
//
// **EXAMPLE**:
// ```cpp
// broadcast_shapes({2, 3}, {3})         // {2, 3}
// broadcast_shapes({5, 1, 4}, {3, 1})   // {5, 3, 4}
// broadcast_shapes({}, {2, 2})          // {2, 2}   (a scalar fits everything)
// broadcast_shapes({2, 3}, {4})         // ShapeError: cannot broadcast shapes [2, 3] and [4]
// ```
//
// **HINTS**:
// - Careful with `a.size() - 1 - i` when `a` is shorter: check `i < a.size()` first, the
//   subtraction is unsigned.
//
// **SYSTEMS THINKING**: broadcasting is decided from the shapes alone, before a single
// number is touched: a few comparisons per dimension. The cost comes later, in how the loop
// reads the stretched operand (next: `expand`).

// %%
//| export impl
namespace tinytorch {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  // BEGIN SOLUTION
  const std::size_t rank = std::max(a.size(), b.size());
  Shape result(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) {
      throw ShapeError("cannot broadcast shapes " + shape_str(a) + " and " + shape_str(b) + ": sizes " +
                       std::to_string(da) + " and " + std::to_string(db) + " at dimension -" + std::to_string(i + 1) +
                       " differ and neither is 1");
    }
    result[rank - 1 - i] = da == 1 ? db : da;
  }
  return result;
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐ `expand`: broadcasting as a view
//
// **TODO**: In the kernel `native::expand(self, target)`, return a view of `self` with shape
// `target`, where stretched dimensions have stride 0. Throw `ShapeError` naming both shapes
// when a size is neither equal nor 1.
//
// **APPROACH**:
// 1. `target` must have at least `self.dim()` dimensions.
// 2. New strides: `target.size()` zeros. Dimension `d` of `self` lines up with
//    `d + target.size() - self.dim()` (aligned on the right).
// 3. For each dimension of `self`: equal size, keep the stride; size 1, leave stride 0;
//    anything else, throw.
// 4. Leading dimensions that `self` does not have keep stride 0.
// 5. `Tensor(self.storage(), target, new_strides, self.offset())`.
//
// **EXAMPLE**:
// ```cpp
// Tensor row = tensor({1, 2, 3});      // shape [3], strides [1]
// Tensor e = row.expand({2, 3});       // shape [2, 3], strides [0, 1], no copy
// // e: [[1, 2, 3],
// //     [1, 2, 3]]
// tensor({1, 2}).expand({2, 3})        // ShapeError: cannot expand shape [2] to [2, 3]
// ```
//
// **HINTS**:
// - Keep `self`'s stride for a dimension whose size already matches, even if it is not 1:
//   expanding a transposed view must keep reading it as a transpose.
//
// **SYSTEMS THINKING**: `expand({1000, 1000})` of a `[1000]` bias costs 1000 floats of
// memory, not a million. An expanded view is not contiguous (stride 0 is not a row-major
// stride); never write through it: a thousand positions share one float.

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor expand(const Tensor& self, const Shape& target) {
  // BEGIN SOLUTION
  const auto rank = static_cast<int64_t>(target.size());
  const std::string mismatch = "cannot expand shape " + shape_str(self.shape()) + " to " + shape_str(target);
  if (rank < self.dim()) throw ShapeError(mismatch + ": the target has fewer dimensions");
  Shape new_strides(target.size(), 0);
  for (int64_t d = 0; d < self.dim(); ++d) {
    const int64_t td = d + rank - self.dim();
    if (self.shape()[d] == target[td]) {
      new_strides[td] = self.strides()[d];
    } else if (self.shape()[d] != 1) {
      throw ShapeError(mismatch);
    }
  }
  return Tensor(self.storage(), target, std::move(new_strides), self.offset());
  // END SOLUTION
}

}  // namespace native

Tensor Tensor::expand(const Shape& target) const {
  return autograd::record("expand", {*this}, [&] { return native::expand(*this, target); });
}

}  // namespace tinytorch

// %% [markdown]
// ### A slot for threads (written for you; it sleeps until module 11)
//
// Module 11 brings a pool of threads, one per core, for its matrix products. The loops of
// this module, and of the ones after it, that walk millions of independent elements (`map`,
// im2col, pooling) could use it too, but module 01 cannot call module 11. So, as for
// autograd, there is a slot: `native::parallel_for(count, grain, body)` calls `body(begin,
// end)` on pieces that cover `[0, count)` exactly once. Until a
// *runner* is installed it is one call, `body(0, count)`, on the calling thread; module 11
// installs one that hands the pieces to its pool, never more of them than `count / grain`. A
// body may run on several threads at once, so its pieces must write to different memory.

// %%
//| export
namespace tinytorch::native {

// Runs body(context, begin, end) on pieces that cover [0, count) once each, no more of them than
// count / grain, perhaps on several threads; returns when all are done. Module 11 installs one.
using ParallelRunner = void (*)(int64_t count, int64_t grain, void (*body)(void* context, int64_t begin, int64_t end),
                                void* context);
// Installs `runner` for every thread (nullptr: everything on the calling thread).
void set_parallel_runner(ParallelRunner runner) noexcept;
ParallelRunner parallel_runner() noexcept;

// The work worth a thread of its own, in floats read or written: the grain of the library's
// element loops (parallel_for(count, kParallelGrain, ...)), or of row loops, scaled by the row.
inline constexpr int64_t kParallelGrain = int64_t{1} << 16;

// body(begin, end) over pieces of [0, count): one call on this thread when no runner is
// installed or when count <= grain (not worth waking a thread), else the runner's pieces.
template <typename F>
void parallel_for(int64_t count, int64_t grain, const F& body) {
  if (count <= 0) return;
  const ParallelRunner run = parallel_runner();
  if (run == nullptr || count <= grain) {
    body(int64_t{0}, count);
    return;
  }
  run(
      count, grain,
      [](void* context, int64_t begin, int64_t end) { (*static_cast<const F*>(context))(begin, end); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch::native {
namespace {
std::atomic<ParallelRunner> installed_parallel_runner{nullptr};
}  // namespace

void set_parallel_runner(ParallelRunner runner) noexcept { installed_parallel_runner.store(runner); }
ParallelRunner parallel_runner() noexcept { return installed_parallel_runner.load(std::memory_order_relaxed); }

}  // namespace tinytorch::native

// %% [markdown]
// ### Element-wise loops
//
// With one input the loop is simple; here it is, written for you. `map` applies `f` to each
// element, on contiguous data: `contiguous()` costs nothing when the input already is, and
// then both the input and the output are walked front to back with plain pointers, in pieces of
// at least 65,536 elements through `native::parallel_for` (one piece until module 11).
//
// `map` is public: later modules use it for every element-wise function (`relu`, `exp`, a
// transform of a dataset). It is a template, so its code lives in the header, where the
// compiler can inline `f` into the loop. Autograd cannot see inside an arbitrary `f`, so
// `map` is recorded under its own name, "map", which has no backward: differentiating
// through it is a clear error, never a silent zero. Ops that need gradients wrap their `map`
// in a `record` of their own, as `neg` and the number operators below do.

// %%
//| export
namespace tinytorch {

// f(v) for every element v of x, in a new contiguous tensor of x's shape. Large tensors are
// cut into pieces by native::parallel_for, so f may run on several threads at once: make it a
// function of v alone (no counter, no random generator inside).
template <typename F>
Tensor map(const Tensor& x, F f) {
  return autograd::record("map", {x}, [&] {
    const Tensor in = x.contiguous();
    Tensor out = empty(in.shape());
    const float* source = in.data();
    float* result = out.data();
    native::parallel_for(in.numel(), native::kParallelGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) result[i] = f(source[i]);
    });
    return out;
  });
}

}  // namespace tinytorch

// %%
//| export impl
namespace tinytorch {

Tensor Tensor::neg() const {
  return autograd::record("neg", {*this}, [&] { return map(*this, [](float x) { return -x; }); });
}
Tensor Tensor::add(float value) const {
  return autograd::record("add_scalar", {*this}, {}, value,
                          [&] { return map(*this, [value](float x) { return x + value; }); });
}
Tensor Tensor::sub(float value) const {
  return autograd::record("sub_scalar", {*this}, {}, value,
                          [&] { return map(*this, [value](float x) { return x - value; }); });
}
Tensor Tensor::mul(float value) const {
  return autograd::record("mul_scalar", {*this}, {}, value,
                          [&] { return map(*this, [value](float x) { return x * value; }); });
}
Tensor Tensor::div(float value) const {
  return autograd::record("div_scalar", {*this}, {}, value,
                          [&] { return map(*this, [value](float x) { return x / value; }); });
}

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐⭐ `elementwise`: two inputs, broadcast
//
// Now two inputs. You have every piece already: `expand` makes both inputs views of the
// output's shape (stride 0 where one is stretched), and the odometer of `for_each_element`
// walks a view without copying it. Here one odometer walks both views at once.
//
// **TODO**: In the kernel `native::elementwise(a, b, op)`, return `op(a, b)` element by
// element, with broadcasting, without copying either input.
//
// **APPROACH**:
// 1. `shape = broadcast_shapes(a.shape(), b.shape())` (this throws the error for you);
//    `x = a.expand(shape)`, `y = b.expand(shape)`: views, nothing copied.
// 2. `out = empty(shape)` (every element is about to be written: no need for zeros); return it
//    at once when it is empty. The output is contiguous, so element `i` of the walk is
//    `out.data()[i]`.
// 3. Copy `shape` (`{1}` for a 0-D result, with strides `{0}`) and the strides of `x` and `y`,
//    and merge neighbours as in `for_each_element`, but only where they walk like one
//    dimension in *both* views: `sx[d] == shape[d + 1] * sx[d + 1]` and the same for `sy`.
// 4. One odometer, two positions: `px = x.offset()`, `py = y.offset()`. For each row of the
//    last (merged) dimension: `out[i + j] = op(X[px + j * sx_last], Y[py + j * sy_last])`, where
//    `X` and `Y` are `storage()->data()`; then turn the odometer, moving `px` by `sx[d]` and `py`
//    by `sy[d]` (and back by `(shape[d] - 1)` times those when a digit rolls over).
//
// **EXAMPLE**:
// ```cpp
// native::elementwise(tensor({{1, 2}, {3, 4}}), tensor({10, 20}), std::plus<float>())
//   // tensor([[11., 22.], [13., 24.]]): y has strides [0, 1], a row of 2 per turn
// native::elementwise(x4d, bias.view({1, C, 1, 1}), std::plus<float>())
//   // x [N, C, H, W] contiguous: merged to [N, C, H*W]; each row reads x with stride 1 and
//   // the bias with stride 0, one float for H*W outputs
// ```
//
// `add`, `sub`, `mul`, `div` and the operators (written for you below) all call this.
//
// **HINTS**:
// - Index `storage()->data()` with the positions, not `data()`: the positions already include
//   each view's offset (a sliced or reshaped view of someone else's buffer has one).
// - Test the row's two strides before the row loop: stride 1 for both (same shapes, the common
//   case), 1 and 0 (a bias), 0 and 1. In those loops read a stride-0 input once, before the
//   loop, and index the other with `j`: with no multiplication by a stride the compiler turns
//   the loop into SIMD instructions. Keep the general loop for everything else (a transpose).
// - Merge only where both views agree: `[2, 3] + [2, 1]` merges in `x` (contiguous) but not in
//   `y` (strides `[1, 0]`), and merging anyway would read the column as if it were a row.
//
// **SYSTEMS THINKING**: the simple version, `a.expand(shape).contiguous()` for both inputs and
// then one flat loop, is correct and materializes every stretched operand: adding a `[256]`
// bias to a `[64, 256]` batch allocates a temporary `[64, 256]`, and a convolution's bias over
// `[64, 32, 32, 32]` activations writes 8 MB of copies of 32 numbers. Walking the stride-0
// view directly (PyTorch's `TensorIterator` does the same) allocates only the output and reads
// each input once, so the op moves the minimum: two reads and one write per element for equal
// shapes, one read and one write when the other input is a broadcast row. It also reads a
// permuted or transposed input in place, so `permute` followed by `+` is one pass, not two.

// %%
//| export impl
namespace tinytorch {

namespace native {

template <typename Op>
Tensor elementwise(const Tensor& a, const Tensor& b, Op op) {
  // BEGIN SOLUTION
  const Shape shape = broadcast_shapes(a.shape(), b.shape());
  const Tensor x = a.expand(shape);  // views: stride 0 where an input is stretched, nothing copied
  const Tensor y = b.expand(shape);
  Tensor out = empty(shape);  // every element is written below
  const int64_t count = out.numel();
  if (count == 0) return out;
  // One odometer for both inputs: merge neighbours that walk like one dimension in x and in y.
  Shape sizes = shape.empty() ? Shape{1} : shape;
  Shape sx = shape.empty() ? Shape{0} : x.strides();
  Shape sy = shape.empty() ? Shape{0} : y.strides();
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 2; d >= 0; --d) {
    const auto at = static_cast<std::size_t>(d);
    if (sx[at] == sizes[at + 1] * sx[at + 1] && sy[at] == sizes[at + 1] * sy[at + 1]) {
      sizes[at + 1] *= sizes[at];
      sizes.erase(sizes.begin() + d);
      sx.erase(sx.begin() + d);
      sy.erase(sy.begin() + d);
    }
  }
  const auto last = static_cast<int64_t>(sizes.size()) - 1;
  const int64_t row = sizes[last], step_x = sx[last], step_y = sy[last];
  const float* base_x = x.storage()->data();
  const float* base_y = y.storage()->data();
  float* result = out.data();
  std::vector<int64_t> index(sizes.size(), 0);
  int64_t at_x = x.offset(), at_y = y.offset();
  for (int64_t i = 0; i < count; i += row) {
    const float* px = base_x + at_x;
    const float* py = base_y + at_y;
    float* r = result + i;
    if (step_x == 1 && step_y == 1) {  // the common cases get loops the compiler vectorizes
      for (int64_t j = 0; j < row; ++j) r[j] = op(px[j], py[j]);
    } else if (step_x == 1 && step_y == 0) {
      const float v = *py;
      for (int64_t j = 0; j < row; ++j) r[j] = op(px[j], v);
    } else if (step_x == 0 && step_y == 1) {
      const float v = *px;
      for (int64_t j = 0; j < row; ++j) r[j] = op(v, py[j]);
    } else {
      for (int64_t j = 0; j < row; ++j) r[j] = op(px[j * step_x], py[j * step_y]);
    }
    for (int64_t d = last - 1; d >= 0; --d) {
      if (++index[d] < sizes[d]) {
        at_x += sx[d];
        at_y += sy[d];
        break;
      }
      at_x -= (sizes[d] - 1) * sx[d];
      at_y -= (sizes[d] - 1) * sy[d];
      index[d] = 0;
    }
  }
  return out;
  // END SOLUTION
}

}  // namespace native

}  // namespace tinytorch

// %% [markdown]
// The named methods and the operators, written for you. `2 - t` and `1 / t` are not the
// same as `t - 2` and `t / 1`, so those get loops of their own.

// %%
//| export impl
namespace tinytorch {

Tensor Tensor::add(const Tensor& other) const {
  return autograd::record("add", {*this, other}, [&] {
    return native::elementwise(*this, other, [](float x, float y) { return x + y; });
  });
}
Tensor Tensor::sub(const Tensor& other) const {
  return autograd::record("sub", {*this, other}, [&] {
    return native::elementwise(*this, other, [](float x, float y) { return x - y; });
  });
}
Tensor Tensor::mul(const Tensor& other) const {
  return autograd::record("mul", {*this, other}, [&] {
    return native::elementwise(*this, other, [](float x, float y) { return x * y; });
  });
}
Tensor Tensor::div(const Tensor& other) const {
  return autograd::record("div", {*this, other}, [&] {
    return native::elementwise(*this, other, [](float x, float y) { return x / y; });
  });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return a.add(b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return a.sub(b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return a.mul(b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return a.div(b); }
Tensor operator+(const Tensor& a, float b) { return a.add(b); }
Tensor operator-(const Tensor& a, float b) { return a.sub(b); }
Tensor operator*(const Tensor& a, float b) { return a.mul(b); }
Tensor operator/(const Tensor& a, float b) { return a.div(b); }
Tensor operator+(float a, const Tensor& b) { return b.add(a); }
Tensor operator*(float a, const Tensor& b) { return b.mul(a); }
Tensor operator-(float a, const Tensor& b) {
  return autograd::record("rsub_scalar", {b}, {}, a, [&] { return map(b, [a](float x) { return a - x; }); });
}
Tensor operator/(float a, const Tensor& b) {
  return autograd::record("rdiv_scalar", {b}, {}, a, [&] { return map(b, [a](float x) { return a / x; }); });
}
Tensor operator-(const Tensor& a) { return a.neg(); }

}  // namespace tinytorch

// %% [markdown]
// ### In-place updates (written for you)
//
// An optimizer changes a model's weights *in place*: the layer and the optimizer hold
// handles to the same tensor, so a new tensor would not reach the layer. `fill_` and `copy_`
// write into this tensor's own elements, through its strides, so they also work on views:
// `m.t().fill_(0)` zeroes `m`. `+=` and friends compute the result and `copy_` it back.
//
// One trap: in `a.copy_(a.t())` the source and the destination share storage, and writing
// the first elements would change source elements not yet read. `copy_` clones such a
// source first.

// %%
//| export impl
namespace tinytorch {

// In-place changes are not steps autograd can record: the old values a backward pass
// would need are gone. So while autograd records, changing a tensor that takes part is an
// error rather than a silently wrong gradient (optimizers update weights under NoGradGuard).
static void refuse_recorded_in_place(const char* op, std::initializer_list<Tensor> tensors) {
  if (autograd::should_record(tensors)) {
    throw std::logic_error(std::string(op) +
                           "(): cannot change a tensor in place while autograd records it (it requires grad); "
                           "compute a new tensor instead, or make the change under NoGradGuard");
  }
}

Tensor& Tensor::fill_(float value) {
  refuse_recorded_in_place("fill_", {*this});
  float* base = storage()->data();
  for_each_element(*this, [&](int64_t, int64_t position) { base[position] = value; });
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  refuse_recorded_in_place("copy_", {*this, src});
  const Tensor expanded = src.expand(shape());
  const Tensor from = src.storage() == storage() ? expanded.clone() : expanded.contiguous();
  const float* in = from.data();
  float* base = storage()->data();
  for_each_element(*this, [&](int64_t i, int64_t position) { base[position] = in[i]; });
  return *this;
}

Tensor& Tensor::operator+=(const Tensor& other) { return copy_(add(other)); }
Tensor& Tensor::operator-=(const Tensor& other) { return copy_(sub(other)); }
Tensor& Tensor::operator*=(const Tensor& other) { return copy_(mul(other)); }
Tensor& Tensor::operator/=(const Tensor& other) { return copy_(div(other)); }
Tensor& Tensor::operator+=(float value) { return copy_(add(value)); }
Tensor& Tensor::operator-=(float value) { return copy_(sub(value)); }
Tensor& Tensor::operator*=(float value) { return copy_(mul(value)); }
Tensor& Tensor::operator/=(float value) { return copy_(div(value)); }

}  // namespace tinytorch

// %%
//| test
TEST(UnitBroadcast, RowIsAddedToEveryRow) {
  Tensor sum = tensor({{1, 2, 3}, {4, 5, 6}}) + tensor({10, 20, 30});
  EXPECT_EQ(sum.shape(), (Shape{2, 3}));
  EXPECT_EQ(sum.to_vector(), (std::vector<float>{11, 22, 33, 14, 25, 36}));
}

TEST(UnitBroadcast, MismatchNamesBothShapes) {
  try {
    (void)(zeros({2, 3}) + zeros({4}));
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3] and [4]"), std::string::npos) << e.what();
  }
}

TEST(UnitBroadcast, ScalarOnTheLeft) {
  EXPECT_EQ((10 - tensor({1, 2})).to_vector(), (std::vector<float>{9, 8}));
}

// %%
//| demo
Tensor column = tensor({1, 2, 3}).reshape({3, 1});
Tensor row = tensor({10, 20, 30, 40});
std::cout << "column " << shape_str(column.shape()) << " + row " << shape_str(row.shape()) << " =\n"
          << column + row << "\n";
Tensor stretched = row.expand({3, 4});
std::cout << "row.expand({3, 4}) has strides " << shape_str(stretched.strides())
          << ": 12 elements, still only " << stretched.storage()->size() << " floats in memory\n";
Tensor batch = ones({2, 4});
std::cout << "a bias row added to a batch:\n" << batch * 0.5f + row << "\n";
try {
  std::cout << zeros({2, 3}) + zeros({4});
} catch (const ShapeError& e) {
  std::cout << "zeros({2, 3}) + zeros({4}) -> ShapeError: " << e.what() << "\n";
}

// %% [markdown]
// ## Part 8: Reductions
//
// A reduction combines many elements into one: the loss of a batch is a `mean`, a
// prediction is a `max` over classes, a gradient for a bias is a `sum` over the batch.
//
// Over all elements the result is a 0-D tensor (call `.item()` for the number). Over one
// dimension (`axis`), that dimension disappears, or stays as size 1 with `keepdim = true`,
// which is what you want when you broadcast the result back against the input
// (`x - x.mean(1, true)` centres each row).
//
//     x = [[1, 2, 3],          x.sum(0) = [5, 7, 9]          shape [3]
//          [4, 5, 6]]          x.sum(1) = [6, 15]            shape [2]
//                              x.sum(1, true) = [[6], [15]]  shape [2, 1]
//                              x.sum(-1) = x.sum(1)
//
// ### ⭐ `sum()` and `max()` over everything
//
// **TODO**: the kernels `native::sum(self)`: the total of all elements as
// `scalar_tensor(total)`; `native::max(self)`: the largest element, and a `ShapeError` for
// an empty tensor (it has no maximum).
//
// **APPROACH**:
// 1. `const Tensor x = self.contiguous();` then loop over `x.data()[0 .. numel)`.
// 2. `sum`: accumulate in a `double`. `max`: start from the first element.
//
// **EXAMPLE**:
// ```cpp
// tensor({{1, 2}, {3, 4}}).sum()          // tensor(10.), shape []
// tensor({{1, 2}, {3, 4}}).max().item()   // 4
// ```
//
// **HINTS**:
// - Start `max` from the first element, not from 0: the maximum of `[-3, -1]` is `-1`.
// - `mean()` (written for you) is `sum()` divided by `numel()`: an op made of two ops, so
//   autograd will differentiate it with no extra code.
//
// **SYSTEMS THINKING**: a `float` has 24 bits of precision. Add ten million numbers near 1
// into a `float` and once the total passes 2²⁴ ≈ 16.7 million, adding 1 changes nothing: the
// result is badly wrong. A `double` accumulator costs nothing here and removes the problem
// for any tensor you will meet. (PyTorch uses pairwise summation in float; same goal.)

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor sum(const Tensor& self) {
  // BEGIN SOLUTION
  const Tensor x = self.contiguous();
  const float* values = x.data();
  double total = 0.0;
  for (int64_t i = 0; i < x.numel(); ++i) total += values[i];
  return scalar_tensor(static_cast<float>(total));
  // END SOLUTION
}

Tensor max(const Tensor& self) {
  // BEGIN SOLUTION
  if (self.numel() == 0) {
    throw ShapeError("max(): the tensor of shape " + shape_str(self.shape()) + " is empty, so it has no maximum");
  }
  const Tensor x = self.contiguous();
  const float* values = x.data();
  float best = values[0];
  for (int64_t i = 1; i < x.numel(); ++i) best = std::max(best, values[i]);
  return scalar_tensor(best);
  // END SOLUTION
}

}  // namespace native

Tensor Tensor::sum() const {
  return autograd::record("sum", {*this}, [&] { return native::sum(*this); });
}

Tensor Tensor::max() const {
  return autograd::record("max", {*this}, [&] { return native::max(*this); });
}

Tensor Tensor::mean() const { return sum().div(static_cast<float>(numel())); }

}  // namespace tinytorch

// %% [markdown]
// ### ⭐⭐⭐ `reduce_dim`: reducing along one dimension
//
// One engine serves `sum`, `max` and `mean` along a dimension: it starts each output
// element at `init` and folds the inputs in with `op` (`+` for sum, `max` for max). It
// accumulates in `double`, for the reason you met in `sum()`: one output element may
// collect millions of inputs.
//
// The trick is to see a contiguous tensor, around the dimension `d` you reduce, as three
// dimensions `[outer, n, inner]`:
//
// - `outer` = product of the sizes before `d`,
// - `n` = the size of `d`,
// - `inner` = product of the sizes after `d`.
//
// For `x` of shape `[2, 3, 4]` and `d = 1`: outer = 2, n = 3, inner = 4. Element
// `[o, k, i]` sits at `(o * n + k) * inner + i`, and the output (shape `[2, 1, 4]`, i.e.
// `[outer, inner]`) element `[o, i]` at `o * inner + i`.
//
// **TODO**: In the kernel `native::reduce_dim`, return the reduction of `input` along `axis`.
//
// **APPROACH**:
// 1. `d = wrap_dim(axis, input.dim())`; `x = input.contiguous()`.
// 2. Compute `outer`, `n`, `inner` from `x.shape()`.
// 3. `out_shape` = the shape with `out_shape[d] = 1`; `out = zeros(out_shape)`.
// 4. For each `o`: a row of `inner` accumulators, `std::vector<double> acc(inner, init)`;
//    then loops `k`, `i` (in that order!): `acc[i] = op(acc[i], x[(o * n + k) * inner + i])`;
//    then write the row into `out[o * inner + i]` as floats.
// 5. Without `keepdim`, remove dimension `d`: `out.view(shape without d)`.
//
// **EXAMPLE**:
// ```cpp
// native::reduce_dim(tensor({{1, 2, 3}, {4, 5, 6}}), 0, false, 0.0, std::plus<double>())   // [5, 7, 9]
// ```
//
// **HINTS**:
// - Reducing the last dimension is `inner = 1`; the first, `outer = 1`. No special cases.
// - `Shape::erase(begin() + d)` removes one entry.
//
// **SYSTEMS THINKING**: why `k` in the middle and `i` innermost? Then the innermost loop
// walks `i` over `inner` neighbouring floats, in the input *and* in the output: every
// cache line is used entirely, and the compiler can vectorize (SIMD) the loop. Put `k`
// innermost and each step jumps `inner` floats through the input: with `inner = 1024`, every
// single read lands on a new cache line.

// %%
//| export impl
namespace tinytorch {

namespace native {

template <typename Op>
Tensor reduce_dim(const Tensor& input, int64_t axis, bool keepdim, double init, Op op) {
  // BEGIN SOLUTION
  const auto d = static_cast<std::size_t>(wrap_dim(axis, input.dim()));
  const Tensor x = input.contiguous();
  const Shape& shape = x.shape();
  int64_t outer = 1;
  for (std::size_t j = 0; j < d; ++j) outer *= shape[j];
  const int64_t n = shape[d];
  int64_t inner = 1;
  for (std::size_t j = d + 1; j < shape.size(); ++j) inner *= shape[j];

  Shape out_shape = shape;
  out_shape[d] = 1;
  Tensor out = zeros(out_shape);
  const float* in = x.data();
  std::vector<double> acc(static_cast<std::size_t>(inner));  // one row of results, in double
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(acc.begin(), acc.end(), init);
    for (int64_t k = 0; k < n; ++k) {
      const float* slice = in + (o * n + k) * inner;
      for (int64_t i = 0; i < inner; ++i) acc[i] = op(acc[i], static_cast<double>(slice[i]));
    }
    float* target = out.data() + o * inner;
    for (int64_t i = 0; i < inner; ++i) target[i] = static_cast<float>(acc[i]);
  }
  if (keepdim) return out;
  out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(d));
  return out.view(out_shape);
  // END SOLUTION
}

}  // namespace native

}  // namespace tinytorch

// %% [markdown]
// The three reductions along a dimension, written for you on top of `reduce_dim`.

// %%
//| export impl
namespace tinytorch {

Tensor Tensor::sum(int64_t axis, bool keepdim) const {
  return autograd::record("sum_dim", {*this}, {axis, keepdim}, 0.0f, [&] {
    return native::reduce_dim(*this, axis, keepdim, 0.0, [](double acc, double x) { return acc + x; });
  });
}

Tensor Tensor::max(int64_t axis, bool keepdim) const {
  if (size(axis) == 0) {
    throw ShapeError("max(): cannot reduce dimension " + std::to_string(axis) + " of size 0 in shape " +
                     shape_str(shape()));
  }
  return autograd::record("max_dim", {*this}, {axis, keepdim}, 0.0f, [&] {
    return native::reduce_dim(*this, axis, keepdim, -std::numeric_limits<double>::infinity(),
                              [](double acc, double x) { return std::max(acc, x); });
  });
}

Tensor Tensor::mean(int64_t axis, bool keepdim) const {
  return sum(axis, keepdim).div(static_cast<float>(size(axis)));
}

}  // namespace tinytorch

// %%
//| test
TEST(UnitReduce, SumAlongEachAxis) {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(x.sum().item(), 21.0f);
  EXPECT_EQ(x.sum(0).to_vector(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(x.sum(-1, true).shape(), (Shape{2, 1}));
}

// %%
//| demo
Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
std::cout << "x =\n" << x << "\n";
std::cout << "x.sum() = " << x.sum() << ", x.mean() = " << x.mean() << ", x.max() = " << x.max() << "\n";
std::cout << "x.sum(0) = " << x.sum(0) << "   x.max(1) = " << x.max(1) << "\n";
std::cout << "x - x.mean(1, true) centres each row:\n" << x - x.mean(1, true) << "\n";

// %% [markdown]
// ## Part 9: Matrix multiplication
//
// `C = A @ B` for `A` of shape `[m, k]` and `B` of shape `[k, n]` gives `C` of shape `[m, n]`:
//
//     C[i][j] = sum over p of A[i][p] * B[p][j]
//
// The inner sizes must agree (`k`), or there is no product: a `ShapeError` that names both
// shapes. Every linear layer is a matmul, and convolution becomes one; it is where a neural
// network spends most of its time, so here speed matters.
//
// ### The clear version, and why it is slow
//
// Straight from the formula, on contiguous data (`a`, `b`, `c` are `float` pointers, row-major):
//
// ```cpp
// for (int64_t i = 0; i < m; ++i)
//   for (int64_t j = 0; j < n; ++j) {
//     float acc = 0;
//     for (int64_t p = 0; p < k; ++p) acc += a[i * k + p] * b[p * n + j];
//     c[i * n + j] = acc;
//   }
// ```
//
// Correct, and slow for big matrices. Look at the innermost loop: `a[i * k + p]` walks along
// a row of A (stride 1, good), but `b[p * n + j]` walks *down a column* of B: stride `n`
// floats. Memory reaches the CPU in cache lines of 64 bytes (16 floats); this loop uses one
// float of each line and moves on. For `n = 512`, every read of B is a different line, and
// once B (1 MiB) no longer fits in the fast caches, every read waits for main memory.
//
// ### The same arithmetic, in a better order
//
// Swap the two inner loops (order **i, p, j**). Now the innermost loop fixes `A[i][p]` and
// runs `j` along row `p` of B and row `i` of C, both with stride 1:
//
//     C[i][:] += A[i][p] * B[p][:]
//
// Every float of every cache line is used, the prefetcher streams the rows in, and the
// compiler turns the loop into SIMD instructions that do 4 to 16 multiply-adds at once.
// Each `C[i][j]` still receives its `k` products in the same order `p = 0, 1, ...`, so the
// result is the same to the last bit. How much faster is it? The last demo of this module
// times both orders on 512×512 matrices and prints the ratio: run `tito module run tensor`
// and see on your own machine. (Real BLAS libraries go further: blocking for the caches,
// packing, hand-written kernels. That is module 11.)
//
// That is why matmul wants contiguous inputs: the fast loop *assumes* stride 1. A transposed
// operand is made contiguous first, one O(size) copy to save an O(m·n·k) computation.
//
// ### ⭐⭐⭐ `matmul_2d`
//
// **TODO**: In the kernel `native::matmul_2d(a, b)`, multiply two 2-D tensors whose shapes
// are already checked (`[m, k]` and `[k, n]`), with the i-p-j loop order on contiguous data.
//
// **APPROACH**:
// 1. `m = a.size(0)`, `k = a.size(1)`, `n = b.size(1)`.
// 2. `A = a.contiguous()`, `B = b.contiguous()`, `C = zeros({m, n})`; take their `data()`
//    pointers.
// 3. Three loops: `i` outermost, then `p`, then `j` innermost, adding `A[i][p] * B[p][j]` into
//    `C[i][j]` (row-major: `A[i][p]` is at `i * k + p`). Read `A[i][p]` once per `(i, p)`,
//    before the `j` loop.
//
// **EXAMPLE**:
// ```cpp
// tensor({{1, 2}, {3, 4}}).matmul(tensor({{5, 6}, {7, 8}}))   // [[19, 22], [43, 50]]
// ```
//
// **HINTS**:
// - Pointers to the start of the rows (`const float* b_row = B + p * n;`,
//   `float* c_row = C + i * n;`) keep the innermost loop short and obviously stride 1.
// - `matmul` (written for you, below) checks the shapes and handles 1-D operands by turning
//   them into `[1, k]` or `[k, 1]` matrices and back.
//
// **SYSTEMS THINKING**: a product of `[m, k]` and `[k, n]` costs `2 m k n` floating-point
// operations (a multiply and an add per term) and touches only `m k + k n + m n` floats. For
// 512×512 that is 268 million operations on 3 MiB of data: about 90 operations per float
// loaded, so a good matmul is limited by arithmetic, not memory, and can approach the
// CPU's peak. Divide 268 million by the time the demo measures to get your GFLOP/s; module
// 10 compares that with the machine's peak, module 11 closes most of the gap.
//
// ### A slot for a faster kernel (written for you; it sleeps until module 11)
//
// Every matrix product of the course goes through `Tensor::matmul`: `Linear`, the backward of
// matmul in module 05 (with its transposed views), convolution through im2col in module 09,
// attention later. So that module 11 can make all of them fast without you editing any of
// them, `Tensor::matmul` (written for you, below) looks for an installed **matmul kernel**
// first, the way `autograd::record` looks for a recorder. Until module 11 none is installed and
// your `native::matmul_2d` does the work. Module 11 installs its GEMM once, when the program
// starts. The kernel receives the two operands as they are, views included: a transposed
// operand is not copied first, because module 11's kernel reads it in place.

// %%
//| export
namespace tinytorch::native {

// a [m, k] @ b [k, n] -> a new contiguous [m, n] tensor: the i-p-j loop on contiguous data.
// Shapes already checked. Public so that module 11 can measure its kernel against it.
Tensor matmul_2d(const Tensor& a, const Tensor& b);

// A kernel that replaces matmul_2d inside Tensor::matmul: the same contract (2-D a [m, k] and
// b [k, n], which may be views with any strides, -> a new contiguous [m, n] tensor).
using MatmulKernel = Tensor (*)(const Tensor& a, const Tensor& b);
// Installs `kernel` for every thread (nullptr goes back to matmul_2d). Module 11 does this once,
// when the program starts.
void set_matmul_kernel(MatmulKernel kernel) noexcept;
// The installed kernel, or nullptr.
MatmulKernel matmul_kernel() noexcept;

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch {

namespace native {

Tensor matmul_2d(const Tensor& a, const Tensor& b) {
  // BEGIN SOLUTION
  const int64_t m = a.size(0);
  const int64_t k = a.size(1);
  const int64_t n = b.size(1);
  const Tensor lhs = a.contiguous();
  const Tensor rhs = b.contiguous();
  Tensor out = zeros({m, n});
  const float* pa = lhs.data();
  const float* pb = rhs.data();
  float* pc = out.data();
  for (int64_t i = 0; i < m; ++i) {
    float* c_row = pc + i * n;
    for (int64_t p = 0; p < k; ++p) {
      const float a_ip = pa[i * k + p];
      const float* b_row = pb + p * n;
      for (int64_t j = 0; j < n; ++j) c_row[j] += a_ip * b_row[j];
    }
  }
  return out;
  // END SOLUTION
}

namespace {
std::atomic<MatmulKernel> installed_matmul_kernel{nullptr};
}  // namespace

void set_matmul_kernel(MatmulKernel kernel) noexcept { installed_matmul_kernel.store(kernel); }
MatmulKernel matmul_kernel() noexcept { return installed_matmul_kernel.load(std::memory_order_relaxed); }

}  // namespace native

Tensor Tensor::matmul(const Tensor& other) const {
  const std::string shapes = shape_str(shape()) + " and " + shape_str(other.shape());
  if (dim() < 1 || dim() > 2 || other.dim() < 1 || other.dim() > 2) {
    throw ShapeError("matmul(): expects 1-D or 2-D tensors, got shapes " + shapes);
  }
  const int64_t inner_left = size(-1);
  const int64_t inner_right = other.size(0);
  if (inner_left != inner_right) {
    throw ShapeError("matmul(): cannot multiply shapes " + shapes + ": inner sizes " + std::to_string(inner_left) +
                     " and " + std::to_string(inner_right) + " differ");
  }
  return autograd::record("matmul", {*this, other}, [&] {
    const Tensor left = dim() == 1 ? reshape({1, -1}) : *this;
    const Tensor right = other.dim() == 1 ? other.reshape({-1, 1}) : other;
    Shape result_shape;
    if (dim() == 2) result_shape.push_back(size(0));
    if (other.dim() == 2) result_shape.push_back(other.size(1));
    const native::MatmulKernel fast = native::matmul_kernel();  // module 11's, once it exists
    return (fast ? fast(left, right) : native::matmul_2d(left, right)).view(result_shape);
  });
}

}  // namespace tinytorch

// %%
//| export
namespace tinytorch {

// a.matmul(b), as torch::matmul.
inline Tensor matmul(const Tensor& a, const Tensor& b) { return a.matmul(b); }

}  // namespace tinytorch

// %%
//| test
TEST(UnitMatmul, TwoByTwo) {
  Tensor c = matmul(tensor({{1, 2}, {3, 4}}), tensor({{5, 6}, {7, 8}}));
  EXPECT_EQ(c.to_vector(), (std::vector<float>{19, 22, 43, 50}));
}

TEST(UnitMatmul, InnerSizeMismatchIsAShapeError) {
  EXPECT_THROW(matmul(zeros({2, 3}), zeros({4, 5})), ShapeError);
}

// %%
//| demo
Tensor a = tensor({{1, 2, 3}, {4, 5, 6}});
Tensor b = tensor({{1, 0}, {0, 1}, {1, 1}});
std::cout << "a " << shape_str(a.shape()) << " @ b " << shape_str(b.shape()) << " =\n" << a.matmul(b) << "\n";
std::cout << "a @ a.t() (a transposed view, made contiguous inside matmul) =\n" << a.matmul(a.t()) << "\n";
std::cout << "matrix @ vector: " << a.matmul(tensor({1, 1, 1})) << "\n";

// The i-j-p loop from the text, next to the i-p-j loop in matmul(): same numbers.
auto naive = [](const Tensor& x, const Tensor& y) {
  const int64_t m = x.size(0), k = x.size(1), n = y.size(1);
  Tensor out = zeros({m, n});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += x.at({i, p}) * y.at({p, j});
      out.at({i, j}) = acc;
    }
  }
  return out;
};
Tensor x = randn({64, 48}, 1);
Tensor y = randn({48, 32}, 2);
Tensor difference = naive(x, y) - x.matmul(y);
std::cout << "64x48 @ 48x32, naive i-j-p loop minus matmul(): every difference lies in ["
          << -(-difference).max().item() << ", " << difference.max().item() << "]\n";
try {
  std::cout << matmul(zeros({2, 3}), zeros({4, 5}));
} catch (const ShapeError& e) {
  std::cout << "ShapeError: " << e.what() << "\n";
}

// %%
//| demo
#include <tinytorch/timing.hpp>

// The two loop orders of part 9, timed on 512x512 matrices: median of 3 runs each.
const int64_t size = 512;
Tensor a = randn({size, size}, 1);
Tensor b = randn({size, size}, 2);
Tensor naive_result = zeros({size, size});
const double ijp = timing::median_seconds(3, [&] {  // the clear i-j-p order: B read down its columns
  const float* pa = a.data();
  const float* pb = b.data();
  float* pc = naive_result.data();
  for (int64_t i = 0; i < size; ++i) {
    for (int64_t j = 0; j < size; ++j) {
      float acc = 0;
      for (int64_t p = 0; p < size; ++p) acc += pa[i * size + p] * pb[p * size + j];
      pc[i * size + j] = acc;
    }
  }
});
Tensor fast_result;
const double ipj = timing::median_seconds(3, [&] { fast_result = a.matmul(b); });  // your i-p-j matmul_2d
const double flops = 2.0 * size * size * size;
std::cout << "512x512 matmul, median of 3: i-j-p " << ijp * 1e3 << " ms (" << flops / ijp / 1e9 << " GFLOP/s), i-p-j "
          << ipj * 1e3 << " ms (" << flops / ipj / 1e9 << " GFLOP/s): the i-p-j order is " << ijp / ipj
          << "x faster\n";
std::cout << "largest difference between the two results: " << (naive_result - fast_result).max().item() << "\n";

// %% [markdown]
// ## Summary
//
// You built the tensor every later module stands on:
//
// - a **storage** of floats shared by handles and views, and a `Tensor` that is a cheap
//   handle, as in libtorch;
// - **shape, strides and offset**, which turn `[i, j, k]` into a position in memory;
// - **views** (`transpose`, `view`, `reshape`, `expand`) that cost O(1) and copy nothing,
//   and `contiguous()`, which copies only when it must;
// - **broadcasting** as stride 0, and element-wise arithmetic on top of it;
// - **reductions** along any dimension, with the outer/n/inner decomposition;
// - a **matmul** that uses every cache line it loads;
// - a **random generator** that gives the same numbers on every machine;
// - ops in two layers, as in PyTorch: the **kernel** you write (`native::...`) and the op
//   everyone calls, which will tell autograd what happened once module 05 exists.
//
// ## Reflect
//
// 1. `m.t()` costs nothing, `m.t().contiguous()` costs a full copy. When is the copy worth
//    paying? (Think of a matrix that is multiplied a thousand times.)
// 2. `a + b` with `a` of shape `[64, 256]` and `b` of shape `[256]`: estimate how many bytes
//    the simple `elementwise` (expand, then `contiguous()` of each input) allocates, and how
//    many yours does, which walks the stride-0 view. Then count them with module 01's
//    allocation hook (`memory::set_allocation_observer`, as the test
//    `TensorBroadcast.AStretchedInputIsNotCopied` does).
// 3. In the i-p-j matmul, what is the stride of every memory access in the innermost loop?
//    And in the i-j-p version? Predict the speed-up for 512×512 matrices, then measure it.
// 4. `Tensor b = a;` versus `Tensor b = a.clone();`: which one would an optimizer need
//    to update a model's weights, and why?
// 5. Why must the seed determine the numbers *exactly*, not just their distribution? Who
//    notices when it does not?
//
// Next: module 02, activations. `relu`, `sigmoid`, `softmax` and friends are built on the
// `map`, broadcasting and reductions you wrote here, and they are where numerical stability
// (a float stops at 3.4 × 10³⁸) first bites. Later, module 05's autograd wakes up the slot
// you read in part 2 and leans on exactly these views and reductions (the gradient of a
// broadcast `a + b` is a `sum` over the broadcast dimensions).
