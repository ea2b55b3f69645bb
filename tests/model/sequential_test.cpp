#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/model_test_support.hpp"
#include "nn/sequential.hpp"
#include "support/gradient_check.hpp"

namespace {

using nn::Activation;

// Flatten -> Dense(16, relu) -> Dense(2) on the 8x8 two-halves images.
nn::Sequential<float> two_halves_model(std::uint64_t seed = 7) {
  return nn::Sequential<float>({8, 8, 1}, seed, nn::Rescaling<float>(1.0 / 255.0),
                               nn::Flatten<float>(), nn::Dense<float>(16, Activation::ReLU),
                               nn::Dense<float>(2));
}

// A parameter-free layer whose backward pass must never run: it copies its input forward.
template <typename Scalar>
class ForwardOnly : public nn::Layer<Scalar> {
 public:
  std::string type() const override { return "ForwardOnly"; }
  nn::Shape build(const nn::Shape& input_shape, nn::Random&) override { return input_shape; }
  const nn::Tensor<Scalar>& forward(const nn::Tensor<Scalar>& x, nn::Mode) override {
    output_ = x;
    return output_;
  }
  const nn::Tensor<Scalar>& backward(const nn::Tensor<Scalar>&) override {
    throw std::logic_error("ForwardOnly::backward must not be called");
  }
  nn::LayerConfig config() const override { return {}; }
  static std::unique_ptr<nn::Layer<Scalar>> from_config(const nn::LayerConfig&) {
    return std::make_unique<ForwardOnly>();
  }

 private:
  nn::Tensor<Scalar> output_;
};

}  // namespace

TEST_CASE("Sequential infers every layer's output shape") {
  nn::Sequential<float> model({4, 4, 2}, nn::Flatten<float>(),
                              nn::Dense<float>(8, Activation::ReLU), nn::Dense<float>(3));
  CHECK_FALSE(model.built());
  model.build();
  CHECK(model.built());
  CHECK(model.output_shape(0) == nn::Shape{32});
  CHECK(model.output_shape(1) == nn::Shape{8});
  CHECK(model.output_shape(2) == nn::Shape{3});
  CHECK(model.output_shape() == nn::Shape{3});
  CHECK(model.parameter_count() == 32 * 8 + 8 + 8 * 3 + 3);
}

TEST_CASE("Sequential builds layers added after an earlier build") {
  nn::Sequential<float> model({6});
  model.add(nn::Dense<float>(4));
  CHECK(model.output_shape() == nn::Shape{4});
  model.add(nn::Dense<float>(2));
  CHECK(model.output_shape() == nn::Shape{2});
  model.pop();
  CHECK(model.output_shape() == nn::Shape{4});
}

TEST_CASE("Sequential build error names layer, position and shapes") {
  nn::Sequential<float> model({22, 22, 64});
  model.add(nn::Rescaling<float>(1.0)).add(nn::Dense<float>(128));
  CHECK_THROWS_WITH_AS(model.build(),
                       doctest::Contains("Sequential: layer 2 \"dense\" (Dense) received input "
                                         "[22, 22, 64]"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(model.build(), doctest::Contains("expected input [F] (rank 1)"),
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(model.build(), doctest::Contains("add a Flatten layer before Dense"),
                       nn::ShapeError);
}

TEST_CASE("Sequential rejects an invalid input shape") {
  CHECK_THROWS_WITH_AS(nn::Sequential<float>(nn::Shape{}),
                       doctest::Contains("expected a per-sample input shape"), nn::ShapeError);
  CHECK_THROWS_WITH_AS(nn::Sequential<float>(nn::Shape{8, 0, 3}),
                       "Sequential: expected an input shape with positive extents, got [8, 0, 3]",
                       nn::ShapeError);
}

TEST_CASE("Sequential names layers as Keras does") {
  nn::Sequential<float> model({4, 4, 1});
  model.add(nn::Rescaling<float>(0.5))
      .add(nn::Flatten<float>())
      .add(nn::Dense<float>(4))
      .add(nn::ReLU<float>())
      .add(nn::Dense<float>(4))
      .add(nn::Dense<float>(2));
  CHECK(model.layer(0).name() == "rescaling");
  CHECK(model.layer(1).name() == "flatten");
  CHECK(model.layer(2).name() == "dense");
  CHECK(model.layer(3).name() == "re_lu");
  CHECK(model.layer(4).name() == "dense_1");
  CHECK(model.layer(5).name() == "dense_2");
  CHECK(&model.layer("dense_1") == &model.layer(4));
  CHECK_THROWS_WITH_AS(model.layer("conv2d"), "Sequential::layer: no layer named \"conv2d\"",
                       nn::ShapeError);
}

TEST_CASE("Sequential keeps names set by the caller and rejects duplicates") {
  nn::Sequential<float> model({4});
  nn::Dense<float> logits(2);
  logits.set_name("logits");
  model.add(nn::Dense<float>(4)).add(logits);
  CHECK(model.layer(1).name() == "logits");

  nn::Dense<float> clash(2);
  clash.set_name("dense");
  CHECK_THROWS_WITH_AS(model.add(clash),
                       "Sequential::add: layer name \"dense\" is already used by layer 1; names "
                       "must be unique within a model",
                       nn::ShapeError);
}

TEST_CASE("Sequential summary is laid out like Keras'") {
  nn::Sequential<float> model({4, 4, 2}, nn::Flatten<float>(),
                              nn::Dense<float>(128, Activation::ReLU), nn::Dense<float>(23));
  const std::string expected =
      "Model: \"sequential\"\n"
      "_________________________________________________________________\n"
      " Layer (type)                Output Shape              Param #\n"
      "=================================================================\n"
      " flatten (Flatten)           (None, 32)                0\n"
      "\n"
      " dense (Dense)               (None, 128)               4224\n"
      "\n"
      " dense_1 (Dense)             (None, 23)                2967\n"
      "=================================================================\n"
      "Total params: 7,191\n"
      "Trainable params: 7,191\n"
      "Non-trainable params: 0\n"
      "_________________________________________________________________\n";
  CHECK(model.summary() == expected);
}

TEST_CASE("Sequential summary wraps a long layer name onto the next line") {
  nn::Sequential<float> model({4});
  nn::Dense<float> dense(2);
  dense.set_name("a_very_long_layer_name_for_the_table");
  model.add(dense);
  const std::string summary = model.summary();
  // The first column fits 27 characters, and the rest continues on the next line.
  CHECK(summary.find(" a_very_long_layer_name_for_  (None, 2)                10\n"
                     " the_table (Dense)\n") != std::string::npos);
}

TEST_CASE("keras_snake_case converts class names as Keras does") {
  CHECK(nn::detail::keras_snake_case("Conv2D") == "conv2d");
  CHECK(nn::detail::keras_snake_case("MaxPooling2D") == "max_pooling2d");
  CHECK(nn::detail::keras_snake_case("Dense") == "dense");
  CHECK(nn::detail::keras_snake_case("ReLU") == "re_lu");
  CHECK(nn::detail::keras_snake_case("RandomFlip") == "random_flip");
  CHECK(nn::detail::keras_snake_case("RandomRotation") == "random_rotation");
  CHECK(nn::detail::keras_snake_case("Dropout") == "dropout");
  CHECK(nn::detail::thousands(3991607) == "3,991,607");
  CHECK(nn::detail::thousands(999) == "999");
  CHECK(nn::detail::thousands(1000) == "1,000");
}

TEST_CASE("Sequential with one seed initialises identical weights") {
  auto a = two_halves_model(3);
  auto b = two_halves_model(3);
  auto c = two_halves_model(4);
  const auto pa = a.parameters();
  const auto pb = b.parameters();
  const auto pc = c.parameters();
  REQUIRE(pa.size() == 4);
  bool same_as_b = true;
  bool same_as_c = true;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    for (nn::Index k = 0; k < pa[i].value->size(); ++k) {
      same_as_b = same_as_b && (*pa[i].value)[k] == (*pb[i].value)[k];
      same_as_c = same_as_c && (*pa[i].value)[k] == (*pc[i].value)[k];
    }
  }
  CHECK(same_as_b);
  CHECK_FALSE(same_as_c);
}

TEST_CASE("Sequential fit requires compile") {
  auto model = two_halves_model();
  const auto data = nn::test::make_two_halves(8, 1);
  CHECK_THROWS_WITH_AS(model.fit(data.images, data.labels),
                       doctest::Contains("Sequential::fit: expected a compiled model"),
                       nn::ShapeError);
}

TEST_CASE("Sequential fit rejects data of another shape or with more classes") {
  auto model = two_halves_model();
  model.compile(nn::Adam<float>());
  nn::Tensor<float> wrong(nn::Shape{4, 8, 8, 3});
  CHECK_THROWS_WITH_AS(model.fit(wrong, {0, 1, 0, 1}),
                       "Sequential::fit: expected training data samples of the model's input "
                       "shape [8, 8, 1], got [8, 8, 3]",
                       nn::ShapeError);
  nn::Tensor<float> images(nn::Shape{3, 8, 8, 1});
  const std::vector<std::int32_t> labels{0, 1, 4};
  auto data = nn::TensorDataset<float>::view(images, labels, 2);
  CHECK_THROWS_WITH_AS(model.fit(data),
                       doctest::Contains("expected at most 2 classes (the model outputs 2 "
                                         "logits), got 5 classes"),
                       nn::ShapeError);
}

TEST_CASE("Sequential fit and evaluate name a label out of range") {
  auto model = two_halves_model();
  model.compile(nn::Adam<float>());
  nn::Tensor<float> images(nn::Shape{3, 8, 8, 1});
  CHECK_THROWS_WITH_AS(model.fit(images, {1, 2, 1}),
                       "Sequential::fit: label 2 at index 1 of the training labels is out of "
                       "range; expected a class index in [0, 2) for the model's 2 logits; labels "
                       "must start at 0, or the last layer needs Dense(3)",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(model.fit(images, {0, 1, 0}, images, {0, -1, 0}),
                       "Sequential::fit: label -1 at index 1 of the validation labels is out of "
                       "range; expected a class index in [0, 2) for the model's 2 logits",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(model.evaluate(images, {0, 0, 7}),
                       doctest::Contains("Sequential::evaluate: label 7 at index 2 of the labels "
                                         "is out of range"),
                       nn::ShapeError);
  CHECK(model.optimizer().iterations() == 0);
}

TEST_CASE("Sequential fit rejects a model that does not end in class logits") {
  nn::Sequential<float> model({4, 4, 1}, nn::Rescaling<float>(1.0));
  model.compile(nn::Adam<float>());
  nn::Tensor<float> images(nn::Shape{2, 4, 4, 1});
  CHECK_THROWS_WITH_AS(model.fit(images, {0, 1}),
                       doctest::Contains("expected the last layer to output class logits [C], "
                                         "got [4, 4, 1]"),
                       nn::ShapeError);
}

TEST_CASE("Sequential fit learns two classes of images above 95% accuracy") {
  const auto train = nn::test::make_two_halves(256, 1);
  const auto test = nn::test::make_two_halves(128, 2);
  auto model = two_halves_model();
  model.compile(nn::Adam<float>(0.01));

  nn::FitOptions options;
  options.epochs = 8;
  options.batch_size = 32;
  const auto start = std::chrono::steady_clock::now();
  const nn::History history = model.fit(train.images, train.labels, test.images, test.labels,
                                        options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("fit took " << seconds << " s; final loss " << history.loss.back()
                   << ", val_accuracy " << history.val_accuracy.back());

  REQUIRE(history.size() == 8);
  CHECK(history.val_loss.size() == 8);
  CHECK(history.loss.back() < history.loss.front() / 2);
  CHECK(history.accuracy.back() > 0.95);
  CHECK(history.val_accuracy.back() > 0.95);
  CHECK(model.evaluate(test.images, test.labels).accuracy > 0.95);
  CHECK(model.epochs_completed() == 8);
  CHECK(model.optimizer().iterations() == 8 * 8);
  // About a millisecond in Release and tens of milliseconds under the sanitizers.
  CHECK(seconds < 2.0);
}

TEST_CASE("Sequential epochs_completed counts epoch indices, not fit calls") {
  const auto train = nn::test::make_two_halves(16, 1);
  auto model = two_halves_model();
  model.compile(nn::Adam<float>());
  nn::FitOptions options;
  options.epochs = 2;
  options.batch_size = 8;
  model.fit(train.images, train.labels, options);
  CHECK(model.epochs_completed() == 2);

  // A second call from epoch 0 repeats epochs 0 and 1; the weights keep training.
  const auto again = model.fit(train.images, train.labels, options);
  CHECK(again.epochs == std::vector<nn::Index>{0, 1});
  CHECK(model.epochs_completed() == 2);
  CHECK(model.optimizer().iterations() == 8);

  // Continuing from epochs_completed() runs the next epochs.
  options.initial_epoch = model.epochs_completed();
  options.epochs = options.initial_epoch + 1;
  const auto next = model.fit(train.images, train.labels, options);
  CHECK(next.epochs == std::vector<nn::Index>{2});
  CHECK(model.epochs_completed() == 3);
}

TEST_CASE("Sequential fit takes validation data as the second argument") {
  const auto train = nn::test::make_two_halves(16, 1);
  const auto test = nn::test::make_two_halves(8, 2);
  auto train_data = nn::TensorDataset<float>::view(train.images, train.labels, 8);
  auto validation_data = nn::TensorDataset<float>::view(test.images, test.labels, 8, false);
  auto model = two_halves_model();
  model.compile(nn::Adam<float>());
  nn::FitOptions options;
  options.epochs = 2;
  const auto history = model.fit(train_data, validation_data, options);
  REQUIRE(history.val_accuracy.size() == 2);
  CHECK(history.val_loss.back() ==
        doctest::Approx(model.evaluate(test.images, test.labels).loss).epsilon(1e-6));
}

TEST_CASE("Sequential fit reports each batch and epoch through callbacks") {
  const auto train = nn::test::make_two_halves(40, 1);
  auto model = two_halves_model();
  model.compile(nn::Adam<float>());

  std::vector<nn::Index> steps;
  std::vector<nn::Index> begun;
  std::vector<nn::EpochLogs> ended;
  nn::FitOptions options;
  options.epochs = 2;
  options.batch_size = 16;
  options.on_epoch_begin = [&](nn::Index epoch, nn::Index epochs) {
    CHECK(epochs == 2);
    begun.push_back(epoch);
  };
  options.on_batch_end = [&](nn::Index step, nn::Index steps_per_epoch, double loss,
                             double accuracy) {
    CHECK(steps_per_epoch == 3);
    CHECK(std::isfinite(loss));
    CHECK(accuracy >= 0.0);
    CHECK(accuracy <= 1.0);
    steps.push_back(step);
  };
  options.on_epoch_end = [&](const nn::EpochLogs& logs) { ended.push_back(logs); };
  const auto history = model.fit(train.images, train.labels, options);

  CHECK(steps == std::vector<nn::Index>{1, 2, 3, 1, 2, 3});
  CHECK(begun == std::vector<nn::Index>{0, 1});
  REQUIRE(ended.size() == 2);
  CHECK(ended[1].epoch == 1);
  CHECK(ended[1].loss == history.loss[1]);
  CHECK_FALSE(ended[1].has_validation);
  CHECK(std::isnan(ended[1].val_loss));
  CHECK(history.val_loss.empty());
  CHECK(ended[0].seconds >= 0.0);
}

TEST_CASE("Sequential fit stops after the current batch when asked to") {
  const auto train = nn::test::make_two_halves(64, 1);
  auto model = two_halves_model();
  model.compile(nn::Adam<float>());
  nn::FitOptions options;
  options.epochs = 3;
  options.batch_size = 16;
  nn::Index batches = 0;
  options.on_batch_end = [&](nn::Index step, nn::Index, double, double) {
    ++batches;
    if (step == 2) model.stop_training();
  };
  const auto history = model.fit(train.images, train.labels, options);
  CHECK(batches == 2);
  CHECK(history.stopped_early);
  CHECK(history.size() == 0);
  CHECK(model.epochs_completed() == 0);
  CHECK(model.optimizer().iterations() == 2);
}

TEST_CASE("Sequential fit stops at the end of an epoch when a callback asks") {
  const auto train = nn::test::make_two_halves(32, 1);
  auto model = two_halves_model();
  model.compile(nn::Adam<float>());
  nn::FitOptions options;
  options.epochs = 5;
  options.on_epoch_end = [&](const nn::EpochLogs& logs) {
    if (logs.epoch == 1) model.stop_training();
  };
  const auto history = model.fit(train.images, train.labels, options);
  CHECK(history.size() == 2);
  CHECK(history.stopped_early);
  CHECK(model.epochs_completed() == 2);
}

TEST_CASE("Sequential fit names the epoch and step of a non-finite loss") {
  auto data = nn::test::make_two_halves(16, 1);
  // Sample 9 falls into the third batch of 4 when the data is not shuffled.
  data.images[9 * 64 + 5] = std::numeric_limits<float>::quiet_NaN();
  auto model = two_halves_model();
  model.compile(nn::Adam<float>());
  nn::FitOptions options;
  options.epochs = 2;
  options.batch_size = 4;
  options.shuffle = false;
  CHECK_THROWS_WITH_AS(model.fit(data.images, data.labels, options),
                       doctest::Contains("Sequential::fit: the loss is NaN at epoch 1/2, step 3/4"),
                       nn::TrainingError);
  // The two good steps ran; the bad one did not reach the optimizer.
  CHECK(model.optimizer().iterations() == 2);
  for (const auto& p : model.parameters()) {
    for (nn::Index i = 0; i < p.value->size(); ++i) REQUIRE(std::isfinite((*p.value)[i]));
  }
}

TEST_CASE("Sequential fit names a later epoch when the loss diverges there") {
  auto data = nn::test::make_two_halves(8, 1);
  auto model = two_halves_model();
  // An absurd learning rate blows the weights up within the first epoch's updates.
  model.compile(nn::SGD<float>(1e30));
  nn::FitOptions options;
  options.epochs = 4;
  options.batch_size = 4;
  CHECK_THROWS_WITH_AS(model.fit(data.images, data.labels, options),
                       doctest::Contains("at epoch "), nn::TrainingError);
}

TEST_CASE("Sequential predict returns logits in batches equal to one forward pass") {
  const auto data = nn::test::make_two_halves(10, 3);
  auto model = two_halves_model();
  const nn::Tensor<float> whole = model.predict(data.images, 100);
  const nn::Tensor<float> batched = model.predict(data.images, 3);
  REQUIRE(whole.shape() == nn::Shape{10, 2});
  REQUIRE(batched.shape() == nn::Shape{10, 2});
  for (nn::Index i = 0; i < whole.size(); ++i) CHECK(whole[i] == doctest::Approx(batched[i]));

  const auto probabilities = nn::softmax(whole);
  CHECK(probabilities[0] + probabilities[1] == doctest::Approx(1.0));
  CHECK_THROWS_WITH_AS(model.predict(nn::Tensor<float>(nn::Shape{2, 8, 8, 3})),
                       "Sequential::predict: expected input [N, 8, 8, 1], got [2, 8, 8, 3]",
                       nn::ShapeError);
  CHECK_THROWS_WITH_AS(model.predict(nn::Tensor<float>(nn::Shape{8, 8, 1})),
                       "Sequential::predict: expected input [N, 8, 8, 1], got [8, 8, 1]; add a "
                       "batch extent for a single sample: [1, 8, 8, 1]",
                       nn::ShapeError);
}

TEST_CASE("Sequential evaluate returns the mean loss and accuracy") {
  const auto data = nn::test::make_two_halves(10, 3);
  auto model = two_halves_model();
  const auto logits = model.predict(data.images);
  const auto result = model.evaluate(data.images, data.labels, 4);
  CHECK(result.samples == 10);
  CHECK(result.loss ==
        doctest::Approx(nn::SoftmaxCrossEntropy<float>::loss(logits, data.labels)).epsilon(1e-6));
  CHECK(result.accuracy ==
        doctest::Approx(static_cast<double>(nn::count_correct(logits, data.labels)) / 10.0));
}

TEST_CASE("Sequential train_on_batch lowers the loss of that batch") {
  const auto data = nn::test::make_two_halves(16, 5);
  auto model = two_halves_model();
  model.compile(nn::Adam<float>(0.01));
  const double first = model.train_on_batch(data.images, data.labels);
  double last = first;
  for (int i = 0; i < 20; ++i) last = model.train_on_batch(data.images, data.labels);
  CHECK(last < first / 2);
}

TEST_CASE("Sequential gradient of a Dense model matches finite differences") {
  nn::Sequential<double> model({3, 2, 2}, 5, nn::Rescaling<double>(0.5, 0.1),
                               nn::Flatten<double>(), nn::Dense<double>(5, Activation::ReLU),
                               nn::Dense<double>(3));
  nn::Tensor<double> x = nn::test::random_tensor(nn::Shape{4, 3, 2, 2}, 21);
  const std::vector<std::int32_t> labels{0, 2, 1, 2};
  nn::SoftmaxCrossEntropy<double> loss;

  model.zero_gradients();
  loss.forward(model.forward(x, nn::Mode::Train), labels);
  const nn::Tensor<double> dx = model.backward(loss.gradient());

  std::vector<nn::test::GradientVariable> variables{{"input", &x, &dx}};
  for (const auto& p : model.parameters()) variables.push_back({p.name, p.value, p.grad});
  nn::test::check_function_gradients(
      [&] { return nn::SoftmaxCrossEntropy<double>::loss(model.forward(x, nn::Mode::Train),
                                                         labels); },
      variables, 21);
}

TEST_CASE("Sequential gradient of a small convolutional network matches finite differences") {
  // Conv2D -> ReLU -> MaxPool2D -> Flatten -> Dense, with the loss, in double precision.
  nn::Sequential<double> model({6, 6, 2}, 9, nn::Conv2D<double>(3, 3, nn::Padding::Same),
                               nn::ReLU<double>(), nn::MaxPool2D<double>(2),
                               nn::Flatten<double>(), nn::Dense<double>(4));
  // Distinct inputs keep the max-pool windows and the ReLU away from their kinks.
  nn::Tensor<double> x = nn::test::distinct_tensor(nn::Shape{2, 6, 6, 2}, 31, 0.013);
  const std::vector<std::int32_t> labels{3, 1};
  nn::SoftmaxCrossEntropy<double> loss;

  model.zero_gradients();
  loss.forward(model.forward(x, nn::Mode::Train), labels);
  const nn::Tensor<double> dx = model.backward(loss.gradient());

  std::vector<nn::test::GradientVariable> variables{{"input", &x, &dx}};
  for (const auto& p : model.parameters()) variables.push_back({p.name, p.value, p.grad});
  REQUIRE(variables.size() == 5);
  nn::test::check_function_gradients(
      [&] { return nn::SoftmaxCrossEntropy<double>::loss(model.forward(x, nn::Mode::Train),
                                                         labels); },
      variables, 31);
}

TEST_CASE("Sequential summary of the reference network reports 3,991,607 parameters") {
  nn::Sequential<float> model(
      {180, 180, 3}, nn::Rescaling<float>(1.0 / 255.0),
      nn::Conv2D<float>(16, 3, nn::Padding::Same, Activation::ReLU), nn::MaxPool2D<float>(),
      nn::Conv2D<float>(32, 3, nn::Padding::Same, Activation::ReLU), nn::MaxPool2D<float>(),
      nn::Conv2D<float>(64, 3, nn::Padding::Same, Activation::ReLU), nn::MaxPool2D<float>(),
      nn::Flatten<float>(), nn::Dense<float>(128, Activation::ReLU), nn::Dense<float>(23));
  CHECK(model.parameter_count() == 3991607);
  const std::string expected =
      "Model: \"sequential\"\n"
      "_________________________________________________________________\n"
      " Layer (type)                Output Shape              Param #\n"
      "=================================================================\n"
      " rescaling (Rescaling)       (None, 180, 180, 3)       0\n"
      "\n"
      " conv2d (Conv2D)             (None, 180, 180, 16)      448\n"
      "\n"
      " max_pooling2d (MaxPooling2D  (None, 90, 90, 16)       0\n"
      " )\n"
      "\n"
      " conv2d_1 (Conv2D)           (None, 90, 90, 32)        4640\n"
      "\n"
      " max_pooling2d_1 (MaxPooling  (None, 45, 45, 32)       0\n"
      " 2D)\n"
      "\n"
      " conv2d_2 (Conv2D)           (None, 45, 45, 64)        18496\n"
      "\n"
      " max_pooling2d_2 (MaxPooling  (None, 22, 22, 64)       0\n"
      " 2D)\n"
      "\n"
      " flatten (Flatten)           (None, 30976)             0\n"
      "\n"
      " dense (Dense)               (None, 128)               3965056\n"
      "\n"
      " dense_1 (Dense)             (None, 23)                2967\n"
      "=================================================================\n"
      "Total params: 3,991,607\n"
      "Trainable params: 3,991,607\n"
      "Non-trainable params: 0\n"
      "_________________________________________________________________\n";
  CHECK(model.summary() == expected);
}

TEST_CASE("Sequential names Conv2D and MaxPooling2D layers and explains a missing Flatten") {
  nn::Sequential<float> model({180, 180, 3}, nn::Conv2D<float>(16, 3, nn::Padding::Same),
                              nn::MaxPool2D<float>(), nn::Conv2D<float>(32, 3),
                              nn::MaxPool2D<float>(), nn::MaxPool2D<float>(),
                              nn::MaxPool2D<float>(), nn::Dense<float>(128));
  CHECK(model.layer(0).name() == "conv2d");
  CHECK(model.layer(1).name() == "max_pooling2d");
  CHECK(model.layer(2).name() == "conv2d_1");
  CHECK(model.layer(3).name() == "max_pooling2d_1");
  CHECK_THROWS_WITH_AS(model.build(),
                       "Sequential: layer 7 \"dense\" (Dense) received input [11, 11, 32]: "
                       "Dense: expected input [F] (rank 1), got [11, 11, 32]; add a Flatten "
                       "layer before Dense",
                       nn::ShapeError);
}

TEST_CASE("Sequential names a Conv2D that follows Flatten") {
  nn::Sequential<float> model({8, 8, 1}, nn::Flatten<float>(), nn::Conv2D<float>(4, 3));
  CHECK_THROWS_WITH_AS(model.build(),
                       doctest::Contains("Sequential: layer 2 \"conv2d\" (Conv2D) received input "
                                         "[64]: Conv2D: expected input [H, W, C] (rank 3)"),
                       nn::ShapeError);
}

TEST_CASE("Sequential training gives the same weights for any thread count") {
  const auto data = nn::test::make_two_halves(64, 1);
  const int original_threads = nn::num_threads();
  std::vector<std::vector<float>> weights;
  for (int threads : {1, 2, 3}) {
    nn::set_num_threads(threads);
    nn::Sequential<float> model({8, 8, 1}, 5, nn::Rescaling<float>(1.0 / 255.0),
                                nn::Conv2D<float>(4, 3, nn::Padding::Same, Activation::ReLU),
                                nn::MaxPool2D<float>(), nn::Flatten<float>(),
                                nn::Dense<float>(2));
    model.compile(nn::Adam<float>(0.01));
    nn::FitOptions options;
    options.epochs = 2;
    options.batch_size = 16;
    model.fit(data.images, data.labels, options);
    std::vector<float> flat;
    for (const auto& p : model.parameters()) {
      flat.insert(flat.end(), p.value->data(), p.value->data() + p.value->size());
    }
    weights.push_back(flat);
  }
  nn::set_num_threads(original_threads);
  CHECK(weights[1] == weights[0]);
  CHECK(weights[2] == weights[0]);
}

TEST_CASE("Sequential fit skips backward through leading parameter-free layers") {
  const auto data = nn::test::make_two_halves(32, 1);
  nn::Sequential<float> model({8, 8, 1}, ForwardOnly<float>(), nn::Rescaling<float>(1.0 / 255.0),
                              nn::Flatten<float>(), nn::Dense<float>(2));
  CHECK(model.layer(0).name() == "forward_only");
  model.compile(nn::Adam<float>(0.01));
  nn::FitOptions options;
  options.epochs = 3;
  const auto history = model.fit(data.images, data.labels, options);
  CHECK(history.loss.back() < history.loss.front());
}
