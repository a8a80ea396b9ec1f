#include <gtest/gtest.h>

#include <tinytorch/core/optim.hpp>
