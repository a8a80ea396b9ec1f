// %% [markdown]
// # Module 03: Layers
//
// You can now multiply matrices (module 01) and bend the result with an activation
// (module 02). A neural network is those two things, stacked, with learnable numbers inside:
//
//     x ──► Linear(784 → 256) ──► ReLU ──► Linear(256 → 128) ──► ReLU ──► Linear(128 → 10) ──► scores
//
// In this module you build the part of the library that holds such a network together:
// `tinytorch::nn`, modelled on `torch::nn` from PyTorch's C++ frontend (libtorch).
//
// By the end you will be able to
//
// - write a model as a class derived from `nn::Module`, whose `named_parameters()` lists every
//   learnable tensor with a dotted name (`"fc1.weight"`), the names PyTorch gives them;
// - switch a whole model between training and evaluation with `train()` / `eval()`;
// - explain *why* a layer's weights start at the size they do, and measure what a bad start
//   does to the signal after ten layers;
// - build `nn::Linear`, `nn::Dropout` and `nn::Sequential`, and run a real batch of
//   Fashion-MNIST images through a 784-256-128-10 network.
//
// ## What a module is
//
// A `Module` is three things:
//
// 1. **parameters**: the tensors that training will change (a layer's weight and bias);
// 2. **submodules**: the modules it is made of, each with a name, so a model is a *tree*;
// 3. a **mode**: training or evaluation, because some layers (dropout, later batch norm)
//    behave differently in the two.
//
// The tree of the network above, as `nn::Sequential` builds it, and what `named_parameters()`
// says about it:
//
//     Sequential                        named_parameters()
//     ├── (0) Linear(784 → 256)         "0.weight" [256, 784]   "0.bias" [256]
//     ├── (1) ReLU                      (nothing to learn)
//     ├── (2) Linear(256 → 128)         "2.weight" [128, 256]   "2.bias" [128]
//     ├── (3) ReLU
//     └── (4) Linear(128 → 10)          "4.weight" [10, 128]    "4.bias" [10]
//
// Who needs what:
//
// - the **optimizer** (module 06) gets `model.parameters()` and changes every tensor *in
//   place*. That only works because a `Tensor` is a handle (module 01): the optimizer's
//   handle and the layer's `weight` are the same tensor. A copy would be updated in vain.
// - a **checkpoint** (module 07) saves every tensor under its dotted name and loads it back
//   by name. The names are PyTorch's, so the same file layout could carry weights to and from
//   PyTorch.
// - **autograd** (module 05) needs to know which tensors to compute gradients for: registering
//   a parameter sets its `requires_grad_()`.
//
// ## How modules are held (a decision)
//
// Your modules are plain C++ classes derived from `nn::Module`. A submodule is held by a
// `std::shared_ptr`, because two owners refer to it: the parent (which lists it in
// `named_children()`) and your code (which calls `fc1->forward(x)`):
//
// ```cpp
// struct MLP : nn::Module {
//   MLP() {
//     fc1 = register_module("fc1", std::make_shared<nn::Linear>(784, 256));
//     fc2 = register_module("fc2", std::make_shared<nn::Linear>(256, 10));
//   }
//   Tensor forward(const Tensor& x) override { return fc2->forward(relu(fc1->forward(x))); }
//   std::shared_ptr<nn::Linear> fc1, fc2;
// };
// ```
//
// libtorch adds one more layer: `torch::nn::Linear` is a *holder* (a `shared_ptr` in a
// class, made by the `TORCH_MODULE` macro) around a `LinearImpl`. The holder lets you write
// `torch::nn::Linear fc(784, 256); fc->weight`. We skip the macro: `std::make_shared` is what
// the holder does inside, and you see it. The code you write reads the same (`fc1->weight`,
// `register_module`, `named_parameters`), and moving to libtorch later means adding `Impl`.
//
// Modules can be **moved but not copied**: a copy of a `Linear` would share its weight
// tensors (they are handles) and silently train the original. Share a module through its
// `shared_ptr` instead.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | `nn::Module` | `register_parameter`, `register_buffer`, `add_child`, `named_parameters`, `named_buffers`, `train`, `parameter_count` |
// | 2 | `nn::init`: where the first weights come from | `calculate_fan_in_and_fan_out`, `calculate_gain`, `uniform_`, `kaiming_uniform_`, `kaiming_normal_`, `xavier_uniform_`, `xavier_normal_` |
// | 3 | `nn::Linear` | the constructor, `forward` |
// | 4 | `nn::Dropout` | `forward` |
// | 5 | `nn::Sequential`, activation modules, printing a model | `Sequential::append`, `Sequential::forward` |
//
// **Autograd arrives without rewrites.** Everything here is built from the recorded ops of
// modules 01 and 02 (`matmul`, `transpose`, `+`, `*`, `relu`, ...), never from loops over
// `data()` or `at()`: module 05's autograd sees those ops, so your layers become
// differentiable without a line of this module changing. A loop over raw floats would be
// invisible to it.
//
// Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module. After each
// function, run `tito test layers` to see which tests pass, and `tito module run layers` to
// watch the demos print.

// %%
//| default_exp core/layers

// %%
//| export
#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <tinytorch/core/activations.hpp>

// %%
//| export impl
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ostream>
#include <sstream>
#include <typeinfo>

#include <cxxabi.h>  // abi::__cxa_demangle, for Module::name()

// %% [markdown]
// ## Part 1: `nn::Module`
//
// Here is the whole base class. Read the declarations first: each says in a line what it
// does. A module keeps three ordered lists, each of `(name, thing)` pairs: its parameters,
// its buffers (below) and its children. Ordered, because the order is part of the contract:
// `named_parameters()` lists tensors in the order they were registered, as PyTorch does, and
// an optimizer or a checkpoint that walks two models side by side relies on it.
//
// **Buffers** are tensors a module keeps that are *not* learned: batch normalization's
// running mean (module 09) is one. They are saved in checkpoints with the parameters, but an
// optimizer never sees them and they never require grad.

// %%
//| export
namespace tinytorch::nn {

class Module;

// Tensors with their (dotted) names, in registration order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
// Modules with their names, in registration order.
using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

// The base of every layer and model, as torch::nn::Module: it owns named parameters, buffers
// and submodules, collects them recursively with dotted names, and switches the whole tree
// between training and evaluation mode.
class Module {
 public:
  Module() = default;
  // A module whose name() is `name` instead of its class name.
  explicit Module(std::string name) : name_(std::move(name)) {}
  virtual ~Module() = default;
  // A module can be moved, not copied: a copy would share its parameters without saying so.
  // Share a module through a std::shared_ptr instead.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) noexcept = default;
  Module& operator=(Module&&) noexcept = default;

  // The computation. The default throws: a module that is called overrides it.
  virtual Tensor forward(const Tensor& input);
  // forward(input): a module is called like a function, model(x).
  Tensor operator()(const Tensor& input) { return forward(input); }

  // Registers `tensor` as the parameter `name` and returns it (the same tensor, not a copy),
  // after setting its requires_grad_(requires_grad). Throws std::invalid_argument naming this
  // module and `name` for an empty, dotted or duplicate name, or an undefined tensor.
  Tensor register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  // Registers `tensor` as the buffer `name` (state that is not learned) and returns it; it
  // never requires grad. The same name rules as parameters.
  Tensor register_buffer(std::string name, Tensor tensor);
  // Registers `module` as the submodule `name` and returns it, still of its own type.
  // The same name rules; a null module is an error too.
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "register_module(): the module must derive from nn::Module");
    add_child(std::move(name), module);
    return module;
  }

  // This module's parameters, then each submodule's (recursively), in registration order.
  // The tensors themselves: an optimizer changes them in place.
  std::vector<Tensor> parameters(bool recurse = true) const;
  // The same, with dotted names: "weight", "fc1.bias", "0.weight", "block.0.weight".
  NamedTensors named_parameters(bool recurse = true) const;
  // Buffers, like parameters.
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  // The direct submodules, in registration order.
  std::vector<std::shared_ptr<Module>> children() const;
  NamedModules named_children() const;

  // Training mode (on = true, how a module starts) or evaluation mode, for this module and
  // every submodule below it.
  virtual void train(bool on = true);
  // train(false).
  void eval() { train(false); }
  bool is_training() const noexcept { return training_; }

  // The class name ("Linear", "Sequential", your "MLP"), or the name given to the constructor.
  std::string name() const;
  // One line about this module, without its submodules: "Linear(in_features=784, ...)".
  // The default prints name().
  virtual void pretty_print(std::ostream& os) const;

 private:
  // The non-template part of register_module.
  void add_child(std::string name, std::shared_ptr<Module> module);

  std::string name_;
  NamedTensors parameters_;
  NamedTensors buffers_;
  NamedModules children_;
  bool training_ = true;
};

// How many numbers `module` learns: the elements of all its parameters, submodules included.
int64_t parameter_count(const Module& module);

// The module tree, one module per line with its parameter count, as `std::cout << model`
// prints a model in libtorch.
std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace tinytorch::nn

// %% [markdown]
// Written for you: `name()`, the default `forward`, and the check every registration makes.
//
// `name()` asks the compiler for the class's name (`typeid`, demangled) and keeps the part
// after the last `::`, so your own `struct MLP : nn::Module` is called `"MLP"` in error
// messages and printouts without you saying so. libtorch does the same.
//
// `check_new_entry` is what makes a registration error say what went wrong and where:
//
//     Linear: register_parameter("weight"): a parameter named "weight" is already registered
//
// A name must be non-empty and must not contain `.`, because `.` separates the levels of a
// dotted name: a child called `"fc.1"` would make `"fc.1.weight"` ambiguous.

// %%
//| export impl
namespace tinytorch::nn {

std::string Module::name() const {
  if (!name_.empty()) return name_;
  const char* mangled = typeid(*this).name();
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  const std::string full = status == 0 && demangled ? demangled.get() : mangled;
  // "tinytorch::nn::Linear" -> "Linear", "(anonymous namespace)::MLP" -> "MLP"; template
  // arguments ("Wrapper<nn::Linear>") keep their own colons.
  const std::size_t colon = full.rfind("::", full.find('<'));
  return colon == std::string::npos ? full : full.substr(colon + 2);
}

Tensor Module::forward(const Tensor&) {
  throw std::logic_error(name() + " has no forward(): override Tensor forward(const Tensor& input) in " + name() +
                         " to say what it computes");
}

void Module::pretty_print(std::ostream& os) const { os << name(); }

namespace {

// Throws std::invalid_argument, naming `module`, `method` and `name`, when `name` cannot be
// registered among `entries` (a list of (name, thing) pairs), or when `present` is false (an
// undefined tensor or a null module).
template <typename Entries>
void check_new_entry(const Module& module, const char* method, const char* kind, const std::string& name,
                     bool present, const Entries& entries) {
  const std::string where = module.name() + ": " + method + "(\"" + name + "\"): ";
  if (name.empty()) throw std::invalid_argument(where + "the name is empty; every " + kind + " needs a name");
  if (name.find('.') != std::string::npos) {
    throw std::invalid_argument(where + "a name cannot contain '.', which separates the levels of a dotted name");
  }
  for (const auto& entry : entries) {
    if (entry.first == name) {
      throw std::invalid_argument(where + "a " + kind + " named \"" + name + "\" is already registered in this " +
                                  module.name());
    }
  }
  if (!present) {
    throw std::invalid_argument(where + "the " + kind + " is " +
                                (std::string(kind) == "submodule" ? "null" : "undefined"));
  }
}

}  // namespace

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐ `register_parameter` and `register_buffer`
//
// **TODO**: Check the name, mark the tensor, store it, and hand it back.
//
// **APPROACH** (`register_parameter`):
// 1. `check_new_entry(*this, "register_parameter", "parameter", name, tensor.defined(), parameters_);`
//    (written for you, above: it throws the error for a bad name).
// 2. `tensor.requires_grad_(requires_grad)`: from now on autograd (module 05) computes a
//    gradient for this tensor.
// 3. Append `{name, tensor}` to `parameters_` and return `tensor`.
//
// **APPROACH** (`register_buffer`): the same with `"register_buffer"`, `"buffer"` and
// `buffers_`, and `requires_grad_(false)`: a buffer is never learned.
//
// **EXAMPLE**:
// ```cpp
// struct Scale : nn::Module {
//   Scale() { gain = register_parameter("gain", ones({3})); }
//   Tensor gain;
// };
// Scale s;
// s.gain.requires_grad()                          // true
// s.named_parameters()[0].first                   // "gain"
// s.register_parameter("gain", zeros({3}))        // std::invalid_argument:
//                                                 //   Scale: register_parameter("gain"): a parameter named "gain" is already registered in this Scale
// ```
//
// **HINTS**:
// - Return `tensor` itself: `Tensor` is a handle, so the caller's `gain` and the entry in
//   `parameters_` are one tensor. A test checks that they share the same `TensorImpl`
//   (`impl_ptr()`); `tensor.clone()` would give the optimizer a tensor nobody reads.
// - Check before you change anything: a failed registration must leave the module as it was.
//
// **SYSTEMS THINKING**: registering copies a handle (a `shared_ptr`, 16 bytes) and a name,
// never the numbers: a 200,000-weight layer costs the parameter list a few dozen bytes. That
// is why the list can be built and rebuilt freely (`parameters()` makes a fresh vector on
// every call).

// %%
//| export impl
namespace tinytorch::nn {

Tensor Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  // BEGIN SOLUTION
  check_new_entry(*this, "register_parameter", "parameter", name, tensor.defined(), parameters_);
  tensor.requires_grad_(requires_grad);
  parameters_.emplace_back(std::move(name), tensor);
  return tensor;
  // END SOLUTION
}

Tensor Module::register_buffer(std::string name, Tensor tensor) {
  // BEGIN SOLUTION
  check_new_entry(*this, "register_buffer", "buffer", name, tensor.defined(), buffers_);
  tensor.requires_grad_(false);
  buffers_.emplace_back(std::move(name), tensor);
  return tensor;
  // END SOLUTION
}

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐ `add_child`: registering a submodule
//
// `register_module` is a template in the header (so it can return your `shared_ptr<Linear>`
// as a `shared_ptr<Linear>`, not as a plain `shared_ptr<Module>`); the work happens in the
// ordinary function it calls.
//
// **TODO**: Check the name, then append `{name, module}` to `children_`.
//
// **APPROACH**:
// 1. `check_new_entry(*this, "register_module", "submodule", name, module != nullptr, children_);`
// 2. `children_.emplace_back(...)`.
//
// **EXAMPLE**:
// ```cpp
// auto fc1 = register_module("fc1", std::make_shared<nn::Linear>(784, 256));  // inside MLP()
// fc1->weight                        // the child's weight, [256, 784]
// named_children()[0].first          // "fc1"
// register_module("fc1", ...)        // std::invalid_argument: ... a submodule named "fc1" is already registered
// ```
//
// **HINTS**:
// - `std::move` the name and the pointer into the list: the parameters are yours to use up.
//
// **SYSTEMS THINKING**: the parent holds a `shared_ptr`, so the child lives as long as
// anyone refers to it. Registering the same child under two names makes both names list the
// same tensors: that is *weight tying* (GPT-2 shares its embedding with its output layer), and
// an optimizer given such a list must take care not to update a tensor twice.

// %%
//| export impl
namespace tinytorch::nn {

void Module::add_child(std::string name, std::shared_ptr<Module> module) {
  // BEGIN SOLUTION
  check_new_entry(*this, "register_module", "submodule", name, module != nullptr, children_);
  children_.emplace_back(std::move(name), std::move(module));
  // END SOLUTION
}

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐⭐⭐ `named_parameters`: the whole tree, with dotted names
//
// A model is a tree; its parameters live at the nodes. `named_parameters()` walks the tree
// and names each tensor by its path, joined with dots:
//
//     MLP                              named_parameters()
//     ├── weight? none                 (MLP's own parameters come first: none here)
//     ├── fc1: Linear                  "fc1.weight", "fc1.bias"
//     └── block: Sequential
//         ├── 0: Linear                "block.0.weight", "block.0.bias"
//         └── 1: ReLU
//
// That is recursion: the named parameters of a module are *its own* parameters, followed by
// the named parameters of each child, with the child's name and a dot put in front.
//
// **TODO**: Return this module's parameters, then (when `recurse`) every child's named
// parameters with `child_name + "."` prepended, children in registration order.
//
// **APPROACH**:
// 1. `NamedTensors result = parameters_;` (a copy of the list: copies of the handles, the
//    same tensors).
// 2. If `!recurse`, return it.
// 3. For each `(child_name, child)` in `children_`: for each `(name, tensor)` in
//    `child->named_parameters()`, append `{child_name + "." + name, tensor}`.
// 4. Return `result`.
//
// **EXAMPLE**:
// ```cpp
// nn::Linear fc(3, 2);
// fc.named_parameters()          // {{"weight", [2, 3]}, {"bias", [2]}}
// MLP model;                     // fc1 and fc2 as in the introduction
// model.named_parameters()       // "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"
// model.named_parameters(false)  // {}: MLP itself has no parameters
// ```
//
// **HINTS**:
// - The child's own call does the rest of the tree: call `child->named_parameters()` (recurse
//   is true), and the grandchildren come back already named `"0.weight"`, so you only add
//   one level of prefix.
// - A structured binding reads well: `for (const auto& [child_name, child] : children_)`.
// - Do not `clone()` the tensors: the list hands the optimizer *the* weights.
//
// **SYSTEMS THINKING**: a recursive walk is fine here: a model's tree is a few levels deep
// (a GPT-2 is about 5), and `named_parameters()` is called once per training run, not once
// per step, by whoever builds the optimizer. Each call allocates a new vector and new
// strings; the tensors themselves are never copied.

// %%
//| export impl
namespace tinytorch::nn {

NamedTensors Module::named_parameters(bool recurse) const {
  // BEGIN SOLUTION
  NamedTensors result = parameters_;
  if (!recurse) return result;
  for (const auto& [child_name, child] : children_) {
    for (const auto& [name, tensor] : child->named_parameters()) result.emplace_back(child_name + "." + name, tensor);
  }
  return result;
  // END SOLUTION
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> tensors;
  for (auto& named : named_parameters(recurse)) tensors.push_back(std::move(named.second));
  return tensors;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> modules;
  for (const auto& named : children_) modules.push_back(named.second);
  return modules;
}

NamedModules Module::named_children() const { return children_; }

}  // namespace tinytorch::nn

// %% [markdown]
// `parameters()` and `children()` (above, written for you) are the same lists without the
// names.
//
// ### ⭐ `named_buffers`
//
// **TODO**: The same walk for buffers: this module's `buffers_`, then every child's
// `named_buffers()` with the child's name and a dot in front.
//
// **APPROACH**: as `named_parameters`, with `buffers_` and `child->named_buffers()`.
//
// **EXAMPLE**:
// ```cpp
// // a module "bn" (a child called "bn") that registered the buffer "running_mean"
// model.named_buffers()      // {{"bn.running_mean", ...}}
// model.named_parameters()   // does not list it
// ```
//
// **HINTS**:
// - If writing the same loop twice bothers you, you may factor it into a private helper of
//   your own in this cell; the tests only call the public functions.
//
// **SYSTEMS THINKING**: parameters + buffers are a model's whole *state*: what a checkpoint
// must save (module 07) to give back the same model. Forget the buffers and a reloaded
// batch-norm network evaluates with the running statistics of an untrained one.

// %%
//| export impl
namespace tinytorch::nn {

NamedTensors Module::named_buffers(bool recurse) const {
  // BEGIN SOLUTION
  NamedTensors result = buffers_;
  if (!recurse) return result;
  for (const auto& [child_name, child] : children_) {
    for (const auto& [name, tensor] : child->named_buffers()) result.emplace_back(child_name + "." + name, tensor);
  }
  return result;
  // END SOLUTION
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> tensors;
  for (auto& named : named_buffers(recurse)) tensors.push_back(std::move(named.second));
  return tensors;
}

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐⭐ `train`: one switch for the whole tree
//
// `model.eval()` before measuring validation accuracy, `model.train()` before the next
// epoch: the call is made on the model, but the layer that cares (a `Dropout` three levels
// down) is a grandchild. So the mode must travel down the tree.
//
// **TODO**: Set this module's mode to `on`, then call `train(on)` on every child.
//
// **APPROACH**:
// 1. `training_ = on;`
// 2. For each child in `children_`: `child->train(on)`. Each child passes it on to its own.
//
// **EXAMPLE**:
// ```cpp
// nn::Sequential model(nn::Linear(4, 4), nn::Dropout(0.5));
// model.eval();
// model.is_training()               // false
// model[1]->is_training()           // false: the Dropout heard it too
// model.train();                    // all back to training
// ```
//
// **HINTS**:
// - `train` is `virtual`: a module that must do more when its mode changes overrides it and
//   calls `Module::train(on)`. Call `child->train(on)` (not `child->training_ = on`) so such
//   an override runs for the child too.
// - `eval()` is `train(false)`, written for you in the header.
//
// **SYSTEMS THINKING**: forgetting `eval()` is one of the most common silent bugs in deep
// learning: the model still runs, but dropout keeps dropping and batch norm keeps updating
// its statistics on the test set, and the reported accuracy is worse (and noisier) than the
// model's. Nothing crashes; only a test of the mode catches it.

// %%
//| export impl
namespace tinytorch::nn {

void Module::train(bool on) {
  // BEGIN SOLUTION
  training_ = on;
  for (const auto& [name, child] : children_) child->train(on);
  // END SOLUTION
}

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐ `parameter_count`: how big is the model?
//
// **TODO**: Return the total number of elements of all parameters, submodules included.
//
// **APPROACH**:
// 1. Start from `int64_t total = 0`.
// 2. Add `numel()` of every tensor in `module.parameters()`.
//
// **EXAMPLE**:
// ```cpp
// parameter_count(nn::Linear(784, 256))         // 784 * 256 + 256 = 200,960
// parameter_count(nn::Linear(784, 256, false))  // 200,704: no bias
// parameter_count(nn::ReLU())                   // 0
// ```
//
// **HINTS**:
// - Buffers do not count: they are not learned (PyTorch's habit of counting
//   `sum(p.numel() for p in model.parameters())` does the same).
//
// **SYSTEMS THINKING**: each parameter is a 4-byte float, so a count is also a memory bill:
// 235,146 parameters are 0.9 MiB. Training multiplies it: a gradient per parameter (module
// 05) and two moment estimates per parameter for Adam (module 06) make four copies, before a
// single activation is stored. For a 7-billion-parameter language model that is 112 GB.

// %%
//| export impl
namespace tinytorch::nn {

int64_t parameter_count(const Module& module) {
  // BEGIN SOLUTION
  int64_t total = 0;
  for (const Tensor& p : module.parameters()) total += p.numel();
  return total;
  // END SOLUTION
}

}  // namespace tinytorch::nn

// %% [markdown]
// ### Printing a model (written for you)
//
// `std::cout << model` prints the tree the way libtorch does, one module per line with its
// child's name in parentheses, and adds what libtorch leaves out: how many parameters each
// line holds, aligned in a column so the big layers stand out.
//
//     Sequential(                                                 # 235,146 parameters
//       (0): Linear(in_features=784, out_features=256, bias=true)  # 200,960 parameters
//       (1): ReLU()
//       ...
//     )
//
// Each module describes itself in `pretty_print` (one line, without its children); the
// printer below walks the tree and adds the indentation, the names and the counts.

// %%
//| export impl
namespace tinytorch::nn {
namespace {

// 235146 -> "235,146".
std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > (n < 0 ? 1 : 0); i -= 3) digits.insert(i, ",");
  return digits;
}

// One printed line: its text and the parameter count to show at its end (0: show none).
struct PrintedLine {
  std::string text;
  int64_t parameters;
};

void describe(const Module& module, const std::string& label, const std::string& indent,
              std::vector<PrintedLine>& lines) {
  std::ostringstream head;
  head << indent << label;
  module.pretty_print(head);
  const NamedModules children = module.named_children();
  if (children.empty()) {
    lines.push_back({head.str(), parameter_count(module)});
    return;
  }
  head << "(";
  lines.push_back({head.str(), parameter_count(module)});
  for (const auto& [name, child] : children) describe(*child, "(" + name + "): ", indent + "  ", lines);
  lines.push_back({indent + ")", 0});
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Module& module) {
  std::vector<PrintedLine> lines;
  describe(module, "", "", lines);
  std::size_t width = 0;
  for (const PrintedLine& line : lines) {
    if (line.parameters > 0) width = std::max(width, line.text.size());
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) os << "\n";
    os << lines[i].text;
    if (lines[i].parameters > 0) {
      os << std::string(width - lines[i].text.size() + 2, ' ') << "# " << with_thousands(lines[i].parameters)
         << (lines[i].parameters == 1 ? " parameter" : " parameters");
    }
  }
  return os;
}

}  // namespace tinytorch::nn

// %%
//| test
#include <cmath>

using namespace tinytorch;

namespace {
struct UnitScale : nn::Module {
  UnitScale() { gain = register_parameter("gain", ones({3})); }
  Tensor gain;
};
struct UnitPair : nn::Module {
  UnitPair() {
    left = register_module("left", std::make_shared<UnitScale>());
    right = register_module("right", std::make_shared<UnitScale>());
  }
  std::shared_ptr<UnitScale> left, right;
};
}  // namespace

TEST(UnitModule, RegisterParameterReturnsTheSameTensor) {
  UnitScale s;
  EXPECT_TRUE(s.gain.requires_grad());
  ASSERT_EQ(s.parameters().size(), 1u);
  EXPECT_TRUE(s.parameters()[0].impl_ptr() == s.gain.impl_ptr()) << "parameters() must hand out the tensor itself";
}

TEST(UnitModule, NamedParametersAreDotted) {
  UnitPair p;
  std::vector<std::string> names;
  for (const auto& [name, tensor] : p.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"left.gain", "right.gain"}));
  EXPECT_TRUE(p.named_parameters(false).empty());
}

TEST(UnitModule, EvalReachesTheChildren) {
  UnitPair p;
  p.eval();
  EXPECT_FALSE(p.is_training());
  EXPECT_FALSE(p.right->is_training());
  EXPECT_EQ(nn::parameter_count(p), 6);
}

// %% [markdown]
// ## Part 2: Where the first weights come from (`nn::init`)
//
// Before training, every weight needs a value. The choice matters more than it looks.
//
// **All equal is fatal.** If every weight of a layer starts at the same number, every unit
// of the layer computes the same output, receives the same gradient and makes the same
// update: the layer stays a stack of identical copies of one neuron forever. Random numbers
// break that symmetry.
//
// **The size decides whether a signal survives.** A unit of a layer adds up `fan_in`
// products `w · x`. If the weights have variance `Var(w)` and the inputs have mean square
// `E[x²]`, the sum has variance
//
//     Var(y) = fan_in · Var(w) · E[x²]
//
// After a ReLU half of `y` is zeroed, so the next layer sees `E[x²] = Var(y) / 2`. Each
// Linear + ReLU layer therefore multiplies the signal's power by `fan_in · Var(w) / 2`. Choose
// `Var(w)` a little too small and ten layers later the signal is gone; a little too big and it
// overflows. The demo at the end of part 3 measures exactly that.
//
// The two classic answers keep that factor at 1:
//
// | init | variance of the weights | for | from |
// |---|---|---|---|
// | **Kaiming** (He) | `gain² / fan_in`, gain = √2 for ReLU | ReLU networks | He et al. 2015 |
// | **Xavier** (Glorot) | `gain² · 2 / (fan_in + fan_out)` | tanh / sigmoid / linear | Glorot & Bengio 2010 |
//
// Xavier balances the forward signal (which wants `1/fan_in`) against the backward gradient
// (which wants `1/fan_out`) by averaging the two. Kaiming keeps only the forward one, with the
// factor 2 that undoes ReLU's halving.
//
// Each comes as a *normal* distribution with that variance or a *uniform* one `U(-b, b)`,
// whose variance is `b² / 3`, so `b = √3 · std`.
//
// **Fan-in and fan-out.** For a Linear weight of shape `[out, in]`, each output unit reads
// `fan_in = in` inputs and each input feeds `fan_out = out` units. A convolution weight
// `[out, in, kh, kw]` (module 09) reads `in · kh · kw` inputs per output: the *receptive
// field* multiplies both fans.
//
// **Reproducible.** Every function takes a `Generator&` (module 01: the same seed gives the
// same numbers on every machine), last and defaulted as in PyTorch. Without one, it draws from
// `nn::init::default_generator()`, one stream for the whole program that
// `nn::init::manual_seed(seed)` restarts (PyTorch's `torch::manual_seed`). The functions
// end in `_` because they overwrite the tensor they are given, and they return it.

// %%
//| export
namespace tinytorch::nn::init {

// Which activation follows the layer: decides the gain (PyTorch's calculate_gain names).
enum class Nonlinearity { Linear, Sigmoid, Tanh, ReLU, LeakyReLU };
// Whether Kaiming keeps the variance of the forward signal (FanIn) or of the gradients (FanOut).
enum class FanMode { FanIn, FanOut };

// The program's default random stream, used when no generator is passed; starts at seed 0.
Generator& default_generator();
// Restarts the default stream at `seed` (as torch::manual_seed).
void manual_seed(uint64_t seed);

// {fan_in, fan_out} of a weight of shape [out, in, k...]: {in * k..., out * k...}.
// ShapeError for fewer than 2 dimensions.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);
// The factor that keeps a signal's variance through `nonlinearity`: 1 for Linear and
// Sigmoid, 5/3 for Tanh, sqrt(2) for ReLU, sqrt(2 / (1 + param^2)) for LeakyReLU with slope param.
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

// Each fills `tensor` in place (through views too, without being recorded by autograd) and
// returns it. Values are drawn in row-major order, one per element.
// U(low, high): low + (high - low) * u for u uniform in [0, 1).
Tensor uniform_(const Tensor& tensor, double low = 0.0, double high = 1.0, Generator& generator = default_generator());
// N(mean, stddev^2).
Tensor normal_(const Tensor& tensor, double mean = 0.0, double stddev = 1.0,
               Generator& generator = default_generator());
// Every element `value`.
Tensor constant_(const Tensor& tensor, double value);
Tensor zeros_(const Tensor& tensor);
// U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
Tensor kaiming_uniform_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU,
                        Generator& generator = default_generator());
// N(0, std^2) with std = gain / sqrt(fan).
Tensor kaiming_normal_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                       Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, Generator& generator = default_generator());
// U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(const Tensor& tensor, double gain = 1.0, Generator& generator = default_generator());
// N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(const Tensor& tensor, double gain = 1.0, Generator& generator = default_generator());

}  // namespace tinytorch::nn::init

// %% [markdown]
// Written for you: the default stream, and `overwrite`, the one place where an init function
// writes into a tensor. It writes *in place* (`copy_`, so a view such as `w.t()` is filled
// through its strides) and *unrecorded*: setting a weight's first value is not a step of the
// computation autograd differentiates, so recording is paused (module 05's `NoGradGuard` is
// built on the same pause; PyTorch's init functions run under `torch::no_grad()` for the
// same reason). `normal_`, `constant_` and `zeros_` are written for you on top of it.

// %%
//| export impl
namespace tinytorch::nn::init {

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator() = Generator(seed); }

namespace {

// Writes `values` (of tensor's shape) into `tensor`, in place and unrecorded; returns `tensor`.
Tensor overwrite(const Tensor& tensor, const Tensor& values) {
  autograd::PauseRecording not_a_step_of_the_graph;
  Tensor target = tensor;
  target.copy_(values);
  return target;
}

}  // namespace

Tensor normal_(const Tensor& tensor, double mean, double stddev, Generator& generator) {
  return overwrite(tensor, randn(tensor.shape(), generator) * static_cast<float>(stddev) + static_cast<float>(mean));
}

Tensor constant_(const Tensor& tensor, double value) {
  return overwrite(tensor, full(tensor.shape(), static_cast<float>(value)));
}

Tensor zeros_(const Tensor& tensor) { return constant_(tensor, 0.0); }

}  // namespace tinytorch::nn::init

// %% [markdown]
// ### ⭐⭐ `calculate_fan_in_and_fan_out`
//
// **TODO**: Return `{fan_in, fan_out}` for a weight of shape `[out, in, k...]`; throw
// `ShapeError` for a tensor with fewer than 2 dimensions.
//
// **APPROACH**:
// 1. If `tensor.dim() < 2`, throw `ShapeError` naming the shape: a bias `[out]` has no fan-in.
// 2. `receptive = 1`, times every size after the first two (none for a Linear weight).
// 3. `fan_in = tensor.size(1) * receptive`, `fan_out = tensor.size(0) * receptive`.
//
// **EXAMPLE**:
// ```cpp
// calculate_fan_in_and_fan_out(zeros({256, 784}))       // {784, 256}   a Linear(784, 256) weight
// calculate_fan_in_and_fan_out(zeros({16, 3, 5, 5}))    // {75, 400}    a Conv2d(3, 16, 5) weight
// calculate_fan_in_and_fan_out(zeros({10}))             // ShapeError: ... fewer than 2 dimensions
// ```
//
// **HINTS**:
// - Dimension 1 is the *input* side: the weight is `[out, in]` (PyTorch's layout), not
//   `[in, out]`. Swapping them goes unnoticed on square layers and scales every non-square
//   one wrongly; the tests use non-square ones.
//
// **SYSTEMS THINKING**: this is a function of the *shape* only, a few multiplications.
// Sharing it between every init function (and module 09's convolutions) is what keeps their
// notion of "fan" consistent.

// %%
//| export impl
namespace tinytorch::nn::init {

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  // BEGIN SOLUTION
  if (tensor.dim() < 2) {
    throw ShapeError("calculate_fan_in_and_fan_out(): a tensor of shape " + shape_str(tensor.shape()) +
                     " has fewer than 2 dimensions, so it has no fan-in and fan-out");
  }
  int64_t receptive = 1;
  for (int64_t d = 2; d < tensor.dim(); ++d) receptive *= tensor.size(d);
  return {tensor.size(1) * receptive, tensor.size(0) * receptive};
  // END SOLUTION
}

}  // namespace tinytorch::nn::init

// %% [markdown]
// ### ⭐ `calculate_gain`
//
// The gain is the factor that makes up for what an activation does to the signal's power:
// ReLU keeps half of it (gain `√2`), tanh squeezes it (gain `5/3`, an empirical value), and a
// linear layer or sigmoid leaves it (gain 1). Leaky ReLU with slope `a` keeps
// `(1 + a²) / 2` of it, so its gain is `√(2 / (1 + a²))`.
//
// **TODO**: Return the gain for `nonlinearity` (`param` is leaky ReLU's slope).
//
// **APPROACH**: a `switch` over the five cases of the table in the header.
//
// **EXAMPLE**:
// ```cpp
// calculate_gain(Nonlinearity::ReLU)                 // 1.41421 (√2)
// calculate_gain(Nonlinearity::LeakyReLU, 0.2)       // 1.38675 (√(2 / 1.04))
// calculate_gain(Nonlinearity::LeakyReLU, 0.0)       // √2: a slope of 0 is ReLU
// calculate_gain(Nonlinearity::Tanh)                 // 1.66667
// ```
//
// **HINTS**:
// - Compute in `double`; `std::sqrt(2.0)`.
// - End the function with a `throw` after the `switch` (every case returns), so the compiler
//   sees that no path falls off the end.
//
// **SYSTEMS THINKING**: the `√2` is worth a factor of `2^(10/2) = 32` in standard deviation
// after ten ReLU layers: that is the whole difference between Xavier and Kaiming in the demo.

// %%
//| export impl
namespace tinytorch::nn::init {

double calculate_gain(Nonlinearity nonlinearity, double param) {
  // BEGIN SOLUTION
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU:
      return std::sqrt(2.0 / (1.0 + param * param));
  }
  throw std::invalid_argument("calculate_gain(): unknown nonlinearity");
  // END SOLUTION
}

}  // namespace tinytorch::nn::init

// %% [markdown]
// ### ⭐ `uniform_`
//
// **TODO**: Fill `tensor` with `low + (high - low) * u`, one `u = generator.uniform()` per
// element in row-major order, and return it.
//
// **APPROACH**:
// 1. `rand(tensor.shape(), generator)` (module 01) draws exactly those `u`s as a tensor.
// 2. Scale and shift it with tensor arithmetic: `u * (high - low) + low` (cast the numbers
//    to `float`).
// 3. `return overwrite(tensor, values);`
//
// **EXAMPLE**:
// ```cpp
// Generator g(1);
// uniform_(zeros({2, 3}), -1, 1, g)     // six numbers in [-1, 1), the same on every machine
// Tensor w = zeros({4});
// uniform_(w, 0, 10);                   // w itself now holds them (default generator)
// ```
//
// **HINTS**:
// - Take the generator by reference and pass it on: a copy would give the next call the
//   same numbers again.
// - No loop: `rand` and two scalar ops do it, and module 01 made them fast.
//
// **SYSTEMS THINKING**: `overwrite` makes a temporary of the tensor's size and copies it in:
// two passes over memory where one would do. For a weight initialized once per run that is
// nothing; for something done every step (dropout's mask, part 4) it would be worth a fused
// kernel.

// %%
//| export impl
namespace tinytorch::nn::init {

Tensor uniform_(const Tensor& tensor, double low, double high, Generator& generator) {
  // BEGIN SOLUTION
  const Tensor values = rand(tensor.shape(), generator) * static_cast<float>(high - low) + static_cast<float>(low);
  return overwrite(tensor, values);
  // END SOLUTION
}

}  // namespace tinytorch::nn::init

// %% [markdown]
// ### ⭐⭐ `kaiming_uniform_`
//
// **TODO**: Fill `tensor` from `U(-bound, bound)` with `bound = √3 · gain / √fan`, where
// `fan` is fan-in or fan-out (by `mode`) and `gain = calculate_gain(nonlinearity, a)`.
//
// **APPROACH**:
// 1. `const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);`
// 2. `fan` = `fan_in` for `FanMode::FanIn`, else `fan_out`.
// 3. `stddev = calculate_gain(nonlinearity, a) / std::sqrt(fan)`; `bound = std::sqrt(3.0) * stddev`.
// 4. `return uniform_(tensor, -bound, bound, generator);`
//
// **EXAMPLE**:
// ```cpp
// Tensor w = zeros({256, 784});
// kaiming_uniform_(w, 0, FanMode::FanIn, Nonlinearity::ReLU);   // U(-0.0875, 0.0875): √(6/784)
// // PyTorch's Linear calls kaiming_uniform_(w, a = √5): gain √(1/3), bound 1/√784 = 0.0357
// ```
//
// **HINTS**:
// - The default `nonlinearity` is `LeakyReLU` with `a = 0`, which *is* ReLU: gain `√2`, as
//   in PyTorch.
// - The bound is `√3` times the standard deviation because `U(-b, b)` has variance `b²/3`.
//   Forgetting the `√3` gives weights 1.7 times too small, and a test that measures the
//   standard deviation of a large layer.
//
// **SYSTEMS THINKING**: why uniform at all, when the theory only fixes the variance? A
// uniform weight is bounded: no one weight starts 4 standard deviations out. In practice both
// train equally well; what must be right is the variance.

// %%
//| export impl
namespace tinytorch::nn::init {

Tensor kaiming_uniform_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity,
                        Generator& generator) {
  // BEGIN SOLUTION
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const double fan = static_cast<double>(mode == FanMode::FanIn ? fan_in : fan_out);
  const double stddev = calculate_gain(nonlinearity, a) / std::sqrt(fan);
  const double bound = std::sqrt(3.0) * stddev;
  return uniform_(tensor, -bound, bound, generator);
  // END SOLUTION
}

}  // namespace tinytorch::nn::init

// %% [markdown]
// ### ⭐ `kaiming_normal_`
//
// **TODO**: Fill `tensor` from `N(0, std²)` with `std = gain / √fan`.
//
// **APPROACH**: steps 1–3 of `kaiming_uniform_` without the `√3`, then
// `return normal_(tensor, 0.0, stddev, generator);`
//
// **EXAMPLE**:
// ```cpp
// kaiming_normal_(zeros({256, 784}), 0, FanMode::FanIn, Nonlinearity::ReLU)   // std √(2/784) = 0.0505
// kaiming_normal_(zeros({256, 784}), 0, FanMode::FanOut, Nonlinearity::ReLU)  // std √(2/256) = 0.0884
// ```
//
// **HINTS**:
// - `FanOut` keeps the variance of the *gradients* flowing backwards through the layer, the
//   choice torchvision makes for the convolutions of a ResNet.
//
// **SYSTEMS THINKING**: a normal draw costs a logarithm, a square root and a cosine (module
// 01's Box–Muller), a uniform one a shift and a multiply; for a 25-million-weight model the
// difference is a second at start-up, paid once.

// %%
//| export impl
namespace tinytorch::nn::init {

Tensor kaiming_normal_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity,
                       Generator& generator) {
  // BEGIN SOLUTION
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const double fan = static_cast<double>(mode == FanMode::FanIn ? fan_in : fan_out);
  const double stddev = calculate_gain(nonlinearity, a) / std::sqrt(fan);
  return normal_(tensor, 0.0, stddev, generator);
  // END SOLUTION
}

}  // namespace tinytorch::nn::init

// %% [markdown]
// ### ⭐ `xavier_uniform_` and `xavier_normal_`
//
// **TODO**: Fill `tensor` with variance `gain² · 2 / (fan_in + fan_out)`: from
// `U(-b, b)`, `b = gain · √(6 / (fan_in + fan_out))`, or from `N(0, std²)`,
// `std = gain · √(2 / (fan_in + fan_out))`.
//
// **APPROACH**:
// 1. The fans, as before.
// 2. `stddev = gain * std::sqrt(2.0 / (fan_in + fan_out))`.
// 3. Uniform: `uniform_(tensor, -√3 · stddev, √3 · stddev, generator)`; normal:
//    `normal_(tensor, 0, stddev, generator)`.
//
// **EXAMPLE**:
// ```cpp
// xavier_uniform_(zeros({256, 784}))           // U(-0.0757, 0.0757): √(6 / 1040)
// xavier_normal_(zeros({256, 784}))            // std 0.0439
// xavier_uniform_(w, calculate_gain(Nonlinearity::Tanh))   // for a tanh layer
// ```
//
// **HINTS**:
// - Convert the fans to `double` before dividing: `2 / (784 + 256)` in integers is 0.
//
// **SYSTEMS THINKING**: Xavier was derived for activations that are linear near 0 (tanh,
// sigmoid). Under ReLU it loses half the signal's power per layer: after ten layers the
// standard deviation is `2^(-10/2) ≈ 3%` of where it started. Part 3's demo measures it.

// %%
//| export impl
namespace tinytorch::nn::init {

Tensor xavier_uniform_(const Tensor& tensor, double gain, Generator& generator) {
  // BEGIN SOLUTION
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const double stddev = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double bound = std::sqrt(3.0) * stddev;
  return uniform_(tensor, -bound, bound, generator);
  // END SOLUTION
}

Tensor xavier_normal_(const Tensor& tensor, double gain, Generator& generator) {
  // BEGIN SOLUTION
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const double stddev = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  return normal_(tensor, 0.0, stddev, generator);
  // END SOLUTION
}

}  // namespace tinytorch::nn::init

// %%
//| test
TEST(UnitInit, FansOfALinearWeight) {
  const auto [fan_in, fan_out] = nn::init::calculate_fan_in_and_fan_out(zeros({256, 784}));
  EXPECT_EQ(fan_in, 784);
  EXPECT_EQ(fan_out, 256);
}

TEST(UnitInit, KaimingUniformStaysInsideItsBound) {
  Generator g(3);
  Tensor w = nn::init::kaiming_uniform_(zeros({64, 96}), 0.0, nn::init::FanMode::FanIn,
                                        nn::init::Nonlinearity::ReLU, g);
  const float bound = std::sqrt(6.0f / 96.0f);
  EXPECT_LE(w.max().item(), bound * 1.000001f);
  EXPECT_LE((-w).max().item(), bound * 1.000001f);
  EXPECT_GT(w.max().item(), 0.95f * bound) << "U(-b, b) with 6144 draws comes close to b";
}

// %%
//| demo
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

// What each init draws for the weight of a 256 -> 256 layer: 65,536 numbers, as a histogram.
auto histogram = [](const std::vector<float>& values, float lo, float hi, int bins, int height) {
  std::vector<int64_t> counts(static_cast<std::size_t>(bins), 0);
  for (float v : values) {
    const int b =
        std::clamp(static_cast<int>(std::floor((v - lo) / (hi - lo) * static_cast<float>(bins))), 0, bins - 1);
    ++counts[static_cast<std::size_t>(b)];
  }
  const double top = static_cast<double>(*std::max_element(counts.begin(), counts.end()));
  const char* blocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::vector<std::string> rows;
  for (int row = height - 1; row >= 0; --row) {
    std::string line;
    for (int64_t count : counts) {
      const int eighths = std::clamp(static_cast<int>(std::lround(count / top * height * 8.0)) - row * 8, 0, 8);
      line += blocks[eighths];
    }
    rows.push_back(line);
  }
  return rows;
};
auto stats = [](const std::vector<float>& v) {
  double sum = 0, square = 0;
  for (float x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  for (float x : v) square += (x - mean) * (x - mean);
  return std::pair<double, double>{mean, std::sqrt(square / static_cast<double>(v.size()))};
};

using namespace nn::init;
struct Init {
  std::string name;
  Tensor weight;
};
Generator g(2024);
const std::vector<Init> inits = {
    {"PyTorch's Linear default U(±1/√in)", nn::Linear(256, 256, false, 1).weight},
    {"kaiming_uniform_ (ReLU)", kaiming_uniform_(zeros({256, 256}), 0, FanMode::FanIn, Nonlinearity::ReLU, g)},
    {"kaiming_normal_ (ReLU)", kaiming_normal_(zeros({256, 256}), 0, FanMode::FanIn, Nonlinearity::ReLU, g)},
    {"xavier_uniform_", xavier_uniform_(zeros({256, 256}), 1.0, g)},
    {"xavier_normal_", xavier_normal_(zeros({256, 256}), 1.0, g)},
    {"constant_ 0.01 (a bad init)", constant_(zeros({256, 256}), 0.01)},
};
const int bins = 61;
std::cout << "The weights of a 256 -> 256 layer (65,536 values each), histograms over [-0.3, 0.3]:\n";
for (const Init& init : inits) {
  const std::vector<float> values = init.weight.to_vector();
  const auto [mean, stddev] = stats(values);
  std::printf("\n%-36s mean %+.4f  std %.4f  min %+.4f  max %+.4f\n", init.name.c_str(), mean, stddev,
              *std::min_element(values.begin(), values.end()), *std::max_element(values.begin(), values.end()));
  for (const std::string& row : histogram(values, -0.3f, 0.3f, bins, 4)) std::cout << "  |" << row << "|\n";
  std::string axis(3 + bins, ' ');  // under the bars, which start at column 3
  axis.replace(1, 4, "-0.3");
  axis.replace(3 + bins / 2, 1, "0");
  axis.replace(bins - 1, 4, "+0.3");
  std::cout << axis << "\n";
}
std::cout << "\nKaiming's std is √2 times Xavier's here (fan_in = fan_out = 256); PyTorch's default is\n"
             "narrower still (std 1/√(3·256) = 0.036); the constant init is one spike: every unit the same.\n";

// %% [markdown]
// ## Part 3: `nn::Linear`
//
// The fully connected layer computes, for a batch `x` of `N` rows of `in_features` numbers,
//
//     y = x Wᵀ + b          x [N, in]   W [out, in]   b [out]   y [N, out]
//
// **Why `[out, in]` and the transpose?** It is PyTorch's layout: row `j` of `W` holds the
// `in` weights of output unit `j`, so a unit's weights are contiguous. Storing the weight as
// PyTorch does means a weight can be copied to and from libtorch element by element, which
// is how this course checks its results against the real thing. The product needs `Wᵀ`,
// which module 01 gives you for free: `t()` is a view with swapped strides.
//
// **The bias is broadcast.** `x Wᵀ` has shape `[N, out]` and `b` has shape `[out]`:
// module 01's broadcasting adds `b` to every row, which is exactly "every example of the batch
// gets the same bias". No loop over the batch.
//
// **A single example** `x` of shape `[in]` works too: `matmul` treats it as a row vector
// and the result has shape `[out]`. Any other shape is a `ShapeError` naming the input's
// shape and `in_features`: a wrong input shape is the most common error there is, and a
// message that says `[64, 28, 28]` and `in_features=784` points straight at the missing
// `reshape({-1, 784})`.
//
// **Initialization (a decision).** `Linear` starts as PyTorch's does: weight *and* bias from
// `U(-1/√in, 1/√in)`. PyTorch writes the weight's part as `kaiming_uniform_(W, a = √5)`,
// which is the same distribution (gain `√(2/6)`, bound `√3 · √(1/3) / √in = 1/√in`). We keep
// PyTorch's default, not the Kaiming/ReLU init, so that a tinytorch model and a PyTorch model
// start from the same distribution and their training curves can be compared. The demo below
// shows its price: its variance is 6 times smaller than Kaiming's, so in a *deep* ReLU stack
// it shrinks the signal by `√6` per layer. For deep ReLU networks, call
// `init::kaiming_normal_(layer.weight, ...)` after construction; the shallow MLPs of modules
// 04–08 train well with the default.
//
// The numbers come from `Generator(seed)` when a seed is given, weight first (row-major),
// then bias; without a seed, from `init::default_generator()`, so two unseeded layers differ
// and a program that calls `manual_seed` first is reproducible.

// %%
//| export
namespace tinytorch::nn {

// A fully connected layer, as torch::nn::Linear: y = x W^T + b, with weight [out_features,
// in_features] and bias [out_features].
class Linear : public Module {
 public:
  // Weight and bias from U(-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's default),
  // drawn weight first from Generator(seed), or from init::default_generator() without a seed.
  Linear(int64_t in_features, int64_t out_features, bool bias = true, std::optional<uint64_t> seed = std::nullopt);

  // x [N, in_features] -> [N, out_features], or x [in_features] -> [out_features]. ShapeError
  // naming the input's shape and in_features for any other shape.
  Tensor forward(const Tensor& input) override;
  // "Linear(in_features=784, out_features=256, bias=true)"
  void pretty_print(std::ostream& os) const override;

  int64_t in_features() const noexcept { return in_features_; }
  int64_t out_features() const noexcept { return out_features_; }

  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features]; undefined without a bias

 private:
  int64_t in_features_;
  int64_t out_features_;
};

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐⭐ The `Linear` constructor
//
// The given part checks the sizes and picks the generator (`generator` is a seeded one of
// this layer's own, or the default stream). You make the parameters.
//
// **TODO**: Register `"weight"` of shape `[out, in]` initialized with PyTorch's default, and,
// when `bias` is true, `"bias"` of shape `[out]` from `U(-1/√in, 1/√in)`.
//
// **APPROACH**:
// 1. `weight = register_parameter("weight", zeros({out_features, in_features}));`
// 2. `init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn,
//    init::Nonlinearity::LeakyReLU, generator);` (PyTorch's exact call).
// 3. If `bias`: `bound = 1 / √in_features`; register `"bias"` as `zeros({out_features})` and
//    `init::uniform_` it from `-bound` to `bound` with the same `generator`.
//
// **EXAMPLE**:
// ```cpp
// nn::Linear fc(784, 256, true, 42);
// fc.weight.shape()              // [256, 784]
// fc.bias.shape()                // [256]; every value in [-0.0357, 0.0357] (1/√784)
// nn::Linear(784, 256, true, 42).weight   // the same numbers as fc.weight
// nn::Linear(784, 256, false).bias.defined()   // false: no "bias" parameter at all
// ```
//
// **HINTS**:
// - Inside the constructor, the parameter `bias` (a `bool`) hides the member `bias` (a
//   `Tensor`): write `this->bias = register_parameter("bias", ...)`.
// - Initialize the weight before the bias, both from `generator`: the test of a seed checks
//   the exact numbers, in that order.
// - Registering first and initializing after works because `init` functions write *into* the
//   tensor: the handle you registered sees the new values.
//
// **SYSTEMS THINKING**: a `Linear(784, 256)` holds 200,960 floats, 785 KiB, and a batch of
// 64 through it costs `2 · 64 · 784 · 256 = 25.7 M` floating-point operations: the layer's
// memory is read once per batch, so larger batches use it better (that is why GPUs like big
// batches).

// %%
//| export impl
namespace tinytorch::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, std::optional<uint64_t> seed)
    : in_features_(in_features), out_features_(out_features) {
  if (in_features <= 0 || out_features <= 0) {
    throw std::invalid_argument("Linear(in_features=" + std::to_string(in_features) +
                                ", out_features=" + std::to_string(out_features) + "): both sizes must be positive");
  }
  Generator seeded(seed.value_or(0));
  Generator& generator = seed ? seeded : init::default_generator();
  // BEGIN SOLUTION
  weight = register_parameter("weight", zeros({out_features, in_features}));
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn, init::Nonlinearity::LeakyReLU, generator);
  if (bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    this->bias = register_parameter("bias", zeros({out_features}));
    init::uniform_(this->bias, -bound, bound, generator);
  }
  // END SOLUTION
}

void Linear::pretty_print(std::ostream& os) const {
  os << "Linear(in_features=" << in_features_ << ", out_features=" << out_features_
     << ", bias=" << (bias.defined() ? "true" : "false") << ")";
}

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐⭐ `Linear::forward`
//
// **TODO**: Check the input's shape, then return `input.matmul(weight.t()) + bias` (without
// the bias when there is none).
//
// **APPROACH**:
// 1. The input must have 1 or 2 dimensions and its last size must be `in_features_`.
//    Otherwise throw
//    `ShapeError("Linear(in_features=784, out_features=256): expected an input of shape [N, 784] or [784], got [64, 28, 28]")`
//    (build it with `shape_str(input.shape())`).
// 2. `Tensor output = input.matmul(weight.t());`: `[N, in] @ [in, out] = [N, out]`.
// 3. If `bias.defined()`, return `output + bias` (broadcast over the batch); else `output`.
//
// **EXAMPLE**:
// ```cpp
// nn::Linear fc(3, 2);
// fc.weight.copy_(tensor({{1, 0, 0}, {0, 1, 1}}));   fc.bias.copy_(tensor({10, 20}));
// fc(tensor({{1, 2, 3}, {4, 5, 6}}))    // [[11, 25], [14, 31]]: row i is W x_i + b
// fc(tensor({1, 2, 3}))                 // [11, 25]
// fc(zeros({2, 5}))                     // ShapeError: ... expected an input of shape [N, 3] or [3], got [2, 5]
// ```
//
// **HINTS**:
// - `x.matmul(weight)` without the `t()` fails for a non-square layer (inner sizes differ)
//   and, worse, *works* for a square one and gives wrong numbers.
// - Check before you multiply: matmul's own error names the shapes but not the layer, and for
//   a 3-D input it would not say "reshape".
// - Use tensor ops only (`matmul`, `t()`, `+`), no loops: module 05 differentiates exactly
//   these ops, and module 11 makes `matmul` fast without this code changing.
//
// **SYSTEMS THINKING**: `weight.t()` is a free view, but your matmul wants contiguous data, so
// it copies the transposed weight on every call: `out · in` floats, against `N · out · in`
// multiply-adds for the product. For a batch of 64 the copy is 1/64 of the work; BLAS
// libraries avoid it altogether by reading the transposed operand in place (a "transpose
// flag"), which module 11's kernel can do too.

// %%
//| export impl
namespace tinytorch::nn {

Tensor Linear::forward(const Tensor& input) {
  // BEGIN SOLUTION
  if ((input.dim() != 1 && input.dim() != 2) || input.size(-1) != in_features_) {
    throw ShapeError("Linear(in_features=" + std::to_string(in_features_) + ", out_features=" +
                     std::to_string(out_features_) + "): expected an input of shape [N, " +
                     std::to_string(in_features_) + "] or [" + std::to_string(in_features_) + "], got " +
                     shape_str(input.shape()));
  }
  Tensor output = input.matmul(weight.t());
  return bias.defined() ? output + bias : output;
  // END SOLUTION
}

}  // namespace tinytorch::nn

// %%
//| test
TEST(UnitLinear, ForwardIsXWTransposedPlusB) {
  nn::Linear fc(3, 2, true, 1);
  fc.weight.copy_(tensor({{1, 0, 0}, {0, 1, 1}}));
  fc.bias.copy_(tensor({10, 20}));
  EXPECT_EQ(fc(tensor({{1, 2, 3}, {4, 5, 6}})).to_vector(), (std::vector<float>{11, 25, 14, 31}));
  EXPECT_EQ(fc.weight.shape(), (Shape{2, 3}));
}

// %%
//| demo
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

// Ten Linear(256, 256) + ReLU layers, no bias, on 512 samples of randn: the standard deviation
// of the activations after each layer, for five ways of drawing the weights.
using namespace nn::init;
const int depth = 10, width = 256;
const Tensor x = randn({512, width}, 7);
struct Recipe {
  std::string name;
  std::function<void(const Tensor&, Generator&)> init;
};
const std::vector<Recipe> recipes = {
    {"default U(±1/√in)", [](const Tensor& w, Generator& g) {
       kaiming_uniform_(w, std::sqrt(5.0), FanMode::FanIn, Nonlinearity::LeakyReLU, g);
     }},
    {"kaiming_normal_", [](const Tensor& w, Generator& g) {
       kaiming_normal_(w, 0, FanMode::FanIn, Nonlinearity::ReLU, g);
     }},
    {"xavier_normal_", [](const Tensor& w, Generator& g) { xavier_normal_(w, 1.0, g); }},
    {"constant 0.01", [](const Tensor& w, Generator&) { constant_(w, 0.01); }},
    {"randn (std 1)", [](const Tensor& w, Generator& g) { normal_(w, 0, 1, g); }},
};
auto std_of = [](const Tensor& t) { return std::sqrt(pow(t - t.mean(), 2).mean().item()); };
std::vector<std::vector<double>> spread(recipes.size());
std::vector<double> spread_across_units(recipes.size());
for (std::size_t r = 0; r < recipes.size(); ++r) {
  Generator g(11);
  Tensor h = x;
  for (int layer = 0; layer < depth; ++layer) {
    nn::Linear fc(width, width, false, 1);
    recipes[r].init(fc.weight, g);
    h = relu(fc(h));
    spread[r].push_back(std_of(h));
  }
  spread_across_units[r] = std::sqrt(pow(h - h.mean(1, true), 2).mean().item());  // within each sample
}
std::printf("std of the activations after each Linear(256, 256) + ReLU (512 samples of randn, no bias)\n");
std::printf("%5s", "layer");
for (const Recipe& recipe : recipes) std::printf("  %18s", recipe.name.c_str());
std::printf("\n");
for (int layer = 0; layer < depth; ++layer) {
  std::printf("%5d", layer + 1);
  for (std::size_t r = 0; r < recipes.size(); ++r) std::printf("  %18.3g", spread[r][layer]);
  std::printf("\n");
}
std::printf("\nper layer (geometric mean over layers 1 to 10), the std is multiplied by:\n ");
for (std::size_t r = 0; r < recipes.size(); ++r) {
  const double factor = std::pow(spread[r][depth - 1] / spread[r][0], 1.0 / (depth - 1));
  std::printf("%s %s %.3f", r ? "," : "", recipes[r].name.c_str(), factor);
}
std::printf("\n theory, √(fan_in · Var(w) / 2) for ReLU: default 1/√6 = 0.408, Kaiming 1, Xavier 1/√2 = 0.707,\n"
            " randn √128 = 11.3; the constant init multiplies every unit by 0.01 · 256 = 2.56\n");
std::printf("constant 0.01: spread across the 256 units of one sample after layer 10 = %g: every unit\n"
            "computes the same number, so the layer is one neuron copied 256 times (kaiming_normal_: %.3g)\n",
            spread_across_units[3], spread_across_units[1]);

// %% [markdown]
// ## Part 4: `nn::Dropout`
//
// A big network can memorize its training set. **Dropout** (Srivastava et al., 2014) makes
// that harder: in training, every activation is zeroed with probability `p`, a fresh random
// choice at every step, so no unit can rely on any particular other unit being there. In
// evaluation nothing is dropped: the whole network answers.
//
// **Inverted dropout.** If training keeps only a fraction `1 - p` of the signal and
// evaluation keeps all of it, the next layer sees inputs of a different size in the two
// modes. So the survivors are scaled up by `1 / (1 - p)` in training, and the *expected* value
// of every element is unchanged:
//
//     training:    y = x · mask,   mask = 0 with probability p, 1/(1-p) otherwise
//     evaluation:  y = x
//
//     p = 0.5:  x    = [ 1.0  2.0  3.0  4.0]
//               mask = [ 2    0    2    0  ]   (a new mask every call)
//               y    = [ 2.0  0.0  6.0  0.0]   E[y] = x
//
// **Built from a recorded op.** `y = x * mask` is module 01's element-wise `mul`, so module
// 05's autograd differentiates dropout with no new code: the gradient is `g * mask`, the same
// elements dropped. The mask itself is made with `rand` and `map` on a tensor that does not
// require grad, so nothing about it is recorded.
//
// **Seeded.** Each `Dropout` owns a `Generator`, seeded by its constructor (or from the
// default stream without a seed), that advances with every call: the same seed gives the
// same sequence of masks on every machine, and two calls give different masks.

// %%
//| export
namespace tinytorch::nn {

// Inverted dropout, as torch::nn::Dropout: in training, zeroes each element with probability
// p and scales the rest by 1/(1-p); in evaluation, returns the input unchanged.
class Dropout : public Module {
 public:
  // std::invalid_argument for p outside [0, 1]. The masks come from Generator(seed), or from
  // a generator seeded by init::default_generator() without a seed.
  explicit Dropout(double p = 0.5, std::optional<uint64_t> seed = std::nullopt);
  // Training: input * mask, one generator.uniform() u per element in row-major order, the
  // element dropped when u < p. Evaluation, or p = 0: input itself.
  Tensor forward(const Tensor& input) override;
  // "Dropout(p=0.5)"
  void pretty_print(std::ostream& os) const override;

  double p() const noexcept { return p_; }

 private:
  double p_;
  Generator generator_;
};

}  // namespace tinytorch::nn

// %%
//| export impl
namespace tinytorch::nn {

namespace {
double checked_probability(double p) {
  if (!(p >= 0.0 && p <= 1.0)) {  // also catches NaN
    throw std::invalid_argument("Dropout(p=" + std::to_string(p) + "): p is the probability of dropping an element, "
                                "so it must lie in [0, 1]");
  }
  return p;
}
}  // namespace

Dropout::Dropout(double p, std::optional<uint64_t> seed)
    : p_(checked_probability(p)), generator_(seed ? *seed : init::default_generator().next_u64()) {}

void Dropout::pretty_print(std::ostream& os) const { os << "Dropout(p=" << p_ << ")"; }

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐⭐ `Dropout::forward`
//
// **TODO**: In evaluation mode (or for `p = 0`) return `input` unchanged. In training, build
// the mask and return `input * mask`.
//
// **APPROACH**:
// 1. `if (!is_training() || p_ == 0.0) return input;`
// 2. `scale = 1 / (1 - p_)` as a `float`, or 0 when `p_ == 1` (everything is dropped).
// 3. `Tensor u = rand(input.shape(), generator_);`: one uniform number per element.
// 4. `Tensor mask = map(u, [p, scale](float v) { return v < p ? 0.0f : scale; });` (copy
//    `p_` into a local `p` for the lambda).
// 5. `return input * mask;`
//
// **EXAMPLE**:
// ```cpp
// nn::Dropout drop(0.5, /*seed=*/3);
// drop(ones({2, 4}))    // e.g. [[2, 0, 2, 2], [0, 0, 2, 0]]: zeros and 1/(1-0.5) = 2
// drop(ones({2, 4}))    // another mask: the generator moved on
// drop.eval();
// drop(ones({2, 4}))    // all ones
// nn::Dropout(1.0)(ones({3}))   // [0, 0, 0]: not NaN
// ```
//
// **HINTS**:
// - Forgetting the `1/(1-p)` scale is the classic bug: training still runs, but every layer
//   after a dropout sees a signal `1 - p` times weaker in training than in evaluation.
// - For `p = 1`, `1 / (1 - p)` is infinity, and `0 · ∞` is NaN: choose each mask value (0 or
//   `scale`) rather than multiplying a 0/1 mask by the scale.
// - Draw with `generator_` (the member) so the next call continues the stream; a
//   `Generator` made inside `forward` would give the same mask every time.
//
// **SYSTEMS THINKING**: the mask costs a random number, a comparison and a full tensor of
// memory per element per step, and it must be kept (as `mask`, the second input of the `mul`)
// until backward uses it. Production kernels store it as one bit per element, or regenerate it
// in backward from the generator's state: 32 times less memory.

// %%
//| export impl
namespace tinytorch::nn {

Tensor Dropout::forward(const Tensor& input) {
  // BEGIN SOLUTION
  if (!is_training() || p_ == 0.0) return input;
  const float scale = p_ < 1.0 ? static_cast<float>(1.0 / (1.0 - p_)) : 0.0f;
  const double p = p_;
  const Tensor mask = map(rand(input.shape(), generator_), [p, scale](float u) { return u < p ? 0.0f : scale; });
  return input * mask;
  // END SOLUTION
}

}  // namespace tinytorch::nn

// %%
//| test
TEST(UnitDropout, TrainingScalesTheSurvivorsAndEvaluationIsIdentity) {
  nn::Dropout drop(0.25, 5);
  const std::vector<float> y = drop(ones({1000})).to_vector();
  for (float v : y) EXPECT_TRUE(v == 0.0f || std::fabs(v - 4.0f / 3.0f) < 1e-6f) << v;
  drop.eval();
  EXPECT_EQ(drop(tensor({1, 2, 3})).to_vector(), (std::vector<float>{1, 2, 3}));
}

// %%
//| demo
#include <cstdio>

nn::Dropout drop(0.5, /*seed=*/3);
const Tensor x = ones({4, 12});
std::cout << "nn::Dropout(p=0.5) on ones({4, 12}), in training (zeros, and survivors scaled by 1/(1-p) = 2):\n"
          << drop(x) << "\n";
std::cout << "the next call draws a new mask:\n" << drop(x) << "\n";
drop.eval();
std::cout << "after drop.eval(): the input, unchanged:\n" << drop(x) << "\n";

std::printf("\nmeasured on 1,000,000 ones, in training:\n");
std::printf("%6s  %16s  %14s  %28s\n", "p", "fraction zeroed", "mean of y", "mean without the 1/(1-p) scale");
for (double p : {0.1, 0.2, 0.5, 0.8}) {
  nn::Dropout d(p, 17);
  const Tensor y = d(ones({1000, 1000}));
  const float kept = y.mean().item();
  const std::vector<float> v = y.to_vector();
  int64_t zeros_count = 0;
  for (float e : v) zeros_count += e == 0.0f;
  std::printf("%6.1f  %16.4f  %14.4f  %28.4f\n", p, static_cast<double>(zeros_count) / 1e6, kept, kept * (1 - p));
}
std::printf("inverted dropout keeps the mean at 1 (the eval-mode value); without the scale it would be 1 - p.\n");

// %% [markdown]
// ## Part 5: `nn::Sequential` and the activation modules
//
// Most networks are a chain: the output of one module is the input of the next.
// `nn::Sequential` is that chain, a module whose children are named `"0"`, `"1"`, `"2"`, ...
// in order, so its parameters come out as `"0.weight"`, `"2.bias"`: exactly PyTorch's names
// for an `nn.Sequential`.
//
// ```cpp
// nn::Sequential model(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10));
// model.push_back(nn::LogSoftmax(1));       // append one more: child "3"
// Tensor scores = model(images);            // [N, 784] -> [N, 10]
// auto first = model.at<nn::Linear>(0);     // the first layer, as a Linear
// ```
//
// Each argument is either a module, moved into a new `shared_ptr`, or a `shared_ptr` you
// already hold (then the `Sequential` shares it with you). The construction and `push_back`
// are templates, written for you in the header; they all end in `append`, which you write.
//
// To put a function like `relu` in such a chain it must be a module. The **activation
// modules** `nn::ReLU`, `nn::LeakyReLU`, `nn::Sigmoid`, `nn::Tanh`, `nn::GELU`,
// `nn::Softmax(dim)` and `nn::LogSoftmax(dim)` are one-line wrappers around module 02's
// functions (written for you, below): no parameters, the same result as the function.
// `Softmax` and `LogSoftmax` take the dimension explicitly, as in libtorch: for a batch of
// scores `[N, classes]` it is 1.

// %%
//| export
namespace tinytorch::nn {

namespace detail {
template <typename T>
struct is_shared_module : std::false_type {};
template <typename M>
struct is_shared_module<std::shared_ptr<M>> : std::is_base_of<Module, M> {};
// What Sequential accepts: a module, or a std::shared_ptr to one.
template <typename T>
concept ModuleArgument =
    std::derived_from<std::remove_cvref_t<T>, Module> || is_shared_module<std::remove_cvref_t<T>>::value;
}  // namespace detail

// A chain of modules, as torch::nn::Sequential: forward passes the input through each child in
// turn. Children are named "0", "1", ... in the order they were added.
class Sequential : public Module {
 public:
  Sequential() = default;
  // Sequential(Linear(784, 256), ReLU(), Linear(256, 10)): each argument is a module (moved
  // into the Sequential) or a std::shared_ptr to one (shared with the caller).
  template <typename... Modules>
    requires(sizeof...(Modules) > 0 && (detail::ModuleArgument<Modules> && ...))
  explicit Sequential(Modules&&... modules) {
    (push_back(std::forward<Modules>(modules)), ...);
  }
  // From a list of shared modules.
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules) {
    for (const auto& module : modules) append(module);
  }

  // Appends `module` as child number size() and returns it.
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "Sequential::push_back(): the module must derive from nn::Module");
    append(module);
    return module;
  }
  // Moves `module` into a new shared_ptr, appends it, and returns that pointer.
  template <typename M>
    requires std::derived_from<std::remove_cvref_t<M>, Module>
  std::shared_ptr<std::remove_cvref_t<M>> push_back(M&& module) {
    static_assert(!std::is_lvalue_reference_v<M>,
                  "Sequential: a module cannot be copied; pass a temporary, std::move(module), or a std::shared_ptr "
                  "to share it");
    return push_back(std::make_shared<std::remove_cvref_t<M>>(std::move(module)));
  }

  // The input through every child, in order. std::logic_error when the Sequential is empty.
  Tensor forward(const Tensor& input) override;

  // Number of children.
  std::size_t size() const noexcept { return modules_.size(); }
  bool empty() const noexcept { return modules_.empty(); }
  // Child number `index`; IndexError when there is none.
  const std::shared_ptr<Module>& operator[](std::size_t index) const;
  // Child number `index` as an M (model.at<Linear>(0)->weight); std::invalid_argument if it is not one.
  template <typename M>
  std::shared_ptr<M> at(std::size_t index) const {
    std::shared_ptr<M> typed = std::dynamic_pointer_cast<M>((*this)[index]);
    if (!typed) {
      throw std::invalid_argument("Sequential::at(" + std::to_string(index) + "): child " + std::to_string(index) +
                                  " is a " + (*this)[index]->name() + ", not the type asked for");
    }
    return typed;
  }

 private:
  // Registers `module` as child std::to_string(size()) and keeps it for forward.
  void append(std::shared_ptr<Module> module);

  std::vector<std::shared_ptr<Module>> modules_;
};

// max(x, 0) (relu), as a module.
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  void pretty_print(std::ostream& os) const override;
};

// leaky_relu(x, negative_slope), as a module.
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(float negative_slope = 0.01f) : negative_slope_(negative_slope) {}
  Tensor forward(const Tensor& input) override;
  void pretty_print(std::ostream& os) const override;
  float negative_slope() const noexcept { return negative_slope_; }

 private:
  float negative_slope_;
};

// sigmoid(x), as a module.
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  void pretty_print(std::ostream& os) const override;
};

// tanh(x), as a module.
class Tanh : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  void pretty_print(std::ostream& os) const override;
};

// gelu(x) (tanh approximation), as a module.
class GELU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  void pretty_print(std::ostream& os) const override;
};

// softmax(x, dim), as a module.
class Softmax : public Module {
 public:
  explicit Softmax(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& input) override;
  void pretty_print(std::ostream& os) const override;
  int64_t dim() const noexcept { return dim_; }

 private:
  int64_t dim_;
};

// log_softmax(x, dim), as a module.
class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& input) override;
  void pretty_print(std::ostream& os) const override;
  int64_t dim() const noexcept { return dim_; }

 private:
  int64_t dim_;
};

}  // namespace tinytorch::nn

// %% [markdown]
// ### ⭐ `Sequential::append` and `Sequential::forward`
//
// **TODO**: `append` registers `module` as a child named by its position and keeps it in
// `modules_`; `forward` passes the input through every module in order.
//
// **APPROACH** (`append`):
// 1. `register_module(std::to_string(modules_.size()), module);`: child `"0"`, `"1"`, ...
// 2. `modules_.push_back(std::move(module));`
//
// **APPROACH** (`forward`):
// 1. An empty `Sequential` has nothing to compute: throw `std::logic_error("Sequential::forward(): the Sequential is empty; push_back a module first")`.
// 2. `Tensor output = input;` then for each module: `output = module->forward(output);`
// 3. Return `output`.
//
// **EXAMPLE**:
// ```cpp
// nn::Sequential model(nn::Linear(4, 3, true, 1), nn::ReLU());
// model.named_children()[1].first   // "1"
// model(x)                          // relu(model.at<nn::Linear>(0)->forward(x))
// nn::Sequential()(x)               // std::logic_error: ... the Sequential is empty
// ```
//
// **HINTS**:
// - Register *before* you keep it: if the name were refused, `modules_` and the children
//   would disagree.
// - Call `forward` through the `shared_ptr<Module>`: it is virtual, so each child runs its
//   own (`Linear::forward`, `ReLU::forward`, your `MLP::forward`).
//
// **SYSTEMS THINKING**: `output = module->forward(output)` drops the previous activation as
// soon as nothing refers to it: the handle is replaced and its storage freed. Once autograd
// records (module 05), the graph keeps every intermediate alive until `backward()`: memory
// for activations grows with the depth and the batch size, and is often larger than the
// parameters.

// %%
//| export impl
namespace tinytorch::nn {

void Sequential::append(std::shared_ptr<Module> module) {
  // BEGIN SOLUTION
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
  // END SOLUTION
}

Tensor Sequential::forward(const Tensor& input) {
  // BEGIN SOLUTION
  if (modules_.empty()) {
    throw std::logic_error("Sequential::forward(): the Sequential is empty; push_back a module first");
  }
  Tensor output = input;
  for (const auto& module : modules_) output = module->forward(output);
  return output;
  // END SOLUTION
}

const std::shared_ptr<Module>& Sequential::operator[](std::size_t index) const {
  if (index >= modules_.size()) {
    throw IndexError("Sequential[" + std::to_string(index) + "]: the Sequential has " +
                     std::to_string(modules_.size()) + " modules");
  }
  return modules_[index];
}

Tensor ReLU::forward(const Tensor& input) { return relu(input); }
void ReLU::pretty_print(std::ostream& os) const { os << "ReLU()"; }

Tensor LeakyReLU::forward(const Tensor& input) { return leaky_relu(input, negative_slope_); }
void LeakyReLU::pretty_print(std::ostream& os) const { os << "LeakyReLU(negative_slope=" << negative_slope_ << ")"; }

Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input); }
void Sigmoid::pretty_print(std::ostream& os) const { os << "Sigmoid()"; }

Tensor Tanh::forward(const Tensor& input) { return tanh(input); }
void Tanh::pretty_print(std::ostream& os) const { os << "Tanh()"; }

Tensor GELU::forward(const Tensor& input) { return gelu(input); }
void GELU::pretty_print(std::ostream& os) const { os << "GELU(approximate=tanh)"; }

Tensor Softmax::forward(const Tensor& input) { return softmax(input, dim_); }
void Softmax::pretty_print(std::ostream& os) const { os << "Softmax(dim=" << dim_ << ")"; }

Tensor LogSoftmax::forward(const Tensor& input) { return log_softmax(input, dim_); }
void LogSoftmax::pretty_print(std::ostream& os) const { os << "LogSoftmax(dim=" << dim_ << ")"; }

}  // namespace tinytorch::nn

// %%
//| test
TEST(UnitSequential, ChildrenAreNumberedAndRunInOrder) {
  nn::Sequential model(nn::Linear(3, 2, true, 1), nn::ReLU());
  ASSERT_EQ(model.size(), 2u);
  EXPECT_EQ(model.named_children()[1].first, "1");
  const Tensor x = randn({4, 3}, 2);
  EXPECT_TRUE(allclose(model(x), relu(model.at<nn::Linear>(0)->forward(x))));
}

// %%
//| demo
#include <cstdio>

// The multi-layer perceptron of milestone 3 (1986): 784 -> 256 -> 128 -> 10, with dropout.
nn::Sequential model(nn::Linear(784, 256, true, 1), nn::ReLU(), nn::Dropout(0.2, 2), nn::Linear(256, 128, true, 3),
                     nn::ReLU(), nn::Linear(128, 10, true, 4));
std::cout << model << "\n\n";
std::cout << "named_parameters():\n";
for (const auto& [name, p] : model.named_parameters()) {
  std::printf("  %-10s %-12s requires_grad=%s\n", name.c_str(), shape_str(p.shape()).c_str(),
              p.requires_grad() ? "true" : "false");
}
const int64_t count = nn::parameter_count(model);
std::printf("%lld parameters = %.1f KiB of float32; with gradients and Adam's two moments, 4x that: %.1f MiB\n",
            static_cast<long long>(count), static_cast<double>(count) * 4 / 1024,
            static_cast<double>(count) * 16 / (1024 * 1024));

// Your own module class, with a Sequential inside it: dotted names through every level.
struct Classifier : nn::Module {
  Classifier() {
    features = register_module("features", std::make_shared<nn::Sequential>(nn::Linear(8, 4, true, 5), nn::GELU()));
    head = register_module("head", std::make_shared<nn::Linear>(4, 3, true, 6));
  }
  Tensor forward(const Tensor& x) override { return log_softmax(head->forward(features->forward(x)), 1); }
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Linear> head;
};
Classifier classifier;
std::cout << "\n" << classifier << "\n";
std::cout << "its parameter names:";
for (const auto& [name, p] : classifier.named_parameters()) std::cout << " " << name;
classifier.eval();
std::cout << "\nafter classifier.eval(): features[1] (a GELU two levels down) is_training() = " << std::boolalpha
          << classifier.features->at<nn::GELU>(1)->is_training() << "\n";

// %% [markdown]
// ### The network on real data
//
// The last demo runs the MLP above on real Fashion-MNIST images (28×28 grey pictures of
// clothes, 10 classes) if they are in the `tito data` cache: `$TITO_DATA_DIR`, or this
// course's `data/cache/`. If not, it says which command imports them; Debian's
// `dataset-fashion-mnist` package brings the files, and
//
//     tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist
//
// copies them into the cache. The file format is IDX (a big-endian header, then one byte
// per pixel); the few lines that read it here are written for you and are *not* part of the
// library: module 08 writes the real reader, `data::datasets::FashionMNIST`.
//
// The network is untrained, so expect about 10% accuracy: chance. Module 04 gives it a loss
// to measure how wrong it is, 05 the gradients of that loss, 06 and 07 the training that
// takes it past 88% (milestone 3).

// %%
//| demo
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <tinytorch/course.hpp>

// The MLP of the demo before (each demo is a block of its own).
nn::Sequential model(nn::Linear(784, 256, true, 1), nn::ReLU(), nn::Dropout(0.2, 2), nn::Linear(256, 128, true, 3),
                     nn::ReLU(), nn::Linear(128, 10, true, 4));
namespace fs = std::filesystem;
// The tito data cache: $TITO_DATA_DIR, else <course>/data/cache (the course the library was configured from).
std::vector<fs::path> caches;
if (const char* dir = std::getenv("TITO_DATA_DIR"); dir != nullptr && *dir != '\0') caches.emplace_back(dir);
caches.push_back(fs::path(tinytorch::course::root()) / "data" / "cache");
fs::path idx;
for (const fs::path& cache : caches) {
  if (fs::exists(cache / "fashion-mnist" / "idx" / "t10k-images-idx3-ubyte")) idx = cache / "fashion-mnist" / "idx";
}
if (idx.empty()) {
  std::cout << "Fashion-MNIST is not in the data cache (looked in " << caches.back().string()
            << "); import it with\n  tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist\n"
               "and run this demo again.\n";
} else {
  // IDX: a 4-byte big-endian magic number (0x803 images, 0x801 labels), the sizes, then bytes.
  auto read_bytes = [](const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  auto big_endian = [](const std::vector<unsigned char>& b, std::size_t at) {
    return static_cast<uint32_t>(b[at]) << 24 | static_cast<uint32_t>(b[at + 1]) << 16 |
           static_cast<uint32_t>(b[at + 2]) << 8 | static_cast<uint32_t>(b[at + 3]);
  };
  const std::vector<unsigned char> image_file = read_bytes(idx / "t10k-images-idx3-ubyte");
  const std::vector<unsigned char> label_file = read_bytes(idx / "t10k-labels-idx1-ubyte");
  if (image_file.size() < 16 || big_endian(image_file, 0) != 0x803 || label_file.size() < 8 ||
      big_endian(label_file, 0) != 0x801) {
    throw std::runtime_error("not Fashion-MNIST IDX files in " + idx.string() + "; run tito data verify fashion-mnist");
  }
  const int64_t n = 1000, pixels = 28 * 28;
  std::vector<float> values(static_cast<std::size_t>(n * pixels));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(image_file[16 + i]) / 255.0f;
  const Tensor images(values, {n, pixels});
  const char* classes[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  auto label = [&](int64_t i) { return static_cast<int>(label_file[8 + static_cast<std::size_t>(i)]); };

  std::cout << "test image 0 of " << big_endian(image_file, 4) << " (label " << label(0) << ", " << classes[label(0)]
            << "), from " << idx.string() << ":\n";
  const char* shades = " .:-=+*#%@";
  for (int64_t r = 0; r < 28; r += 1) {
    std::string line;
    for (int64_t c = 0; c < 28; ++c) line += std::string(2, shades[static_cast<int>(values[r * 28 + c] * 9.99f)]);
    std::cout << "  " << line << "\n";
  }

  model.eval();
  const auto start = std::chrono::steady_clock::now();
  const Tensor logits = model(images);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Tensor probabilities = softmax(logits, 1);
  const std::vector<float> p = probabilities.to_vector();
  int correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < 10; ++k) best = p[i * 10 + k] > p[i * 10 + best] ? k : best;
    correct += best == label(i);
    if (i < 5) {
      std::printf("  image %lld: %-11s  the untrained MLP says %-11s with p = %.3f\n", static_cast<long long>(i),
                  classes[label(i)], classes[best], p[i * 10 + best]);
    }
  }
  const double flops = 2.0 * n * (784 * 256 + 256 * 128 + 128 * 10);
  std::printf(
      "forward of [%lld, 784] -> [%lld, 10] in eval mode: %.1f ms (%.1f GFLOP/s); accuracy %.1f%% (chance: 10%%)\n",
      static_cast<long long>(n), static_cast<long long>(n), seconds * 1e3, flops / seconds / 1e9, 100.0 * correct / n);
  model.train();
  const Tensor in_training = model(images);
  std::printf("the same batch in training mode (dropout on): largest change of a logit %.4f\n",
              std::sqrt(pow(in_training - logits, 2).max().item()));
}

// %% [markdown]
// ## Summary
//
// You built `tinytorch::nn`, the part of the library that turns tensors into models:
//
// - **`nn::Module`**: parameters, buffers and submodules in ordered, named lists;
//   `named_parameters()` walks the tree recursively and names every tensor by its dotted path
//   (`"fc1.weight"`, `"0.bias"`); `train()` / `eval()` reach every module below; the
//   parameters handed out are the layer's own tensors, so an optimizer can change them in place.
// - **`nn::init`**: fan-in and fan-out, gains, and the Kaiming and Xavier initializations,
//   seeded and reproducible, and the measurement of what they do: the right variance keeps a
//   signal alive through ten layers, a bad one shrinks or explodes it, a constant one turns a
//   layer into copies of one neuron.
// - **`nn::Linear`**: `y = x Wᵀ + b` with PyTorch's `[out, in]` layout and default init,
//   built on your module-01 matmul and broadcasting.
// - **`nn::Dropout`**: inverted dropout from a seeded mask, identity in evaluation.
// - **`nn::Sequential`** and the activation modules, and a printout of any model with its
//   parameter counts.
//
// Every forward is made of ops that modules 01 and 02 already record, so module 05 will make
// all of it differentiable without touching this file.
//
// ## Reflect
//
// 1. Estimate first, then measure: how many parameters does the MLP 784-256-128-10 have,
//    and how many bytes of float32? Write your estimate down, then compare with
//    `nn::parameter_count(model)` and the demo's printout. Which layer holds most of them?
// 2. Before you run the initialization demo, predict the standard deviation after ten
//    Linear(256, 256) + ReLU layers with PyTorch's default init, from the formula
//    `√(fan_in · Var(w) / 2)` per layer. Then run it. How far off were you, and why might
//    PyTorch still use that default?
// 3. A layer initialized with `constant_(w, 0.01)` has a perfectly reasonable scale. Why can
//    it never learn more than one feature, whatever the optimizer does? (Think about what the
//    gradient of each unit's weights looks like when every unit computes the same number.)
// 4. Estimate the fraction of elements `Dropout(0.2)` zeroes in a batch of `[64, 256]`, and
//    how far from 0.2 it may land by chance (the standard deviation of a binomial fraction is
//    `√(p(1-p)/n)`). Measure it for a few seeds.
// 5. Time `nn::Linear(784, 256)` on a batch of 1, 64 and 1024 inputs. Estimate first how the
//    time per example should change, and explain what you measure with the weight's 785 KiB
//    and your matmul's loop order in mind.
//
// Next: module 04, losses. A network's output means nothing until something says how wrong
// it is: mean squared error, cross-entropy computed stably from logits with the log-sum-exp
// of module 02, binary cross-entropy, and accuracy. With a loss and the single-layer model
// you built here, milestone 1, the perceptron (1957), separates two real Fashion-MNIST classes.
