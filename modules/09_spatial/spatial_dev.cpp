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
// `conv2d_direct`. Demo 6 (after part 4) runs it on a real Fashion-MNIST image.

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
//    `cols = zeros({C·K·K, L})` (so padding needs no code: it is already 0).
// 2. Loop over the rows: `c`, `ki`, `kj` (row `r = (c·K + ki)·K + kj`, starting at
//    `cols.data() + r·L`).
// 3. Inside, loop `n`, then `oh`: `ih = oh·S − P + ki`; if `ih` is outside `[0, H)` the whole run
//    of `OW` columns stays 0, skip it. Otherwise point at the input row
//    `x + ((n·C + c)·H + ih)·W` and the output run `row + (n·OH + oh)·OW`.
// 4. Innermost, loop `ow`: `iw = ow·S − P + kj`; if `0 <= iw < W`, `run[ow] = in_row[iw]`.
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
// - Take `x.data()` after `contiguous()`: a transposed or cropped input is a view whose
//   elements are not where `((n·C + c)·H + ih)·W + iw` says.
// - Check your index of the column with two images: image 1's windows start at column
//   `OH·OW`, not at column 1.
//
// **SYSTEMS THINKING**: `cols` for the second layer of a Fashion-MNIST CNN (batch 64, 16 channels,
// 5×5 kernel, 14×14 outputs) is 400 × 12,544 floats: 20 MB, written once and read `O` = 32
// times by the matmul. The matmul does 32 · 400 · 12,544 = 160 million multiply-adds on it, 32
// for every float im2col wrote. That ratio is why im2col pays: the copy is cheap next to the
// arithmetic it makes fast. Demo 7 measures both.

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

}  // namespace tinytorch::native

// %%
//| export impl
namespace tinytorch::native {

Tensor im2col(const Tensor& input, int64_t kernel, int64_t stride, int64_t padding) {
  // BEGIN SOLUTION
  const Tensor x = input.contiguous();
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t out_h = conv_output_size(height, kernel, stride, padding);
  const int64_t out_w = conv_output_size(width, kernel, stride, padding);
  const int64_t columns = batch * out_h * out_w;
  Tensor cols = zeros({channels * kernel * kernel, columns});
  const float* src = x.data();
  float* dst = cols.data();
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t ki = 0; ki < kernel; ++ki) {
      for (int64_t kj = 0; kj < kernel; ++kj) {
        float* row = dst + ((c * kernel + ki) * kernel + kj) * columns;
        for (int64_t n = 0; n < batch; ++n) {
          for (int64_t oh = 0; oh < out_h; ++oh) {
            const int64_t ih = oh * stride - padding + ki;
            if (ih < 0 || ih >= height) continue;  // a row of padding: the run stays 0
            const float* in_row = src + ((n * channels + c) * height + ih) * width;
            float* run = row + (n * out_h + oh) * out_w;
            for (int64_t ow = 0; ow < out_w; ++ow) {
              const int64_t iw = ow * stride - padding + kj;
              if (iw >= 0 && iw < width) run[ow] = in_row[iw];
            }
          }
        }
      }
    }
  }
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
//    `ih`, `iw` and the same skips.
// 3. Innermost: `dx_row[iw] += run[ow]`.
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
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t ki = 0; ki < kernel; ++ki) {
      for (int64_t kj = 0; kj < kernel; ++kj) {
        const float* row = src + ((c * kernel + ki) * kernel + kj) * columns;
        for (int64_t n = 0; n < batch; ++n) {
          for (int64_t oh = 0; oh < out_h; ++oh) {
            const int64_t ih = oh * stride - padding + ki;
            if (ih < 0 || ih >= height) continue;
            float* dx_row = dst + ((n * channels + c) * height + ih) * width;
            const float* run = row + (n * out_h + oh) * out_w;
            for (int64_t ow = 0; ow < out_w; ++ow) {
              const int64_t iw = ow * stride - padding + kj;
              if (iw >= 0 && iw < width) dx_row[iw] += run[ow];
            }
          }
        }
      }
    }
  }
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
// result into a new contiguous tensor.
//
// **A design decision: conv2d is not one op.** It is im2col (recorded, with col2im as its
// backward), module 01's matmul (whose backward module 05 wrote), a view, a permute and an add.
// Autograd differentiates the composition, so the convolution's backward is correct by
// construction once its parts are: the weight's gradient is `g @ colsᵀ` from matmul's backward,
// and the input's is `col2im(weightᵀ @ g)`. And because the product goes through
// `Tensor::matmul`, module 11's fast kernel will speed up every convolution without this code
// changing. (The price: a few extra passes over the output for the permute and the bias, small
// next to the matmul; demo 7 measures the whole thing.)
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
#include <algorithm>
#include <chrono>

auto median_seconds = [](auto work) {
  std::vector<double> runs;
  for (int run = 0; run < 3; ++run) {
    const auto start = std::chrono::steady_clock::now();
    work();
    runs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(runs.begin(), runs.end());
  return runs[1];
};
const int64_t batch = 32, in_channels = 16, out_channels = 32, size = 14, kernel = 5, padding = 2;
const Tensor x = randn({batch, in_channels, size, size}, 1);
const Tensor w = randn({out_channels, in_channels, kernel, kernel}, 2) * 0.05f;
const Tensor b = randn({out_channels}, 3);
Tensor direct, fast;
const double t_direct = median_seconds([&] { direct = native::conv2d_direct(x, w, b, 1, padding); });
const double t_fast = median_seconds([&] { fast = nn::functional::conv2d(x, w, b, 1, padding); });
Tensor cols;
const double t_im2col = median_seconds([&] { cols = im2col(x, kernel, 1, padding); });
const Tensor w2 = w.reshape({out_channels, -1});
const double t_matmul = median_seconds([&] { (void)w2.matmul(cols); });
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
