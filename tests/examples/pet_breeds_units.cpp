// Unit tests of pet_breeds' pieces: the command line, the drawing code, history.csv and the
// per-class metrics. The end-to-end scripts beside this file run the program as a whole.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "canvas.hpp"
#include "cli.hpp"
#include "confusion.hpp"
#include "font.hpp"
#include "plots.hpp"
#include "train.hpp"

namespace {

using pet_breeds::CommandLine;
using pet_breeds::UsageError;

CommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "pet_breeds");
  return pet_breeds::parse_command_line(static_cast<int>(args.size()), args.data());
}

// A scratch folder under the test's working directory, emptied first.
std::string scratch_folder(const std::string& name) {
  const std::filesystem::path path = std::filesystem::current_path() / "unit_scratch" / name;
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path.string();
}

// Number of pixels that differ from the background colour.
int painted_pixels(const pet_breeds::Canvas& canvas, pet_breeds::Color background) {
  int count = 0;
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) {
      const pet_breeds::Color c = canvas.pixel(x, y);
      if (c.r != background.r || c.g != background.g || c.b != background.b) ++count;
    }
  }
  return count;
}

}  // namespace

TEST_CASE("train defaults reproduce the tutorial's first run") {
  const CommandLine command = parse({"train"});
  CHECK(command.command == "train");
  CHECK_FALSE(command.help_text);
  CHECK(command.train.data_dir == pet_breeds::embedded_data_dir());
  CHECK(command.train.epochs == 10);
  CHECK(command.train.batch_size == 32);
  CHECK(command.train.image_size == 180);
  CHECK(command.train.validation_split == 0.2);
  CHECK(command.train.seed == 123);
  CHECK_FALSE(command.train.augment);
  CHECK(command.train.learning_rate == 0.001);
  CHECK(command.train.threads == 0);
  CHECK(command.train.out_dir == "pet_breeds_out");
  CHECK_FALSE(command.train.resume);
}

TEST_CASE("train with augment defaults to 15 epochs") {
  CHECK(parse({"train", "--augment"}).train.epochs == 15);
  CHECK(parse({"train", "--augment", "--epochs", "3"}).train.epochs == 3);
  CHECK(parse({"train", "--epochs", "3", "--augment"}).train.epochs == 3);
}

TEST_CASE("train accepts values after a space or an equals sign") {
  const CommandLine command =
      parse({"train", "--epochs=4", "--batch-size", "8", "--image-size=64",
             "--validation-split", "0.25", "--seed=18446744073709551615", "--learning-rate",
             "1e-4", "--threads", "1", "--out=runs/a"});
  CHECK(command.train.epochs == 4);
  CHECK(command.train.batch_size == 8);
  CHECK(command.train.image_size == 64);
  CHECK(command.train.validation_split == 0.25);
  CHECK(command.train.seed == 18446744073709551615ull);
  CHECK(command.train.learning_rate == 1e-4);
  CHECK(command.train.threads == 1);
  CHECK(command.train.out_dir == "runs/a");
}

TEST_CASE("usage errors name the option and the accepted values") {
  CHECK_THROWS_WITH_AS(parse({"train", "--epochs", "0"}),
                       "invalid value \"0\" for --epochs; expected a whole number of at least 1",
                       UsageError);
  CHECK_THROWS_WITH_AS(parse({"train", "--validation-split", "1"}),
                       doctest::Contains("expected a number between 0 and 1"), UsageError);
  CHECK_THROWS_WITH_AS(parse({"train", "--image-size", "7"}),
                       doctest::Contains("expected a whole number of pixels from 8 to 4096"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse({"train", "--seed", "18446744073709551616"}),
                       doctest::Contains("for --seed"), UsageError);
  CHECK_THROWS_WITH_AS(parse({"summary", "--epochs", "3"}),
                       doctest::Contains("unknown option \"--epochs\""), UsageError);
  CHECK_THROWS_WITH_AS(parse({}), doctest::Contains("missing command"), UsageError);
}

TEST_CASE("usage errors carry their command") {
  try {
    parse({"evaluate", "--data", "x"});
    FAIL("expected a UsageError");
  } catch (const UsageError& e) {
    CHECK(e.command() == "evaluate");
  }
  try {
    parse({"fit"});
    FAIL("expected a UsageError");
  } catch (const UsageError& e) {
    CHECK(e.command().empty());
  }
}

TEST_CASE("help lists every option of a command") {
  const CommandLine command = parse({"train", "--help"});
  REQUIRE(command.help_text);
  for (const char* option : {"--data DIR", "--epochs N", "--batch-size N", "--image-size S",
                             "--validation-split F", "--seed N", "--augment",
                             "--learning-rate F", "--threads N", "--out DIR", "--resume",
                             "--help"}) {
    CAPTURE(option);
    CHECK(command.help_text->find(option) != std::string::npos);
  }
  for (const std::string& line : {std::string("train"), std::string("summary"),
                                  std::string("evaluate"), std::string("predict")}) {
    std::size_t start = 0;
    const std::string help = pet_breeds::command_help(line);
    while (start < help.size()) {
      const std::size_t end = help.find('\n', start);
      const std::size_t length = (end == std::string::npos ? help.size() : end) - start;
      CAPTURE(help.substr(start, length));
      CHECK(length <= 96);
      start += length + 1;
    }
  }
}

TEST_CASE("predict collects every image after the options") {
  const std::string folder = scratch_folder("predict_args");
  const std::string model = folder + "/model.nn";
  std::ofstream(model) << "x";
  const std::string photo = pet_breeds::embedded_data_dir() + "/pug/pug_112.jpg";
  REQUIRE(std::filesystem::exists(photo));
  const CommandLine command = parse({"predict", "--model", model.c_str(), photo.c_str(), "--",
                                     photo.c_str()});
  CHECK(command.predict.model_path == model);
  CHECK(command.predict.images == std::vector<std::string>{photo, photo});
}

TEST_CASE("nice ticks are round numbers covering the range") {
  const auto check_ticks = [](double low, double high, int target,
                              const std::vector<double>& expected) {
    CAPTURE(low);
    CAPTURE(high);
    const std::vector<double> ticks = pet_breeds::nice_ticks(low, high, target);
    REQUIRE(ticks.size() == expected.size());
    for (std::size_t i = 0; i < ticks.size(); ++i) CHECK(ticks[i] == doctest::Approx(expected[i]));
  };
  check_ticks(0.0, 1.0, 5, {0.0, 0.2, 0.4, 0.6, 0.8, 1.0});
  check_ticks(1.0, 10.0, 6, {2.0, 4.0, 6.0, 8.0, 10.0});
  check_ticks(0.013, 0.094, 4, {0.025, 0.05, 0.075});
  check_ticks(-3.0, 3.0, 6, {-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0});
}

TEST_CASE("history csv round trip keeps the rows up to an epoch") {
  const std::string path = scratch_folder("history") + "/history.csv";
  const std::vector<pet_breeds::EpochRecord> history{
      {1, 3.5, 0.1, 3.6, 0.05, 12.5}, {2, 2.5, 0.3, 3.9, 0.04, 11.0}, {3, 1.5, 0.6, 4.2, 0.06, 11.2}};
  pet_breeds::write_history_csv(path, history);

  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  CHECK(header == "epoch,loss,accuracy,val_loss,val_accuracy,seconds");

  const auto rows = pet_breeds::read_history_csv(path, 2);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].epoch == 2);
  CHECK(rows[1].loss == doctest::Approx(2.5));
  CHECK(rows[1].accuracy == doctest::Approx(0.3));
  CHECK(rows[1].val_loss == doctest::Approx(3.9));
  CHECK(rows[1].val_accuracy == doctest::Approx(0.04));
  CHECK(rows[1].seconds == doctest::Approx(11.0));
  CHECK(pet_breeds::read_history_csv(path + ".missing", 5).empty());
}

TEST_CASE("history csv with a broken row is a data error") {
  const std::string path = scratch_folder("broken_history") + "/history.csv";
  std::ofstream(path) << "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,2.0,oops\n";
  CHECK_THROWS_WITH_AS(pet_breeds::read_history_csv(path, 5), doctest::Contains("line 2"),
                       nn::DataError);
}

TEST_CASE("canvas fills exactly the pixels of a rectangle") {
  pet_breeds::Canvas canvas(10, 8);
  canvas.fill_rect(2, 3, 5, 4, pet_breeds::colors::kBlack);
  CHECK(painted_pixels(canvas, pet_breeds::colors::kWhite) == 3);
  CHECK(canvas.pixel(2, 3).r == 0);
  CHECK(canvas.pixel(4, 3).r == 0);
  CHECK(canvas.pixel(5, 3).r == 255);
}

TEST_CASE("canvas line covers its length and width") {
  pet_breeds::Canvas canvas(40, 20);
  canvas.draw_polyline({{5.0, 10.0}, {35.0, 10.0}}, 2.0, pet_breeds::colors::kBlack);
  // The pixels whose centres lie within the 2-pixel stroke are fully dark.
  CHECK(canvas.pixel(20, 9).r == 0);
  CHECK(canvas.pixel(20, 10).r == 0);
  CHECK(canvas.pixel(20, 12).r == 255);
  CHECK(canvas.pixel(2, 10).r == 255);
  CHECK(canvas.pixel(38, 10).r == 255);
}

TEST_CASE("built-in font draws text where it is anchored") {
  const pet_breeds::Font font = pet_breeds::Font::builtin();
  CHECK_FALSE(font.is_truetype());
  const int width = font.text_width("beagle", 14);
  CHECK(width > 20);
  pet_breeds::Canvas canvas(200, 60);
  canvas.draw_text(font, "beagle", 100, 30, 14, pet_breeds::colors::kBlack,
                   pet_breeds::Align::Center, pet_breeds::VAlign::Middle);
  int left = canvas.width(), right = -1;
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) {
      if (canvas.pixel(x, y).r < 128) {
        left = std::min(left, x);
        right = std::max(right, x);
      }
    }
  }
  REQUIRE(right >= 0);
  CHECK(std::abs((left + right) / 2 - 100) <= 3);
  CHECK(right - left <= width + 2);
}

TEST_CASE("a missing font file falls back to the built-in font") {
  CHECK_FALSE(pet_breeds::Font::load("/nonexistent/font.ttf").is_truetype());
  CHECK_FALSE(pet_breeds::Font::load("").is_truetype());
  const std::string path = scratch_folder("font") + "/not_a_font.ttf";
  std::ofstream(path) << "not a font";
  CHECK_FALSE(pet_breeds::Font::load(path).is_truetype());
}

TEST_CASE("DejaVu Sans renders as a TrueType font when installed") {
  const std::string path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  if (!std::filesystem::exists(path)) {
    MESSAGE("fonts-dejavu-core is not installed; only the built-in font was tested");
    return;
  }
  const pet_breeds::Font font = pet_breeds::Font::load(path);
  REQUIRE(font.is_truetype());
  const pet_breeds::TextMask mask = font.render("Epoch", 20);
  CHECK(mask.width >= font.text_width("Epoch", 20));
  CHECK(mask.baseline > 10);
  CHECK(mask.baseline < mask.height);
  int ink = 0;
  for (std::uint8_t c : mask.coverage) ink += c > 128;
  CHECK(ink > 50);
}

TEST_CASE("training curves draw two panels with both series") {
  const pet_breeds::Font font = pet_breeds::Font::builtin();
  const pet_breeds::Canvas canvas =
      pet_breeds::draw_training_curves(font, {{1, 3.0, 0.1, 3.2, 0.05, 1}, {2, 2.0, 0.4, 3.4, 0.1, 1}});
  CHECK(canvas.width() == 1200);
  CHECK(canvas.height() == 500);
  int blue = 0, orange = 0;
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) {
      const pet_breeds::Color c = canvas.pixel(x, y);
      if (c.r == 31 && c.g == 119 && c.b == 180) ++blue;
      if (c.r == 255 && c.g == 127 && c.b == 14) ++orange;
    }
  }
  CHECK(blue > 200);
  CHECK(orange > 200);
}

TEST_CASE("image grid rejects an image of the wrong size") {
  const pet_breeds::Font font = pet_breeds::Font::builtin();
  pet_breeds::LabelledImage image{4, 4, std::vector<std::uint8_t>(10), "cat"};
  CHECK_THROWS_WITH_AS(pet_breeds::draw_image_grid(font, {image}, 3, 3, 160, ""),
                       doctest::Contains("expected width * height * 3 bytes, got 10"),
                       nn::ShapeError);
}

TEST_CASE("confusion matrix metrics follow their definitions") {
  pet_breeds::ConfusionMatrix m;
  // Rows are true classes, columns predicted ones.
  m.counts = {{3, 1, 0}, {2, 2, 0}, {0, 0, 0}};
  m.loss_sum = 8.0;
  CHECK(m.total() == 8);
  CHECK(m.correct() == 5);
  CHECK(m.accuracy() == doctest::Approx(5.0 / 8.0));
  CHECK(m.loss() == doctest::Approx(1.0));
  CHECK(m.precision(0) == doctest::Approx(3.0 / 5.0));
  CHECK(m.recall(0) == doctest::Approx(3.0 / 4.0));
  CHECK(m.precision(1) == doctest::Approx(2.0 / 3.0));
  CHECK(m.recall(1) == doctest::Approx(2.0 / 4.0));
  CHECK(std::isnan(m.precision(2)));
  CHECK(std::isnan(m.recall(2)));
  CHECK(pet_breeds::format_percent(0.2093) == "20.93%");
  CHECK(pet_breeds::format_percent(std::nan("")) == "n/a");
}
