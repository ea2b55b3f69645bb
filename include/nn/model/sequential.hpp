#pragma once
/// Sequential: a stack of layers with Keras' workflow of compile, fit, evaluate, predict, save.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/random.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/data/batch_source.hpp"
#include "nn/data/tensor_dataset.hpp"
#include "nn/layers/layer.hpp"
#include "nn/losses/softmax_cross_entropy.hpp"
#include "nn/model/fit_options.hpp"
#include "nn/model/history.hpp"
#include "nn/model/model_file.hpp"
#include "nn/model/registry.hpp"
#include "nn/model/serialization.hpp"
#include "nn/model/summary.hpp"
#include "nn/optimizers/optimizer.hpp"

namespace nn {

namespace detail {

/// A stop request that a signal handler may set while fit runs on the main thread.
class StopFlag {
 public:
  StopFlag() = default;
  StopFlag(const StopFlag& other) : value_(other.value_.load()) {}
  StopFlag& operator=(const StopFlag& other) {
    value_.store(other.value_.load());
    return *this;
  }
  void set(bool value) { value_.store(value); }
  bool get() const { return value_.load(); }

 private:
  std::atomic<bool> value_{false};
};

template <typename Scalar, typename T>
inline constexpr bool is_layer_v = std::is_base_of_v<Layer<Scalar>, std::decay_t<T>>;

}  // namespace detail

/// A linear stack of layers trained on class labels, as Keras' `keras.Sequential`.
///
/// The model receives the per-sample input shape at construction (e.g. [180, 180, 3]), so `build()`
/// can infer every layer's output shape, name each unnamed layer as Keras does ("conv2d",
/// "conv2d_1", "max_pooling2d", ...) and initialise the parameters. Layer i (0-based) draws its
/// initial parameters from `Random(Random::derive_seed(seed, 2 i))`; random layers (dropout,
/// augmentation) are reseeded at the start of every epoch e with
/// `derive_seed(derive_seed(seed, 2 i + 1), e)`. One seed therefore always gives the same model
/// and the same training run, whatever the thread count, and a run resumed at epoch e repeats
/// what an uninterrupted run would have done.
///
/// Messages number layers from 1, as the rows of `summary()`.
///
/// Limitation: the only loss is sparse categorical cross-entropy on logits (SoftmaxCrossEntropy),
/// and the only metric is accuracy, which is what image classification needs.
template <typename Scalar>
class Sequential {
 public:
  /// The seed used when none is given.
  static constexpr std::uint64_t default_seed = 0;

  /// Creates an empty model for samples of `input_shape`, e.g. {180, 180, 3}.
  explicit Sequential(Shape input_shape, std::uint64_t seed = default_seed)
      : input_shape_(std::move(input_shape)), seed_(seed) {
    if (input_shape_.rank() < 1) {
      throw ShapeError("Sequential: expected a per-sample input shape such as [H, W, C] or [F], "
                       "got " + input_shape_.to_string());
    }
    for (Index d : input_shape_.dims()) {
      if (d < 1) {
        throw ShapeError("Sequential: expected an input shape with positive extents, got " +
                         input_shape_.to_string());
      }
    }
  }

  /// Creates a model from its layers: `Sequential<float> m({28, 28, 1}, Flatten<float>(),
  /// Dense<float>(10));`
  template <typename... Layers,
            typename = std::enable_if_t<(sizeof...(Layers) > 0) &&
                                        (detail::is_layer_v<Scalar, Layers> && ...)>>
  Sequential(Shape input_shape, Layers&&... layers)
      : Sequential(std::move(input_shape), default_seed) {
    (add(std::forward<Layers>(layers)), ...);
  }

  /// Creates a model from a seed and its layers.
  template <typename... Layers,
            typename = std::enable_if_t<(sizeof...(Layers) > 0) &&
                                        (detail::is_layer_v<Scalar, Layers> && ...)>>
  Sequential(Shape input_shape, std::uint64_t seed, Layers&&... layers)
      : Sequential(std::move(input_shape), seed) {
    (add(std::forward<Layers>(layers)), ...);
  }

  Sequential(Sequential&&) = default;
  Sequential& operator=(Sequential&&) = default;

  // ---------------------------------------------------------------------------------------------
  // Layers and shapes

  /// Appends a layer. An unnamed layer gets Keras' default name; a name already used in this
  /// model is a ShapeError.
  Sequential& add(std::unique_ptr<Layer<Scalar>> layer) {
    if (!layer) throw ShapeError("Sequential::add: expected a layer, got a null pointer");
    if (layer->name().empty()) {
      layer->set_name(unique_name(detail::keras_snake_case(layer->type())));
    } else {
      for (std::size_t i = 0; i < layers_.size(); ++i) {
        if (layers_[i]->name() == layer->name()) {
          throw ShapeError("Sequential::add: layer name \"" + layer->name() +
                           "\" is already used by layer " + std::to_string(i + 1) +
                           "; names must be unique within a model");
        }
      }
    }
    layers_.push_back(std::move(layer));
    parameters_cached_ = false;
    // The optimizer's state belongs to the old parameter list.
    if (optimizer_) optimizer_->reset();
    return *this;
  }

  /// Appends a copy (or the moved value) of any layer, e.g. `model.add(Dense<float>(10))`.
  template <typename LayerT, typename = std::enable_if_t<detail::is_layer_v<Scalar, LayerT>>>
  Sequential& add(LayerT&& layer) {
    return add(std::unique_ptr<Layer<Scalar>>(
        std::make_unique<std::decay_t<LayerT>>(std::forward<LayerT>(layer))));
  }

  /// Removes the last layer, as Keras' `Sequential.pop`.
  void pop() {
    if (layers_.empty()) throw ShapeError("Sequential::pop: expected a layer to remove, got none");
    layers_.pop_back();
    if (output_shapes_.size() > layers_.size()) output_shapes_.resize(layers_.size());
    parameters_cached_ = false;
    if (optimizer_) optimizer_->reset();
  }

  /// Infers every layer's output shape and initialises the parameters of layers not built yet.
  ///
  /// Called by every function that needs the shapes, so calling it is optional. Throws
  /// ShapeError naming the layer, its position, the shape it received and the shape it needs.
  void build() {
    for (std::size_t i = output_shapes_.size(); i < layers_.size(); ++i) {
      const Shape& input = i == 0 ? input_shape_ : output_shapes_[i - 1];
      Layer<Scalar>& layer = *layers_[i];
      Random rng(Random::derive_seed(seed_, 2 * i));
      Shape output;
      try {
        output = layer.build(input, rng);
      } catch (const ShapeError& e) {
        throw ShapeError("Sequential: layer " + std::to_string(i + 1) + " \"" + layer.name() +
                         "\" (" + layer.type() + ") received input " + input.to_string() +
                         ": " + e.what());
      }
      layer.reseed(random_layer_seed(i, 0));
      output_shapes_.push_back(std::move(output));
    }
  }

  bool built() const { return output_shapes_.size() == layers_.size(); }

  Index layer_count() const { return static_cast<Index>(layers_.size()); }

  /// Returns layer i (0-based).
  Layer<Scalar>& layer(Index i) { return *layers_.at(static_cast<std::size_t>(i)); }
  const Layer<Scalar>& layer(Index i) const { return *layers_.at(static_cast<std::size_t>(i)); }

  /// Returns the layer with this name, as Keras' `get_layer`; ShapeError when there is none.
  Layer<Scalar>& layer(const std::string& name) {
    for (auto& l : layers_) {
      if (l->name() == name) return *l;
    }
    throw ShapeError("Sequential::layer: no layer named \"" + name + "\"");
  }

  const Shape& input_shape() const { return input_shape_; }

  /// Returns the per-sample output shape of layer i (0-based), building the model first.
  const Shape& output_shape(Index i) {
    build();
    return output_shapes_.at(static_cast<std::size_t>(i));
  }

  /// Returns the per-sample output shape of the model, e.g. [23] for 23 class logits.
  Shape output_shape() {
    build();
    return layers_.empty() ? input_shape_ : output_shapes_.back();
  }

  std::uint64_t seed() const { return seed_; }

  /// The model's name shown by summary(); "sequential" by default.
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  /// Returns every trainable tensor of every layer, in layer order.
  std::vector<Parameter<Scalar>> parameters() {
    cache_parameters();
    return parameters_;
  }

  /// Number of trainable scalars.
  Index parameter_count() {
    Index n = 0;
    for (const auto& p : parameters()) n += p.value->size();
    return n;
  }

  /// Returns Keras' summary table: layer name and type, output shape, parameter count, totals.
  std::string summary() {
    build();
    const int width = 65;
    const std::vector<int> ends{29, 55, 65};  // Keras' column positions 0.45, 0.85, 1.0 of 65
    std::string text = "Model: \"" + name_ + "\"\n";
    text += std::string(width, '_') + '\n';
    text += detail::summary_row({"Layer (type)", "Output Shape", "Param #"}, ends);
    text += std::string(width, '=') + '\n';
    Index total = 0;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const Index count = layers_[i]->parameter_count();
      total += count;
      text += detail::summary_row({layers_[i]->name() + " (" + layers_[i]->type() + ")",
                                   output_shapes_[i].to_keras_string(), std::to_string(count)},
                                  ends);
      if (i + 1 < layers_.size()) text += '\n';
    }
    text += std::string(width, '=') + '\n';
    text += "Total params: " + detail::thousands(total) + '\n';
    text += "Trainable params: " + detail::thousands(total) + '\n';
    text += "Non-trainable params: 0\n";
    text += std::string(width, '_') + '\n';
    return text;
  }

  // ---------------------------------------------------------------------------------------------
  // Training

  /// Sets the optimizer and the loss, as Keras' `compile`; e.g. `model.compile(Adam<float>())`.
  void compile(std::unique_ptr<Optimizer<Scalar>> optimizer,
               SoftmaxCrossEntropy<Scalar> loss = SoftmaxCrossEntropy<Scalar>()) {
    if (!optimizer) {
      throw ShapeError("Sequential::compile: expected an optimizer, got a null pointer");
    }
    optimizer_ = std::move(optimizer);
    loss_ = std::move(loss);
  }

  template <typename OptimizerT,
            typename = std::enable_if_t<std::is_base_of_v<Optimizer<Scalar>, OptimizerT>>>
  void compile(OptimizerT optimizer,
               SoftmaxCrossEntropy<Scalar> loss = SoftmaxCrossEntropy<Scalar>()) {
    std::unique_ptr<Optimizer<Scalar>> owned = std::make_unique<OptimizerT>(std::move(optimizer));
    compile(std::move(owned), std::move(loss));
  }

  bool compiled() const { return optimizer_ != nullptr; }

  /// Returns the optimizer set by compile(); throws ShapeError before compile().
  Optimizer<Scalar>& optimizer() {
    require_compiled("Sequential::optimizer");
    return *optimizer_;
  }

  /// Runs the layers on a batch [N, ...input_shape] and returns the output [N, ...output_shape].
  ///
  /// The result is owned by the last layer and valid until the next forward().
  const Tensor<Scalar>& forward(const Tensor<Scalar>& x, Mode mode) {
    build();
    check_batch("Sequential::forward", x);
    // A layer and the next one run as one step where the pair has a fused implementation
    // (Conv2D then MaxPool2D); fused_with_next_ records which, for backward().
    fused_with_next_.resize(layers_.size());
    const Tensor<Scalar>* current = &x;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const Tensor<Scalar>* fused = nullptr;
      if (i + 1 < layers_.size()) {
        fused = layers_[i]->forward_with_next(*current, *layers_[i + 1], mode);
      }
      fused_with_next_[i] = fused != nullptr;
      if (fused) {
        current = fused;
        fused_with_next_[++i] = false;
      } else {
        current = &layers_[i]->forward(*current, mode);
      }
    }
    return *current;
  }

  /// Back-propagates dL/doutput through every layer of the last training forward(), adding
  /// into the parameter gradients, and returns dL/dinput.
  const Tensor<Scalar>& backward(const Tensor<Scalar>& dy) {
    for (auto& l : layers_) l->set_input_gradient_needed(true);
    return backward_from(dy, 0);
  }

  /// Sets every parameter gradient to zero; fit does this once per batch.
  void zero_gradients() {
    cache_parameters();
    for (const auto& p : parameters_) p.grad->set_zero();
  }

  /// Runs one optimisation step on a batch and returns its mean loss, as Keras'
  /// `train_on_batch`. Throws TrainingError, before changing any weight, when the loss is
  /// NaN or infinite.
  double train_on_batch(const Tensor<Scalar>& x, const std::vector<std::int32_t>& labels) {
    require_trainable("Sequential::train_on_batch");
    const StepResult result = train_step(x, labels);
    if (!std::isfinite(result.loss)) {
      throw TrainingError("Sequential::train_on_batch: the loss is " + describe(result.loss) +
                          "; the weights were not updated. Lower the learning rate or check the "
                          "batch for NaN or infinite values");
    }
    apply_step();
    return result.loss;
  }

  /// Trains for epochs `options.initial_epoch` to `options.epochs - 1` and returns the history.
  ///
  /// Each epoch calls `train.begin_epoch(epoch)`, then for every batch: zeroes the gradients,
  /// runs forward in Mode::Train, the loss, backward, and one optimizer update. After the last
  /// batch it evaluates `validation` (if given) in Mode::Infer. `stop_training()` ends fit
  /// after the current batch; that unfinished epoch is not recorded. Throws TrainingError
  /// naming the epoch and step when the loss is NaN or infinite, before that step updates any
  /// weight.
  History fit(BatchSource<Scalar>& train, const FitOptions& options = FitOptions(),
              BatchSource<Scalar>* validation = nullptr) {
    require_trainable("Sequential::fit");
    check_source("Sequential::fit", train, "training data");
    if (validation) check_source("Sequential::fit", *validation, "validation data");
    if (options.initial_epoch < 0) {
      throw ShapeError("Sequential::fit: initial_epoch must be >= 0, got " +
                       std::to_string(options.initial_epoch));
    }
    stop_requested_.set(false);

    History history;
    for (Index epoch = options.initial_epoch; epoch < options.epochs; ++epoch) {
      if (options.on_epoch_begin) options.on_epoch_begin(epoch, options.epochs);
      const auto start = std::chrono::steady_clock::now();
      reseed_random_layers(epoch);
      train.begin_epoch(epoch);

      // Running metrics are means over the samples seen in this epoch, as Keras reports them.
      const Index steps = train.batch_count();
      double loss_sum = 0.0;
      Index correct = 0;
      Index seen = 0;
      Index step = 0;
      bool stopped = false;
      while (train.next_batch(batch_images_, batch_labels_)) {
        ++step;
        const StepResult result = train_step(batch_images_, batch_labels_);
        if (!std::isfinite(result.loss)) {
          throw TrainingError(
              "Sequential::fit: the loss is " + describe(result.loss) + " at epoch " +
              std::to_string(epoch + 1) + "/" + std::to_string(options.epochs) + ", step " +
              std::to_string(step) + "/" + std::to_string(steps) +
              "; the weights were not updated by this step. Lower the learning rate or check "
              "the data for NaN or infinite values");
        }
        apply_step();
        loss_sum += result.loss_sum;
        correct += result.correct;
        seen += result.samples;
        if (options.on_batch_end) {
          options.on_batch_end(step, steps, loss_sum / static_cast<double>(seen),
                               static_cast<double>(correct) / static_cast<double>(seen));
        }
        if (stop_requested_.get()) {
          stopped = true;
          break;
        }
      }
      if (stopped) {
        history.stopped_early = true;
        break;
      }
      if (seen == 0) {
        throw DataError("Sequential::fit: the training data gave no batch in epoch " +
                        std::to_string(epoch + 1) + "; expected " + std::to_string(steps));
      }

      EpochLogs logs;
      logs.epoch = epoch;
      logs.loss = loss_sum / static_cast<double>(seen);
      logs.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
      if (validation) {
        const Evaluation val = evaluate(*validation);
        logs.has_validation = true;
        logs.val_loss = val.loss;
        logs.val_accuracy = val.accuracy;
      }
      const auto elapsed = std::chrono::steady_clock::now() - start;
      logs.seconds = std::chrono::duration<double>(elapsed).count();
      epochs_completed_ = epoch + 1;
      history.append(logs);
      if (options.on_epoch_end) options.on_epoch_end(logs);
      if (stop_requested_.get()) {
        history.stopped_early = epoch + 1 < options.epochs;
        break;
      }
    }
    return history;
  }

  /// Trains on `train` and validates on `validation` after each epoch, as Keras'
  /// `fit(train, validation_data=validation)`: `model.fit(train, val, options)`.
  History fit(BatchSource<Scalar>& train, BatchSource<Scalar>& validation,
              const FitOptions& options = FitOptions()) {
    return fit(train, options, &validation);
  }

  /// Trains on samples [N, ...input_shape] and their labels, batched and shuffled as set in
  /// `options`. The shuffle order comes from the model's seed.
  History fit(const Tensor<Scalar>& x, const std::vector<std::int32_t>& labels,
              const FitOptions& options = FitOptions()) {
    require_trainable("Sequential::fit");
    check_labels("Sequential::fit", labels, "training labels");
    auto train = TensorDataset<Scalar>::view(x, labels, options.batch_size, options.shuffle,
                                             shuffle_seed());
    return fit(train, options);
  }

  /// Trains on tensors and validates on `validation_x` and `validation_labels` after each epoch.
  History fit(const Tensor<Scalar>& x, const std::vector<std::int32_t>& labels,
              const Tensor<Scalar>& validation_x,
              const std::vector<std::int32_t>& validation_labels,
              const FitOptions& options = FitOptions()) {
    require_trainable("Sequential::fit");
    check_labels("Sequential::fit", labels, "training labels");
    check_labels("Sequential::fit", validation_labels, "validation labels");
    auto train = TensorDataset<Scalar>::view(x, labels, options.batch_size, options.shuffle,
                                             shuffle_seed());
    auto validation =
        TensorDataset<Scalar>::view(validation_x, validation_labels, options.batch_size, false);
    return fit(train, options, &validation);
  }

  /// Asks a running fit to stop after its current batch. Safe to call from a signal handler
  /// (it only stores to a lock-free atomic) or from a callback.
  void stop_training() { stop_requested_.set(true); }

  /// Whether stop_training() was called since fit last started.
  bool stop_requested() const { return stop_requested_.get(); }

  /// One past the index of the last epoch that fit finished (0 before any); saved with the
  /// model. It is not a total over fit calls: a second fit from `initial_epoch` 0 runs epochs
  /// 0, 1, ... again, with the same shuffles and random-layer draws as the first. To continue
  /// a run instead, pass this value as `FitOptions::initial_epoch` and raise `epochs`.
  Index epochs_completed() const { return epochs_completed_; }

  // ---------------------------------------------------------------------------------------------
  // Inference

  /// Returns the mean loss and the accuracy over every batch of `data`, in Mode::Infer.
  Evaluation evaluate(BatchSource<Scalar>& data) {
    build();
    check_source("Sequential::evaluate", data, "data");
    data.begin_epoch(0);
    double loss_sum = 0.0;
    Index correct = 0;
    Index seen = 0;
    while (data.next_batch(eval_images_, eval_labels_)) {
      const Tensor<Scalar>& logits = forward(eval_images_, Mode::Infer);
      const auto n = static_cast<double>(eval_labels_.size());
      loss_sum += SoftmaxCrossEntropy<Scalar>::loss(logits, eval_labels_) * n;
      correct += count_correct(logits, eval_labels_);
      seen += static_cast<Index>(eval_labels_.size());
    }
    Evaluation result;
    result.samples = seen;
    if (seen > 0) {
      result.loss = loss_sum / static_cast<double>(seen);
      result.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    }
    return result;
  }

  /// Returns the mean loss and the accuracy on samples [N, ...input_shape] and their labels.
  Evaluation evaluate(const Tensor<Scalar>& x, const std::vector<std::int32_t>& labels,
                      Index batch_size = 32) {
    check_labels("Sequential::evaluate", labels, "labels");
    auto data = TensorDataset<Scalar>::view(x, labels, batch_size, false);
    return evaluate(data);
  }

  /// Returns the logits [N, ...output_shape] for samples [N, ...input_shape], computed in
  /// Mode::Infer in batches of `batch_size`. `softmax()` turns them into probabilities.
  Tensor<Scalar> predict(const Tensor<Scalar>& x, Index batch_size = 32) {
    build();
    if (batch_size < 1) {
      throw ShapeError("Sequential::predict: batch_size must be >= 1, got " +
                       std::to_string(batch_size));
    }
    if (x.rank() != input_shape_.rank() + 1 || x.shape().without_batch() != input_shape_) {
      // A single sample passed without its batch extent gets a hint.
      const std::string single = input_shape_.with_batch(1).to_string();
      const std::string hint =
          x.shape() == input_shape_ ? "; add a batch extent for a single sample: " + single
                                    : std::string();
      throw ShapeError("Sequential::predict: expected input " + batch_string() + ", got " +
                       x.shape().to_string() + hint);
    }
    const Index n = x.dim(0);
    Tensor<Scalar> result(output_shape().with_batch(n));
    if (n == 0) return result;
    if (n <= batch_size) {
      const Tensor<Scalar>& y = forward(x, Mode::Infer);
      std::copy(y.data(), y.data() + y.size(), result.data());
      return result;
    }
    const Index sample_size = input_shape_.size();
    const Index output_size = result.size() / n;
    for (Index start = 0; start < n; start += batch_size) {
      const Index count = std::min(batch_size, n - start);
      eval_images_.resize(input_shape_.with_batch(count));
      std::copy(x.data() + start * sample_size, x.data() + (start + count) * sample_size,
                eval_images_.data());
      const Tensor<Scalar>& y = forward(eval_images_, Mode::Infer);
      std::copy(y.data(), y.data() + y.size(), result.data() + start * output_size);
    }
    return result;
  }

  // ---------------------------------------------------------------------------------------------
  // Saving and loading

  /// Writes the architecture, the weights, the optimizer and its state, and the epoch count to
  /// `path` in the format of docs/model-format.md. The file appears complete or not at all: it
  /// is written to a temporary file in the same folder, synced and renamed.
  void save(const std::string& path) {
    build();
    detail::ByteWriter out;
    out.string(name_);
    out.shape(input_shape_);
    out.u64(seed_);
    out.i64(static_cast<std::int64_t>(epochs_completed_));
    out.u32(static_cast<std::uint32_t>(layers_.size()));
    for (auto& l : layers_) {
      out.string(l->type());
      out.string(l->name());
      detail::write_config(out, l->config());
      const auto params = l->parameters();
      out.u32(static_cast<std::uint32_t>(params.size()));
      for (const auto& p : params) {
        out.string(p.name);
        out.shape(p.value->shape());
        out.values(*p.value);
      }
    }
    out.string(optimizer_ ? loss_.type() : std::string());
    out.u8(optimizer_ ? 1 : 0);
    if (optimizer_) {
      out.string(optimizer_->type());
      detail::write_config(out, optimizer_->config());
      out.i64(optimizer_->iterations());
      const auto& state = optimizer_->state();
      out.u32(static_cast<std::uint32_t>(state.size()));
      for (const auto& t : state) {
        out.shape(t.shape());
        out.values(t);
      }
    }
    detail::write_file_atomically(
        path, detail::frame_model_file(out.bytes(), static_cast<std::uint32_t>(sizeof(Scalar))));
  }

  /// Rebuilds a model saved by save(): layers through make_layer, weights, the optimizer with
  /// its state, and the epoch count. Throws DataError naming the file and what is wrong.
  static Sequential load(const std::string& path) {
    const auto file = detail::parse_model_file<Scalar>(path, detail::read_file(path));
    Sequential model = [&] {
      try {
        return Sequential(file.input_shape, file.seed);
      } catch (const ShapeError& e) {
        throw DataError(path + ": invalid model: " + e.what());
      }
    }();
    model.name_ = file.model_name;
    for (std::size_t i = 0; i < file.layers.size(); ++i) {
      const auto& saved = file.layers[i];
      std::unique_ptr<Layer<Scalar>> layer;
      try {
        layer = make_layer<Scalar>(saved.type, saved.config);
        layer->set_name(saved.name);
        model.add(std::move(layer));
      } catch (const std::exception& e) {
        throw DataError(path + ": layer " + std::to_string(i + 1) + " \"" + saved.name +
                        "\" (" + saved.type + "): " + e.what());
      }
    }
    try {
      model.build();
    } catch (const ShapeError& e) {
      throw DataError(path + ": invalid architecture: " + e.what());
    }
    model.assign_weights(path, file);
    model.epochs_completed_ = static_cast<Index>(file.epochs_completed);

    if (file.has_optimizer) {
      if (file.loss != SoftmaxCrossEntropy<Scalar>().type()) {
        throw DataError(path + ": unknown loss \"" + file.loss + "\"; expected \"" +
                        SoftmaxCrossEntropy<Scalar>().type() + "\"");
      }
      try {
        model.compile(make_optimizer<Scalar>(file.optimizer.type, file.optimizer.config));
      } catch (const std::exception& e) {
        throw DataError(path + ": optimizer \"" + file.optimizer.type + "\": " + e.what());
      }
      model.restore_optimizer_state(path, file.optimizer);
    }
    return model;
  }

  /// Copies the weights stored in `path` into this model, as Keras' `load_weights`. Layer
  /// types and parameter shapes must match this model's; names and the optimizer are kept.
  void load_weights(const std::string& path) {
    build();
    assign_weights(path, detail::parse_model_file<Scalar>(path, detail::read_file(path)));
  }

 private:
  struct StepResult {
    double loss = 0.0;      // mean over the batch
    double loss_sum = 0.0;  // sum over the batch
    Index correct = 0;
    Index samples = 0;
  };

  // Forward, loss and backward of one batch; the caller checks the loss and then applies the
  // update, so a non-finite loss never reaches the weights.
  StepResult train_step(const Tensor<Scalar>& x, const std::vector<std::int32_t>& labels) {
    zero_gradients();
    const Tensor<Scalar>& logits = forward(x, Mode::Train);
    StepResult result;
    result.loss = loss_.forward(logits, labels);
    result.loss_sum = loss_.last_loss_sum();
    result.samples = static_cast<Index>(labels.size());
    if (!std::isfinite(result.loss)) return result;
    result.correct = count_correct(logits, labels);

    // Layers in front of the first one with parameters (augmentation, Rescaling) need no
    // gradient, so back-propagation stops there instead of computing an unused dL/dinput.
    // The first trainable layer's own input gradient is not needed either.
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      layers_[i]->set_input_gradient_needed(i != first_trainable_layer_);
    }
    backward_from(loss_.gradient(), first_trainable_layer_);
    return result;
  }

  void apply_step() { optimizer_->apply(parameters_); }

  // Collects every layer's parameters once after the layer list changes, so training steps
  // reuse one vector instead of allocating a new one per batch.
  void cache_parameters() {
    build();
    if (parameters_cached_) return;
    parameters_.clear();
    first_trainable_layer_ = layers_.size();
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const auto layer_parameters = layers_[i]->parameters();
      if (!layer_parameters.empty() && first_trainable_layer_ == layers_.size()) {
        first_trainable_layer_ = i;
      }
      parameters_.insert(parameters_.end(), layer_parameters.begin(), layer_parameters.end());
    }
    parameters_cached_ = true;
  }

  // Back-propagates through layers [first, end) of the last forward() and returns the gradient
  // with respect to the input of layer `first`; a fused pair goes back as one step.
  const Tensor<Scalar>& backward_from(const Tensor<Scalar>& dy, std::size_t first) {
    const Tensor<Scalar>* current = &dy;
    std::size_t i = layers_.size();
    while (i > first) {
      --i;
      if (i > first && i - 1 < fused_with_next_.size() && fused_with_next_[i - 1]) {
        --i;
        current = &layers_[i]->backward_with_next(*current, *layers_[i + 1]);
      } else {
        current = &layers_[i]->backward(*current);
      }
    }
    return *current;
  }

  void require_compiled(const char* where) const {
    if (!optimizer_) {
      throw ShapeError(std::string(where) + ": expected a compiled model, got one without an optimizer; call "
                       "compile(nn::Adam<Scalar>()) first");
    }
  }

  // Checks what training needs: an optimizer, at least one layer and class logits as output.
  // `where` is a literal: these checks run on every batch and must not allocate.
  void require_trainable(const char* where) {
    require_compiled(where);
    if (layers_.empty()) {
      throw ShapeError(std::string(where) + ": expected a model with layers, got an empty model; add layers "
                       "before training");
    }
    build();
    const Shape& out = layers_.empty() ? input_shape_ : output_shapes_.back();
    if (out.rank() != 1) {
      throw ShapeError(std::string(where) + ": expected the last layer to output class logits [C], got " +
                       out.to_string() + "; end the model with Flatten and Dense(classes)");
    }
    cache_parameters();
  }

  void check_source(const std::string& where, const BatchSource<Scalar>& source,
                    const std::string& what) {
    if (source.sample_shape() != input_shape_) {
      throw ShapeError(where + ": expected " + what + " samples of the model's input shape " +
                       input_shape_.to_string() + ", got " + source.sample_shape().to_string());
    }
    if (source.sample_count() < 1) {
      throw DataError(where + ": the " + what + " has no samples");
    }
    const Shape out = output_shape();
    if (out.rank() == 1 && source.class_count() > out[0]) {
      throw ShapeError(where + ": expected at most " + std::to_string(out[0]) + " classes (the "
                       "model outputs " + std::to_string(out[0]) + " logits), got " +
                       std::to_string(source.class_count()) + " classes in the " + what +
                       "; make the last layer Dense(" + std::to_string(source.class_count()) +
                       ")");
    }
  }

  // Rejects a label outside [0, C) for a model with C logits. The tensor overloads check this
  // before batching, so the message names the label instead of inferring a larger class count
  // from it and suggesting a bigger last layer, which hides labels that start at 1.
  void check_labels(const std::string& where, const std::vector<std::int32_t>& labels,
                    const std::string& what) {
    const Shape out = output_shape();
    if (out.rank() != 1) return;  // a model without class logits is reported elsewhere
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const std::int32_t label = labels[i];
      if (label >= 0 && label < out[0]) continue;
      const std::string classes = std::to_string(out[0]);
      std::string message = where + ": label " + std::to_string(label) + " at index " +
                            std::to_string(i) + " of the " + what + " is out of range; " +
                            "expected a class index in [0, " + classes + ") for the model's " +
                            classes + " logits";
      if (label >= out[0]) {
        message += "; labels must start at 0, or the last layer needs Dense(" +
                   std::to_string(static_cast<Index>(label) + 1) + ")";
      }
      throw ShapeError(message);
    }
  }

  // Returns whether x is [N, ...input_shape] with N >= 1, without allocating.
  bool is_batch(const Tensor<Scalar>& x) const {
    if (x.rank() != input_shape_.rank() + 1 || x.dim(0) < 1) return false;
    for (Index i = 0; i < input_shape_.rank(); ++i) {
      if (x.dim(i + 1) != input_shape_[i]) return false;
    }
    return true;
  }

  void check_batch(const char* where, const Tensor<Scalar>& x) const {
    if (!is_batch(x)) {
      throw ShapeError(std::string(where) + ": expected input " + batch_string() + " with N >= 1, got " +
                       x.shape().to_string());
    }
  }

  std::string batch_string() const {
    std::string text = "[N";
    for (Index d : input_shape_.dims()) text += ", " + std::to_string(d);
    return text + "]";
  }

  static std::string describe(double value) {
    if (std::isnan(value)) return "NaN";
    return value > 0 ? "+inf" : "-inf";
  }

  // Returns "base", or "base_1", "base_2", ... when that name is taken.
  std::string unique_name(const std::string& base) const {
    const auto taken = [&](const std::string& candidate) {
      for (const auto& l : layers_) {
        if (l->name() == candidate) return true;
      }
      return false;
    };
    if (!taken(base)) return base;
    for (std::size_t k = 1;; ++k) {
      std::string candidate = base + "_" + std::to_string(k);
      if (!taken(candidate)) return candidate;
    }
  }

  std::uint64_t random_layer_seed(std::size_t layer, Index epoch) const {
    return Random::derive_seed(Random::derive_seed(seed_, 2 * layer + 1),
                               static_cast<std::uint64_t>(epoch));
  }

  void reseed_random_layers(Index epoch) {
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      layers_[i]->reseed(random_layer_seed(i, epoch));
    }
  }

  // The stream that shuffles the samples of fit's tensor overloads; distinct from the layers'.
  std::uint64_t shuffle_seed() const { return Random::derive_seed(seed_, std::uint64_t(1) << 40); }

  // Copies the weights of a parsed file into this built model after checking that every
  // layer type and parameter shape matches.
  void assign_weights(const std::string& path, const detail::ModelFile<Scalar>& file) {
    if (file.layers.size() != layers_.size()) {
      throw DataError(path + ": expected " + std::to_string(layers_.size()) +
                      " layers (as in the model), got " + std::to_string(file.layers.size()));
    }
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      Layer<Scalar>& l = *layers_[i];
      const auto& saved = file.layers[i];
      const std::string where =
          path + ": layer " + std::to_string(i + 1) + " \"" + l.name() + "\"";
      if (saved.type != l.type()) {
        throw DataError(where + " expected type " + l.type() + ", got " + saved.type);
      }
      const auto params = l.parameters();
      if (saved.parameters.size() != params.size()) {
        throw DataError(where + " expected " + std::to_string(params.size()) +
                        " parameter tensors, got " + std::to_string(saved.parameters.size()));
      }
      for (std::size_t p = 0; p < params.size(); ++p) {
        if (saved.parameters[p].name != params[p].name) {
          throw DataError(where + " parameter " + std::to_string(p + 1) + " expected \"" +
                          params[p].name + "\", got \"" + saved.parameters[p].name + "\"");
        }
        if (saved.parameters[p].value.shape() != params[p].value->shape()) {
          throw DataError(where + " " + params[p].name + " expected " +
                          params[p].value->shape().to_string() + ", got " +
                          saved.parameters[p].value.shape().to_string());
        }
      }
    }
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const auto params = layers_[i]->parameters();
      for (std::size_t p = 0; p < params.size(); ++p) {
        const Tensor<Scalar>& value = file.layers[i].parameters[p].value;
        std::copy(value.data(), value.data() + value.size(), params[p].value->data());
      }
    }
  }

  void restore_optimizer_state(const std::string& path,
                               const detail::SavedOptimizer<Scalar>& saved) {
    const auto params = parameters();
    const auto slots = static_cast<std::size_t>(optimizer_->slots_per_parameter());
    optimizer_->reset();
    optimizer_->set_iterations(saved.iterations);
    if (saved.state.empty() && saved.iterations == 0) return;  // saved before the first step
    if (saved.state.size() != params.size() * slots) {
      throw DataError(path + ": optimizer " + optimizer_->type() + " expected " +
                      std::to_string(params.size() * slots) + " state tensors (" +
                      std::to_string(slots) + " per parameter), got " +
                      std::to_string(saved.state.size()));
    }
    optimizer_->prepare(params);
    auto& state = optimizer_->state();
    for (std::size_t i = 0; i < state.size(); ++i) {
      if (saved.state[i].shape() != state[i].shape()) {
        throw DataError(path + ": optimizer state tensor " + std::to_string(i + 1) +
                        " expected " + state[i].shape().to_string() + ", got " +
                        saved.state[i].shape().to_string());
      }
      std::copy(saved.state[i].data(), saved.state[i].data() + saved.state[i].size(),
                state[i].data());
    }
  }

  Shape input_shape_;
  std::uint64_t seed_;
  std::string name_ = "sequential";
  std::vector<std::unique_ptr<Layer<Scalar>>> layers_;
  std::vector<Shape> output_shapes_;  // per-sample output of each built layer

  std::unique_ptr<Optimizer<Scalar>> optimizer_;
  SoftmaxCrossEntropy<Scalar> loss_;
  Index epochs_completed_ = 0;
  detail::StopFlag stop_requested_;

  std::vector<Parameter<Scalar>> parameters_;  // cache of parameters(), refreshed after add/pop
  bool parameters_cached_ = false;
  std::size_t first_trainable_layer_ = 0;  // index of the first layer with parameters
  std::vector<bool> fused_with_next_;  // per layer: ran fused with the next in the last forward()

  // Batch buffers reused across steps, so training allocates nothing after the first batch.
  Tensor<Scalar> batch_images_;
  std::vector<std::int32_t> batch_labels_;
  Tensor<Scalar> eval_images_;
  std::vector<std::int32_t> eval_labels_;
};

}  // namespace nn
