// A test program of module 11 that refers to nothing in the module's own code: it uses only
// module 03's Linear, module 09's Conv2d and module 01's hook. It checks what COURSE.md promises
// ("speed arrives without rewrites") in the situation where a linker would break it: a static
// library's object file is linked only when the program refers to it, and this program does not.
// package/CMakeLists.txt builds it next to acceleration_tests and links it with the module's
// library only, so the object that installs the kernel is kept by -Wl,--undefined.
#include <gtest/gtest.h>

#include <tinytorch/core/spatial.hpp>

namespace {

using namespace tinytorch;

TEST(AccelerationLink, AProgramThatOnlyUsesLinearAndConv2dRunsOnTheFastKernels) {
  nn::Linear fc(64, 48, true, 1);
  const Tensor x = randn({40, 64}, 2);
  const Tensor fast = fc(x);  // through Tensor::matmul and whatever kernel is installed
  ASSERT_NE(native::matmul_kernel(), nullptr)
      << "no matmul kernel is installed: the linker dropped module 11's object file (see package/CMakeLists.txt)";
  const Tensor reference = native::matmul_2d(x, fc.weight.t()) + fc.bias;
  EXPECT_TRUE(allclose(fast, reference, 1e-4f, 1e-5f));

  nn::Conv2d conv(2, 8, 3, 1, 1, true, 3);
  Tensor images = randn({2, 2, 9, 7}, 4).requires_grad_();
  const Tensor out = conv(images);
  out.sum().backward();
  ASSERT_NE(native::conv2d_kernel(), nullptr)
      << "no convolution is installed in module 09's slot: the linker dropped module 11's object file";
  const native::MatmulKernel installed = native::matmul_kernel();
  const native::Conv2dKernel installed_conv = native::conv2d_kernel();
  native::set_matmul_kernel(nullptr);  // module 01's loop and module 09's im2col + matmul, for the reference
  native::set_conv2d_kernel(nullptr);
  Tensor slow_images = images.detach().clone().requires_grad_();
  for (const Tensor& p : conv.parameters()) p.mutable_grad() = Tensor();
  const Tensor slow = conv(slow_images);
  slow.sum().backward();
  native::set_matmul_kernel(installed);
  native::set_conv2d_kernel(installed_conv);
  EXPECT_TRUE(allclose(out, slow, 1e-4f, 1e-5f)) << "Conv2d forward";
  EXPECT_TRUE(allclose(images.grad(), slow_images.grad(), 1e-4f, 1e-5f)) << "Conv2d backward";
}

}  // namespace
