// The bridge from tinytorch's layers to the peer's (see peer_layers.hpp).
#include "peer_layers.hpp"

#include <sstream>
#include <stdexcept>
#include <string>

namespace bench {
namespace {

namespace nn = tinytorch::nn;

// Adds `tensor` to the layer's parameter values and to the network's list, named "<child>.<name>".
void add_parameter(DescribedNetwork& network, Layer& layer, const std::string& child, const char* name,
                   const tinytorch::Tensor& tensor) {
  layer.parameters.push_back(tensor.contiguous().to_vector());
  network.parameters.emplace_back(child + "." + name, tensor);
}

void add_buffer(DescribedNetwork& network, Layer& layer, const std::string& child, const char* name,
                const tinytorch::Tensor& tensor) {
  layer.buffers.push_back(tensor.contiguous().to_vector());
  network.buffers.emplace_back(child + "." + name, tensor);
}

std::string printed(const nn::Module& module) {
  std::ostringstream os;
  module.pretty_print(os);
  return os.str();
}

}  // namespace

DescribedNetwork describe(const nn::Sequential& model) {
  DescribedNetwork network;
  for (const auto& [child, module] : model.named_children()) {
    Layer layer;
    if (const auto conv = std::dynamic_pointer_cast<nn::Conv2d>(module)) {
      layer.kind = Layer::Kind::Conv2d;
      layer.in = conv->in_channels();
      layer.out = conv->out_channels();
      layer.kernel = conv->kernel_size();
      layer.stride = conv->stride();
      layer.padding = conv->padding();
      layer.bias = conv->bias.defined();
      add_parameter(network, layer, child, "weight", conv->weight);
      if (layer.bias) add_parameter(network, layer, child, "bias", conv->bias);
    } else if (const auto pool = std::dynamic_pointer_cast<nn::MaxPool2d>(module)) {
      layer.kind = Layer::Kind::MaxPool2d;
      layer.kernel = pool->kernel_size();
      layer.stride = pool->stride();
    } else if (const auto avg = std::dynamic_pointer_cast<nn::AvgPool2d>(module)) {
      layer.kind = Layer::Kind::AvgPool2d;
      layer.kernel = avg->kernel_size();
      layer.stride = avg->stride();
      layer.padding = avg->padding();
    } else if (const auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d>(module)) {
      layer.kind = Layer::Kind::BatchNorm2d;
      layer.in = bn->num_features();
      layer.eps = bn->eps();
      layer.momentum = bn->momentum();
      add_parameter(network, layer, child, "weight", bn->weight);
      add_parameter(network, layer, child, "bias", bn->bias);
      add_buffer(network, layer, child, "running_mean", bn->running_mean);
      add_buffer(network, layer, child, "running_var", bn->running_var);
    } else if (const auto linear = std::dynamic_pointer_cast<nn::Linear>(module)) {
      layer.kind = Layer::Kind::Linear;
      layer.in = linear->in_features();
      layer.out = linear->out_features();
      layer.bias = linear->bias.defined();
      add_parameter(network, layer, child, "weight", linear->weight);
      if (layer.bias) add_parameter(network, layer, child, "bias", linear->bias);
    } else if (std::dynamic_pointer_cast<nn::ReLU>(module)) {
      layer.kind = Layer::Kind::ReLU;
    } else if (std::dynamic_pointer_cast<nn::Flatten>(module) && printed(*module) == printed(nn::Flatten())) {
      layer.kind = Layer::Kind::Flatten;
    } else {
      throw std::invalid_argument("bench: the peer has no layer for child " + child + ", " + printed(*module));
    }
    network.layers.push_back(std::move(layer));
  }
  return network;
}

nn::Sequential reference_cnn(uint64_t seed) {
  return nn::Sequential(nn::Conv2d(3, 32, 3, 1, 1, true, seed), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(32, 64, 3, 1, 1, true, seed + 1), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                        nn::Linear(64 * 8 * 8, 128, true, seed + 2), nn::ReLU(), nn::Linear(128, 10, true, seed + 3));
}

double training_flops_per_image(const std::vector<Layer>& layers, const std::vector<int64_t>& image) {
  auto out_size = [](int64_t size, const Layer& l) { return (size + 2 * l.padding - l.kernel) / l.stride + 1; };
  int64_t height = image.at(1), width = image.at(2);
  double flops = 0.0;
  bool first = true;
  for (const Layer& l : layers) {
    double multiply_adds = 0.0;
    switch (l.kind) {
      case Layer::Kind::Conv2d:
        height = out_size(height, l);
        width = out_size(width, l);
        multiply_adds = static_cast<double>(l.out * height * width) * static_cast<double>(l.in * l.kernel * l.kernel);
        break;
      case Layer::Kind::MaxPool2d:
      case Layer::Kind::AvgPool2d:
        height = out_size(height, l);
        width = out_size(width, l);
        break;
      case Layer::Kind::Linear:
        multiply_adds = static_cast<double>(l.in) * static_cast<double>(l.out);
        break;
      case Layer::Kind::Flatten:
      case Layer::Kind::BatchNorm2d:
      case Layer::Kind::ReLU:
        break;
    }
    if (multiply_adds > 0.0) {
      flops += 2.0 * multiply_adds * (first ? 2.0 : 3.0);
      first = false;
    }
  }
  return flops;
}

}  // namespace bench
