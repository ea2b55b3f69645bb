#pragma once
/// Stochastic gradient descent with optional (Nesterov) momentum, as Keras defines it.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "nn/optimizers/optimizer.hpp"

namespace nn {

/// SGD optimizer, updating exactly as `keras.optimizers.SGD` does.
///
/// Without momentum: w = w - learning_rate * g.
/// With momentum, velocity u starting at zero:
///   u = momentum * u - learning_rate * g
///   w = w + u                                    (classical)
///   w = w + momentum * u - learning_rate * g     (nesterov = true)
template <typename Scalar>
class SGD : public Optimizer<Scalar> {
 public:
  explicit SGD(double learning_rate = 0.01, double momentum = 0.0, bool nesterov = false)
      : learning_rate_(learning_rate), momentum_(momentum), nesterov_(nesterov) {
    const double inf = std::numeric_limits<double>::infinity();
    this->check_range("SGD", "learning_rate", learning_rate, 0.0, false, inf, false);
    this->check_range("SGD", "momentum", momentum, 0.0, true, 1.0, true);
  }

  std::string type() const override { return "SGD"; }

  LayerConfig config() const override {
    LayerConfig c;
    c.set("learning_rate", learning_rate_);
    c.set("momentum", momentum_);
    c.set("nesterov", nesterov_ ? "true" : "false");
    return c;
  }

  /// Rebuilds an SGD from the hyper-parameters that `config()` wrote.
  static std::unique_ptr<Optimizer<Scalar>> from_config(const LayerConfig& c) {
    const std::string& nesterov = c.text("nesterov");
    if (nesterov != "true" && nesterov != "false") {
      throw DataError("SGD: key \"nesterov\" expected true or false, got \"" + nesterov + "\"");
    }
    return std::make_unique<SGD>(c.number("learning_rate"), c.number("momentum"),
                                 nesterov == "true");
  }

  Index slots_per_parameter() const override { return momentum_ > 0.0 ? 1 : 0; }

  double learning_rate() const override { return learning_rate_; }
  void set_learning_rate(double learning_rate) override {
    const double inf = std::numeric_limits<double>::infinity();
    this->check_range("SGD", "learning_rate", learning_rate, 0.0, false, inf, false);
    learning_rate_ = learning_rate;
  }

  double momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }

 protected:
  void update(const std::vector<Parameter<Scalar>>& parameters, std::int64_t /*step*/) override {
    const auto lr = static_cast<Scalar>(learning_rate_);
    const auto momentum = static_cast<Scalar>(momentum_);
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      auto w = parameters[i].value->flat();
      auto g = parameters[i].grad->flat();
      if (momentum_ == 0.0) {
        w -= lr * g;
        continue;
      }
      auto u = this->state()[i].flat();
      u = momentum * u - lr * g;
      if (nesterov_) {
        w += momentum * u - lr * g;
      } else {
        w += u;
      }
    }
  }

 private:
  double learning_rate_;
  double momentum_;
  bool nesterov_;
};

}  // namespace nn
