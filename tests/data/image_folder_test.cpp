#include "nn/data/image_folder.hpp"
#include "nn/sequential.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "data/image_files.hpp"

namespace fs = std::filesystem;

namespace {

using nn_test::TempDir;

// Every generated image is one colour: red is a unique file id, green the class index, so a
// batch can be traced back to its files.
struct Tree {
  TempDir dir;
  int next_id = 0;
  std::map<int, std::string> path_of_id;

  std::string root() const { return dir.str(); }

  void add(const std::string& relative, int label, int width = 4, int height = 4) {
    const int id = next_id++;
    nn_test::write_file(dir / relative,
                        nn_test::solid_png(width, height, static_cast<std::uint8_t>(id),
                                           static_cast<std::uint8_t>(label), 7));
    path_of_id[id] = (dir / relative).string();
  }

  // `counts` files per class, named img_00.png, img_01.png, ...
  void add_classes(const std::vector<std::pair<std::string, int>>& counts) {
    for (std::size_t c = 0; c < counts.size(); ++c) {
      for (int i = 0; i < counts[c].second; ++i) {
        add(counts[c].first + "/img_" + std::to_string(i / 10) + std::to_string(i % 10) + ".png",
            static_cast<int>(c));
      }
    }
  }
};

nn::ImageFolderOptions small_options() {
  nn::ImageFolderOptions options;
  options.image_size = {2, 2};
  options.batch_size = 4;
  options.seed = 42;
  return options;
}

// One epoch as (file id, label) pairs, checking that every image is the solid colour it should be.
std::vector<std::pair<int, int>> read_epoch(nn::ImageDataset<float>& data, nn::Index epoch) {
  std::vector<std::pair<int, int>> seen;
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  data.begin_epoch(epoch);
  while (data.next_batch(images, labels)) {
    REQUIRE(images.rank() == 4);
    REQUIRE(images.dim(0) == static_cast<nn::Index>(labels.size()));
    const nn::Index per_image = images.size() / images.dim(0);
    for (nn::Index n = 0; n < images.dim(0); ++n) {
      const float* p = images.data() + n * per_image;
      CHECK(p[1] == static_cast<float>(labels[static_cast<std::size_t>(n)]));
      CHECK(p[2] == 7.0f);
      seen.emplace_back(static_cast<int>(p[0]), labels[static_cast<std::size_t>(n)]);
    }
  }
  return seen;
}

std::vector<std::string> lines_of(const nn::ImageDataset<float>& data) { return data.messages(); }

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("Labels are class folder indices in byte order of the names, UTF-8 and spaces included") {
  Tree tree;
  tree.add_classes({{"Zebra", 1}, {"apple", 1}, {"b c", 1}, {"\xC3\xA9t\xC3\xA9", 1}});
  auto options = small_options();
  options.shuffle = false;
  auto [all, none] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(all.class_names() ==
        std::vector<std::string>{"Zebra", "apple", "b c", "\xC3\xA9t\xC3\xA9"});
  CHECK(all.class_count() == 4);
  CHECK(all.labels() == std::vector<std::int32_t>{0, 1, 2, 3});
  CHECK(none.empty());
  CHECK(none.class_count() == 4);
  const auto seen = read_epoch(all, 0);
  CHECK(seen == std::vector<std::pair<int, int>>{{0, 0}, {1, 1}, {2, 2}, {3, 3}});
}

TEST_CASE("Without shuffle the order is class by class, files sorted by folder and name") {
  Tree tree;
  tree.add("b/z.png", 1);
  tree.add("a/b.png", 0);
  tree.add("a/a.png", 0);
  tree.add("a/sub/a.png", 0);
  tree.add("a/sub/deeper/0.png", 0);
  auto options = small_options();
  options.shuffle = false;
  auto [all, none] = nn::image_dataset_from_directory<float>(tree.root(), options);
  const fs::path root = tree.root();
  CHECK(all.file_paths() == std::vector<std::string>{
                                (root / "a/a.png").string(), (root / "a/b.png").string(),
                                (root / "a/sub/a.png").string(),
                                (root / "a/sub/deeper/0.png").string(), (root / "b/z.png").string()});
  CHECK(read_epoch(all, 0) == read_epoch(all, 1));
}

TEST_CASE("Every accepted extension is taken in any letter case, hidden and other files are not") {
  Tree tree;
  const std::vector<std::uint8_t> px(4 * 4 * 3, 50);
  const auto jpeg = nn_test::jpeg_fixture("flat50_4x4.jpg");
  nn_test::write_file(tree.dir / "c/one.JPG", jpeg);
  nn_test::write_file(tree.dir / "c/two.Jpeg", jpeg);
  nn_test::write_file(tree.dir / "c/three.PNG", nn_test::solid_png(4, 4, 50, 50, 50));
  nn_test::write_file(tree.dir / "c/four.bmp", nn_test::encode_bmp(4, 4, 3, px));
  nn_test::write_file(tree.dir / "c/five.GiF",
                      nn_test::encode_gif(2, 2, {50, 50, 50, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                                          {{0, 0, 0, 0}}));
  nn_test::write_file(tree.dir / "c/notes.txt", std::string("not an image"));
  nn_test::write_file(tree.dir / "c/photo.webp", std::string("RIFF....WEBP"));
  nn_test::write_file(tree.dir / "c/.hidden.jpg", jpeg);
  nn_test::write_file(tree.dir / "c/.cache/six.jpg", jpeg);
  nn_test::write_file(tree.dir / ".ipynb_checkpoints/x.png", nn_test::solid_png(4, 4, 1, 1, 1));
  nn_test::write_file(tree.dir / "README.png", nn_test::solid_png(4, 4, 1, 1, 1));

  auto [all, none] = nn::image_dataset_from_directory<float>(tree.root(), small_options());
  CHECK(all.class_names() == std::vector<std::string>{"c"});
  CHECK(all.sample_count() == 5);
  CHECK(all.messages() == std::vector<std::string>{"Found 5 files belonging to 1 class."});
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  all.begin_epoch(0);
  REQUIRE(all.next_batch(images, labels));
  for (nn::Index i = 0; i < images.size(); ++i) CHECK(std::abs(images[i] - 50.0f) <= 2.0f);
}

TEST_CASE("The Found and Using lines count files and classes as Keras prints them") {
  Tree tree;
  tree.add_classes({{"cat", 6}, {"dog", 4}});
  auto options = small_options();
  options.validation_split = 0.25;
  options.subset = nn::Subset::Both;
  auto [train, val] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(train.messages() == std::vector<std::string>{"Found 10 files belonging to 2 classes.",
                                                     "Using 8 files for training.",
                                                     "Using 2 files for validation."});
  CHECK(train.sample_count() == 8);
  CHECK(val.sample_count() == 2);  // floor(0.25 * 10)

  Tree single;
  single.add_classes({{"only", 2}});
  options.validation_split = 0.5;
  auto [t1, v1] = nn::image_dataset_from_directory<float>(single.root(), options);
  CHECK(t1.messages() == std::vector<std::string>{"Found 2 files belonging to 1 class.",
                                                  "Using 1 file for training.",
                                                  "Using 1 file for validation."});
  Tree one;
  one.add_classes({{"only", 1}});
  auto [t2, v2] = nn::image_dataset_from_directory<float>(one.root(), small_options());
  CHECK(t2.messages() == std::vector<std::string>{"Found 1 file belonging to 1 class."});
}

TEST_CASE("The split is disjoint, complete and the same for the same seed") {
  Tree tree;
  tree.add_classes({{"a", 9}, {"b", 8}, {"c", 7}});
  auto options = small_options();
  options.validation_split = 0.2;
  options.subset = nn::Subset::Both;
  auto [train, val] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(val.sample_count() == 4);  // floor(0.2 * 24) = 4
  CHECK(train.sample_count() == 20);

  const auto train_paths = train.file_paths();
  const auto val_paths = val.file_paths();
  std::set<std::string> all(train_paths.begin(), train_paths.end());
  for (const auto& path : val_paths) CHECK(all.insert(path).second);
  CHECK(all.size() == 24);

  // Separate calls for each subset with the same seed give the same subsets.
  options.subset = nn::Subset::Validation;
  auto [no_train, val_again] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(no_train.empty());
  CHECK(val_again.file_paths() == val_paths);
  options.subset = nn::Subset::Training;
  auto [train_again, no_val] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(train_again.file_paths() == train_paths);
  CHECK(no_val.empty());
  CHECK(train_again.messages().back() == "Using 20 files for training.");

  // Another seed gives another split.
  options.subset = nn::Subset::Both;
  options.seed = 43;
  auto [train_other, val_other] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(train_other.file_paths() != train_paths);
}

TEST_CASE("The training order is reshuffled every epoch, seeded by the epoch") {
  Tree tree;
  tree.add_classes({{"a", 10}, {"b", 10}});
  auto options = small_options();
  options.batch_size = 3;
  auto [first, unused1] = nn::image_dataset_from_directory<float>(tree.root(), options);
  auto [second, unused2] = nn::image_dataset_from_directory<float>(tree.root(), options);

  const auto e0 = read_epoch(first, 0);
  const auto e1 = read_epoch(first, 1);
  CHECK(e0.size() == 20);
  CHECK(e0 != e1);
  auto sorted0 = e0, sorted1 = e1;
  std::sort(sorted0.begin(), sorted0.end());
  std::sort(sorted1.begin(), sorted1.end());
  CHECK(sorted0 == sorted1);
  for (int id = 0; id < 20; ++id) CHECK(sorted0[static_cast<std::size_t>(id)].first == id);

  // The same (seed, epoch) gives the same order, in any sequence of epochs.
  CHECK(read_epoch(second, 1) == e1);
  CHECK(read_epoch(second, 0) == e0);
  CHECK(read_epoch(first, 1) == e1);
}

TEST_CASE("Batches have the requested shape and the last one holds the rest") {
  Tree tree;
  tree.add_classes({{"a", 5}, {"b", 5}});
  auto options = small_options();
  options.image_size = {3, 5};
  options.batch_size = 4;
  auto [data, unused] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(data.sample_shape() == nn::Shape{3, 5, 3});
  CHECK(data.batch_size() == 4);
  CHECK(data.batch_count() == 3);
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  std::vector<nn::Index> sizes;
  data.begin_epoch(0);
  while (data.next_batch(images, labels)) {
    CHECK(images.shape() == nn::Shape{images.dim(0), 3, 5, 3});
    sizes.push_back(images.dim(0));
  }
  CHECK(sizes == std::vector<nn::Index>{4, 4, 2});
  CHECK_FALSE(data.next_batch(images, labels));
}

TEST_CASE("Streaming from disk gives the same batches as the in-memory cache") {
  Tree tree;
  tree.add_classes({{"a", 7}, {"b", 6}});
  auto options = small_options();
  options.batch_size = 5;
  options.image_size = {3, 3};
  auto [cached, unused1] = nn::image_dataset_from_directory<float>(tree.root(), options);
  options.cache_budget_bytes = 3 * 3 * 3 * 12;  // one image short of the 13 needed
  auto [streamed, unused2] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(cached.cached());
  CHECK_FALSE(streamed.cached());
  for (nn::Index epoch = 0; epoch < 2; ++epoch) {
    nn::Tensor<float> a, b;
    std::vector<std::int32_t> la, lb;
    cached.begin_epoch(epoch);
    streamed.begin_epoch(epoch);
    while (cached.next_batch(a, la)) {
      REQUIRE(streamed.next_batch(b, lb));
      CHECK(la == lb);
      REQUIRE(a.shape() == b.shape());
      CHECK(std::equal(a.data(), a.data() + a.size(), b.data()));
    }
    CHECK_FALSE(streamed.next_batch(b, lb));
  }
}

TEST_CASE("Batches do not depend on prefetching or on the number of threads") {
  Tree tree;
  tree.add_classes({{"a", 6}, {"b", 5}});
  auto options = small_options();
  options.cache_budget_bytes = 0;  // stream, so the threads decode every batch
  options.num_threads = 1;
  options.prefetch = false;
  auto [serial, unused1] = nn::image_dataset_from_directory<float>(tree.root(), options);
  options.num_threads = 3;
  options.prefetch = true;
  auto [parallel, unused2] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(read_epoch(serial, 0) == read_epoch(parallel, 0));
  CHECK(read_epoch(serial, 3) == read_epoch(parallel, 3));
}

TEST_CASE("Images are resized to the exact size, or centre-cropped to the aspect ratio first") {
  TempDir dir;
  // 6 wide, 2 high, columns of values 0, 10, 20, 30, 40, 50.
  std::vector<std::uint8_t> px;
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 6; ++x) px.insert(px.end(), 3, static_cast<std::uint8_t>(10 * x));
  }
  nn_test::write_file(dir / "c/columns.png", nn_test::rgb_png(6, 2, px));
  auto options = small_options();
  options.image_size = {1, 2};
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;

  // 6 -> 2 columns samples positions 1 and 4.
  auto [squeezed, u1] = nn::image_dataset_from_directory<float>(dir.str(), options);
  REQUIRE(squeezed.next_batch(images, labels));
  CHECK(images[0] == 10.0f);
  CHECK(images[3] == 40.0f);

  // The centred 2x4 crop keeps columns 1 to 4; 4 -> 2 samples crop positions 0.5 and 2.5.
  options.crop_to_aspect_ratio = true;
  auto [cropped, u2] = nn::image_dataset_from_directory<float>(dir.str(), options);
  REQUIRE(cropped.next_batch(images, labels));
  CHECK(images[0] == 15.0f);
  CHECK(images[3] == 35.0f);
}

TEST_CASE("Unreadable files are skipped with one warning each and counted in the Found line") {
  Tree tree;
  tree.add_classes({{"cat", 3}, {"dog", 2}});
  const fs::path root = tree.root();
  nn_test::write_file(root / "cat/zero.jpg", nn_test::Bytes{});
  nn_test::write_file(root / "cat/text.png", std::string("<html>not found</html>"));
  const auto jpeg = nn_test::jpeg_fixture("noise_32x32.jpg");
  nn_test::write_file(root / "dog/cut.jpg",
                      nn_test::Bytes(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 2)));
  auto huge = nn_test::solid_png(1, 1, 1, 2, 3);
  const std::uint8_t side[4] = {0x00, 0x00, 0x2E, 0xE0};  // 12000
  std::copy(side, side + 4, huge.begin() + 16);
  std::copy(side, side + 4, huge.begin() + 20);
  nn_test::write_file(root / "dog/huge.png", huge);

  std::ostringstream sink_text;
  auto options = small_options();
  options.log = nn::ostream_sink(sink_text);
  auto [data, unused] = nn::image_dataset_from_directory<float>(tree.root(), options);
  const auto lines = lines_of(data);
  const std::vector<std::string> expected{
      "Warning: skipping \"" + (root / "cat/text.png").string() +
          "\": not an image, expected a JPEG, PNG, BMP or GIF file.",
      "Warning: skipping \"" + (root / "cat/zero.jpg").string() +
          "\": the file is empty (0 bytes).",
      "Warning: skipping \"" + (root / "dog/cut.jpg").string() +
          "\": truncated JPEG: the data ends before the end-of-image marker.",
      "Warning: skipping \"" + (root / "dog/huge.png").string() +
          "\": image of 12000x12000 pixels exceeds max_pixels = 100000000.",
      "Found 5 files belonging to 2 classes; skipped 4 unreadable files."};
  CHECK(lines == expected);
  CHECK(sink_text.str() == joined(expected));
  CHECK(data.sample_count() == 5);
  CHECK(read_epoch(data, 0).size() == 5);
}

TEST_CASE("One unreadable file is reported in the singular") {
  Tree tree;
  tree.add_classes({{"a", 2}});
  nn_test::write_file(tree.dir / "a/bad.gif", std::string("GIF89a"));
  auto [data, unused] = nn::image_dataset_from_directory<float>(tree.root(), small_options());
  CHECK(data.messages().back() == "Found 2 files belonging to 1 class; skipped 1 unreadable file.");
}

TEST_CASE("A class folder without images is still a class and gets a warning") {
  Tree tree;
  tree.add_classes({{"a", 2}, {"c", 1}});
  fs::create_directories(tree.dir / "b");
  nn_test::write_file(tree.dir / "b/readme.txt", std::string("nothing here"));
  nn_test::write_file(tree.dir / "d/broken.png", nn_test::Bytes{});
  auto options = small_options();
  options.shuffle = false;
  auto [data, unused] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(data.class_names() == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(data.labels() == std::vector<std::int32_t>{0, 0, 2});
  const auto lines = data.messages();
  CHECK(has_line(lines, "Warning: class folder \"" + (tree.dir / "b").string() +
                            "\" has no images; class 1 (\"b\") has no samples."));
  CHECK(has_line(lines, "Warning: class folder \"" + (tree.dir / "d").string() +
                            "\" has no readable images; class 3 (\"d\") has no samples."));
  CHECK(lines.back() == "Found 3 files belonging to 4 classes; skipped 1 unreadable file.");
}

TEST_CASE("A file that breaks while streaming is replaced and reported once") {
  Tree tree;
  tree.add_classes({{"a", 4}, {"b", 4}});
  auto options = small_options();
  options.cache_budget_bytes = 0;
  options.shuffle = false;
  options.batch_size = 3;
  auto [data, unused] = nn::image_dataset_from_directory<float>(tree.root(), options);
  const std::string broken = (tree.dir / "a/img_01.png").string();
  nn_test::write_file(broken, std::string("overwritten"));

  for (nn::Index epoch = 0; epoch < 2; ++epoch) {
    const auto seen = read_epoch(data, epoch);
    REQUIRE(seen.size() == 8);
    // Sample 1 is taken by the next one in the epoch order, file 2 of class a.
    CHECK(seen[1] == std::pair<int, int>{2, 0});
    CHECK(seen[2] == std::pair<int, int>{2, 0});
  }
  const auto lines = data.messages();
  CHECK(std::count(lines.begin(), lines.end(),
                   "Warning: cannot decode \"" + broken + "\" any more (not an image, expected a "
                   "JPEG, PNG, BMP or GIF file); the next sample of the epoch takes its place in "
                   "every epoch.") == 1);
}

TEST_CASE("An error on the prefetch thread reaches the caller of next_batch") {
  Tree tree;
  tree.add_classes({{"a", 3}});
  auto options = small_options();
  options.cache_budget_bytes = 0;
  auto [data, unused] = nn::image_dataset_from_directory<float>(tree.root(), options);
  for (const auto& entry : tree.path_of_id) nn_test::write_file(entry.second, nn_test::Bytes{});
  nn::Tensor<float> images;
  std::vector<std::int32_t> labels;
  data.begin_epoch(0);
  CHECK_THROWS_WITH_AS(data.next_batch(images, labels),
                       "ImageDataset::next_batch: expected at least one decodable file, got none "
                       "of 3; see the warnings",
                       nn::DataError);
  CHECK_FALSE(data.next_batch(images, labels));
}

TEST_CASE("A data set can be moved and destroyed while a batch is being prefetched") {
  Tree tree;
  tree.add_classes({{"a", 6}, {"b", 6}});
  auto options = small_options();
  options.cache_budget_bytes = 0;
  options.batch_size = 2;
  std::vector<nn::ImageDataset<float>> sets;
  {
    auto [data, unused] = nn::image_dataset_from_directory<float>(tree.root(), options);
    data.begin_epoch(0);  // starts prefetching batch 0
    sets.push_back(std::move(data));
  }
  CHECK(read_epoch(sets[0], 0).size() == 12);
  sets[0].begin_epoch(1);
  sets.clear();  // joins the worker while it decodes
  CHECK(sets.empty());
}

TEST_CASE("Symbolic links are ignored unless follow_links is set, and link loops end") {
  Tree tree;
  tree.add_classes({{"a", 2}});
  tree.add("elsewhere/x/1.png", 0);
  tree.add("elsewhere/x/2.png", 0);
  fs::create_directory_symlink(tree.dir / "elsewhere/x", tree.dir / "a/linked");
  fs::create_symlink(tree.dir / "elsewhere/x/1.png", tree.dir / "a/file_link.png");
  fs::create_directory_symlink(tree.dir / "elsewhere/x", tree.dir / "linked_class");
  fs::create_directory_symlink(tree.dir / "a", tree.dir / "a/loop");

  auto options = small_options();
  auto [plain, u1] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(plain.class_names() == std::vector<std::string>{"a", "elsewhere"});
  CHECK(plain.sample_count() == 4);

  options.follow_links = true;
  auto [followed, u2] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(followed.class_names() == std::vector<std::string>{"a", "elsewhere", "linked_class"});
  // a: 2 files, the file link, 2 through the folder link; the loop adds nothing.
  CHECK(followed.sample_count() == 4 + 1 + 2 + 2);
}

TEST_CASE("class_names chooses the label order") {
  Tree tree;
  tree.add_classes({{"a", 1}, {"b", 1}});
  auto options = small_options();
  options.shuffle = false;
  options.class_names = {"b", "a"};
  auto [data, unused] = nn::image_dataset_from_directory<float>(tree.root(), options);
  CHECK(data.class_names() == std::vector<std::string>{"b", "a"});
  CHECK(data.labels() == std::vector<std::int32_t>{0, 1});
  options.class_names = {"a", "c"};
  const std::string message = "expected class_names to list the sub-folders of \"" +
                              tree.root() + "\", got 2 names for the folders: a, b";
  CHECK_THROWS_WITH_AS(nn::image_dataset_from_directory<float>(tree.root(), options),
                       doctest::Contains(message.c_str()), nn::ShapeError);
}

TEST_CASE("A missing root, a file as root or a root without class folders is an error naming it") {
  TempDir dir;
  const std::string missing = (dir / "nope").string();
  CHECK_THROWS_WITH_AS(nn::image_dataset_from_directory<float>(missing, small_options()),
                       ("image_dataset_from_directory: expected a folder with one sub-folder per "
                        "class, got \"" + missing + "\", which does not exist").c_str(),
                       nn::DataError);
  nn_test::write_file(dir / "file.png", nn_test::solid_png(1, 1, 0, 0, 0));
  const std::string file = (dir / "file.png").string();
  CHECK_THROWS_WITH_AS(nn::image_dataset_from_directory<float>(file, small_options()),
                       ("image_dataset_from_directory: expected a folder with one sub-folder per "
                        "class, got \"" + file + "\", which is not a folder").c_str(),
                       nn::DataError);
  CHECK_THROWS_WITH_AS(nn::image_dataset_from_directory<float>(dir.str(), small_options()),
                       ("image_dataset_from_directory: \"" + dir.str() + "\" has no class "
                        "folders; expected one sub-folder per label, e.g. " +
                        (dir / "cat").string() + "/").c_str(),
                       nn::DataError);
  fs::create_directories(dir / "empty_class");
  CHECK_THROWS_WITH_AS(nn::image_dataset_from_directory<float>(dir.str(), small_options()),
                       ("image_dataset_from_directory: expected image files in the class folders "
                        "of \"" + dir.str() + "\", got none; allowed extensions: .jpg, .jpeg, "
                        ".png, .bmp, .gif").c_str(),
                       nn::DataError);
  nn_test::write_file(dir / "empty_class/bad.png", nn_test::Bytes{});
  CHECK_THROWS_WITH_AS(nn::image_dataset_from_directory<float>(dir.str(), small_options()),
                       doctest::Contains("got only unreadable ones"), nn::DataError);
}

TEST_CASE("Invalid options are errors that name the value") {
  Tree tree;
  tree.add_classes({{"a", 3}});
  auto check = [&](nn::ImageFolderOptions options, const std::string& message) {
    CHECK_THROWS_WITH_AS(nn::image_dataset_from_directory<float>(tree.root(), options),
                         ("image_dataset_from_directory: " + message).c_str(), nn::ShapeError);
  };
  auto options = small_options();
  options.subset = nn::Subset::Both;
  for (double split : {1.5, 1.0, -0.1}) {
    options.validation_split = split;
    std::ostringstream text;
    text << split;
    check(options, "expected validation_split in (0, 1), or 0 for no split, got " + text.str());
  }
  options.validation_split = 0.0;
  check(options, "subset Both needs a validation_split in (0, 1), got 0");
  options = small_options();
  options.validation_split = 0.2;
  check(options, "validation_split 0.2 needs a subset (Training, Validation or Both), got All");
  options.subset = nn::Subset::Training;
  options.seed.reset();
  check(options, "expected a seed when validation_split is set and shuffle is on, got none; "
                 "without one, the training and validation subsets of two calls overlap");
  options = small_options();
  options.batch_size = 0;
  check(options, "expected batch_size >= 1, got 0");
  options = small_options();
  options.image_size = {0, 5};
  check(options, "expected a positive image_size, got 0x5");
  options = small_options();
  options.max_pixels = 0;
  check(options, "expected max_pixels >= 1, got 0");
  options = small_options();
  options.num_threads = -1;
  check(options, "expected num_threads >= 0, got -1");
}

TEST_CASE("A split that leaves a subset empty is an error") {
  Tree tree;
  tree.add_classes({{"a", 3}});
  auto options = small_options();
  options.validation_split = 0.2;
  options.subset = nn::Subset::Both;
  CHECK_THROWS_WITH_AS(nn::image_dataset_from_directory<float>(tree.root(), options),
                       "image_dataset_from_directory: validation_split 0.2 of 3 files leaves no "
                       "file for validation; expected at least 1",
                       nn::DataError);
}

TEST_CASE("Without a seed one is drawn and reported") {
  Tree tree;
  tree.add_classes({{"a", 4}});
  auto options = small_options();
  options.seed.reset();
  auto [data, unused] = nn::image_dataset_from_directory<float>(tree.root(), options);
  auto again = small_options();
  again.seed = data.seed();
  auto [same, unused2] = nn::image_dataset_from_directory<float>(tree.root(), again);
  CHECK(read_epoch(data, 0) == read_epoch(same, 0));
}

TEST_CASE("The data set reads as a BatchSource in double precision too") {
  Tree tree;
  tree.add_classes({{"a", 3}, {"b", 2}});
  auto [data, unused] = nn::image_dataset_from_directory<double>(tree.root(), small_options());
  nn::BatchSource<double>& source = data;
  nn::Tensor<double> images;
  std::vector<std::int32_t> labels;
  source.begin_epoch(0);
  nn::Index total = 0;
  while (source.next_batch(images, labels)) total += images.dim(0);
  CHECK(total == 5);
  CHECK(source.class_count() == 2);
}

TEST_CASE("Sequential trains on a folder with broken files, even one that breaks mid-training") {
  // Two classes distinguished by colour: reddish and bluish 8x8 images with some noise.
  TempDir dir;
  for (int i = 0; i < 12; ++i) {
    std::vector<std::uint8_t> red, blue;
    for (int p = 0; p < 64; ++p) {
      const auto noise = static_cast<std::uint8_t>((p * 37 + i * 11) % 60);
      red.insert(red.end(), {static_cast<std::uint8_t>(180 + noise), noise, noise});
      blue.insert(blue.end(), {noise, noise, static_cast<std::uint8_t>(180 + noise)});
    }
    nn_test::write_file(dir / ("blue/" + std::to_string(i) + ".png"), nn_test::rgb_png(8, 8, blue));
    nn_test::write_file(dir / ("red/" + std::to_string(i) + ".png"), nn_test::rgb_png(8, 8, red));
  }
  nn_test::write_file(dir / "red/empty.jpg", nn_test::Bytes{});
  nn_test::write_file(dir / "blue/notes.png", std::string("not a picture"));

  auto options = small_options();
  options.image_size = {8, 8};
  options.validation_split = 0.25;
  options.subset = nn::Subset::Both;
  options.cache_budget_bytes = 0;  // stream, so a file can break between epochs
  auto [train, val] = nn::image_dataset_from_directory<float>(dir.str(), options);
  const auto lines = train.messages();
  CHECK(has_line(lines, "Warning: skipping \"" + (dir / "red/empty.jpg").string() +
                            "\": the file is empty (0 bytes)."));
  CHECK(has_line(lines, "Warning: skipping \"" + (dir / "blue/notes.png").string() +
                            "\": not an image, expected a JPEG, PNG, BMP or GIF file."));
  CHECK(has_line(lines, "Found 24 files belonging to 2 classes; skipped 2 unreadable files."));

  nn::Sequential<float> model(nn::Shape{8, 8, 3}, 7u, nn::Rescaling<float>(1.0 / 255),
                              nn::Flatten<float>(), nn::Dense<float>(2));
  model.compile(nn::Adam<float>(0.01));
  const std::string broken = train.file_paths()[0];
  nn::FitOptions fit;
  fit.epochs = 8;
  fit.on_epoch_end = [&broken](const nn::EpochLogs& logs) {
    if (logs.epoch == 1) nn_test::write_file(broken, nn_test::Bytes{});
  };
  const nn::History history = model.fit(train, fit, &val);
  REQUIRE(history.loss.size() == 8);
  CHECK(history.loss.back() < history.loss.front());
  CHECK(history.val_accuracy.back() == doctest::Approx(1.0));
  const auto after = train.messages();
  CHECK(std::count_if(after.begin(), after.end(), [&broken](const std::string& line) {
          return line.find("cannot decode \"" + broken + "\" any more") != std::string::npos;
        }) == 1);
}
