#pragma once
/// Adam (Kingma and Ba, 2015) with Keras' defaults and Keras' form of bias correction.

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "nn/optimizers/optimizer.hpp"

namespace nn {

/// Adam optimizer, updating exactly as `keras.optimizers.Adam` does.
///
/// For update t (1-based), gradient g, moments m and v (zero at first):
///   m = m + (1 - beta1) * (g - m)
///   v = v + (1 - beta2) * (g^2 - v)
///   alpha = learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t)
///   w = w - alpha * m / (sqrt(v) + epsilon)
/// Keras folds the bias correction into alpha, so epsilon is added to the uncorrected sqrt(v),
/// not to the square root of the bias-corrected v. Early steps differ slightly from the
/// textbook form because of that.
template <typename Scalar>
class Adam : public Optimizer<Scalar> {
 public:
  explicit Adam(double learning_rate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double epsilon = 1e-7)
      : learning_rate_(learning_rate), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
    const double inf = std::numeric_limits<double>::infinity();
    this->check_range("Adam", "learning_rate", learning_rate, 0.0, false, inf, false);
    this->check_range("Adam", "beta1", beta1, 0.0, true, 1.0, false);
    this->check_range("Adam", "beta2", beta2, 0.0, true, 1.0, false);
    this->check_range("Adam", "epsilon", epsilon, 0.0, false, inf, false);
  }

  std::string type() const override { return "Adam"; }

  LayerConfig config() const override {
    LayerConfig c;
    c.set("learning_rate", learning_rate_);
    c.set("beta1", beta1_);
    c.set("beta2", beta2_);
    c.set("epsilon", epsilon_);
    return c;
  }

  /// Rebuilds an Adam from the hyper-parameters that `config()` wrote.
  static std::unique_ptr<Optimizer<Scalar>> from_config(const LayerConfig& c) {
    return std::make_unique<Adam>(c.number("learning_rate"), c.number("beta1"),
                                  c.number("beta2"), c.number("epsilon"));
  }

  Index slots_per_parameter() const override { return 2; }

  double learning_rate() const override { return learning_rate_; }
  void set_learning_rate(double learning_rate) override {
    const double inf = std::numeric_limits<double>::infinity();
    this->check_range("Adam", "learning_rate", learning_rate, 0.0, false, inf, false);
    learning_rate_ = learning_rate;
  }

  double beta1() const { return beta1_; }
  double beta2() const { return beta2_; }
  double epsilon() const { return epsilon_; }

 protected:
  void update(const std::vector<Parameter<Scalar>>& parameters, std::int64_t step) override {
    // The step-dependent factors are computed in double once per update.
    const double t = static_cast<double>(step);
    const double alpha_d =
        learning_rate_ * std::sqrt(1.0 - std::pow(beta2_, t)) / (1.0 - std::pow(beta1_, t));
    const auto alpha = static_cast<Scalar>(alpha_d);
    const auto one_minus_beta1 = static_cast<Scalar>(1.0 - beta1_);
    const auto one_minus_beta2 = static_cast<Scalar>(1.0 - beta2_);
    const auto epsilon = static_cast<Scalar>(epsilon_);

    auto& state = this->state();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      auto w = parameters[i].value->flat();
      auto g = parameters[i].grad->flat();
      auto m = state[2 * i].flat();
      auto v = state[2 * i + 1].flat();
      m += one_minus_beta1 * (g - m);
      v += one_minus_beta2 * (g.cwiseProduct(g) - v);
      w.array() -= alpha * m.array() / (v.array().sqrt() + epsilon);
    }
  }

 private:
  double learning_rate_;
  double beta1_;
  double beta2_;
  double epsilon_;
};

}  // namespace nn
