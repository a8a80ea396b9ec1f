// The bridge from tinytorch's layers to the libtorch peer's: a tinytorch nn::Sequential of
// spatial layers described as bench::Layer values (sizes and numbers), so that the peer can
// build the same network; and the course's reference CNN.
#pragma once

#include <tinytorch/core/spatial.hpp>

#include <cstdint>
#include <vector>

#include "torch_peer.hpp"

namespace bench {

// A tinytorch network as the peer sees it, with its own tensors in the same order as the values.
struct DescribedNetwork {
  std::vector<Layer> layers;
  tinytorch::nn::NamedTensors parameters;  // in the order of the layers' parameter values
  tinytorch::nn::NamedTensors buffers;     // in the order of the layers' buffer values
};

// Describes every child of `model` (Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d, Linear, ReLU,
// Flatten with its defaults); std::invalid_argument naming any other child.
DescribedNetwork describe(const tinytorch::nn::Sequential& model);

// The reference CNN of issue 9, for [N, 3, 32, 32] images and 10 classes: conv 3->32 k3 p1, relu,
// maxpool 2, conv 32->64 k3 p1, relu, maxpool 2, flatten, linear 4096->128, relu, linear 128->10;
// its layers initialized from seed, seed + 1, ...
tinytorch::nn::Sequential reference_cnn(uint64_t seed);

// The floating-point operations of one training step per image, counting the multiply-adds of
// convolutions and linear layers as two: forward, the weight gradient, and the input gradient of
// every such layer but the first (nothing asks for the image's gradient). Pooling, ReLU, the loss
// and the optimizer are left out (under 1% in the reference CNN). `image` is [C, H, W].
double training_flops_per_image(const std::vector<Layer>& layers, const std::vector<int64_t>& image);

}  // namespace bench
