// %% [markdown]
// # Module 09: Spatial
//
// Until now every network of the course saw an image as 784 numbers in a row. A `Linear` layer
// does not know that pixel 300 sits right above pixel 328: shuffle the pixels of every image the
// same way and it learns exactly as well. But images have structure. An edge is an edge wherever
// it is, and what a pixel means depends on its neighbours. A **convolution** builds that in: a
// small filter of learned weights (5×5, say) slides over the image and computes the same
// weighted sum at every position.
//
// ```cpp
// nn::Sequential cnn(nn::Conv2d(1, 16, /*kernel=*/5, /*stride=*/1, /*padding=*/2), nn::ReLU(), nn::MaxPool2d(2),
//                    nn::Conv2d(16, 32, 5, 1, 2), nn::ReLU(), nn::MaxPool2d(2),
//                    nn::Flatten(), nn::Linear(32 * 7 * 7, 10));
// Tensor logits = cnn(images);   // images [64, 1, 28, 28] -> logits [64, 10]
// ```
//
// Two ideas make convolution the workhorse of vision:
//
// - **Locality**: each output looks at a small window of the input, so the layer learns local
//   patterns (edges, corners, textures), and the next layer combines them into larger ones.
// - **Weight sharing**: the same filter is used at every position. A `Conv2d(1, 16, 5)` has
//   16 · 25 + 16 = 416 parameters. A `Linear` from 784 pixels to 16 maps of 784 would need
//   784 · 12,544 ≈ 9.8 million, and it would have to learn the same edge detector 784 times.
//
// The names are libtorch's (`torch::nn::Conv2d`, `MaxPool2d`, `AvgPool2d`, `BatchNorm2d`,
// `Flatten`, `torch::nn::functional::conv2d`). With this module the **CNN milestone (1998)**,
// LeCun's idea of a network that learns its own filters, comes within reach.
//
// ## Objectives
//
// - Compute the output size of a sliding window, and say *why* a layer's input is too small.
// - Write a convolution from its definition (seven nested loops), then write it again as
//   **im2col** followed by one big matrix product, and measure how much faster the second is.
// - Write **col2im**, the adjoint of im2col, and see that it is exactly the backward pass of
//   im2col: convolution's whole backward is then a matmul backward plus col2im.
// - Write max pooling that keeps its **argmax** for backward, and average pooling made of
//   im2col and a mean, differentiated for free by module 05.
// - Write batch normalization: statistics that survive a large mean, the classic backward
//   formula, running statistics for evaluation, and the difference between `train()` and `eval()`.
// - Check every op and layer against finite differences, with stride 2, padding, non-square
//   images and batches of more than one.
// - See real filters at work: a Sobel edge detector on a real Fashion-MNIST image, and the
//   feature maps of a small network trained for a few hundred steps.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | images as tensors, and the size of a sliding window | `conv_output_size` |
// | 2 | convolution from its definition | `native::conv2d_direct` |
// | 3 | im2col and col2im | `native::im2col`, `native::col2im` |
// | 4 | convolution as one matmul, and `nn::Conv2d` | `functional::conv2d`, the `Conv2d` constructor |
// | 5 | pooling | `native::max_pool2d`, `native::max_pool2d_backward`, `functional::avg_pool2d` |
// | 6 | batch normalization | `native::batch_norm_stats`, `native::batch_norm_normalize`, `native::batch_norm_backward`, `update_running_stats`, the `BatchNorm2d` constructor |
// | 7 | `nn::Flatten` | `Flatten::forward` |
// | 8 | a small CNN on real data | nothing: train it, look inside it, time it |
//
// Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module (im2col and the
// batch-norm backward). Fifteen exercises; each is one function.
//
// The demos and a few tests read the real Fashion-MNIST from the `tito data` cache. Import it
// once (Debian's `dataset-fashion-mnist` package brings the files, no network needed):
//
//     tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist
//
// After each function, run `tito test spatial`; `tito module run spatial` shows the demos.

// %%
//| default_exp core/spatial

// %%
//| export
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <tinytorch/core/data.hpp>

// %%
//| export impl
#include <algorithm>
#include <atomic>
#include <cmath>
#include <sstream>
#include <stdexcept>

// %% [markdown]
// ## Part 1: Images as tensors, and the size of a sliding window
//
// A batch of images is a 4-D tensor `[N, C, H, W]`: N images, C channels (1 for Fashion-MNIST's
// gray, 3 for CIFAR-10's red, green and blue), H rows and W columns. This is PyTorch's layout,
// "NCHW", and module 08's readers deliver exactly that. Each channel of one image is a
// **plane**, H·W floats in row-major order, so moving one pixel right is one float and one pixel
// down is W floats.
//
// A **convolution layer** holds `out_channels` filters. Each filter is `[in_channels, K, K]`:
// it looks at a K×K window of *every* input channel, so the weight is `[O, C, K, K]`. Output
// channel `o` at position `(oh, ow)` is
//
//     out[n, o, oh, ow] = bias[o] + Σ_c Σ_ki Σ_kj  weight[o, c, ki, kj] · x[n, c, oh·S − P + ki, ow·S − P + kj]
//
// where the **stride** S is how far the window moves between outputs, and the **padding** P is a
// border of zeros around the input (a position outside the image reads 0).
//
//     input 5x5, kernel 3, stride 1, padding 0     the same with padding 1 (zeros around)
//     ┌─────────┐                                   0 0 0 0 0 0 0
//     │▓▓▓· ·   │ window at (0, 0)                   0 ▓▓▓· · · 0   window at (0, 0) covers the border
//     │▓▓▓· ·   │   -> output 3x3                    0 ▓▓▓· · · 0     -> output 5x5: the same size
//     │▓▓▓· ·   │                                    0 ▓▓▓· · · 0
//     └─────────┘
//
// So "what size comes out?" is the first question of every convolution and pooling layer, and
// the most common bug in a CNN is getting it wrong: the `Linear` after the last convolution must
// know how many numbers arrive.
//
// ### ⭐ `conv_output_size`
//
// Along one dimension, the padded input holds `size + 2·padding` positions, and a window of
// `kernel` positions fits at starts `0, stride, 2·stride, …` as long as `start + kernel` does not
// pass the end.
//
// **TODO**: Return the number of window positions along one dimension: `⌊(size + 2·padding −
// kernel) / stride⌋ + 1`, or 0 when the window does not fit at all.
//
// **APPROACH**:
// 1. `span = size + 2 * padding`: the padded length.
// 2. If `span < kernel`, no window fits: return 0.
// 3. Otherwise return `(span - kernel) / stride + 1` (integer division of non-negative numbers).
//
// **EXAMPLE**:
// ```cpp
// conv_output_size(28, 5, 1, 0)   // 24: a 5x5 filter over a 28x28 image
// conv_output_size(28, 5, 1, 2)   // 28: padding (K - 1) / 2 keeps the size ("same" padding)
// conv_output_size(28, 2, 2, 0)   // 14: 2x2 pooling with stride 2 halves it
// conv_output_size(7, 3, 2, 1)    // 4: windows at -1, 1, 3, 5 of the padded row
// conv_output_size(4, 5, 2, 0)    // 0: the window is larger than the input
// ```
//
// **HINTS**:
// - Step 2 is not optional. C++ integer division truncates toward zero, so `(4 - 5) / 2 + 1`
//   is `0 + 1 = 1`: one output from an input the window does not fit in. Python's `//` floors and
//   would say 0; C++ does not.
// - The formula drops the last few positions when the stride does not divide evenly: a 6-wide
//   input, kernel 3, stride 2 gives 2 outputs (starts 0 and 2); start 4 would need positions 4–6.
//
// **SYSTEMS THINKING**: the output size sets the cost of everything after it. A 5×5 convolution
// with padding 2 keeps 28×28 = 784 positions; without padding, 24×24 = 576, 27% less work and
// 27% fewer activations to keep for backward, but the border pixels are seen by fewer windows.

// %%
//| export
namespace tinytorch {

// How many positions a window of `kernel` takes along a dimension of `size`, moving by
// `stride`, with `padding` zeros at each end: (size + 2 padding - kernel) / stride + 1, or 0
// when the window does not fit. Expects kernel >= 1, stride >= 1, padding >= 0.
int64_t conv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t padding);

}  // namespace tinytorch

// %%
//| export impl
namespace tinytorch {

int64_t conv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t padding) {
  // BEGIN SOLUTION
  const int64_t span = size + 2 * padding;
  if (span < kernel) return 0;
  return (span - kernel) / stride + 1;
  // END SOLUTION
}

}  // namespace tinytorch

// %% [markdown]
// Every layer of this module checks its input the same way, so the checks are written once, here
// (given code). An error names the layer as it prints, the input's shape, and what is wrong with
// it; for an input that is too small, the output size it would give:
//
//     Conv2d(3, 16, kernel=5, stride=1, padding=0): input [2, 3, 4, 4] gives an output of 0x0
//     (a 5x5 window does not fit in 4x4 with padding 0)
//
// The layer's description is passed as a function that builds it, so that the string is made
// only when something is wrong: a forward pass that succeeds builds no message at all.

// %%
//| export impl
namespace tinytorch {
namespace {

std::string plural(int64_t count, const char* word) {
  return std::to_string(count) + " " + word + (count == 1 ? "" : "s");
}

// The output size {OH, OW} of a `kernel` window over the 4-D `input` (and the input's channel
// count, when `channels` >= 0, checked); a ShapeError that starts with describe() otherwise.
template <typename Describe>
std::pair<int64_t, int64_t> window_output(const Describe& describe, const Tensor& input, int64_t channels,
                                          int64_t kernel, int64_t stride, int64_t padding) {
  const std::string expected = "[N, " + (channels >= 0 ? std::to_string(channels) : std::string("C")) + ", H, W]";
  if (input.dim() != 4) {
    throw ShapeError(describe() + ": expected an input " + expected + ", got " + shape_str(input.shape()) +
                     (input.dim() == 3 ? " (a single image? add the batch dimension with unsqueeze(0))" : ""));
  }
  if (channels >= 0 && input.size(1) != channels) {
    throw ShapeError(describe() + ": expected an input " + expected + ", got " + shape_str(input.shape()) + " (" +
                     plural(input.size(1), "channel") + ", not " + std::to_string(channels) + ")");
  }
  const int64_t height = conv_output_size(input.size(2), kernel, stride, padding);
  const int64_t width = conv_output_size(input.size(3), kernel, stride, padding);
  if (height <= 0 || width <= 0) {
    throw ShapeError(describe() + ": input " + shape_str(input.shape()) + " gives an output of " +
                     std::to_string(height) + "x" + std::to_string(width) + " (a " + std::to_string(kernel) + "x" +
                     std::to_string(kernel) + " window does not fit in " + std::to_string(input.size(2)) + "x" +
                     std::to_string(input.size(3)) + " with padding " + std::to_string(padding) + ")");
  }
  return {height, width};
}

// kernel >= 1, stride >= 1, padding >= 0, or std::invalid_argument naming the layer.
template <typename Describe>
void check_window(const Describe& describe, int64_t kernel, int64_t stride, int64_t padding) {
  if (kernel < 1 || stride < 1 || padding < 0) {
    throw std::invalid_argument(describe() + ": the kernel and the stride must be at least 1 and the padding at least 0");
  }
}

}  // namespace
}  // namespace tinytorch

// %%
//| test
using namespace tinytorch;

TEST(UnitOutputSize, SlidingWindowPositions) {
  EXPECT_EQ(conv_output_size(28, 5, 1, 0), 24);
  EXPECT_EQ(conv_output_size(28, 5, 1, 2), 28);
  EXPECT_EQ(conv_output_size(28, 2, 2, 0), 14);
  EXPECT_EQ(conv_output_size(7, 3, 2, 1), 4);
  EXPECT_EQ(conv_output_size(4, 5, 2, 0), 0) << "a window larger than the input has no position; C++ division "
                                                "truncates (4 - 5) / 2 to 0, so check span < kernel first";
}

// %% [markdown]
// ## Part 2: Convolution from its definition
//
// The formula of part 1, written as loops, is the **direct convolution**. There are seven of
// them: over the batch `n`, the output channels `o`, the output rows `oh` and columns `ow`, and,
// for each output, the input channels `c` and the kernel's rows `ki` and columns `kj`.
//
// It is the definition, so it is the reference every faster version is checked against, in
// this module's tests and in every deep-learning library (cuDNN has a "direct" algorithm for the
// same reason). It is also slow, and part 3 says why.
//
// (Strictly, this is a *cross-correlation*: a mathematician's convolution flips the kernel
// first. Deep learning calls it convolution anyway; the filters are learned, so a flipped
// filter is learned just as well.)
//
// ### ⭐⭐ `native::conv2d_direct`
//
// **TODO**: Return `out [N, O, OH, OW]` from `input [N, C, H, W]`, `weight [O, C, K, K]` and
// `bias [O]` (undefined: no bias), by the formula of part 1. The shapes are already checked.
//
// **APPROACH**:
// 1. `x = input.contiguous()`, `w = weight.contiguous()`; read the sizes; `OH` and `OW` with
//    `conv_output_size`; `out = zeros({N, O, OH, OW})`.
// 2. Loops `n`, `o`, `oh`, `ow`. For each output, `float acc = 0`, then loops `c`, `ki`, `kj`:
//    `ih = oh * stride - padding + ki`, `iw = ow * stride - padding + kj`; skip the term when
//    `ih` or `iw` is outside `[0, H)` or `[0, W)` (it reads a padding zero).
// 3. `x[n, c, ih, iw]` is at `((n * C + c) * H + ih) * W + iw`, `weight[o, c, ki, kj]` at
//    `((o * C + c) * K + ki) * K + kj`. Add `w · x` into `acc`.
// 4. Store `acc` plus `bias[o]` (when there is a bias) at `((n * O + o) * OH + oh) * OW + ow`.
//
// **EXAMPLE**:
// ```cpp
// Tensor x = arange(9).reshape({1, 1, 3, 3});       // [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
// Tensor w = ones({1, 1, 2, 2});                    // sums each 2x2 window
// native::conv2d_direct(x, w, Tensor(), 1, 0)       // [[[[8, 12], [20, 24]]]]
// native::conv2d_direct(x, w, tensor({1}), 1, 1)    // 4x4: the corners see one pixel: 0+1, ..., 8+1
// ```
//
// **HINTS**:
// - Work on raw pointers (`x.data()`), not `at()`: `at` checks bounds and builds an index
//   vector on every call, and this loop runs tens of millions of times.
// - `ih` and `iw` can be negative (padding): keep them in `int64_t`, and compare before you
//   index.
// - Adding the bias *after* the sum, not starting from it, gives the same rounding as part 4's
//   im2col + matmul, so the two agree to a few units in the last place.
//
// **SYSTEMS THINKING**: count the work. Each output takes `C·K·K` multiply-adds, so the layer
// costs `N·O·OH·OW·C·K·K` of them: for a batch of 64 through `Conv2d(16, 32, 5, 1, 2)` on 14×14
// maps, 64·32·196·400 = 160 million. Now look at the memory: the innermost loop reads 5
// neighbouring floats of `x`, then jumps a whole row (`W` floats) for the next `ki`, then a
// whole plane for the next `c`. The compiler cannot vectorize a loop of 5, and every jump
// costs a fresh cache line. Part 3 fixes both.

// %%
//| export
namespace tinytorch::native {

// Convolution by its definition, seven loops: input [N, C, H, W], weight [O, C, K, K], bias [O]
// or undefined -> [N, O, OH, OW]. Shapes already checked. The reference of part 4, and slow.
Tensor conv2d_direct(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding);

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch::native {

Tensor conv2d_direct(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding) {
  // BEGIN SOLUTION
  const Tensor x = input.contiguous();
  const Tensor w = weight.contiguous();
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t out_channels = w.size(0), kernel = w.size(2);
  const int64_t out_h = conv_output_size(height, kernel, stride, padding);
  const int64_t out_w = conv_output_size(width, kernel, stride, padding);
  Tensor out = zeros({batch, out_channels, out_h, out_w});
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  const float* px = x.data();
  const float* pw = w.data();
  float* po = out.data();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t o = 0; o < out_channels; ++o) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          float acc = 0.0f;
          for (int64_t c = 0; c < channels; ++c) {
            for (int64_t ki = 0; ki < kernel; ++ki) {
              const int64_t ih = oh * stride - padding + ki;
              if (ih < 0 || ih >= height) continue;
              for (int64_t kj = 0; kj < kernel; ++kj) {
                const int64_t iw = ow * stride - padding + kj;
                if (iw < 0 || iw >= width) continue;
                acc += pw[((o * channels + c) * kernel + ki) * kernel + kj] *
                       px[((n * channels + c) * height + ih) * width + iw];
              }
            }
          }
          po[((n * out_channels + o) * out_h + oh) * out_w + ow] = b.defined() ? acc + b.data()[o] : acc;
        }
      }
    }
  }
  return out;
  // END SOLUTION
}

}  // namespace tinytorch::native

// %%
//| test
TEST(UnitConvDirect, SumsEachWindow) {
  const Tensor x = arange(9).reshape({1, 1, 3, 3});
  EXPECT_EQ(native::conv2d_direct(x, ones({1, 1, 2, 2}), Tensor(), 1, 0).to_vector(),
            (std::vector<float>{8, 12, 20, 24}));
  const Tensor padded = native::conv2d_direct(x, ones({1, 1, 2, 2}), tensor({1}), 1, 1);
  EXPECT_EQ(padded.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(padded.to_vector()[0], 1.0f) << "the top-left window sees only pixel [0, 0] (= 0) and the bias";
  EXPECT_EQ(padded.to_vector()[15], 9.0f) << "the bottom-right window sees only pixel [2, 2] (= 8) and the bias";
}

// %% [markdown]
// A filter you know: the **Sobel** operator, the classic edge detector of image processing. Its
// horizontal kernel subtracts the column left of a pixel from the column right of it (with the
// middle row counted twice), so it answers "how fast does brightness change from left to right
// here?". On a flat region it gives 0; on a vertical edge, a large number whose sign says which
// side is brighter. Here it runs on a small image with a bright square, through your
// `conv2d_direct`. Demo 3 (in part 4) runs it on a real Fashion-MNIST image.

// %%
//| demo
// An 8x8 image: a bright 4x4 square on black.
Tensor image = zeros({1, 1, 8, 8});
for (int64_t r = 2; r < 6; ++r) {
  for (int64_t c = 2; c < 6; ++c) image.at({0, 0, r, c}) = 1.0f;
}
const Tensor sobel_x = tensor({-1, 0, 1, -2, 0, 2, -1, 0, 1}).reshape({1, 1, 3, 3});
const Tensor edges = native::conv2d_direct(image, sobel_x, Tensor(), 1, 1);
auto show = [](const char* title, const Tensor& t) {
  std::cout << title << "\n";
  for (int64_t r = 0; r < t.size(2); ++r) {
    for (int64_t c = 0; c < t.size(3); ++c) std::printf("%4.0f", static_cast<double>(t.at({0, 0, r, c})));
    std::cout << "\n";
  }
};
show("the image:", image);
show("Sobel x (padding 1, so 8x8 again): up to +4 along the left edge, -4 along the right, 0 inside and outside:", edges);

// %% [markdown]
// ## Part 3: im2col: a convolution is a matrix product
//
// Look at the formula again with the window's position fixed. Output `out[n, o, oh, ow]` is the
// dot product of filter `o` (its `C·K·K` weights, flattened) with the `C·K·K` input values under
// the window at `(oh, ow)` of image `n`. So:
//
// 1. copy the values under every window into a column of a matrix, **cols**, with `C·K·K` rows
//    and one column per output position: `N·OH·OW` columns;
// 2. view the weight `[O, C, K, K]` as a matrix `[O, C·K·K]` (free: it is already row-major);
// 3. multiply: `[O, C·K·K] @ [C·K·K, N·OH·OW] = [O, N·OH·OW]`, which is the whole output.
//
// Step 1 is **im2col** ("image to columns", the trick of Caffe, the library that made CNNs
// practical in 2014). Row `r = (c·K + ki)·K + kj` of `cols`, the row of kernel entry `(c, ki,
// kj)`, holds for every window the input value that entry multiplies; column
// `(n·OH + oh)·OW + ow` is the window of output position `(n, oh, ow)`:
//
//     x: one 1x1x3x3 image          cols for kernel 2, stride 1 (4 windows, 4 kernel entries)
//     ┌───┬───┬───┐                       window (0,0) (0,1) (1,0) (1,1)
//     │ a │ b │ c │           (ki,kj)=(0,0)   a     b     d     e
//     ├───┼───┼───┤                   (0,1)   b     c     e     f
//     │ d │ e │ f │                   (1,0)   d     e     g     h
//     ├───┼───┼───┤                   (1,1)   e     f     h     i
//     │ g │ h │ i │
//     └───┴───┴───┘           weight [1, 4] @ cols [4, 4] = out [1, 4] = the 2x2 output map
//
// Each input value appears in up to `K·K` columns: `cols` is about `K²/S²` times the size of the
// input (25 times for a 5×5 kernel). That memory buys speed, because the product is now *one*
// big matmul (module 01's `matmul`, whose inner loop is long, contiguous and vectorized),
// instead of millions of dot products of length 25.
//
// Why this layout, rows by kernel entry and columns by position? Two reasons. The weight's
// row-major layout `[O, C, K, K]` already *is* the matrix `[O, C·K·K]`, so its view is free.
// And the matmul's innermost loop runs along a row of `cols`: `N·OH·OW` floats long (12,544
// for a batch of 64 on 14×14 maps), which is ideal for the i-p-j loop of module 01.
//
// ### ⭐⭐⭐ `native::im2col`
//
// **TODO**: Return `cols [C·K·K, N·OH·OW]` for `input [N, C, H, W]`: entry `[(c·K + ki)·K + kj,
// (n·OH + oh)·OW + ow]` is `x[n, c, oh·S − P + ki, ow·S − P + kj]`, or 0 where that position is
// in the padding.
//
// **APPROACH**:
// 1. `x = input.contiguous()`; sizes; `OH`, `OW` with `conv_output_size`; `L = N·OH·OW`;
//    `cols = empty({C·K·K, L})` (module 01: you write every entry, the padding's zeros too).
// 2. Loop over the rows: `c`, `ki`, `kj` (row `r = (c·K + ki)·K + kj`, starting at
//    `cols.data() + r·L`). For each `kj`, `auto [first, end] = columns_inside(W, OW, kj, S, P)`
//    (written for you): the `ow` whose `iw = ow·S − P + kj` is inside the image.
// 3. Inside, loop `n`, then `oh`: `ih = oh·S − P + ki`; the output run is
//    `row + (n·OH + oh)·OW`. If `ih` is outside `[0, H)`, fill the whole run of `OW` with 0 and
//    go on. Otherwise point at the input row `x + ((n·C + c)·H + ih)·W`.
// 4. Zeros in `run[0 .. first)` and `run[end .. OW)`, and in between `run[ow] = in_row[ow·S − P +
//    kj]`.
//
// **EXAMPLE**:
// ```cpp
// Tensor x = arange(9).reshape({1, 1, 3, 3});
// native::im2col(x, 2, 1, 0)
//   // [[0, 1, 3, 4],      entry (0, 0) of each of the 4 windows
//   //  [1, 2, 4, 5],      entry (0, 1)
//   //  [3, 4, 6, 7],      entry (1, 0)
//   //  [4, 5, 7, 8]]      entry (1, 1)
// native::im2col(x, 3, 1, 1).shape()   // [9, 9]: 9 kernel entries, 9 windows (3x3 with padding 1)
// ```
//
// **HINTS**:
// - The loop order is the point. With `ow` innermost, the writes are contiguous (`run[ow]`), and
//   for stride 1 so are the reads (`in_row[iw]` with `iw = ow + const`): the loop streams
//   memory. Put the kernel loops innermost instead and you are back to part 2's jumps.
// - Why `columns_inside`, rather than `if (0 <= iw && iw < W)` on every entry: a loop with no
//   test inside is one the compiler turns into SIMD copies of 8 floats. On the reference CNN
//   (`bench/cnn_bench --profile 20`, batch 64) that and `empty` instead of `zeros` took im2col
//   from 2.7 to 2.2 ms a call, and col2im from 3.6 to 2.4. What is left is memory: the second
//   layer's `cols` is 19 MB, more than the L3 cache, written here and read back by the matmul.
// - Take `x.data()` after `contiguous()`: a transposed or cropped input is a view whose
//   elements are not where `((n·C + c)·H + ih)·W + iw` says.
// - Check your index of the column with two images: image 1's windows start at column
//   `OH·OW`, not at column 1.
//
// **SYSTEMS THINKING**: `cols` for the second layer of a Fashion-MNIST CNN (batch 64, 16 channels,
// 5×5 kernel, 14×14 outputs) is 400 × 12,544 floats: 20 MB, written once and read `O` = 32
// times by the matmul. The matmul does 32 · 400 · 12,544 = 160 million multiply-adds on it, 32
// for every float im2col wrote. That ratio is why im2col pays: the copy is cheap next to the
// arithmetic it makes fast. Demo 4 measures both.

// %%
//| export
namespace tinytorch::native {

// im2col: every K x K window of input [N, C, H, W] (stride, zero padding) as a column of a
// matrix [C*K*K, N*OH*OW]. Row (c*K + ki)*K + kj holds kernel entry (c, ki, kj) of each window;
// column (n*OH + oh)*OW + ow is the window of output position (n, oh, ow). Shapes already checked.
Tensor im2col(const Tensor& input, int64_t kernel, int64_t stride, int64_t padding);

// col2im, the adjoint of im2col: adds each entry of cols [C*K*K, N*OH*OW] into the input
// position it was copied from, giving a tensor of `input_shape` [N, C, H, W]. Entries that came
// from the padding are dropped; a position covered by several windows receives their sum.
Tensor col2im(const Tensor& cols, const Shape& input_shape, int64_t kernel, int64_t stride, int64_t padding);

// The output columns `ow` in [first, end) are those whose input column ow*stride - padding + kj
// lies inside [0, width), for kernel column `kj` (first == end when there are none). Written for
// you: the same range serves every row of every image, so im2col and col2im compute it once.
struct ColumnRange {
  int64_t first;
  int64_t end;
};
ColumnRange columns_inside(int64_t width, int64_t out_w, int64_t kj, int64_t stride, int64_t padding);

// The grain for native::parallel_for (module 01) over rows of `row_length` floats each: enough
// rows for kParallelGrain floats, so that a small tensor stays on one thread. Written for you.
int64_t rows_per_piece(int64_t row_length);

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch::native {

int64_t rows_per_piece(int64_t row_length) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_length, 1));
}

ColumnRange columns_inside(int64_t width, int64_t out_w, int64_t kj, int64_t stride, int64_t padding) {
  const int64_t before = padding - kj;  // the first ow must have ow * stride >= before
  const int64_t first = std::min(out_w, before <= 0 ? 0 : (before + stride - 1) / stride);
  const int64_t last_inside = width - 1 + padding - kj;  // and ow * stride <= last_inside
  const int64_t end = last_inside < 0 ? 0 : std::min(out_w, last_inside / stride + 1);
  return {first, std::max(first, end)};
}

Tensor im2col(const Tensor& input, int64_t kernel, int64_t stride, int64_t padding) {
  // BEGIN SOLUTION
  const Tensor x = input.contiguous();
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t out_h = conv_output_size(height, kernel, stride, padding);
  const int64_t out_w = conv_output_size(width, kernel, stride, padding);
  const int64_t columns = batch * out_h * out_w;
  Tensor cols = empty({channels * kernel * kernel, columns});  // every entry is written below, zeros too
  const float* src = x.data();
  float* dst = cols.data();
  // Rows r = (c·K + ki)·K + kj are independent: pieces of rows go to module 11's threads.
  native::parallel_for(channels * kernel * kernel, rows_per_piece(columns), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t c = r / (kernel * kernel), ki = r / kernel % kernel, kj = r % kernel;
      float* row = dst + r * columns;
      const auto [first, end_column] = columns_inside(width, out_w, kj, stride, padding);
      for (int64_t n = 0; n < batch; ++n) {
        for (int64_t oh = 0; oh < out_h; ++oh) {
          const int64_t ih = oh * stride - padding + ki;
          float* run = row + (n * out_h + oh) * out_w;
          if (ih < 0 || ih >= height) {  // a row of padding: the whole run is 0
            std::fill_n(run, out_w, 0.0f);
            continue;
          }
          const float* in_row = src + ((n * channels + c) * height + ih) * width;
          std::fill(run, run + first, 0.0f);
          for (int64_t ow = first; ow < end_column; ++ow) run[ow] = in_row[ow * stride - padding + kj];
          std::fill(run + end_column, run + out_w, 0.0f);
        }
      }
    }
  });
  return cols;
  // END SOLUTION
}

}  // namespace tinytorch::native

// %%
//| test
TEST(UnitIm2col, ColumnsAreWindows) {
  const Tensor cols = native::im2col(arange(9).reshape({1, 1, 3, 3}), 2, 1, 0);
  EXPECT_EQ(cols.shape(), (Shape{4, 4}));
  EXPECT_EQ(cols.to_vector(), (std::vector<float>{0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8}));
  EXPECT_EQ(native::im2col(arange(9).reshape({1, 1, 3, 3}), 3, 1, 1).shape(), (Shape{9, 9}));
}

// %% [markdown]
// ### Backward: col2im
//
// im2col is linear: every entry of `cols` is one entry of `x` (or a zero). So its backward is
// simple to state. The gradient reaching `cols` must go back to the input position each entry
// was copied from, and an input value that was copied into several columns (every pixel of an
// overlapping window) receives the **sum** of their gradients. That is **col2im**: the same loops
// as im2col, with the assignment `cols[...] = x[...]` turned around into `dx[...] += cols[...]`.
//
// In linear-algebra terms, if im2col is the matrix `M` (`cols = M x`), col2im is `Mᵀ`, its
// **adjoint**, and the gradient of `M x` is `Mᵀ g`. The tests check it the way a numerical
// analyst would: `⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩` for random `x` and `c`.
//
// So a convolution's backward needs nothing new: the matmul's backward (module 05) gives the
// weight's gradient `g @ colsᵀ` and the columns' gradient `weightᵀ @ g`, and col2im turns the
// columns' gradient into the input's.
//
// ### ⭐⭐ `native::col2im`
//
// **TODO**: Return `dx` of `input_shape` `[N, C, H, W]`: start from zeros, and add every entry of
// `cols` into the input position im2col copied it from. Skip the entries that came from the
// padding.
//
// **APPROACH**:
// 1. `g = cols.contiguous()`; `dx = zeros(input_shape)`; `OH`, `OW`, `L` as in im2col.
// 2. The same five loops as im2col (`c`, `ki`, `kj`, then `n`, `oh`, then `ow`) with the same
//    `ih`, the same `columns_inside` range, and rows of padding skipped (`dx` is already 0).
// 3. Innermost, `ow` from `first` to `end`: `dx_row[ow·S − P + kj] += run[ow]`.
//
// **EXAMPLE**:
// ```cpp
// native::col2im(ones({4, 4}), {1, 1, 3, 3}, 2, 1, 0)
//   // [[[[1, 2, 1],       the corners are in 1 window of 4,
//   //     [2, 4, 2],       the edges in 2, the centre in all 4
//   //     [1, 2, 1]]]]
// ```
//
// **HINTS**:
// - `+=`, not `=`. With `=`, a pixel covered by four windows keeps only the last window's
//   gradient; a test with overlapping windows (stride < kernel) catches that, and a test with
//   stride = kernel does not, which is why the tests use both.
// - The result must be new zeros every call: the caller's tensors are never added into.
//
// **SYSTEMS THINKING**: col2im reads `C·K·K·L` floats and writes into an input `K²/S²` times
// smaller, so with stride 1 each input float is written `K²` times. The adds into one `dx_row`
// are a read-modify-write of neighbouring floats: still contiguous, still vectorizable, because
// within one run (`ow` loop) no two entries land on the same `iw` when the stride is at least 1.

// %%
//| export impl
namespace tinytorch::native {

Tensor col2im(const Tensor& cols, const Shape& input_shape, int64_t kernel, int64_t stride, int64_t padding) {
  // BEGIN SOLUTION
  const Tensor g = cols.contiguous();
  const int64_t batch = input_shape[0], channels = input_shape[1], height = input_shape[2], width = input_shape[3];
  const int64_t out_h = conv_output_size(height, kernel, stride, padding);
  const int64_t out_w = conv_output_size(width, kernel, stride, padding);
  const int64_t columns = batch * out_h * out_w;
  Tensor dx = zeros(input_shape);
  const float* src = g.data();
  float* dst = dx.data();
  // Channels are independent (channel c's rows add only into channel c of dx): pieces of
  // channels go to module 11's threads.
  const int64_t rows = kernel * kernel;
  native::parallel_for(channels, rows_per_piece(rows * columns), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      for (int64_t ki = 0; ki < kernel; ++ki) {
        for (int64_t kj = 0; kj < kernel; ++kj) {
          const float* row = src + ((c * kernel + ki) * kernel + kj) * columns;
          const auto [first, end_column] = columns_inside(width, out_w, kj, stride, padding);
          for (int64_t n = 0; n < batch; ++n) {
            for (int64_t oh = 0; oh < out_h; ++oh) {
              const int64_t ih = oh * stride - padding + ki;
              if (ih < 0 || ih >= height) continue;
              float* dx_row = dst + ((n * channels + c) * height + ih) * width;
              const float* run = row + (n * out_h + oh) * out_w;
              for (int64_t ow = first; ow < end_column; ++ow) dx_row[ow * stride - padding + kj] += run[ow];
            }
          }
        }
      }
    }
  });
  return dx;
  // END SOLUTION
}

}  // namespace tinytorch::native

// %%
//| test
TEST(UnitCol2im, OverlapsAddUp) {
  EXPECT_EQ(native::col2im(ones({4, 4}), {1, 1, 3, 3}, 2, 1, 0).to_vector(),
            (std::vector<float>{1, 2, 1, 2, 4, 2, 1, 2, 1}))
      << "each pixel must receive the sum over the windows that cover it (+=, not =)";
}

// %% [markdown]
// The public ops (written for you) check their arguments and attach each kernel's backward with
// module 05's `autograd::function`: im2col's backward is col2im, and col2im's backward is im2col
// (the adjoint of the adjoint is the map itself). Both record their `{kernel, stride, padding}`
// as the node's `ints`, which `graph_str` prints.

// %%
//| export
namespace tinytorch {

// im2col as a differentiable op (backward: col2im): input [N, C, H, W] -> [C*K*K, N*OH*OW].
// ShapeError naming the input's shape when it is not 4-D or the window does not fit.
Tensor im2col(const Tensor& input, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
// col2im as a differentiable op (backward: im2col): cols [C*K*K, N*OH*OW] -> `input_shape`.
Tensor col2im(const Tensor& cols, const Shape& input_shape, int64_t kernel, int64_t stride = 1, int64_t padding = 0);

}  // namespace tinytorch

// %%
//| export impl
namespace tinytorch {

Tensor im2col(const Tensor& input, int64_t kernel, int64_t stride, int64_t padding) {
  auto describe = [&] {
    return "im2col(kernel=" + std::to_string(kernel) + ", stride=" + std::to_string(stride) +
           ", padding=" + std::to_string(padding) + ")";
  };
  check_window(describe, kernel, stride, padding);
  window_output(describe, input, -1, kernel, stride, padding);
  return autograd::function(
      "im2col", {input}, [&] { return native::im2col(input, kernel, stride, padding); },
      [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
        return {native::col2im(ctx.grad, ctx.inputs[0].shape(), ctx.ints[0], ctx.ints[1], ctx.ints[2])};
      },
      {kernel, stride, padding});
}

Tensor col2im(const Tensor& cols, const Shape& input_shape, int64_t kernel, int64_t stride, int64_t padding) {
  auto describe = [&] {
    return "col2im(input_shape=" + shape_str(input_shape) + ", kernel=" + std::to_string(kernel) +
           ", stride=" + std::to_string(stride) + ", padding=" + std::to_string(padding) + ")";
  };
  check_window(describe, kernel, stride, padding);
  if (input_shape.size() != 4) throw ShapeError(describe() + ": the input shape must be [N, C, H, W]");
  const int64_t out_h = conv_output_size(input_shape[2], kernel, stride, padding);
  const int64_t out_w = conv_output_size(input_shape[3], kernel, stride, padding);
  const Shape expected{input_shape[1] * kernel * kernel, input_shape[0] * out_h * out_w};
  if (cols.shape() != expected) {
    throw ShapeError(describe() + ": expected columns of shape " + shape_str(expected) + ", got " +
                     shape_str(cols.shape()));
  }
  return autograd::function(
      "col2im", {cols}, [&] { return native::col2im(cols, input_shape, kernel, stride, padding); },
      [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
        return {native::im2col(ctx.grad, ctx.ints[0], ctx.ints[1], ctx.ints[2])};
      },
      {kernel, stride, padding});
}

}  // namespace tinytorch

// %% [markdown]
// What im2col does to a real-looking input: one 4×4 image, a 3×3 kernel, padding 1. The 16
// columns are the 16 windows (one per output pixel); the 9 rows are the 9 kernel entries. The
// middle row, entry (1, 1), is the image itself; the zeros are the padding. Then col2im of a
// matrix of ones counts how many windows cover each pixel.

// %%
//| demo
const Tensor x = arange(1, 17).reshape({1, 1, 4, 4});
std::cout << "x [1, 1, 4, 4]:\n" << x.reshape({4, 4}) << "\n";
const Tensor cols = im2col(x, 3, 1, 1);
std::cout << "im2col(x, kernel 3, stride 1, padding 1): " << shape_str(cols.shape())
          << " (rows: kernel entries (ki, kj); columns: the 16 windows)\n";
for (int64_t r = 0; r < cols.size(0); ++r) {
  std::printf("  (%lld, %lld) ", static_cast<long long>(r / 3), static_cast<long long>(r % 3));
  for (int64_t c = 0; c < cols.size(1); ++c) std::printf("%3.0f", static_cast<double>(cols.at({r, c})));
  std::printf("\n");
}
std::cout << "col2im(ones) counts the windows that cover each pixel (9 inside, 4 at the corners):\n"
          << col2im(ones(cols.shape()), x.shape(), 3, 1, 1).reshape({4, 4}) << "\n";
std::cout << "memory: x holds " << x.numel() << " floats, cols " << cols.numel() << " ("
          << cols.numel() / x.numel() << "x: K*K / S*S)\n";

// %% [markdown]
// ## Part 4: Convolution as one matmul, and `nn::Conv2d`
//
// With im2col the convolution is three steps, all of them tensor ops that autograd already
// knows how to differentiate:
//
//     cols = im2col(x)                                   [C·K·K, N·OH·OW]
//     out  = weight.reshape({O, C·K·K}).matmul(cols)     [O, N·OH·OW]
//     out  = out.view({O, N, OH, OW}).permute({1, 0, 2, 3})    [N, O, OH, OW]  (+ bias)
//
// The last step is needed because the matmul puts the output channel first: row `o` of the
// product holds output channel `o` for every image. `permute` makes that `[N, O, OH, OW]` as a
// view, and adding the bias `[1, O, 1, 1]` (broadcast over images and positions) writes the
// result into a new contiguous tensor. Module 01's `elementwise` reads both of its inputs where
// they are, the permuted product and the stride-0 bias, so that add is the permute's copy too:
// one pass over the output, and no temporary besides it.
//
// **A design decision: conv2d is not one op.** It is im2col (recorded, with col2im as its
// backward), module 01's matmul (whose backward module 05 wrote), a view, a permute and an add.
// Autograd differentiates the composition, so the convolution's backward is correct by
// construction once its parts are: the weight's gradient is `g @ colsᵀ` from matmul's backward,
// and the input's is `col2im(weightᵀ @ g)`. And because the product goes through
// `Tensor::matmul`, module 11's fast kernel will speed up every convolution without this code
// changing. (The price: one extra pass over the output for the permute and the bias together,
// and in backward one copy of the gradient back into the product's layout and one sum over
// images and positions for the bias; small next to the matmul; demo 9 measures the whole thing.)
//
// **A slot for a faster convolution.** The composition has one cost that no matmul kernel can
// remove: `cols` itself. For the second layer of the CNN milestone's network it is 20 MB, more
// than the caches, written by im2col, read back by the matmul, and kept alive until the backward
// pass reads it once more. Module 11 removes it with a convolution of its own that works image by
// image, with the columns of one image at a time in the L2 cache, and installs it in a slot here,
// as it installs its GEMM behind `Tensor::matmul` (module 01). `conv2d` asks
// `native::conv2d_kernel()` after its checks (given code), and the kernel may decline a call (for
// layers where it is not faster); with nothing installed, as in this module's tests, or when the
// kernel declines, it runs your composition, which stays the reference module 11 is tested against.
//
// ### ⭐⭐ `nn::functional::conv2d`
//
// **TODO**: After the given checks, compute the convolution with `im2col`, `matmul`, `view`,
// `permute` and the bias, as above.
//
// **APPROACH**:
// 1. `N = input.size(0)`, `O = weight.size(0)`, `K = weight.size(2)`; `out_h`, `out_w` come
//    from the given check.
// 2. `cols = im2col(input, K, stride, padding)` (the public op, so autograd records it).
// 3. `out = weight.reshape({O, -1}).matmul(cols)`, then `.view({O, N, out_h, out_w})`, then
//    `.permute({1, 0, 2, 3})`.
// 4. With a bias, return `out + bias.view({1, O, 1, 1})`; without, `out.contiguous()`.
//
// **EXAMPLE**:
// ```cpp
// Tensor x = randn({2, 3, 7, 5}, 1), w = randn({4, 3, 3, 3}, 2), b = randn({4}, 3);
// nn::functional::conv2d(x, w, b, 2, 1).shape()    // [2, 4, 4, 3]
// allclose(nn::functional::conv2d(x, w, b, 2, 1), native::conv2d_direct(x, w, b, 2, 1), 1e-4f, 1e-5f)  // true
// ```
//
// **HINTS**:
// - Use the public ops (`im2col`, `matmul`, `view`, `permute`, `+`), not the `native::`
//   kernels: only the public ops tell autograd what happened, and the gradient checks of the
//   tests will say so if you bypass them.
// - `view({N, O, out_h, out_w})` of the product is wrong, and it does not throw: it has the
//   right number of elements in the wrong order (channel-major). The comparison with
//   `conv2d_direct` catches it with N > 1 and O > 1.
// - `out.contiguous()` matters: a permuted view is a valid tensor, but the next layer's
//   `contiguous()` would copy it anyway, and the bias-less path should return the same layout
//   as the biased one.
// - With a bias, add it to the permuted view itself, not to `out.contiguous()`: `+` reads a
//   permuted input in place and writes a new contiguous tensor, so the permute and the bias are
//   one pass; `contiguous()` first would copy the output once more (a test counts the tensors).
//
// **SYSTEMS THINKING**: the matmul is `[O, C·K·K] @ [C·K·K, N·OH·OW]`. For the second layer of a
// Fashion-MNIST CNN, `[32, 400] @ [400, 12544]`: module 01's i-p-j loop reads `A[i][p]` once and
// streams a 12,544-float row of `cols` into a row of the output, the case it is best at. The
// backward does two more matmuls of the same size (`g @ colsᵀ` and `weightᵀ @ g`), so a training
// step costs about three forward passes, as module 05 said of Linear.

// %%
//| export
namespace tinytorch::nn::functional {

// 2-D convolution (torch::nn::functional::conv2d): input [N, C, H, W], weight [O, C, K, K],
// bias [O] or undefined -> [N, O, OH, OW], with OH = conv_output_size(H, K, stride, padding).
// Computed as im2col + matmul, and differentiable in all three tensors. ShapeError naming the
// shapes when they do not fit.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0);

}  // namespace tinytorch::nn::functional

namespace tinytorch::native {

// A kernel that replaces conv2d's composition: the same arguments (already checked) and the same
// result, differentiable in input, weight and bias (the kernel records itself for autograd). It
// may decline a call by returning an undefined Tensor: conv2d then runs the composition.
using Conv2dKernel = Tensor (*)(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
                                int64_t padding);
// Installs `kernel` for every thread (nullptr goes back to im2col + matmul). Module 11 does this
// once, when the program starts.
void set_conv2d_kernel(Conv2dKernel kernel) noexcept;
// The installed kernel, or nullptr.
Conv2dKernel conv2d_kernel() noexcept;

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch::nn::functional {

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding) {
  auto describe = [&] {
    return "conv2d(weight " + shape_str(weight.shape()) + ", stride=" + std::to_string(stride) +
           ", padding=" + std::to_string(padding) + ")";
  };
  check_window(describe, 1, stride, padding);
  if (weight.dim() != 4 || weight.size(2) != weight.size(3)) {
    throw ShapeError(describe() + ": the weight must be [O, C, K, K] (a square kernel)");
  }
  if (bias.defined() && bias.shape() != Shape{weight.size(0)}) {
    throw ShapeError(describe() + ": the bias must be [" + std::to_string(weight.size(0)) + "], got " +
                     shape_str(bias.shape()));
  }
  const auto [out_h, out_w] = window_output(describe, input, weight.size(1), weight.size(2), stride, padding);
  if (const native::Conv2dKernel fast = native::conv2d_kernel()) {
    if (Tensor out = fast(input, weight, bias, stride, padding); out.defined()) return out;  // else declined
  }
  // BEGIN SOLUTION
  const int64_t batch = input.size(0);
  const int64_t out_channels = weight.size(0);
  const Tensor cols = im2col(input, weight.size(2), stride, padding);
  const Tensor out = weight.reshape({out_channels, -1})
                         .matmul(cols)
                         .view({out_channels, batch, out_h, out_w})
                         .permute({1, 0, 2, 3});
  return bias.defined() ? out + bias.view({1, out_channels, 1, 1}) : out.contiguous();
  // END SOLUTION
}

}  // namespace tinytorch::nn::functional

namespace tinytorch::native {

namespace {
std::atomic<Conv2dKernel> installed_conv2d_kernel{nullptr};
}  // namespace

void set_conv2d_kernel(Conv2dKernel kernel) noexcept { installed_conv2d_kernel.store(kernel); }
Conv2dKernel conv2d_kernel() noexcept { return installed_conv2d_kernel.load(std::memory_order_relaxed); }

}  // namespace tinytorch::native

// %%
//| test
TEST(UnitConv2d, MatchesTheDirectConvolution) {
  const Tensor x = randn({2, 3, 7, 5}, 1), w = randn({4, 3, 3, 3}, 2), b = randn({4}, 3);
  const Tensor fast = nn::functional::conv2d(x, w, b, 2, 1);
  EXPECT_EQ(fast.shape(), (Shape{2, 4, 4, 3}));
  EXPECT_TRUE(allclose(fast, native::conv2d_direct(x, w, b, 2, 1), 1e-4f, 1e-5f))
      << "im2col + matmul must give the numbers of the seven loops";
}

// %% [markdown]
// ### The layer: `nn::Conv2d`
//
// `nn::Conv2d(in_channels, out_channels, kernel_size, stride = 1, padding = 0, bias = true, seed)`
// holds `weight [O, C, K, K]` and `bias [O]` and calls `conv2d`. It starts as PyTorch's does, for
// the same reason as module 03's `Linear` (a tinytorch model and a PyTorch model start from the
// same distribution): weight and bias from `U(-1/√fan_in, 1/√fan_in)`, where a filter's
// **fan-in** is the number of inputs each output sees, `C·K·K`. Module 03's
// `calculate_fan_in_and_fan_out` already counts it that way for a 4-D weight (`size(1)` times
// the receptive field `K·K`), so `kaiming_uniform_(weight, √5)` gives the right bound.
//
// The layer checks its input itself, so that a wrong input is reported in the layer's own words:
//
//     Conv2d(1, 16, kernel=5, stride=1, padding=2): expected an input [N, 1, H, W], got [64, 784]
//
// ### ⭐ The `Conv2d` constructor
//
// **TODO**: Register `"weight"` `[out_channels, in_channels, K, K]` with PyTorch's default
// initialization and, when `bias` is true, `"bias"` `[out_channels]` from `U(-1/√fan_in,
// 1/√fan_in)`, both from `generator` (weight first).
//
// **APPROACH**:
// 1. `weight = register_parameter("weight", zeros({out_channels, in_channels, kernel_size, kernel_size}));`
// 2. `init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn,
//    init::Nonlinearity::LeakyReLU, generator);`, as in `Linear`.
// 3. If `bias`: `bound = 1 / √(in_channels · K · K)`; register `"bias"` as `zeros({out_channels})`
//    and `init::uniform_` it from `-bound` to `bound`.
//
// **EXAMPLE**:
// ```cpp
// nn::Conv2d conv(3, 16, 5, 1, 2, true, 42);
// conv.weight.shape()               // [16, 3, 5, 5]
// conv.bias.shape()                 // [16], every value in [-0.1155, 0.1155]: 1/√75
// nn::parameter_count(conv)         // 1216 = 16·3·25 + 16
// std::cout << conv;                // Conv2d(3, 16, kernel=5, stride=1, padding=2)  (1.2K parameters)
// ```
//
// **HINTS**:
// - As in `Linear`, the parameter `bias` (a `bool`) hides the member: `this->bias = ...`.
// - The bound uses the fan-in `C·K·K`, not `C`: a 5×5 filter over 16 channels sums 400 products,
//   and `1/√16` would start the layer five times too loud.
//
// **SYSTEMS THINKING**: the parameter count does not depend on the image size: `Conv2d(3, 16, 5)`
// has 1,216 parameters for a 28×28 image and for a 1024×1024 one. The *work* grows with the
// image (one dot product of 75 per output pixel), and so does the memory of `cols`: 75 floats
// per output pixel, per image.

// %%
//| export
namespace tinytorch::nn {

// A 2-D convolution layer, as torch::nn::Conv2d: weight [out, in, K, K], bias [out].
class Conv2d : public Module {
 public:
  // Weight and bias from U(-1/sqrt(in*K*K), 1/sqrt(in*K*K)) (PyTorch's default), weight first,
  // from Generator(seed), or from init::default_generator() without a seed.
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         bool bias = true, std::optional<uint64_t> seed = std::nullopt);

  // x [N, in, H, W] -> [N, out, OH, OW]. ShapeError in the layer's words for any other input,
  // or one too small for the kernel.
  Tensor forward(const Tensor& input) override;
  // "Conv2d(3, 16, kernel=5, stride=1, padding=0)", and ", bias=false" without a bias.
  void pretty_print(std::ostream& os) const override;

  int64_t in_channels() const noexcept { return in_channels_; }
  int64_t out_channels() const noexcept { return out_channels_; }
  int64_t kernel_size() const noexcept { return kernel_size_; }
  int64_t stride() const noexcept { return stride_; }
  int64_t padding() const noexcept { return padding_; }

  Tensor weight;  // [out_channels, in_channels, kernel_size, kernel_size]
  Tensor bias;    // [out_channels]; undefined without a bias

 private:
  int64_t in_channels_;
  int64_t out_channels_;
  int64_t kernel_size_;
  int64_t stride_;
  int64_t padding_;
  bool has_bias_;
};

}  // namespace tinytorch::nn

// %%
//| export impl
namespace tinytorch::nn {
namespace {

// What `module.pretty_print` writes: the layer's name in error messages.
std::string describe_module(const Module& module) {
  std::ostringstream os;
  module.pretty_print(os);
  return os.str();
}

}  // namespace

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride, int64_t padding,
               bool bias, std::optional<uint64_t> seed)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      stride_(stride),
      padding_(padding),
      has_bias_(bias) {
  if (in_channels <= 0 || out_channels <= 0) {
    throw std::invalid_argument(describe_module(*this) + ": the channel counts must be positive");
  }
  check_window([&] { return describe_module(*this); }, kernel_size, stride, padding);
  Generator seeded(seed.value_or(0));
  Generator& generator = seed ? seeded : init::default_generator();
  // BEGIN SOLUTION
  weight = register_parameter("weight", zeros({out_channels, in_channels, kernel_size, kernel_size}));
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn, init::Nonlinearity::LeakyReLU, generator);
  if (bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_channels * kernel_size * kernel_size));
    this->bias = register_parameter("bias", zeros({out_channels}));
    init::uniform_(this->bias, -bound, bound, generator);
  }
  // END SOLUTION
}

Tensor Conv2d::forward(const Tensor& input) {
  window_output([&] { return describe_module(*this); }, input, in_channels_, kernel_size_, stride_, padding_);
  return functional::conv2d(input, weight, bias, stride_, padding_);
}

void Conv2d::pretty_print(std::ostream& os) const {
  os << "Conv2d(" << in_channels_ << ", " << out_channels_ << ", kernel=" << kernel_size_ << ", stride=" << stride_
     << ", padding=" << padding_ << (has_bias_ ? "" : ", bias=false") << ")";
}

}  // namespace tinytorch::nn

// %%
//| test
TEST(UnitConv2dLayer, ParametersAndShapes) {
  nn::Conv2d conv(3, 16, 5, 1, 2, true, 42);
  EXPECT_EQ(conv.weight.shape(), (Shape{16, 3, 5, 5}));
  EXPECT_EQ(conv.bias.shape(), (Shape{16}));
  EXPECT_EQ(nn::parameter_count(conv), 1216);
  EXPECT_EQ(conv(zeros({2, 3, 28, 20})).shape(), (Shape{2, 16, 28, 20}));
}

// %% [markdown]
// The Sobel filter again, now on real images: four Fashion-MNIST test images through
// `conv2d` with two filters at once (a `[2, 1, 3, 3]` weight: horizontal and vertical change),
// and the edge strength `√(gx² + gy²)`. The terminal shows the first image and its edges; the
// PNG (`build/demos/09_spatial/sobel.png`) shows all four, with `gx` and `gy` in blue (negative)
// and red (positive).

// %%
//| demo
#include <filesystem>

#include <tinytorch/image.hpp>

try {
  data::datasets::FashionMNIST test(false);
  const Tensor sobel = tensor({-1, 0, 1, -2, 0, 2, -1, 0, 1,    // gx: left to right
                               -1, -2, -1, 0, 0, 0, 1, 2, 1})   // gy: top to bottom
                           .reshape({2, 1, 3, 3});
  std::vector<plot::Image> tiles;
  std::vector<std::string> captions;
  std::vector<Tensor> terminal;
  for (int64_t index : {0, 1, 2, 7}) {
    const data::Example example = test.get(index);
    const Tensor image = example.data.unsqueeze(0);                          // [1, 1, 28, 28]
    const Tensor g = nn::functional::conv2d(image, sobel, Tensor(), 1, 1);  // [1, 2, 28, 28]
    const Tensor gx = select(select(g, 0, 0), 0, 0), gy = select(select(g, 0, 0), 0, 1);
    const Tensor magnitude = sqrt(gx * gx + gy * gy);
    const std::string name = test.classes()[static_cast<std::size_t>(example.target.item())];
    tiles.push_back(plot::scale_nearest(plot::from_gray(image.to_vector(), 28, 28, 0.0f, 1.0f), 4));
    tiles.push_back(plot::scale_nearest(plot::from_diverging(gx.to_vector(), 28, 28), 4));
    tiles.push_back(plot::scale_nearest(plot::from_diverging(gy.to_vector(), 28, 28), 4));
    tiles.push_back(plot::scale_nearest(plot::from_gray(magnitude.to_vector(), 28, 28), 4));
    for (const char* what : {"", " gx", " gy", " edges"}) captions.push_back(name + what);
    if (terminal.empty()) {
      terminal = {example.data, magnitude.unsqueeze(0) / magnitude.max().item()};
      std::cout << "test image " << index << " (" << name << "): flat regions give 0, the outline lights up; "
                << "largest edge strength " << magnitude.max().item() << "\n\n";
    }
  }
  std::cout << data::ascii_grid(terminal, {"the image", "Sobel edge strength"}, 2);
  const std::filesystem::path folder = std::filesystem::absolute("build/demos/09_spatial");
  std::filesystem::create_directories(folder);
  plot::write_png(folder / "sobel.png", plot::grid(tiles, 4, 6, plot::colors::white, captions));
  std::cout << "wrote " << (folder / "sobel.png").string() << " (each row: image, gx, gy, edge strength)\n";
} catch (const data::DatasetNotFound& error) {
  std::cout << error.what() << "\n";
}

// %% [markdown]
// The claim of part 3, measured: one layer of a Fashion-MNIST CNN (`Conv2d(16, 32, 5, padding
// 2)` on a batch of 32 maps of 14×14), by the seven loops of part 2 and by im2col + matmul, each
// the median of 3 runs. Then where im2col + matmul spends its time, and whether the two agree.

// %%
//| demo
#include <tinytorch/timing.hpp>

const int64_t batch = 32, in_channels = 16, out_channels = 32, size = 14, kernel = 5, padding = 2;
const Tensor x = randn({batch, in_channels, size, size}, 1);
const Tensor w = randn({out_channels, in_channels, kernel, kernel}, 2) * 0.05f;
const Tensor b = randn({out_channels}, 3);
Tensor direct, fast;
const double t_direct = timing::median_seconds(3, [&] { direct = native::conv2d_direct(x, w, b, 1, padding); });
const double t_fast = timing::median_seconds(3, [&] { fast = nn::functional::conv2d(x, w, b, 1, padding); });
Tensor cols;
const double t_im2col = timing::median_seconds(3, [&] { cols = im2col(x, kernel, 1, padding); });
const Tensor w2 = w.reshape({out_channels, -1});
const double t_matmul = timing::median_seconds(3, [&] { (void)w2.matmul(cols); });
const double flops = 2.0 * batch * out_channels * size * size * in_channels * kernel * kernel;
std::printf("Conv2d(%lld, %lld, kernel=%lld, padding=%lld) on [%lld, %lld, %lld, %lld]: %.0f MFLOP\n",
            static_cast<long long>(in_channels), static_cast<long long>(out_channels),
            static_cast<long long>(kernel), static_cast<long long>(padding), static_cast<long long>(batch),
            static_cast<long long>(in_channels), static_cast<long long>(size), static_cast<long long>(size),
            flops / 1e6);
std::printf("  direct, seven loops:  %7.1f ms  %5.2f GFLOP/s\n", t_direct * 1e3, flops / t_direct / 1e9);
std::printf("  im2col + matmul:      %7.1f ms  %5.2f GFLOP/s   %.1fx faster than the seven loops\n", t_fast * 1e3,
            flops / t_fast / 1e9, t_direct / t_fast);
std::printf("    of which im2col     %7.1f ms  (cols %s: %.1f MB)\n", t_im2col * 1e3, shape_str(cols.shape()).c_str(),
            static_cast<double>(cols.numel()) * 4 / 1e6);
std::printf("    and the matmul      %7.1f ms  %5.2f GFLOP/s (module 01's i-p-j loop)\n", t_matmul * 1e3,
            flops / t_matmul / 1e9);
std::printf("  largest difference between the two results: %.2g (the sums are added in different orders)\n",
            static_cast<double>(abs(direct - fast).max().item()));

// %% [markdown]
// ## Part 5: Pooling
//
// A convolution keeps the image's size (with "same" padding) and multiplies its channels. To
// see larger patterns, a CNN also shrinks the maps: a **pooling** layer replaces each window
// with one number. It has no parameters.
//
// - **Max pooling** keeps the largest value of each window: "is the feature present somewhere
//   here?". A 2×2 window with stride 2 halves each side and keeps a quarter of the values, and a
//   feature that moves by one pixel often still wins its window (a little translation
//   invariance).
// - **Average pooling** keeps the mean: a smoothed, smaller map. Modern networks end with a
//   *global* average pool (a window as large as the map) before the classifier.
//
// `MaxPool2d(kernel, stride)` and `AvgPool2d(kernel, stride, padding)` work on each channel of
// each image separately, so `[N, C, H, W]` becomes `[N, C, OH, OW]` with the output size of part
// 1. The stride defaults to the kernel, so `MaxPool2d(2)` is the usual non-overlapping 2×2
// pool, as in PyTorch.
//
// ### Max pooling keeps its argmax
//
// The gradient of `max(a, b, c, d)` is 1 for the element that won and 0 for the others. So
// backward needs to know, for every output, *which* input won. It could find out again by
// comparing the output with the window (module 05's `max_dim` does that); max pooling instead
// remembers, during the forward pass, the position of each window's winner, the **argmax**: one
// integer per output. Backward is then a scatter: `dx[argmax[i]] += g[i]`.
//
//     input plane 4x4          output 2x2      argmax (positions in the plane)
//     1  3 | 2  0              3  4            1  6
//     0  2 | 4  1      ->      9  8            9  14
//     ─────┼─────                              backward of g = [[a, b], [c, d]]:
//     5  9 | 7  6                              a at position 1, b at 6, c at 9, d at 14, 0 elsewhere
//     4  0 | 8  2
//
// Ties go to the **first** maximum in the window (row by row), as in PyTorch; exactly one
// input receives each output's gradient.
//
// ### ⭐⭐ `native::max_pool2d`
//
// **TODO**: Return the max-pooled `output [N, C, OH, OW]` of `input [N, C, H, W]` (no padding)
// and, for every output element in the same order, `argmax`: the flat position, in the
// *contiguous input*, of the element that won.
//
// **APPROACH**:
// 1. `x = input.contiguous()`; sizes; `OH`, `OW` with `conv_output_size(H, kernel, stride, 0)`;
//    `result.output = empty({N, C, OH, OW})` (module 01: every element is written below),
//    `result.argmax.resize(N·C·OH·OW)`.
// 2. For each plane `p` in `0 .. N·C` (a plane starts at `p·H·W`), each `oh`, each `ow`: the
//    window's top-left is `(oh·S, ow·S)`. Start with `best` = the position of the top-left
//    element, then loop `ki`, `kj` over the window; a value *strictly* greater than the best so
//    far (or a NaN, see the hints) becomes the new best.
// 3. Write the best value to the output at `(p·OH + oh)·OW + ow`, and its position
//    `p·H·W + (oh·S + ki)·W + (ow·S + kj)` to `argmax` at the same index.
//
// **EXAMPLE**:
// ```cpp
// Tensor x = tensor({1, 3, 2, 0, 0, 2, 4, 1, 5, 9, 7, 6, 4, 0, 8, 2}).reshape({1, 1, 4, 4});
// native::MaxPool2dResult r = native::max_pool2d(x, 2, 2);
// r.output.to_vector()      // {3, 4, 9, 8}
// r.argmax                  // {1, 6, 9, 14}
// ```
//
// **HINTS**:
// - `>` not `>=`: with `>=` a tie goes to the *last* maximum. Both are maxima, but PyTorch and
//   the tests pick the first, so that exactly one, predictable input gets the gradient.
// - A NaN must win its window (`v > best || std::isnan(v)`), as in PyTorch: `NaN > x` is false,
//   so without the test a NaN in the activations disappears whenever it is not in the top-left
//   corner, and the bug that made it is hidden.
// - The positions are in the contiguous copy, which has the input's shape: backward builds a
//   gradient of that shape, so the positions mean the same there.
//
// **SYSTEMS THINKING**: which of four activations wins a window is a coin toss, and a CPU
// guesses the outcome of every `if` before it knows it. A wrong guess throws away about 15 cycles
// of work, so `if (v > best) { best = v; ... }` costs more in mispredictions than in
// comparisons. The cure is a *select*: compute both outcomes and keep one (`wins ? v : best`, a
// `cmov` or a SIMD blend), with nothing to guess. But a ternary in C++ is only a hint, and GCC
// turns it back into a jump inside loops whose length it does not know (the window's). So the
// solution keeps the plain loop for any window and adds one special case, the 2×2 window with
// stride 2 that every network of this course uses, written as straight-line code: three selects
// per output, and `|` rather than `||` in the test so that it is one condition, not two jumps.
// Measured on the reference CNN's two pools (one core): `[64, 32, 32, 32]` 8.2 → 0.77 ms, `[64,
// 64, 16, 16]` 3.7 → 0.45 ms. `perf annotate` shows which one you got.
//
// The argmax costs 8 bytes per output (one `int64_t`), twice the output's own floats. The
// alternative, finding the winners again in backward, needs the input kept instead: 4 floats per
// output for a 2×2 pool. Frameworks differ here: PyTorch keeps indices, some memory-saving
// schemes recompute. Both are a trade of memory against time.

// %%
//| export
namespace tinytorch::native {

// What max pooling computes: the output, and the flat position in the (contiguous) input of
// each output's winner, in the output's row-major order.
struct MaxPool2dResult {
  Tensor output;
  std::vector<int64_t> argmax;
};

// Max pooling of input [N, C, H, W] with a kernel x kernel window moving by `stride`, no
// padding: output [N, C, OH, OW] and the argmax of each window (the first maximum wins; a NaN
// wins). Shapes already checked.
MaxPool2dResult max_pool2d(const Tensor& input, int64_t kernel, int64_t stride);
// Backward of max pooling: a tensor of `input_shape` holding, at each argmax[i], the sum of the
// grad[i] that chose it (row-major grad), and zeros elsewhere.
Tensor max_pool2d_backward(const Tensor& grad, const std::vector<int64_t>& argmax, const Shape& input_shape);

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch::native {

MaxPool2dResult max_pool2d(const Tensor& input, int64_t kernel, int64_t stride) {
  // BEGIN SOLUTION
  const Tensor x = input.contiguous();
  const int64_t planes = x.size(0) * x.size(1), height = x.size(2), width = x.size(3);
  const int64_t out_h = conv_output_size(height, kernel, stride, 0);
  const int64_t out_w = conv_output_size(width, kernel, stride, 0);
  MaxPool2dResult result{empty({x.size(0), x.size(1), out_h, out_w}), {}};  // every element written below
  result.argmax.resize(static_cast<std::size_t>(planes * out_h * out_w));
  const float* src = x.data();
  float* out = result.output.data();
  int64_t* argmax = result.argmax.data();
  if (kernel == 2 && stride == 2) {  // every network of this course: straight-line selects, see the text
    for (int64_t p = 0; p < planes; ++p) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const int64_t top = p * height * width + 2 * oh * width;  // the window's first row, in the input
        float* out_row = out + (p * out_h + oh) * out_w;
        int64_t* argmax_row = argmax + (p * out_h + oh) * out_w;
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const int64_t corner = top + 2 * ow;
          float best_value = src[corner];
          int64_t best = corner;
          for (const int64_t at : {corner + 1, corner + width, corner + width + 1}) {
            const float v = src[at];
            const bool wins = (v > best_value) | std::isnan(v);
            best_value = wins ? v : best_value;
            best = wins ? at : best;
          }
          out_row[ow] = best_value;
          argmax_row[ow] = best;
        }
      }
    }
    return result;
  }
  int64_t i = 0;  // the output element being written
  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = src + p * height * width;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      for (int64_t ow = 0; ow < out_w; ++ow, ++i) {
        int64_t best = oh * stride * width + ow * stride;
        float best_value = plane[best];
        for (int64_t ki = 0; ki < kernel; ++ki) {
          const int64_t row = (oh * stride + ki) * width + ow * stride;
          for (int64_t kj = 0; kj < kernel; ++kj) {
            const float v = plane[row + kj];
            if (v > best_value || std::isnan(v)) {
              best_value = v;
              best = row + kj;
            }
          }
        }
        argmax[i] = p * height * width + best;
        out[i] = best_value;
      }
    }
  }
  return result;
  // END SOLUTION
}

}  // namespace tinytorch::native

// %%
//| test
TEST(UnitMaxPool, KeepsTheMaximumAndWhereItWas) {
  const Tensor x = tensor({1, 3, 2, 0, 0, 2, 4, 1, 5, 9, 7, 6, 4, 0, 8, 2}).reshape({1, 1, 4, 4});
  const native::MaxPool2dResult r = native::max_pool2d(x, 2, 2);
  EXPECT_EQ(r.output.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(r.output.to_vector(), (std::vector<float>{3, 4, 9, 8}));
  EXPECT_EQ(r.argmax, (std::vector<int64_t>{1, 6, 9, 14}));
}

// %% [markdown]
// The claim of the SYSTEMS THINKING, measured: a 2×2 pool of the reference CNN's first
// activation (`[64, 32, 32, 32]` after a ReLU), by the obvious loop (an `if` per candidate, the
// window's size known only at run time, as in a general loop) and by your `max_pool2d`, each the
// median of 5 runs. If your own `max_pool2d` is the plain loop, the two are close: that is the
// point to look at `perf annotate`.

// %%
//| demo
#include <tinytorch/timing.hpp>

const Tensor maps = relu(randn({64, 32, 32, 32}, 4));
const int64_t window = maps.size(3) / 16;  // 2, but the compiler cannot know it
const int64_t planes = 64 * 32, side = 32, out_side = side / window;
std::vector<float> best_values(static_cast<std::size_t>(planes * out_side * out_side));
std::vector<int64_t> winners(best_values.size());
const float* in = maps.data();
const auto with_jumps = [&] {
  std::size_t i = 0;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t oh = 0; oh < out_side; ++oh) {
      for (int64_t ow = 0; ow < out_side; ++ow, ++i) {
        int64_t best = p * side * side + oh * window * side + ow * window;
        for (int64_t ki = 0; ki < window; ++ki) {
          for (int64_t kj = 0; kj < window; ++kj) {
            const int64_t at = p * side * side + (oh * window + ki) * side + ow * window + kj;
            if (in[at] > in[best] || std::isnan(in[at])) best = at;
          }
        }
        best_values[i] = in[best];
        winners[i] = best;
      }
    }
  }
};
native::MaxPool2dResult pooled;
const double t_jumps = timing::median_seconds(5, with_jumps);
const double t_yours = timing::median_seconds(5, [&] { pooled = native::max_pool2d(maps, 2, 2); });
std::printf("max pooling 2x2 of %s: the loop with an if %.2f ms, your max_pool2d %.2f ms (%.1fx)\n",
            shape_str(maps.shape()).c_str(), t_jumps * 1e3, t_yours * 1e3, t_jumps / t_yours);
std::printf("the same winners: %s\n", pooled.argmax == winners ? "yes" : "NO");

// %% [markdown]
// ### ⭐ `native::max_pool2d_backward`
//
// **TODO**: Return a tensor of `input_shape` that is zero except at the winners: each
// `grad[i]` (in row-major order) is added at position `argmax[i]`.
//
// **APPROACH**:
// 1. `g = grad.contiguous()`, `dx = zeros(input_shape)`.
// 2. For every `i`: `dx.data()[argmax[i]] += g.data()[i]`.
//
// **EXAMPLE**:
// ```cpp
// native::max_pool2d_backward(tensor({10, 20, 30, 40}).reshape({1, 1, 2, 2}), {1, 6, 9, 14}, {1, 1, 4, 4})
//   // 10 at position 1, 20 at 6, 30 at 9, 40 at 14, zeros elsewhere
// ```
//
// **HINTS**:
// - `+=`, not `=`: when windows overlap (`MaxPool2d(3, 1)`), one large value can win several
//   windows, and it must receive the gradient of each.
//
// **SYSTEMS THINKING**: this is a *scatter*: writes to positions read from memory. A CPU does
// them one at a time (no SIMD for scattered adds before AVX-512, and even there with conflicts);
// on a GPU, two threads adding into one position need atomic operations. It is cheap here
// because there is one write per output, a quarter of the input for a 2×2 pool.

// %%
//| export impl
namespace tinytorch::native {

Tensor max_pool2d_backward(const Tensor& grad, const std::vector<int64_t>& argmax, const Shape& input_shape) {
  // BEGIN SOLUTION
  const Tensor g = grad.contiguous();
  Tensor dx = zeros(input_shape);
  const float* pg = g.data();
  float* pdx = dx.data();
  // Each plane's outputs won in that plane only, so pieces of planes write apart: module 11's
  // threads may take them (module 01's parallel_for).
  const int64_t planes = input_shape[0] * input_shape[1];
  const int64_t per_plane = planes > 0 ? static_cast<int64_t>(argmax.size()) / planes : 0;
  native::parallel_for(planes, rows_per_piece(input_shape[2] * input_shape[3]), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin * per_plane; i < end * per_plane; ++i) pdx[argmax[static_cast<std::size_t>(i)]] += pg[i];
  });
  return dx;
  // END SOLUTION
}

}  // namespace tinytorch::native

// %%
//| test
TEST(UnitMaxPool, BackwardSendsEachGradientToItsWinner) {
  const Tensor dx =
      native::max_pool2d_backward(tensor({10, 20, 30, 40}).reshape({1, 1, 2, 2}), {1, 6, 9, 14}, {1, 1, 4, 4});
  EXPECT_EQ(dx.to_vector(), (std::vector<float>{0, 10, 0, 0, 0, 0, 20, 0, 0, 30, 0, 0, 0, 0, 40, 0}));
  EXPECT_EQ(native::max_pool2d_backward(tensor({1, 2}), {3, 3}, {1, 1, 2, 2}).to_vector(),
            (std::vector<float>{0, 0, 0, 3}))
      << "a winner of two windows receives both gradients (+=, not =)";
}

// %% [markdown]
// The op (written for you) keeps the argmax where backward can find it: the backward function
// captures a `shared_ptr` to the vector that the forward pass fills. (Module 05's rule: a backward
// function may capture anything but a tensor that carries the graph; a vector of integers is
// safe.)

// %%
//| export
namespace tinytorch::nn::functional {

// Max pooling (torch::nn::functional::max_pool2d): input [N, C, H, W] -> [N, C, OH, OW] with
// a kernel x kernel window moving by `stride` (the kernel when not given), no padding.
// Differentiable: the gradient goes to each window's first maximum.
Tensor max_pool2d(const Tensor& input, int64_t kernel, std::optional<int64_t> stride = std::nullopt);

}  // namespace tinytorch::nn::functional

// %%
//| export impl
namespace tinytorch::nn::functional {

Tensor max_pool2d(const Tensor& input, int64_t kernel, std::optional<int64_t> stride) {
  const int64_t step = stride.value_or(kernel);
  auto describe = [&] {
    return "max_pool2d(kernel=" + std::to_string(kernel) + ", stride=" + std::to_string(step) + ")";
  };
  check_window(describe, kernel, step, 0);
  window_output(describe, input, -1, kernel, step, 0);
  auto argmax = std::make_shared<std::vector<int64_t>>();
  return autograd::function(
      "max_pool2d", {input},
      [&] {
        native::MaxPool2dResult pooled = native::max_pool2d(input, kernel, step);
        *argmax = std::move(pooled.argmax);
        return pooled.output;
      },
      [argmax](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
        return {native::max_pool2d_backward(ctx.grad, *argmax, ctx.inputs[0].shape())};
      },
      {kernel, step});
}

}  // namespace tinytorch::nn::functional

// %% [markdown]
// ### Average pooling, for free
//
// Average pooling is a convolution in disguise: each output is the mean of a window, the same
// for every channel. So it needs no kernel of its own. Treat every plane as a one-channel image
// (`[N, C, H, W]` viewed as `[N·C, 1, H, W]`), im2col it (`[K·K, N·C·OH·OW]`: each column one
// window), and take the mean of each column (`mean(0)`). The columns come out in the order
// `(n·C + c, oh, ow)`, which is exactly the row-major order of `[N, C, OH, OW]`, so a `view`
// finishes the job.
//
// Because it is made of recorded ops (im2col, mean, view), autograd differentiates it with no
// backward of its own: mean's backward spreads `g / K²` over each column, and col2im adds the
// columns back into the image. With padding, the zeros of the padding count in the mean (PyTorch's
// default, `count_include_pad = true`).
//
// Why not max pooling the same way, `im2col(...).max(0)`? It would work (module 05's `max_dim`
// has a backward), but it keeps `cols`, K² floats per output, alive for backward where the argmax
// needs one integer, and it shares the gradient between tied maxima instead of giving it to one.
//
// ### ⭐⭐ `nn::functional::avg_pool2d`
//
// **TODO**: After the given checks, return the average pooling of `input` through `im2col`,
// `mean(0)` and `view`.
//
// **APPROACH**:
// 1. `N = input.size(0)`, `C = input.size(1)`; `out_h`, `out_w` from the given check.
// 2. `planes = input.reshape({N * C, 1, H, W})`.
// 3. `im2col(planes, kernel, step, padding).mean(0).view({N, C, out_h, out_w})`.
//
// **EXAMPLE**:
// ```cpp
// Tensor x = arange(16).reshape({1, 1, 4, 4});
// nn::functional::avg_pool2d(x, 2)                  // [[[[2.5, 4.5], [10.5, 12.5]]]]
// nn::functional::avg_pool2d(ones({1, 1, 2, 2}), 2, 1, 1)   // 3x3: corners 1/4, edges 2/4, centre 1
// ```
//
// **HINTS**:
// - `reshape`, not `view`: a cropped or transposed input is not contiguous, and `reshape`
//   copies when it must.
// - `mean(0)`, the mean over the kernel entries (the rows), not `mean(1)` (over the windows).
//
// **SYSTEMS THINKING**: with stride = kernel, `cols` holds each input value once: im2col is a
// rearranging copy of the input, and the mean reads it once more. A hand-written kernel would
// read the input once and write only the output, so this version moves about three times the
// memory. For a layer that is a few percent of a CNN's time, the code you do not write (and its
// backward, which you do not have to check) is worth more.

// %%
//| export
namespace tinytorch::nn::functional {

// Average pooling (torch::nn::functional::avg_pool2d): input [N, C, H, W] -> [N, C, OH, OW],
// each output the mean of its kernel x kernel window, zeros of the padding included. The stride
// is the kernel when not given. Made of im2col and mean, so differentiable through them.
Tensor avg_pool2d(const Tensor& input, int64_t kernel, std::optional<int64_t> stride = std::nullopt,
                  int64_t padding = 0);

}  // namespace tinytorch::nn::functional

// %%
//| export impl
namespace tinytorch::nn::functional {

Tensor avg_pool2d(const Tensor& input, int64_t kernel, std::optional<int64_t> stride, int64_t padding) {
  const int64_t step = stride.value_or(kernel);
  auto describe = [&] {
    return "avg_pool2d(kernel=" + std::to_string(kernel) + ", stride=" + std::to_string(step) +
           ", padding=" + std::to_string(padding) + ")";
  };
  check_window(describe, kernel, step, padding);
  const auto [out_h, out_w] = window_output(describe, input, -1, kernel, step, padding);
  // BEGIN SOLUTION
  const int64_t batch = input.size(0), channels = input.size(1);
  const Tensor planes = input.reshape({batch * channels, 1, input.size(2), input.size(3)});
  return im2col(planes, kernel, step, padding).mean(0).view({batch, channels, out_h, out_w});
  // END SOLUTION
}

}  // namespace tinytorch::nn::functional

// %%
//| test
TEST(UnitAvgPool, MeanOfEachWindow) {
  EXPECT_EQ(nn::functional::avg_pool2d(arange(16).reshape({1, 1, 4, 4}), 2).to_vector(),
            (std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f}));
  EXPECT_EQ(nn::functional::avg_pool2d(ones({1, 1, 2, 2}), 2, 1, 1).to_vector(),
            (std::vector<float>{0.25f, 0.5f, 0.25f, 0.5f, 1.0f, 0.5f, 0.25f, 0.5f, 0.25f}))
      << "the padding's zeros count in each window's mean (count_include_pad)";
}

// %% [markdown]
// The layers (written for you) hold their sizes and call the functions. Like `Conv2d` they check
// their input in their own words.

// %%
//| export
namespace tinytorch::nn {

// Max pooling, as torch::nn::MaxPool2d: [N, C, H, W] -> [N, C, OH, OW]; the stride is the
// kernel when not given.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel_size, std::optional<int64_t> stride = std::nullopt);
  Tensor forward(const Tensor& input) override;
  // "MaxPool2d(kernel=2, stride=2)"
  void pretty_print(std::ostream& os) const override;
  int64_t kernel_size() const noexcept { return kernel_size_; }
  int64_t stride() const noexcept { return stride_; }

 private:
  int64_t kernel_size_;
  int64_t stride_;
};

// Average pooling, as torch::nn::AvgPool2d (count_include_pad): the stride is the kernel when
// not given.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel_size, std::optional<int64_t> stride = std::nullopt, int64_t padding = 0);
  Tensor forward(const Tensor& input) override;
  // "AvgPool2d(kernel=2, stride=2, padding=0)"
  void pretty_print(std::ostream& os) const override;
  int64_t kernel_size() const noexcept { return kernel_size_; }
  int64_t stride() const noexcept { return stride_; }
  int64_t padding() const noexcept { return padding_; }

 private:
  int64_t kernel_size_;
  int64_t stride_;
  int64_t padding_;
};

}  // namespace tinytorch::nn

// %%
//| export impl
namespace tinytorch::nn {

MaxPool2d::MaxPool2d(int64_t kernel_size, std::optional<int64_t> stride)
    : kernel_size_(kernel_size), stride_(stride.value_or(kernel_size)) {
  check_window([&] { return describe_module(*this); }, kernel_size_, stride_, 0);
}

Tensor MaxPool2d::forward(const Tensor& input) {
  window_output([&] { return describe_module(*this); }, input, -1, kernel_size_, stride_, 0);
  return functional::max_pool2d(input, kernel_size_, stride_);
}

void MaxPool2d::pretty_print(std::ostream& os) const {
  os << "MaxPool2d(kernel=" << kernel_size_ << ", stride=" << stride_ << ")";
}

AvgPool2d::AvgPool2d(int64_t kernel_size, std::optional<int64_t> stride, int64_t padding)
    : kernel_size_(kernel_size), stride_(stride.value_or(kernel_size)), padding_(padding) {
  check_window([&] { return describe_module(*this); }, kernel_size_, stride_, padding_);
}

Tensor AvgPool2d::forward(const Tensor& input) {
  window_output([&] { return describe_module(*this); }, input, -1, kernel_size_, stride_, padding_);
  return functional::avg_pool2d(input, kernel_size_, stride_, padding_);
}

void AvgPool2d::pretty_print(std::ostream& os) const {
  os << "AvgPool2d(kernel=" << kernel_size_ << ", stride=" << stride_ << ", padding=" << padding_ << ")";
}

}  // namespace tinytorch::nn

// %% [markdown]
// Pooling on the example of the text, forward and backward: the gradient of `sum(pool(x))` is 1
// at each window's winner and 0 elsewhere for max pooling, and 1/4 everywhere for 2×2 average
// pooling. Then what 2×2 max pooling does to a real image: a quarter of the pixels, the shape
// still plain.

// %%
//| demo
Tensor x = tensor({1, 3, 2, 0, 0, 2, 4, 1, 5, 9, 7, 6, 4, 0, 8, 2}).reshape({1, 1, 4, 4}).requires_grad_();
const Tensor pooled = nn::functional::max_pool2d(x, 2);
std::cout << "x:\n" << x.detach().reshape({4, 4}) << "\nmax_pool2d(x, 2):\n" << pooled.detach().reshape({2, 2}) << "\n";
pooled.sum().backward();
std::cout << "gradient of sum(max_pool2d(x)) with respect to x: 1 at each winner\n" << x.grad().reshape({4, 4}) << "\n";
Tensor y = x.detach().clone().requires_grad_();
nn::functional::avg_pool2d(y, 2).sum().backward();
std::cout << "the same for avg_pool2d: 1/4 everywhere\n" << y.grad().reshape({4, 4}) << "\n";
try {
  data::datasets::FashionMNIST test(false);
  const Tensor image = test.get(0).data;  // [1, 28, 28]
  nn::MaxPool2d pool(2);
  const Tensor smaller = pool(image.unsqueeze(0)).squeeze(0);
  std::cout << "\n" << pool << " on a real image: " << shape_str(image.shape()) << " -> " << shape_str(smaller.shape())
            << "\n\n"
            << data::ascii_grid({image, smaller}, {"28x28", "14x14"}, 2);
} catch (const data::DatasetNotFound& error) {
  std::cout << error.what() << "\n";
}

// %% [markdown]
// ## Part 6: Batch normalization
//
// Deep networks are hard to train when the scale of the activations drifts from layer to layer:
// a layer whose inputs grow ten times larger during training sees its ReLUs all on, or all off,
// and the learning rate that suited it yesterday is now too large. **Batch normalization**
// (Ioffe and Szegedy, 2015) fixes the scale by construction. For each channel `c`, over the
// `m = N·H·W` values of the batch in that channel:
//
//     μ_c  = mean of x[:, c, :, :]                   σ²_c = mean of (x[:, c, :, :] − μ_c)²
//     x̂    = (x − μ_c) / √(σ²_c + ε)                 y    = γ_c · x̂ + β_c
//
// so every channel leaves the layer with mean `β_c` and standard deviation `γ_c`, two learned
// parameters (`weight` and `bias`, starting at 1 and 0). It lets networks train with larger
// learning rates and makes them far less sensitive to their initialization.
//
// ### Training and evaluation
//
// In training the statistics are the **batch's**: each example's output depends on the other
// examples of its batch. (A batch of one image of 1×1 pixels has nothing to normalize against:
// σ² = 0 and x̂ = 0. PyTorch refuses it, and so do we.) At test time a prediction must not depend
// on which other images happen to be in the batch, so evaluation uses **running statistics**:
// averages of the batch statistics collected during training, updated after every training batch
// with a `momentum` (0.1 by default):
//
//     running_mean = (1 − momentum) · running_mean + momentum · μ
//     running_var  = (1 − momentum) · running_var  + momentum · σ² · m / (m − 1)
//
// The variance that goes into the running average is the *unbiased* one (divided by `m − 1`, not
// `m`), as in PyTorch: it estimates the variance of the whole data set, not of this batch.
// (PyTorch's momentum is the weight of the *new* value; in other libraries, and in the optimizers
// of module 06, momentum is the weight of the old one. Check which convention a library uses.)
//
// `running_mean` and `running_var` are **buffers** (module 03): state that is saved in a
// checkpoint (module 07) and moved with the model, but that the optimizer does not update and
// autograd never differentiates. Forgetting `model.eval()` before testing a network with batch
// norm is one of the classic bugs of deep learning: the test accuracy then depends on the batch
// size.
//
// ### ⭐⭐ `native::batch_norm_stats`: one pass
//
// The textbook computes the mean first and then the mean of the squared deviations from it:
// two passes over the input. But batch norm's input is one of the largest tensors of a step (the
// second layer of the CNN milestone's network gives it 64 · 32 · 14 · 14 floats, 1.6 MB, at every
// step, and a CIFAR network far more), and everything else in the layer is one pass. So we want
// both statistics from **one pass**, reading every float once, in memory order.
//
// One pass means sums: `Σ v` and `Σ v²` give `σ² = E[v²] − E[v]²`. That formula is exact in real
// numbers and a trap in floating point: for activations of mean 10⁴ and standard deviation 0.01,
// `E[v²]` is 10⁸ and the variance 10⁻⁴, twelve orders of magnitude below it. Even in `double`
// (16 digits) the subtraction keeps two or three correct digits; in `float` it is pure rounding
// error, often negative, and `√(σ² + ε)` of a negative number is NaN.
//
// The cure is to **shift** first. The variance does not change when a constant `K` is subtracted
// from every value, so sum `d = v − K` and `d²` instead:
//
//     mean = K + Σd / m          σ² = (Σd² − (Σd)² / m) / m
//
// With `K` one of the channel's own values, the `d` are of the order of the standard deviation,
// and nothing large is cancelled. We take `K` = the channel's first value, `x[0, c, 0, 0]`.
//
// **TODO**: Return the mean and the (biased) variance of each channel of `input [N, C, H, W]`,
// as two tensors `[C]`, in one pass over the input.
//
// **APPROACH**:
// 1. `x = input.contiguous()`; `N`, `C`, `plane = H·W`, `m = N·plane`.
// 2. `shift[c] = x[c · plane]` (the first value of channel `c`); `std::vector<double> sum(C),
//    squares(C)`, all 0.
// 3. Loops `n`, then `c`, then the `plane` values `v` of plane `(n·C + c)`, which starts at
//    `x + (n·C + c)·plane`: `d = double(v) − shift[c]`; `sum[c] += d`; `squares[c] += d·d`.
// 4. `stats.mean[c] = shift[c] + sum[c] / m`; `stats.var[c] = max(0, (squares[c] − sum[c]² / m) / m)`
//    (rounding can leave a tiny negative number for a constant channel), both as floats.
//
// **EXAMPLE**:
// ```cpp
// // two images of two channels of 1x2 pixels: image 0 is {1, 2 | 3, 4}, image 1 is {10, 10 | 10, 10}
// Tensor x = tensor({1, 2, 3, 4, 10, 10, 10, 10}).reshape({2, 2, 1, 2});
// native::batch_norm_stats(x).mean.to_vector()   // {5.75, 6.75}: channel 0 is {1, 2, 10, 10}, channel 1 {3, 4, 10, 10}
// native::batch_norm_stats(x).var.to_vector()    // {18.1875, 10.6875}
// ```
//
// **HINTS**:
// - `n` outside `c`: the input is then read from its first float to its last, once. With `c`
//   outside, each channel's values are `N` runs of `H·W` floats, `C·H·W` floats apart, and the
//   loop jumps through the whole tensor once per channel.
// - Accumulate in `double`: a float sum over 50,000 values (a batch of 64 at 28×28) has lost
//   its last digits by the end (module 01's reductions do the same).
// - Forget the shift and the tests' channel of mean 10⁴ and standard deviation 0.01 comes out
//   with its variance wrong in the third digit, even in `double`.
//
// **SYSTEMS THINKING**: Welford's algorithm is the other one-pass method: a running mean and a
// running sum of squared deviations, updated with a division per element. It needs no shift, but
// the division makes it several times slower than our two additions and a multiply, which
// vectorize. Libraries that split the statistics across threads or GPU blocks compute partial
// (count, mean, squared deviations) per piece and merge them with Chan's formula, the parallel
// form of the same idea.

// %%
//| export
namespace tinytorch::native {

// The mean and the biased variance (divided by N*H*W) of each channel, each a tensor [C].
struct BatchStats {
  Tensor mean;
  Tensor var;
};

// Per-channel statistics of input [N, C, H, W], in double precision, in one pass (sums of the
// deviations from each channel's first value). Shapes already checked.
BatchStats batch_norm_stats(const Tensor& input);

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch::native {

BatchStats batch_norm_stats(const Tensor& input) {
  // BEGIN SOLUTION
  const Tensor x = input.contiguous();
  const int64_t batch = x.size(0), channels = x.size(1), plane = x.size(2) * x.size(3);
  const double count = static_cast<double>(batch * plane);
  const float* px = x.data();
  std::vector<double> shift(static_cast<std::size_t>(channels)), sum(shift.size(), 0.0), squares(shift.size(), 0.0);
  for (int64_t c = 0; c < channels; ++c) shift[static_cast<std::size_t>(c)] = px[c * plane];
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const auto k = static_cast<std::size_t>(c);
      const float* values = px + (n * channels + c) * plane;
      const double origin = shift[k];
      double s = 0.0, q = 0.0;
      for (int64_t i = 0; i < plane; ++i) {
        const double d = static_cast<double>(values[i]) - origin;
        s += d;
        q += d * d;
      }
      sum[k] += s;
      squares[k] += q;
    }
  }
  BatchStats stats{empty({channels}), empty({channels})};
  for (int64_t c = 0; c < channels; ++c) {
    const auto k = static_cast<std::size_t>(c);
    stats.mean.data()[c] = static_cast<float>(shift[k] + sum[k] / count);
    stats.var.data()[c] = static_cast<float>(std::max(0.0, (squares[k] - sum[k] * sum[k] / count) / count));
  }
  return stats;
  // END SOLUTION
}

}  // namespace tinytorch::native

// %%
//| test
TEST(UnitBatchNormStats, MeanAndBiasedVariancePerChannel) {
  const Tensor x = tensor({1, 2, 3, 4, 10, 10, 10, 10}).reshape({2, 2, 1, 2});
  const native::BatchStats stats = native::batch_norm_stats(x);
  EXPECT_EQ(stats.mean.to_vector(), (std::vector<float>{5.75f, 6.75f}))
      << "channel 0 is {1, 2, 10, 10}: one run of H*W values per image";
  EXPECT_EQ(stats.var.to_vector(), (std::vector<float>{18.1875f, 10.6875f}));
}

// %% [markdown]
// One pass against two, and against Welford, on the output of the CNN milestone's first layer at
// batch 64 (`[64, 16, 28, 28]`, 3.2 MB): your `batch_norm_stats`; the textbook's two passes per
// channel (the mean, then the squared deviations from it); and Welford's running update (a
// division per element). Each is the median of 5 runs (after a warm-up run), and the last column is the largest
// relative difference of a channel's variance from yours.

// %%
//| demo
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <tinytorch/timing.hpp>

const int64_t batch = 64, channels = 16, plane = 28 * 28;
const Tensor x = randn({batch, channels, 28, 28}, 7) * 2.0f + 3.0f;
const double count = static_cast<double>(batch * plane);
const float* px = x.data();
auto median_ms = [](auto work) { return 1e3 * timing::median_seconds(5, work); };
std::vector<double> variance(static_cast<std::size_t>(channels));
auto two_passes = [&] {
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0.0, squares = 0.0;
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t i = 0; i < plane; ++i) sum += px[(n * channels + c) * plane + i];
    }
    const double mean = sum / count;
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t i = 0; i < plane; ++i) {
        const double d = px[(n * channels + c) * plane + i] - mean;
        squares += d * d;
      }
    }
    variance[static_cast<std::size_t>(c)] = squares / count;
  }
};
auto welford = [&] {
  for (int64_t c = 0; c < channels; ++c) {
    double mean = 0.0, deviations = 0.0, seen = 0.0;
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t i = 0; i < plane; ++i) {
        const double v = px[(n * channels + c) * plane + i];
        seen += 1.0;
        const double d = v - mean;
        mean += d / seen;
        deviations += d * (v - mean);
      }
    }
    variance[static_cast<std::size_t>(c)] = deviations / count;
  }
};
native::BatchStats stats;
const double yours_ms = median_ms([&] { stats = native::batch_norm_stats(x); });
const std::vector<float> yours = stats.var.to_vector();
auto largest_difference = [&] {
  double largest = 0.0;
  for (std::size_t c = 0; c < yours.size(); ++c) {
    largest = std::max(largest, std::fabs(variance[c] - yours[c]) / variance[c]);
  }
  return largest;
};
std::printf("per-channel mean and variance of [64, 16, 28, 28] (median of 5 runs)\n");
std::printf("  %-44s %7.2f ms\n", "your batch_norm_stats (one pass)", yours_ms);
const double two_ms = median_ms(two_passes);
std::printf("  %-44s %7.2f ms   %.1e\n", "two passes per channel", two_ms, largest_difference());
const double welford_ms = median_ms(welford);
std::printf("  %-44s %7.2f ms   %.1e\n", "Welford (one pass, a division per element)", welford_ms, largest_difference());

// %% [markdown]
// ### ⭐ `native::batch_norm_normalize`
//
// **TODO**: Return `y = (x − mean[c]) · invstd[c] · weight[c] + bias[c]` for every element of
// `input [N, C, H, W]`, where `invstd = 1/√(var + ε)` is given per channel.
//
// **APPROACH**:
// 1. `x = input.contiguous()`, `out = zeros(x.shape())`; the four `[C]` tensors made contiguous.
// 2. For each image `n` and channel `c`: `scale = invstd[c] · weight[c]`, then for the `H·W`
//    values of the plane: `out = (x − mean[c]) · scale + bias[c]`.
//
// **EXAMPLE**:
// ```cpp
// native::batch_norm_normalize(tensor({1, 3}).reshape({2, 1, 1, 1}), tensor({2}), tensor({1}),
//                              tensor({10}), tensor({5}))   // {-5, 15}: (1-2)·1·10+5, (3-2)·1·10+5
// ```
//
// **HINTS**:
// - Hoist everything that depends only on the channel out of the plane loop: the inner loop
//   is then one multiply-add per element, and vectorizes.
//
// **SYSTEMS THINKING**: in training this layer reads its input twice (one pass of statistics,
// one of normalization) and writes it once. For a `[64, 32, 28, 28]` activation, 6.4 MB each
// time: at 10 GB/s that is about 2 ms, against tens of milliseconds for the convolution before
// it. Fusing batch norm into the convolution (done by inference engines once
// the statistics are fixed) removes even that.

// %%
//| export
namespace tinytorch::native {

// (x - mean[c]) * invstd[c] * weight[c] + bias[c] for input [N, C, H, W] and four tensors [C].
Tensor batch_norm_normalize(const Tensor& input, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                            const Tensor& bias);

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch::native {

Tensor batch_norm_normalize(const Tensor& input, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                            const Tensor& bias) {
  // BEGIN SOLUTION
  const Tensor x = input.contiguous();
  const Tensor m = mean.contiguous(), s = invstd.contiguous(), w = weight.contiguous(), b = bias.contiguous();
  const int64_t batch = x.size(0), channels = x.size(1), plane = x.size(2) * x.size(3);
  Tensor out = zeros(x.shape());
  const float* px = x.data();
  float* po = out.data();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const float mu = m.data()[c], scale = s.data()[c] * w.data()[c], shift = b.data()[c];
      const float* in = px + (n * channels + c) * plane;
      float* result = po + (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) result[i] = (in[i] - mu) * scale + shift;
    }
  }
  return out;
  // END SOLUTION
}

}  // namespace tinytorch::native

// %% [markdown]
// ### The backward of batch normalization
//
// Here autograd by composition would work (the formula is means, subtractions and a square
// root), but it would record a dozen ops and keep a dozen intermediate tensors of the input's
// size. One op with its own backward keeps only the input and two numbers per channel. Its
// backward is a classic derivation; per channel, with `s = 1/√(σ² + ε)` and the upstream
// gradient `g`:
//
//     dβ = Σ g                 dγ = Σ g · x̂
//     dx = γ · s · (g − mean(g) − x̂ · mean(g · x̂))
//
// The three terms of `dx` are the three ways `x_i` reaches the output. The first is direct:
// `x_i` appears in its own `x̂_i`. The second goes through `μ`: raising `x_i` raises the mean,
// which lowers *every* `x̂` of the channel. The third goes through `σ²`: raising `x_i` changes
// the spread, which rescales every `x̂` in proportion to its own value. Forget the second and
// third (treat `μ` and `σ` as constants) and you get `γ · s · g`, the most common wrong batch-norm
// backward there is; the gradient check of the tests finds it at once.
//
// A check you can make in your head: adding the same number to every input of a channel
// changes nothing at the output (the mean absorbs it), so the gradient must satisfy
// `Σ dx = 0` per channel. The formula does: `Σ (g − mean(g)) = 0` and `Σ x̂ = 0`.
//
// ### ⭐⭐⭐ `native::batch_norm_backward`
//
// **TODO**: Return `dx` (the input's shape), `dweight` and `dbias` (`[C]`) by the formulas above.
// `mean` and `invstd` are the batch's, as the forward pass used them.
//
// **APPROACH**:
// 1. Contiguous `x` and `g`; `N`, `C`, `plane = H·W`, `m = N·plane`; `grads.input =
//    zeros(x.shape())`, `grads.weight = zeros({C})`, `grads.bias = zeros({C})`.
// 2. For each channel `c`, first pass over its `N` planes, in `double`: `sum_g += g`,
//    `sum_gx += g · x̂` with `x̂ = (x − mean[c]) · invstd[c]`.
// 3. `dbias[c] = sum_g`, `dweight[c] = sum_gx`.
// 4. Second pass: `dx = weight[c] · invstd[c] · (g − sum_g / m − x̂ · sum_gx / m)`.
//
// **EXAMPLE**:
// ```cpp
// // one channel, x = {0, 2} (mean 1, var 1), eps 0: x̂ = {-1, 1}; g = {1, 3}, weight 2
// auto grads = native::batch_norm_backward(tensor({1, 3}).reshape({2, 1, 1, 1}), tensor({0, 2}).reshape({2, 1, 1, 1}),
//                                          tensor({1}), tensor({1}), tensor({2}));
// grads.bias.to_vector()     // {4}: 1 + 3
// grads.weight.to_vector()   // {2}: -1 + 3
// grads.input.to_vector()    // {0, 0}: 2 · (g − 2 − x̂ · 1) = 2 · {1 − 2 + 1, 3 − 2 − 1}
// ```
//
// **HINTS**:
// - Compute `x̂` from `x`, `mean` and `invstd` again rather than storing it: it is one
//   subtraction and one multiplication, and storing it would cost a tensor of the input's size.
// - `sum_g / m` and `sum_gx / m` are per channel: compute them once, outside the second pass.
// - The example's `dx = 0` is no accident: with two values per channel, the normalized output is
//   always {−1, 1} whatever `x` is, so nothing can flow back to `x`.
//
// **SYSTEMS THINKING**: backward reads `x` and `g` twice each and writes `dx` once: about 5
// passes over the activation, against 3 in forward. Batch norm is cheap in arithmetic and
// expensive in memory traffic, which is why frameworks fuse it with the ReLU that follows (and,
// for inference, fold it into the preceding convolution's weights).

// %%
//| export
namespace tinytorch::native {

// The gradients of batch normalization with respect to its input, weight and bias.
struct BatchNormGrads {
  Tensor input;   // the input's shape
  Tensor weight;  // [C]
  Tensor bias;    // [C]
};

// Backward of batch normalization in training (statistics from the batch): grad and input
// [N, C, H, W], the batch's mean and invstd [C], weight [C].
BatchNormGrads batch_norm_backward(const Tensor& grad, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                   const Tensor& weight);

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch::native {

BatchNormGrads batch_norm_backward(const Tensor& grad, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                   const Tensor& weight) {
  // BEGIN SOLUTION
  const Tensor x = input.contiguous(), g = grad.contiguous();
  const Tensor mu = mean.contiguous(), s = invstd.contiguous(), w = weight.contiguous();
  const int64_t batch = x.size(0), channels = x.size(1), plane = x.size(2) * x.size(3);
  const double count = static_cast<double>(batch * plane);
  BatchNormGrads grads{zeros(x.shape()), zeros({channels}), zeros({channels})};
  const float* px = x.data();
  const float* pg = g.data();
  float* pdx = grads.input.data();
  for (int64_t c = 0; c < channels; ++c) {
    const double m = mu.data()[c], is = s.data()[c];
    double sum_g = 0.0, sum_gx = 0.0;
    for (int64_t n = 0; n < batch; ++n) {
      const int64_t start = (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) {
        sum_g += pg[start + i];
        sum_gx += pg[start + i] * ((px[start + i] - m) * is);
      }
    }
    grads.bias.data()[c] = static_cast<float>(sum_g);
    grads.weight.data()[c] = static_cast<float>(sum_gx);
    const double mean_g = sum_g / count, mean_gx = sum_gx / count, scale = w.data()[c] * is;
    for (int64_t n = 0; n < batch; ++n) {
      const int64_t start = (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) {
        const double x_hat = (px[start + i] - m) * is;
        pdx[start + i] = static_cast<float>(scale * (pg[start + i] - mean_g - x_hat * mean_gx));
      }
    }
  }
  return grads;
  // END SOLUTION
}

}  // namespace tinytorch::native

// %%
//| test
TEST(UnitBatchNormBackward, TheTextsExample) {
  const native::BatchNormGrads grads =
      native::batch_norm_backward(tensor({1, 3}).reshape({2, 1, 1, 1}), tensor({0, 2}).reshape({2, 1, 1, 1}),
                                  tensor({1}), tensor({1}), tensor({2}));
  EXPECT_EQ(grads.bias.to_vector(), (std::vector<float>{4}));
  EXPECT_EQ(grads.weight.to_vector(), (std::vector<float>{2}));
  EXPECT_EQ(grads.input.to_vector(), (std::vector<float>{0, 0}))
      << "with two values per channel the output is {-1, 1} whatever x is: the paths through the mean and the "
         "variance cancel the direct one";
}

// %% [markdown]
// ### ⭐⭐ `update_running_stats`
//
// **TODO**: Update `running_mean` and `running_var` (each `[C]`) in place with the batch's
// `mean` and biased `var`, computed over `count` values per channel, by PyTorch's rule (see
// "Training and evaluation" above).
//
// **APPROACH**:
// 1. `unbiased = count / (count − 1)` (as a `double`).
// 2. For each channel: `running_mean[c] = (1 − momentum) · running_mean[c] + momentum · mean[c]`;
//    `running_var[c] = (1 − momentum) · running_var[c] + momentum · var[c] · unbiased`.
//
// **EXAMPLE**:
// ```cpp
// Tensor rm = zeros({1}), rv = ones({1});
// update_running_stats(rm, rv, tensor({2}), tensor({3}), 4, 0.1);
// rm.item()   // 0.2 = 0.9 · 0 + 0.1 · 2
// rv.item()   // 1.3 = 0.9 · 1 + 0.1 · 3 · 4/3
// ```
//
// **HINTS**:
// - `momentum` weighs the *new* statistics. With `0.9 · batch + 0.1 · running`, the running
//   mean jumps to every batch and evaluation becomes as noisy as a single batch.
// - Write through `data()`: the buffers never require grad, and this update is not part of any
//   graph. (Module 01's in-place ops would work too, outside recording.)
//
// **SYSTEMS THINKING**: an exponential moving average with momentum 0.1 forgets a batch with a
// half-life of about 6.6 batches (0.9⁶·⁶ ≈ 0.5), so after a few hundred steps the running
// statistics describe the *current* weights, not the first ones. After fine-tuning with frozen
// batch-norm statistics, or a change of data, they no longer fit: recomputing them over the
// training set ("precise BN") is a standard fix.

// %%
//| export
namespace tinytorch::nn::functional {

// Folds a batch's per-channel mean and biased variance (over `count` values each) into the
// running statistics, in place: running = (1 - momentum) running + momentum batch, the variance
// made unbiased (times count / (count - 1)) first, as in PyTorch.
void update_running_stats(const Tensor& running_mean, const Tensor& running_var, const Tensor& mean,
                          const Tensor& var, int64_t count, double momentum);

}  // namespace tinytorch::nn::functional

// %%
//| export impl
namespace tinytorch::nn::functional {

void update_running_stats(const Tensor& running_mean, const Tensor& running_var, const Tensor& mean,
                          const Tensor& var, int64_t count, double momentum) {
  // BEGIN SOLUTION
  const double unbiased = static_cast<double>(count) / static_cast<double>(count - 1);
  const Tensor m = mean.contiguous(), v = var.contiguous();
  float* rm = running_mean.data();
  float* rv = running_var.data();
  for (int64_t c = 0; c < running_mean.numel(); ++c) {
    rm[c] = static_cast<float>((1.0 - momentum) * rm[c] + momentum * m.data()[c]);
    rv[c] = static_cast<float>((1.0 - momentum) * rv[c] + momentum * v.data()[c] * unbiased);
  }
  // END SOLUTION
}

}  // namespace tinytorch::nn::functional

// %% [markdown]
// `nn::functional::batch_norm` (written for you) puts the pieces together, with PyTorch's
// argument order. In training it computes the batch's statistics, folds them into the running
// ones, and records one `batch_norm` op whose backward is yours. In evaluation it uses the
// running statistics, which are constants: `y = x · scale + shift` with `scale = γ / √(var + ε)`
// and `shift = β − mean · scale` per channel, made of ordinary ops, so autograd differentiates
// it with respect to `x`, `γ` and `β` by itself (fine-tuning a network in eval mode works).

// %%
//| export
namespace tinytorch::nn::functional {

// Batch normalization over the channels of input [N, C, H, W] (torch::nn::functional::batch_norm).
// training: the batch's statistics (more than one value per channel needed), folded into the
// running statistics when they are defined; otherwise the running statistics. weight and bias
// [C]. Differentiable with respect to input, weight and bias.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

}  // namespace tinytorch::nn::functional

// %%
//| export impl
namespace tinytorch::nn::functional {

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  if (input.dim() != 4) {
    throw ShapeError("batch_norm(): expected an input [N, C, H, W], got " + shape_str(input.shape()));
  }
  const int64_t channels = input.size(1);
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var}) {
    if (t->defined() && t->shape() != Shape{channels}) {
      throw ShapeError("batch_norm(): input " + shape_str(input.shape()) + " has " + plural(channels, "channel") +
                       ", so weight, bias and the running statistics must be [" + std::to_string(channels) +
                       "], got " + shape_str(t->shape()));
    }
  }
  if (!weight.defined() || !bias.defined()) throw std::invalid_argument("batch_norm(): weight and bias are required");
  if (!training) {
    if (!running_mean.defined() || !running_var.defined()) {
      throw std::invalid_argument("batch_norm(): evaluation (training = false) needs the running statistics");
    }
    const Tensor scale = weight / sqrt(running_var + static_cast<float>(eps));
    const Tensor shift = bias - running_mean * scale;
    return input * scale.view({1, channels, 1, 1}) + shift.view({1, channels, 1, 1});
  }
  const int64_t count = input.size(0) * input.size(2) * input.size(3);
  if (count <= 1) {
    throw ShapeError("batch_norm(): expected more than 1 value per channel when training, got input " +
                     shape_str(input.shape()));
  }
  const native::BatchStats stats = native::batch_norm_stats(input);
  if (running_mean.defined() && running_var.defined()) {
    update_running_stats(running_mean, running_var, stats.mean, stats.var, count, momentum);
  }
  Tensor invstd = zeros({channels});
  for (int64_t c = 0; c < channels; ++c) {
    invstd.data()[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(stats.var.data()[c]) + eps));
  }
  const Tensor mean = stats.mean;
  return autograd::function(
      "batch_norm", {input, weight, bias},
      [&] { return native::batch_norm_normalize(input, mean, invstd, weight, bias); },
      [mean, invstd](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
        native::BatchNormGrads grads = native::batch_norm_backward(ctx.grad, ctx.inputs[0], mean, invstd, ctx.inputs[1]);
        return {grads.input, grads.weight, grads.bias};
      },
      {}, static_cast<float>(eps));
}

}  // namespace tinytorch::nn::functional

// %% [markdown]
// ### ⭐ The `BatchNorm2d` constructor
//
// `nn::BatchNorm2d(num_features, eps = 1e-5, momentum = 0.1)` holds two parameters and two
// buffers of `[num_features]`. Its `forward` (given) calls `batch_norm` with `is_training()`,
// so `model.train()` and `model.eval()` (module 03) switch it between batch and running
// statistics.
//
// **TODO**: Register the parameters `"weight"` (ones) and `"bias"` (zeros), and the buffers
// `"running_mean"` (zeros) and `"running_var"` (ones), each `[num_features]`, in that order.
//
// **APPROACH**:
// 1. `weight = register_parameter("weight", ones({num_features}));`, and `bias` the same with
//    `zeros`.
// 2. `running_mean = register_buffer("running_mean", zeros({num_features}));`, and
//    `running_var` with `ones`.
//
// **EXAMPLE**:
// ```cpp
// nn::BatchNorm2d bn(16);
// bn.named_parameters()    // weight [16] (ones), bias [16] (zeros)
// bn.named_buffers()       // running_mean [16] (zeros), running_var [16] (ones)
// nn::parameter_count(bn)  // 32: buffers are not parameters
// ```
//
// **HINTS**:
// - `running_var` starts at **one**, not zero: a network evaluated before any training step
//   then divides by `√(1 + ε)`, not by `√ε` (which would multiply its input by about 300).
// - Buffers, not parameters: an optimizer that received the running statistics would "learn"
//   them with gradients they do not have.
//
// **SYSTEMS THINKING**: a `BatchNorm2d(32)` stores 128 floats, nothing next to the `Conv2d(16,
// 32, 5)` before it (12,832). Its cost is in the activations: in training it keeps its input
// `[N, 32, H, W]` for backward, as large as the convolution's output.

// %%
//| export
namespace tinytorch::nn {

// Batch normalization over channels, as torch::nn::BatchNorm2d: batch statistics in training
// (folded into the running statistics), running statistics in evaluation.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1);
  // x [N, num_features, H, W] -> the same shape.
  Tensor forward(const Tensor& input) override;
  // "BatchNorm2d(16, eps=1e-05, momentum=0.1)"
  void pretty_print(std::ostream& os) const override;
  int64_t num_features() const noexcept { return num_features_; }
  double eps() const noexcept { return eps_; }
  double momentum() const noexcept { return momentum_; }

  Tensor weight;        // gamma [num_features], starts at 1
  Tensor bias;          // beta [num_features], starts at 0
  Tensor running_mean;  // buffer [num_features], starts at 0
  Tensor running_var;   // buffer [num_features], starts at 1

 private:
  int64_t num_features_;
  double eps_;
  double momentum_;
};

}  // namespace tinytorch::nn

// %%
//| export impl
namespace tinytorch::nn {

BatchNorm2d::BatchNorm2d(int64_t num_features, double eps, double momentum)
    : num_features_(num_features), eps_(eps), momentum_(momentum) {
  if (num_features <= 0 || !(eps > 0.0) || !(momentum >= 0.0 && momentum <= 1.0)) {
    throw std::invalid_argument(describe_module(*this) +
                                ": num_features must be positive, eps positive and momentum in [0, 1]");
  }
  // BEGIN SOLUTION
  weight = register_parameter("weight", ones({num_features}));
  bias = register_parameter("bias", zeros({num_features}));
  running_mean = register_buffer("running_mean", zeros({num_features}));
  running_var = register_buffer("running_var", ones({num_features}));
  // END SOLUTION
}

Tensor BatchNorm2d::forward(const Tensor& input) {
  if (input.dim() != 4 || input.size(1) != num_features_) {
    throw ShapeError(describe_module(*this) + ": expected an input [N, " + std::to_string(num_features_) +
                     ", H, W], got " + shape_str(input.shape()));
  }
  if (is_training() && input.size(0) * input.size(2) * input.size(3) <= 1) {
    throw ShapeError(describe_module(*this) + ": expected more than 1 value per channel when training, got input " +
                     shape_str(input.shape()) + " (use a larger batch, or eval())");
  }
  return functional::batch_norm(input, running_mean, running_var, weight, bias, is_training(), momentum_, eps_);
}

void BatchNorm2d::pretty_print(std::ostream& os) const {
  std::ostringstream eps;
  eps << eps_;
  os << "BatchNorm2d(" << num_features_ << ", eps=" << eps.str() << ", momentum=" << momentum_ << ")";
}

}  // namespace tinytorch::nn

// %%
//| test
TEST(UnitBatchNorm2d, NormalizesEachChannelInTraining) {
  nn::BatchNorm2d bn(2);
  EXPECT_EQ(nn::parameter_count(bn), 4);
  EXPECT_EQ(bn.named_buffers().size(), 2u);
  const Tensor x = randn({4, 2, 3, 5}, 1) * 3.0f + 7.0f;
  const native::BatchStats stats = native::batch_norm_stats(bn(x));
  for (float m : stats.mean.to_vector()) EXPECT_NEAR(m, 0.0f, 1e-5f);
  for (float v : stats.var.to_vector()) EXPECT_NEAR(v, 1.0f, 1e-3f);
  EXPECT_NEAR(bn.running_mean.to_vector()[0], 0.7f, 0.1f) << "one step of momentum 0.1 towards a mean of about 7";
}

// %% [markdown]
// Batch norm at work: a batch whose channels have means 5 and −3 and standard deviations 4 and
// 0.5 comes out of training mode with mean 0 and standard deviation 1 in each channel. The
// running statistics creep toward the data's over the steps; evaluation mode then uses them, and
// a single image's output no longer depends on the rest of its batch.

// %%
//| demo
#include <cmath>

nn::BatchNorm2d bn(2);
auto make_batch = [](uint64_t seed) {
  const Tensor z = randn({32, 2, 4, 4}, seed);
  return z * tensor({4.0f, 0.5f}).view({1, 2, 1, 1}) + tensor({5.0f, -3.0f}).view({1, 2, 1, 1});
};
auto describe = [](const char* label, const Tensor& t) {
  const native::BatchStats s = native::batch_norm_stats(t);
  std::printf("  %-28s channel 0: mean %7.3f std %6.3f   channel 1: mean %7.3f std %6.3f\n", label,
              static_cast<double>(s.mean.to_vector()[0]), std::sqrt(static_cast<double>(s.var.to_vector()[0])),
              static_cast<double>(s.mean.to_vector()[1]), std::sqrt(static_cast<double>(s.var.to_vector()[1])));
};
const Tensor batch = make_batch(1);
describe("the batch:", batch);
describe("BatchNorm2d in training:", bn(batch));
for (int step = 1; step <= 50; ++step) {
  bn(make_batch(static_cast<uint64_t>(step) + 1));
  if (step == 1 || step == 10 || step == 50) {
    std::printf("  after %2d training batches: running_mean {%.3f, %.3f}, running_var {%.3f, %.3f} (data: {5, -3}, {16, 0.25})\n",
                step, static_cast<double>(bn.running_mean.to_vector()[0]),
                static_cast<double>(bn.running_mean.to_vector()[1]), static_cast<double>(bn.running_var.to_vector()[0]),
                static_cast<double>(bn.running_var.to_vector()[1]));
  }
}
bn.eval();
describe("in evaluation:", bn(batch));
const Tensor alone = bn(select(batch, 0, 0).unsqueeze(0));
const Tensor in_batch = select(bn(batch), 0, 0).unsqueeze(0);
std::printf("  image 0 alone and inside its batch, in evaluation: largest difference %.2g\n",
            static_cast<double>(abs(alone - in_batch).max().item()));

// %% [markdown]
// ## Part 7: `nn::Flatten`
//
// The convolutions and pools hand over `[N, C, H, W]`; a `Linear` classifier wants `[N, C·H·W]`.
// `nn::Flatten(start_dim = 1, end_dim = -1)` merges the dimensions `start_dim .. end_dim` into
// one, as `torch::nn::Flatten` does: by default everything but the batch. It is a `reshape`, so
// it copies nothing for a contiguous input, and its backward is module 05's `view` backward.
//
// This is where the output sizes of part 1 pay off: `Flatten` after two `MaxPool2d(2)` on 28×28
// images with 32 channels gives 32·7·7 = 1,568 features, and the `Linear` after it must be
// `Linear(1568, 10)`. Get it wrong and `Linear`'s error (module 03) names both numbers.
//
// ### ⭐ `Flatten::forward`
//
// **TODO**: After the given check, return `input` reshaped with the dimensions `start .. end`
// (already made non-negative) merged into one.
//
// **APPROACH**:
// 1. `shape` = the sizes before `start`.
// 2. Append the product of the sizes `start .. end` (inclusive).
// 3. Append the sizes after `end`; return `input.reshape(shape)`.
//
// **EXAMPLE**:
// ```cpp
// nn::Flatten()(zeros({64, 32, 7, 7})).shape()       // [64, 1568]
// nn::Flatten(2)(zeros({64, 32, 7, 7})).shape()      // [64, 32, 49]
// nn::Flatten(0, 1)(zeros({64, 32, 7, 7})).shape()   // [2048, 7, 7]
// nn::Flatten()(zeros({0, 1, 28, 28})).shape()       // [0, 784]: an empty batch stays empty
// ```
//
// **HINTS**:
// - `reshape({input.size(0), -1})` is the usual shortcut, and it is wrong twice: it ignores
//   `start_dim` and `end_dim`, and for an empty batch the `-1` cannot be inferred (0 elements
//   fit any size). Compute the merged size.
//
// **SYSTEMS THINKING**: `Flatten` is free for a contiguous input. After a `permute` (a
// channels-last layout, say) it is not: `reshape` must copy. Layout decisions made early in a
// network show up as copies like this one, which a profiler (module 10) makes visible.

// %%
//| export
namespace tinytorch::nn {

// Merges the dimensions start_dim .. end_dim (negative counts from the end) into one, as
// torch::nn::Flatten: [N, C, H, W] -> [N, C*H*W] by default.
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1);
  Tensor forward(const Tensor& input) override;
  // "Flatten(start_dim=1, end_dim=-1)"
  void pretty_print(std::ostream& os) const override;

 private:
  int64_t start_dim_;
  int64_t end_dim_;
};

}  // namespace tinytorch::nn

// %%
//| export impl
namespace tinytorch::nn {

Flatten::Flatten(int64_t start_dim, int64_t end_dim) : start_dim_(start_dim), end_dim_(end_dim) {}

Tensor Flatten::forward(const Tensor& input) {
  const int64_t dims = input.dim();
  const int64_t start = start_dim_ < 0 ? start_dim_ + dims : start_dim_;
  const int64_t end = end_dim_ < 0 ? end_dim_ + dims : end_dim_;
  if (start < 0 || end >= dims || start > end) {
    throw IndexError(describe_module(*this) + ": an input " + shape_str(input.shape()) + " with " +
                     plural(dims, "dimension") + " has no dimensions " + std::to_string(start_dim_) + " to " +
                     std::to_string(end_dim_) + " to merge");
  }
  // BEGIN SOLUTION
  const Shape& sizes = input.shape();
  Shape shape(sizes.begin(), sizes.begin() + start);
  int64_t merged = 1;
  for (int64_t d = start; d <= end; ++d) merged *= sizes[static_cast<std::size_t>(d)];
  shape.push_back(merged);
  shape.insert(shape.end(), sizes.begin() + end + 1, sizes.end());
  return input.reshape(shape);
  // END SOLUTION
}

void Flatten::pretty_print(std::ostream& os) const {
  os << "Flatten(start_dim=" << start_dim_ << ", end_dim=" << end_dim_ << ")";
}

}  // namespace tinytorch::nn

// %%
//| test
TEST(UnitFlatten, MergesTheGivenDimensions) {
  EXPECT_EQ(nn::Flatten()(zeros({64, 32, 7, 7})).shape(), (Shape{64, 1568}));
  EXPECT_EQ(nn::Flatten(2)(zeros({64, 32, 7, 7})).shape(), (Shape{64, 32, 49}));
  EXPECT_EQ(nn::Flatten(0, 1)(zeros({64, 32, 7, 7})).shape(), (Shape{2048, 7, 7}));
  EXPECT_EQ(nn::Flatten()(zeros({0, 1, 28, 28})).shape(), (Shape{0, 784}));
}

// %% [markdown]
// ## Part 8: A small CNN on real data
//
// Everything together, as a student of 1998 would have wished: a small convolutional network,
// conv → ReLU → pool twice and a linear classifier, trained with Adam (module 06) on real
// Fashion-MNIST from your loader (module 08), every gradient from your autograd (module 05).
// The printed model shows the layers, their sizes and their parameters:
//
//     Conv2d(1, 8, kernel=5, stride=1, padding=2)      [N, 1, 28, 28] -> [N, 8, 28, 28]     208 parameters
//     MaxPool2d(kernel=2, stride=2)                    -> [N, 8, 14, 14]
//     Conv2d(8, 16, kernel=5, stride=1, padding=2)     -> [N, 16, 14, 14]                 3,216 parameters
//     MaxPool2d(kernel=2, stride=2)                    -> [N, 16, 7, 7]
//     Flatten, Linear(784, 10)                         -> [N, 10]                         7,850 parameters
//
// 11,274 parameters: fewer than a `Linear(784, 16)`. The demo trains it for 250 batches of 64
// (16,000 images, a quarter of an epoch), then evaluates on 2,000 test images, and looks inside:
// the 8 filters of the first layer, and what each of them makes of one image (its **feature
// maps**), in the terminal and in `build/demos/09_spatial/feature_maps.png`. Then it times a
// training step of a network of the CNN milestone's size (16 and 32 channels). Expect a minute.

// %%
//| demo
#include <chrono>
#include <filesystem>

#include <tinytorch/image.hpp>

try {
  data::datasets::FashionMNIST train(true);
  data::datasets::FashionMNIST test(false);
  namespace T = data::transforms;
  const T::Normalize normalize({0.2860f}, {0.3530f});
  data::DataLoader loader(data::MapDataset(train, normalize),
                          data::DataLoaderOptions(64).shuffle(true).seed(0).drop_last(true));
  auto conv1 = std::make_shared<nn::Conv2d>(1, 8, 5, 1, 2, true, 1);
  auto conv2 = std::make_shared<nn::Conv2d>(8, 16, 5, 1, 2, true, 2);
  nn::Sequential model(conv1, nn::ReLU(), nn::MaxPool2d(2), conv2, nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                       nn::Linear(16 * 7 * 7, 10, true, 3));
  std::cout << model << "\n";
  optim::Adam adam(model.parameters(), optim::AdamOptions(2e-3));
  loader.start_epoch(0);
  const int64_t steps = 250;
  double running = 0.0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < steps; ++b) {
    const data::Example batch = loader.batch(b);
    const Tensor loss = nn::functional::cross_entropy(model(batch.data), batch.target);
    adam.zero_grad();
    loss.backward();
    adam.step();
    running += loss.item();
    if ((b + 1) % 50 == 0) {
      std::printf("  batch %3lld: mean loss of the last 50 batches %.3f\n", static_cast<long long>(b + 1),
                  running / 50.0);
      running = 0.0;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("trained on %lld images in %.1f s: %.0f images/s on one core\n", static_cast<long long>(steps * 64),
              seconds, static_cast<double>(steps * 64) / seconds);

  model.eval();
  NoGradGuard no_grad;
  data::DataLoader evaluation(data::MapDataset(test, normalize), data::DataLoaderOptions(500));
  double correct = 0.0;
  for (int64_t b = 0; b < 4; ++b) {
    const data::Example batch = evaluation.batch(b);
    correct += nn::functional::accuracy(model(batch.data), batch.target) * 500.0;
  }
  std::printf("test accuracy on the first 2,000 test images: %.1f%% (chance: 10%%; module 08's MLP, trained on the "
              "same quarter epoch: about 82%%)\n\n",
              correct / 20.0);

  // Inside the network: the first layer's filters, and their feature maps of one test image.
  const Tensor image = normalize(test.get(0).data).unsqueeze(0);  // an ankle boot
  const Tensor maps1 = relu((*conv1)(image));                     // [1, 8, 28, 28]
  const Tensor maps2 = relu((*conv2)(nn::functional::max_pool2d(maps1, 2)));  // [1, 16, 14, 14]
  auto plane = [](const Tensor& maps, int64_t k) { return select(select(maps, 0, 0), 0, k); };
  std::vector<Tensor> terminal = {test.get(0).data};
  std::vector<std::string> captions = {"input"};
  for (int64_t k = 0; k < 3; ++k) {
    const Tensor m = plane(maps1, k);
    terminal.push_back((m / std::max(m.max().item(), 1e-6f)).unsqueeze(0));
    captions.push_back("conv1 map " + std::to_string(k));
  }
  std::cout << "what three of the first layer's filters see in an ankle boot (after ReLU):\n\n"
            << data::ascii_grid(terminal, captions, 4);

  std::vector<plot::Image> filters, first, second;
  for (int64_t k = 0; k < 8; ++k) {
    filters.push_back(plot::scale_nearest(plot::from_diverging(select(conv1->weight, 0, k).contiguous().to_vector(), 5, 5), 12));
    first.push_back(plot::scale_nearest(plot::from_gray(plane(maps1, k).contiguous().to_vector(), 28, 28), 3));
  }
  for (int64_t k = 0; k < 16; ++k) {
    second.push_back(plot::scale_nearest(plot::from_gray(plane(maps2, k).contiguous().to_vector(), 14, 14), 4));
  }
  const std::vector<std::pair<std::string, plot::Image>> panels = {
      {"the 8 learned 5x5 filters of conv1 (blue < 0 < red)", plot::grid(filters, 8, 6)},
      {"their feature maps of a test image (after ReLU)", plot::grid(first, 8, 6)},
      {"the 16 feature maps of conv2 (after ReLU)", plot::grid(second, 8, 6)}};
  int width = 0, height = 0;
  for (const auto& [title, panel] : panels) {
    width = std::max(width, panel.width());
    height += panel.height() + plot::text_height(2) + 8;
  }
  plot::Image figure(width + 12, height + 8);
  int y = 6;
  for (const auto& [title, panel] : panels) {
    plot::draw_text(figure, 6, y, title, plot::colors::black, 2);
    y += plot::text_height(2) + 4;
    plot::blit(figure, panel, 6, y);
    y += panel.height() + 4;
  }
  const std::filesystem::path folder = std::filesystem::absolute("build/demos/09_spatial");
  std::filesystem::create_directories(folder);
  plot::write_png(folder / "feature_maps.png", figure);
  std::cout << "wrote " << (folder / "feature_maps.png").string() << "\n\n";
} catch (const data::DatasetNotFound& error) {
  std::cout << error.what() << "\n";
}

// A network of the CNN milestone's size, timed: a training step (forward, backward, Adam) on a batch of 64.
{
  nn::Sequential cnn(nn::Conv2d(1, 16, 5, 1, 2, true, 1), nn::ReLU(), nn::MaxPool2d(2),
                     nn::Conv2d(16, 32, 5, 1, 2, true, 2), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                     nn::Linear(32 * 7 * 7, 10, true, 3));
  optim::Adam adam(cnn.parameters(), optim::AdamOptions(1e-3));
  const Tensor images = randn({64, 1, 28, 28}, 4);
  std::vector<float> classes(64);
  for (std::size_t i = 0; i < classes.size(); ++i) classes[i] = static_cast<float>(i % 10);
  const Tensor labels(classes, {64});
  auto step = [&] {
    const Tensor loss = nn::functional::cross_entropy(cnn(images), labels);
    adam.zero_grad();
    loss.backward();
    adam.step();
  };
  step();  // warm-up: the first step allocates Adam's state
  const int steps = 5;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double per_step = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / steps;
  std::printf("a CNN of the milestone's size (%lld parameters): %.0f ms per training step of 64 images, %.0f images/s, "
              "an epoch of 60,000 in %.0f s on one core\n",
              static_cast<long long>(nn::parameter_count(cnn)), per_step * 1e3, 64.0 / per_step, 60000.0 * per_step / 64.0);
}

// %% [markdown]
// ## Summary
//
// You built the layers of convolutional networks, with libtorch's names:
//
// - **the size of a sliding window**, `conv_output_size`, and errors that name the layer, the
//   input's shape and the output it would give;
// - **convolution from its definition**, seven loops, kept as the reference;
// - **im2col**, which turns every window into a column so that a convolution is *one* matmul
//   (module 01's), several times faster than the loops on the same numbers, and **col2im**, its
//   adjoint, which is im2col's backward: a convolution's whole backward is a matmul backward and
//   a col2im, assembled by autograd;
// - **`nn::Conv2d`**, initialized as in PyTorch with the fan-in `C·K·K`;
// - **max pooling** that keeps its argmax and scatters the gradient to each window's first
//   winner, and **average pooling** made of im2col and a mean, differentiated for free;
// - **batch normalization**: two-pass statistics in double that survive a mean of 1000, the fused
//   backward with its three paths, running statistics with PyTorch's momentum and the unbiased
//   variance, buffers, and `train()` against `eval()`;
// - **`nn::Flatten`**, and a small CNN that learns real filters from real images in a quarter of
//   an epoch.
//
// With this module the **CNN milestone (1998)** unlocks: conv → batch norm → ReLU → pool twice,
// a hidden layer, trained on Fashion-MNIST to 91% test accuracy (and a deeper one on CIFAR-10).
//
// ## Reflect
//
// 1. Estimate, then measure: how many multiply-adds does `Conv2d(16, 32, 5, padding 2)` do on a
//    batch of 32 maps of 14×14? How many floats does its `cols` hold? Demo 4 prints both. Then
//    estimate the same for the first layer of a network on 224×224 colour images
//    (`Conv2d(3, 64, 7, stride 2, padding 3)`, batch 32): how large is `cols`, and would you
//    build it for the whole batch at once?
// 2. Before running demo 4, predict the ratio between the seven loops and im2col + matmul. Then
//    look at the loops' innermost trip count (`K` = 5) and the matmul's (`N·OH·OW` = 6,272): how
//    much of the ratio does vectorization explain, and how much the cache?
// 3. A training step of demo 9's CNN takes about 3 times its forward pass.
//    Which matmuls does backward run for one convolution, of which shapes? Estimate their share
//    of the step, then check with the timing of demo 9 (module 10 will measure it per op).
// 4. Max pooling keeps an `int64_t` per output; average pooling through im2col keeps `cols`
//    for backward. Estimate the memory each keeps for a `[64, 32, 28, 28]` input with a 2×2
//    window. Which would you change first on a memory budget?
// 5. A network with batch norm scores 91% on the test set evaluated in batches of 1,000, and 60%
//    evaluated one image at a time. What did its author forget? Predict what happens to the
//    running statistics if evaluation runs in `train()` mode for a while.
// 6. With momentum 0.1, after how many batches does the running mean hold less than 1% of its
//    starting value? Estimate, then run demo 8 and compare.
//
// Next: module 10, profiling. You have now written a convolution two ways and measured the
// difference with a stopwatch around a whole call. Module 10 builds the tools that measure
// *inside* a training step: timers, FLOP and memory counts per op, and a per-op profile that
// shows where the CNN's time goes (im2col, the matmuls, the copies of permute and the bias), so
// that module 11 knows what to make faster.
