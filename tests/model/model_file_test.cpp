#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model/model_test_support.hpp"
#include "nn/sequential.hpp"

namespace {

using nn::Activation;

nn::Sequential<float> small_model(nn::Index hidden = 8, std::uint64_t seed = 7) {
  return nn::Sequential<float>({8, 8, 1}, seed, nn::Rescaling<float>(1.0 / 255.0),
                               nn::Flatten<float>(), nn::Dense<float>(hidden, Activation::ReLU),
                               nn::Dense<float>(2));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Recomputes the payload checksum after a test edits the payload on purpose.
void fix_checksum(std::string& bytes) {
  const std::uint32_t crc = nn::detail::crc32(
      reinterpret_cast<const unsigned char*>(bytes.data()) + nn::detail::model_header_size,
      bytes.size() - nn::detail::model_header_size);
  for (std::size_t i = 0; i < 4; ++i) bytes[24 + i] = static_cast<char>(crc >> (8 * i));
}

bool same_bits(const nn::Tensor<float>& a, const nn::Tensor<float>& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("crc32 matches the standard check value") {
  const std::string text = "123456789";
  CHECK(nn::detail::crc32(reinterpret_cast<const unsigned char*>(text.data()), text.size()) ==
        0xCBF43926u);
}

TEST_CASE("Sequential save then load gives bitwise identical predictions") {
  nn::test::ScratchFolder folder;
  const auto data = nn::test::make_two_halves(32, 1);
  auto model = small_model();
  model.set_name("halves");
  model.compile(nn::Adam<float>(0.01));
  nn::FitOptions options;
  options.epochs = 2;
  model.fit(data.images, data.labels, options);
  const std::string path = folder.file("model.nn");
  model.save(path);

  auto loaded = nn::Sequential<float>::load(path);
  CHECK(loaded.name() == "halves");
  CHECK(loaded.seed() == 7);
  CHECK(loaded.input_shape() == nn::Shape{8, 8, 1});
  CHECK(loaded.epochs_completed() == 2);
  REQUIRE(loaded.layer_count() == 4);
  CHECK(loaded.layer(2).name() == "dense");
  CHECK(loaded.layer(2).config() == model.layer(2).config());
  CHECK(loaded.summary() == model.summary());
  CHECK(same_bits(loaded.predict(data.images), model.predict(data.images)));

  REQUIRE(loaded.compiled());
  CHECK(loaded.optimizer().type() == "Adam");
  CHECK(loaded.optimizer().learning_rate() == doctest::Approx(0.01));
  CHECK(loaded.optimizer().iterations() == model.optimizer().iterations());
  REQUIRE(loaded.optimizer().state().size() == model.optimizer().state().size());
  for (std::size_t i = 0; i < model.optimizer().state().size(); ++i) {
    CHECK(same_bits(loaded.optimizer().state()[i], model.optimizer().state()[i]));
  }
}

TEST_CASE("Sequential save leaves no temporary file and replaces an existing file") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("model.nn");
  auto first = small_model(8);
  first.save(path);
  auto second = small_model(4);
  second.save(path);
  CHECK(nn::Sequential<float>::load(path).parameter_count() == second.parameter_count());
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder.path())) {
    CHECK(entry.path().filename() == "model.nn");
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("Sequential save reports a folder that does not exist") {
  nn::test::ScratchFolder folder;
  auto model = small_model();
  const std::string path = folder.file("missing/model.nn");
  CHECK_THROWS_WITH_AS(model.save(path), doctest::Contains("cannot create temporary file"),
                       nn::DataError);
}

TEST_CASE("Sequential load of an uncompiled model leaves it uncompiled") {
  nn::test::ScratchFolder folder;
  auto model = small_model();
  model.save(folder.file("plain.nn"));
  auto loaded = nn::Sequential<float>::load(folder.file("plain.nn"));
  CHECK_FALSE(loaded.compiled());
  CHECK(loaded.epochs_completed() == 0);
}

TEST_CASE("Sequential resumed from a save continues exactly as an uninterrupted run") {
  nn::test::ScratchFolder folder;
  const auto data = nn::test::make_two_halves(48, 1);
  nn::FitOptions options;
  options.batch_size = 16;

  auto straight = small_model();
  straight.compile(nn::Adam<float>(0.005));
  options.epochs = 4;
  straight.fit(data.images, data.labels, options);

  auto first_half = small_model();
  first_half.compile(nn::Adam<float>(0.005));
  options.epochs = 2;
  first_half.fit(data.images, data.labels, options);
  first_half.save(folder.file("checkpoint.nn"));

  auto resumed = nn::Sequential<float>::load(folder.file("checkpoint.nn"));
  options.initial_epoch = resumed.epochs_completed();
  options.epochs = 4;
  const auto history = resumed.fit(data.images, data.labels, options);
  CHECK(history.epochs == std::vector<nn::Index>{2, 3});
  CHECK(resumed.epochs_completed() == 4);
  CHECK(resumed.optimizer().iterations() == straight.optimizer().iterations());
  const auto a = resumed.parameters();
  const auto b = straight.parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_bits(*a[i].value, *b[i].value));
}

TEST_CASE("Sequential load converts a float model to double") {
  nn::test::ScratchFolder folder;
  const auto data = nn::test::make_two_halves(4, 1);
  auto model = small_model();
  model.save(folder.file("float.nn"));
  auto as_double = nn::Sequential<double>::load(folder.file("float.nn"));
  nn::Tensor<double> images(data.images.shape());
  for (nn::Index i = 0; i < images.size(); ++i) images[i] = data.images[i];
  const auto expected = model.predict(data.images);
  const auto actual = as_double.predict(images);
  for (nn::Index i = 0; i < expected.size(); ++i) {
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-5));
  }
}

TEST_CASE("Sequential load rejects a file with the wrong magic number") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("not_a_model.nn");
  write_bytes(path, "PK\x03\x04 this is a zip file, not a model");
  CHECK_THROWS_WITH_AS(nn::Sequential<float>::load(path),
                       doctest::Contains(
                           (path + ": not an nn model file (wrong magic number)").c_str()),
                       nn::DataError);
}

TEST_CASE("Sequential load rejects an unknown format version") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("model.nn");
  small_model().save(path);
  std::string bytes = read_bytes(path);
  bytes[8] = 2;  // the version is the u32 right after the 8-byte magic
  write_bytes(path, bytes);
  CHECK_THROWS_WITH_AS(nn::Sequential<float>::load(path),
                       doctest::Contains(
                           (path + ": unknown format version 2; expected version 1").c_str()),
                       nn::DataError);
}

TEST_CASE("Sequential load rejects a truncated file") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("model.nn");
  small_model().save(path);
  const std::string bytes = read_bytes(path);

  SUBCASE("inside the payload") {
    write_bytes(path, bytes.substr(0, bytes.size() - 100));
    CHECK_THROWS_WITH_AS(nn::Sequential<float>::load(path),
                         doctest::Contains((path + ": truncated file: expected " +
                                            std::to_string(bytes.size() - 28) +
                                            " payload bytes, got " +
                                            std::to_string(bytes.size() - 128))
                                               .c_str()),
                         nn::DataError);
  }
  SUBCASE("inside the header") {
    write_bytes(path, bytes.substr(0, 12));
    CHECK_THROWS_WITH_AS(nn::Sequential<float>::load(path),
                         doctest::Contains("truncated file: expected a header of 28 bytes, got 12"),
                         nn::DataError);
  }
}

TEST_CASE("Sequential load rejects a corrupted payload through its checksum") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("model.nn");
  small_model().save(path);
  std::string bytes = read_bytes(path);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  write_bytes(path, bytes);
  CHECK_THROWS_WITH_AS(nn::Sequential<float>::load(path),
                       doctest::Contains((path + ": corrupted payload: checksum mismatch").c_str()),
                       nn::DataError);
}

TEST_CASE("Sequential load names an unknown layer type") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("model.nn");
  small_model().save(path);
  std::string bytes = read_bytes(path);
  const std::size_t at = bytes.find("Flatten");
  REQUIRE(at != std::string::npos);
  bytes.replace(at, 7, "Flutter");
  fix_checksum(bytes);
  write_bytes(path, bytes);
  CHECK_THROWS_WITH_AS(nn::Sequential<float>::load(path),
                       doctest::Contains((path + ": layer 2 \"flatten\" (Flutter): make_layer: "
                                          "unknown layer type \"Flutter\"")
                                             .c_str()),
                       nn::DataError);
}

TEST_CASE("Sequential load_weights rejects a mismatching architecture") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("model.nn");
  small_model(16).save(path);

  SUBCASE("another kernel shape") {
    auto model = small_model(8);
    CHECK_THROWS_WITH_AS(model.load_weights(path),
                         (path + ": layer 3 \"dense\" kernel expected [64, 8], got [64, 16]")
                             .c_str(),
                         nn::DataError);
  }
  SUBCASE("another layer count") {
    nn::Sequential<float> model({8, 8, 1}, nn::Flatten<float>(), nn::Dense<float>(2));
    CHECK_THROWS_WITH_AS(model.load_weights(path),
                         (path + ": expected 2 layers (as in the model), got 4").c_str(),
                         nn::DataError);
  }
  SUBCASE("another layer type") {
    nn::Sequential<float> model({8, 8, 1}, nn::Rescaling<float>(1.0), nn::Flatten<float>(),
                                nn::Dense<float>(16), nn::ReLU<float>());
    CHECK_THROWS_WITH_AS(model.load_weights(path),
                         (path + ": layer 4 \"re_lu\" expected type ReLU, got Dense").c_str(),
                         nn::DataError);
  }
}

TEST_CASE("Sequential load_weights copies the weights into a matching model") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("model.nn");
  const auto data = nn::test::make_two_halves(4, 1);
  auto source = small_model(8, 1);
  source.save(path);
  auto target = small_model(8, 2);
  CHECK_FALSE(same_bits(target.predict(data.images), source.predict(data.images)));
  target.load_weights(path);
  CHECK(same_bits(target.predict(data.images), source.predict(data.images)));
}

TEST_CASE("Sequential load reports a missing file") {
  CHECK_THROWS_WITH_AS(nn::Sequential<float>::load("/nonexistent/model.nn"),
                       doctest::Contains("/nonexistent/model.nn: cannot open file for reading"),
                       nn::DataError);
}

TEST_CASE("Sequential load names a folder given as the model file") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.path().string();
  CHECK_THROWS_WITH_AS(nn::Sequential<float>::load(path),
                       (path + ": cannot open file for reading: it is a folder, not a model "
                               "file").c_str(),
                       nn::DataError);
  nn::Sequential<float> model({4}, nn::Dense<float>(2));
  const std::string expected = path + ": cannot open file for reading: it is a folder";
  CHECK_THROWS_WITH_AS(model.load_weights(path), doctest::Contains(expected.c_str()),
                       nn::DataError);
}

TEST_CASE("Sequential load rebuilds every built-in layer type") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("all_layers.nn");
  nn::Sequential<float> model(
      {8, 8, 3}, 11, nn::RandomFlip<float>("horizontal"), nn::RandomRotation<float>(0.1),
      nn::RandomZoom<float>(0.1), nn::Rescaling<float>(1.0 / 127.5, -1.0),
      nn::Conv2D<float>(4, 3, nn::Padding::Same, Activation::ReLU, 1, true),
      nn::MaxPool2D<float>(2), nn::Conv2D<float>(6, 3, nn::Padding::Valid, Activation::None, 2),
      nn::ReLU<float>(), nn::Dropout<float>(0.25), nn::Flatten<float>(),
      nn::Dense<float>(5, Activation::ReLU, false), nn::Dense<float>(3));
  model.compile(nn::SGD<float>(0.05, 0.9, true));
  model.save(path);

  auto loaded = nn::Sequential<float>::load(path);
  REQUIRE(loaded.layer_count() == model.layer_count());
  for (nn::Index i = 0; i < model.layer_count(); ++i) {
    CAPTURE(i);
    CHECK(loaded.layer(i).type() == model.layer(i).type());
    CHECK(loaded.layer(i).name() == model.layer(i).name());
    CHECK(loaded.layer(i).config() == model.layer(i).config());
  }
  CHECK(loaded.summary() == model.summary());
  CHECK(loaded.optimizer().type() == "SGD");
  CHECK(loaded.optimizer().config() == model.optimizer().config());

  // In inference the random layers and dropout are the identity, so predictions match exactly.
  nn::Tensor<float> images(nn::Shape{2, 8, 8, 3});
  nn::Random rng(3);
  for (nn::Index i = 0; i < images.size(); ++i) images[i] = static_cast<float>(rng.uniform(0, 255));
  CHECK(same_bits(loaded.predict(images), model.predict(images)));
}

TEST_CASE("Sequential load rejects extents whose product overflows") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("huge.nn");
  nn::detail::ByteWriter payload;
  payload.string("sequential");
  payload.u32(3);  // input shape of rank 3 whose element count is 2^90
  for (int i = 0; i < 3; ++i) payload.i64(std::int64_t(1) << 30);
  write_bytes(path, nn::detail::frame_model_file(payload.bytes(), 4));
  CHECK_THROWS_WITH_AS(nn::Sequential<float>::load(path),
                       doctest::Contains("corrupted payload: input shape has an invalid extent "
                                         "1073741824"),
                       nn::DataError);
}

namespace {

// A custom parameter-free layer, loadable only after register_layer.
class Halve : public nn::Layer<float> {
 public:
  std::string type() const override { return "Halve"; }
  nn::Shape build(const nn::Shape& input_shape, nn::Random&) override { return input_shape; }
  const nn::Tensor<float>& forward(const nn::Tensor<float>& x, nn::Mode) override {
    output_ = x;
    output_.flat() *= 0.5f;
    return output_;
  }
  const nn::Tensor<float>& backward(const nn::Tensor<float>& dy) override {
    dx_ = dy;
    dx_.flat() *= 0.5f;
    return dx_;
  }
  nn::LayerConfig config() const override { return {}; }

 private:
  nn::Tensor<float> output_;
  nn::Tensor<float> dx_;
};

}  // namespace

TEST_CASE("Sequential load finds custom layers added with register_layer") {
  nn::test::ScratchFolder folder;
  const std::string path = folder.file("custom.nn");
  nn::Sequential<float> model({4}, Halve(), nn::Dense<float>(2));
  model.save(path);
  CHECK_THROWS_WITH_AS(nn::Sequential<float>::load(path),
                       doctest::Contains("unknown layer type \"Halve\""), nn::DataError);

  nn::register_layer<float>("Halve", [](const nn::LayerConfig&) {
    return std::unique_ptr<nn::Layer<float>>(std::make_unique<Halve>());
  });
  auto loaded = nn::Sequential<float>::load(path);
  CHECK(loaded.layer(0).name() == "halve");
  nn::Tensor<float> x(nn::Shape{1, 4});
  x.fill(2.0f);
  CHECK(same_bits(loaded.predict(x), model.predict(x)));
}
