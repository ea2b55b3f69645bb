#pragma once
/// An image classification data set read from a folder with one sub-folder per class, with the
/// semantics of Keras' image_dataset_from_directory.
///
///   root/
///     cat/  0001.jpg  0002.png  holidays/0003.jpeg
///     dog/  0001.jpg  ...
///
/// Batches are [N, H, W, 3] with values 0 to 255 (the model rescales) and int32 labels, the
/// index of the class folder in byte order of the names. See docs/data.md for the behaviour in
/// full: which files are taken, the split, the messages, caching and streaming, bad files.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/random.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/core/threads.hpp"
#include "nn/data/batch_source.hpp"
#include "nn/io/image.hpp"
#include "nn/io/resize.hpp"

namespace nn {

/// Which files of the folder a data set holds, as Keras' `subset` argument.
enum class Subset {
  All,         // every file; validation_split must be 0
  Training,    // the first n - floor(split * n) files of the seeded shuffle
  Validation,  // the last floor(split * n) files
  Both         // both subsets from one scan
};

/// Receives each message line (no trailing newline): "Found ...", "Using ...", and warnings,
/// which start with "Warning: ". May be called from a background thread while streaming; calls
/// are never concurrent.
using LogSink = std::function<void(const std::string&)>;

/// A sink that writes each message line to `out`, e.g. `nn::ostream_sink(std::cout)`.
inline LogSink ostream_sink(std::ostream& out) {
  return [&out](const std::string& line) { out << line << '\n' << std::flush; };
}

/// Options of image_dataset_from_directory, with Keras' defaults.
struct ImageFolderOptions {
  /// Every image is resized to this size (height, width).
  ImageSize image_size{256, 256};
  Index batch_size = 32;
  /// Shuffles the file list before the split and reshuffles the order every epoch.
  bool shuffle = true;
  /// Seed of every shuffle. Unset: one is drawn from std::random_device (see seed()).
  std::optional<std::uint64_t> seed;
  /// Fraction of files held out for validation, in (0, 1); 0 means no split.
  double validation_split = 0.0;
  Subset subset = Subset::All;
  Interpolation interpolation = Interpolation::Bilinear;
  /// Crops the largest centred window with the target's aspect ratio before resizing, so
  /// images are not distorted (Keras' crop_to_aspect_ratio).
  bool crop_to_aspect_ratio = false;
  /// Descends into symbolic links to folders and takes symbolic links to files. Off: links are
  /// ignored.
  bool follow_links = false;
  /// Images whose header declares more pixels than this are skipped before decoding.
  std::uint64_t max_pixels = kDefaultMaxPixels;
  /// Largest size of the in-memory uint8 cache (files × H × W × 3 bytes). Above it, images
  /// are decoded from disk every epoch. Default 2 GiB: 32768 images at 256 × 256.
  std::uint64_t cache_budget_bytes = std::uint64_t{2} << 30;
  /// Decoding threads; 0 means nn::num_threads(), which follows OMP_NUM_THREADS.
  int num_threads = 0;
  /// Assembles the next batch on a background thread while the caller uses the current one.
  bool prefetch = true;
  /// Explicit class names and their order (Keras' class_names); empty means every sub-folder.
  std::vector<std::string> class_names;
  /// Where messages go as they happen; unset means nowhere. All of them are also kept and
  /// returned by ImageDataset::messages().
  LogSink log;
};

namespace detail {

inline std::string count_noun(std::size_t n, const char* singular, const char* plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

inline bool has_image_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".gif";
}

inline bool is_hidden(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

/// Runs fn(i) for i in [0, n) on `threads` std::threads; rethrows the first exception after
/// all threads have finished.
template <typename Fn>
void run_on_threads(std::size_t n, int threads, Fn&& fn) {
  const std::size_t workers = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1, threads)));
  if (workers <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      for (std::size_t i = next++; i < n; i = next++) fn(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = n;
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  try {
    for (std::size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  } catch (...) {
    // A thread failed to start: let the started ones finish before reporting it.
    next = n;
    for (auto& thread : pool) thread.join();
    throw;
  }
  work();
  for (auto& thread : pool) thread.join();
  if (error) std::rethrow_exception(error);
}

/// The message lines of one load, shared by its data sets; thread-safe.
class MessageLog {
 public:
  explicit MessageLog(LogSink sink) : sink_(std::move(sink)) {}

  void emit(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(line);
    if (sink_) sink_(line);
  }

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  LogSink sink_;
  std::vector<std::string> lines_;
};

/// The usable files of one scan, their labels and, when cached, their decoded pixels. Shared
/// by the training and validation data sets of one load.
class ImageStore {
 public:
  ImageSize size;
  Interpolation interpolation = Interpolation::Bilinear;
  bool crop_to_aspect_ratio = false;
  std::uint64_t max_pixels = kDefaultMaxPixels;
  int threads = 1;
  std::vector<std::string> class_names;
  std::vector<std::string> paths;       // usable files, in scan order
  std::vector<std::int32_t> labels;     // per usable file
  bool cached = false;
  std::vector<std::uint8_t> pixels;     // [files, H, W, 3] when cached
  std::shared_ptr<MessageLog> log;

  std::size_t image_bytes() const {
    return static_cast<std::size_t>(size.height * size.width * 3);
  }

  /// Decodes and resizes file `path` into `out` (H × W × 3 bytes). Returns the reason on failure.
  std::string decode_resized(const std::string& path, std::uint8_t* out) const {
    std::vector<std::uint8_t> bytes;
    std::string error = read_file_bytes(path, bytes);
    if (!error.empty()) return error;
    RgbImage image;
    error = decode_rgb(bytes.data(), bytes.size(), max_pixels, image);
    if (!error.empty()) return error;
    const CropBox crop = crop_to_aspect_ratio
                             ? center_crop_to_aspect(image.height, image.width, size)
                             : CropBox{0, 0, image.height, image.width};
    resize_image(image.pixels.data(), image.height, image.width, 3, crop, out, size,
                 interpolation);
    return {};
  }

  /// Checks file `path` without decoding its pixels. Returns the reason it is unusable.
  std::string check_file(const std::string& path) const {
    std::vector<std::uint8_t> bytes;
    std::string error = read_file_bytes(path, bytes);
    if (!error.empty()) return error;
    ImageInfo info;
    return check_image(bytes.data(), bytes.size(), max_pixels, info);
  }

  /// Fills `out` with the pixels of usable file `index`; while streaming a file that no longer
  /// decodes yields its reason, and the warning is given once per file.
  std::string load(std::size_t index, std::uint8_t* out) const {
    if (cached) {
      std::memcpy(out, pixels.data() + index * image_bytes(), image_bytes());
      return {};
    }
    std::string error = decode_resized(paths[index], out);
    if (!error.empty()) {
      bool first = false;
      {
        std::lock_guard<std::mutex> lock(failed_mutex_);
        first = failed_.insert(index).second;
      }
      if (first) {
        log->emit("Warning: cannot decode \"" + paths[index] + "\" any more (" + error +
                  "); the next sample of the epoch takes its place in every epoch.");
      }
    }
    return error;
  }

 private:
  mutable std::mutex failed_mutex_;
  mutable std::set<std::size_t> failed_;
};

}  // namespace detail

/// One subset of an image folder as a BatchSource: the training or validation files, or all.
///
/// Yields [N, H, W, 3] batches of values 0 to 255 and int32 labels. Every epoch visits each
/// file once; with shuffle on, the order of epoch e is a seeded shuffle that depends only on
/// (seed, subset, e). The next batch is assembled on a background thread (prefetch); errors
/// there are rethrown by next_batch(). Movable, not copyable; the destructor waits for the
/// batch in progress.
template <typename Scalar>
class ImageDataset : public BatchSource<Scalar> {
 public:
  ImageDataset() = default;
  ImageDataset(ImageDataset&&) noexcept = default;
  ImageDataset& operator=(ImageDataset&&) noexcept = default;
  ImageDataset(const ImageDataset&) = delete;
  ImageDataset& operator=(const ImageDataset&) = delete;
  ~ImageDataset() override = default;

  Shape sample_shape() const override {
    if (!state_) return {};
    return {state_->store->size.height, state_->store->size.width, 3};
  }
  Index sample_count() const override {
    return state_ ? static_cast<Index>(state_->members.size()) : 0;
  }
  Index batch_size() const override { return state_ ? state_->batch_size : 1; }
  Index class_count() const override {
    return state_ ? static_cast<Index>(state_->store->class_names.size()) : 0;
  }

  void begin_epoch(Index epoch) override {
    if (!state_) return;
    state_->begin_epoch(epoch);
  }

  bool next_batch(Tensor<Scalar>& images, std::vector<std::int32_t>& labels) override {
    if (!state_) return false;
    return state_->next_batch(images, labels);
  }

  /// True for the subset that was not requested (e.g. validation when subset is Training).
  bool empty() const { return sample_count() == 0; }

  /// Class names; label i is class_names()[i].
  std::vector<std::string> class_names() const {
    return state_ ? state_->store->class_names : std::vector<std::string>{};
  }

  /// File paths of the samples in the subset's fixed order (after the seeded split shuffle).
  std::vector<std::string> file_paths() const {
    std::vector<std::string> out;
    if (!state_) return out;
    for (std::size_t i : state_->members) out.push_back(state_->store->paths[i]);
    return out;
  }

  /// Labels of the samples, in the order of file_paths().
  std::vector<std::int32_t> labels() const {
    std::vector<std::int32_t> out;
    if (!state_) return out;
    for (std::size_t i : state_->members) out.push_back(state_->store->labels[i]);
    return out;
  }

  /// Positions in file_paths() of the samples of the current epoch, in batch order.
  std::vector<std::size_t> epoch_order() const {
    return state_ ? state_->order : std::vector<std::size_t>{};
  }

  /// Every message of the load so far ("Found ...", "Using ...", warnings), in order.
  std::vector<std::string> messages() const {
    return state_ ? state_->store->log->lines() : std::vector<std::string>{};
  }

  /// True when the decoded images are held in memory, false when streamed from disk.
  bool cached() const { return state_ && state_->store->cached; }

  /// The seed in use (the drawn one when the options left it unset).
  std::uint64_t seed() const { return state_ ? state_->seed : 0; }

  Subset subset() const { return state_ ? state_->subset : Subset::All; }

  /// Used by image_dataset_from_directory.
  ImageDataset(std::shared_ptr<detail::ImageStore> store, std::vector<std::size_t> members,
               Subset subset, Index batch_size, bool shuffle, std::uint64_t seed, bool prefetch)
      : state_(std::make_unique<State>(std::move(store), std::move(members), subset, batch_size,
                                       shuffle, seed, prefetch)) {}

 private:
  /// Everything the prefetch thread touches lives here, so moving the data set moves a pointer.
  struct State {
    std::shared_ptr<detail::ImageStore> store;
    std::vector<std::size_t> members;  // indices into store, in the subset's fixed order
    Subset subset;
    Index batch_size;
    bool shuffle;
    std::uint64_t seed;
    bool prefetch;

    std::vector<std::size_t> order;  // positions in members for the current epoch
    Index next_to_return = 0;        // batch index the next call to next_batch returns
    bool epoch_started = false;
    Index epoch = 0;

    // Prefetch: the worker fills `ready_*` with batch `job_batch` when `job_pending`.
    std::mutex mutex;
    std::condition_variable cv;
    std::thread worker;
    bool stop = false;
    bool job_pending = false;
    bool job_done = false;
    Index job_batch = 0;
    Tensor<Scalar> ready_images;
    std::vector<std::int32_t> ready_labels;
    std::exception_ptr job_error;

    State(std::shared_ptr<detail::ImageStore> s, std::vector<std::size_t> m, Subset sub,
          Index batch, bool shuf, std::uint64_t sd, bool pre)
        : store(std::move(s)), members(std::move(m)), subset(sub), batch_size(batch),
          shuffle(shuf), seed(sd), prefetch(pre) {
      if (prefetch && !members.empty()) worker = std::thread([this] { run_worker(); });
    }

    ~State() {
      {
        std::lock_guard<std::mutex> lock(mutex);
        stop = true;
      }
      cv.notify_all();
      if (worker.joinable()) worker.join();
    }

    Index batch_count() const {
      return (static_cast<Index>(members.size()) + batch_size - 1) / batch_size;
    }

    void begin_epoch(Index e) {
      wait_idle();
      epoch = e;
      order.resize(members.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      if (shuffle) {
        const auto stream = static_cast<std::uint64_t>(subset) + 1;
        Random random(Random::derive_seed(Random::derive_seed(seed, stream),
                                          static_cast<std::uint64_t>(e)));
        random.shuffle(order.begin(), order.end());
      }
      next_to_return = 0;
      epoch_started = true;
      if (batch_count() > 0) submit(0);
    }

    bool next_batch(Tensor<Scalar>& images, std::vector<std::int32_t>& labels) {
      if (!epoch_started) begin_epoch(0);
      if (next_to_return >= batch_count()) return false;
      if (!prefetch) {
        fill_batch(next_to_return, images, labels);
      } else {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [this] { return job_done; });
        job_done = false;
        if (job_error) {
          auto error = job_error;
          job_error = nullptr;
          next_to_return = batch_count();  // the epoch cannot go on
          std::rethrow_exception(error);
        }
        std::swap(images, ready_images);
        std::swap(labels, ready_labels);
      }
      ++next_to_return;
      if (next_to_return < batch_count()) submit(next_to_return);
      return true;
    }

    void submit(Index batch) {
      if (!prefetch) return;
      {
        std::lock_guard<std::mutex> lock(mutex);
        job_batch = batch;
        job_pending = true;
        job_done = false;
      }
      cv.notify_all();
    }

    /// Waits until the worker has no batch in progress and drops a finished one.
    void wait_idle() {
      if (!prefetch) return;
      std::unique_lock<std::mutex> lock(mutex);
      cv.wait(lock, [this] { return !job_pending; });
      job_done = false;
      job_error = nullptr;
    }

    void run_worker() {
      std::unique_lock<std::mutex> lock(mutex);
      while (true) {
        cv.wait(lock, [this] { return stop || job_pending; });
        if (stop) return;
        const Index batch = job_batch;
        lock.unlock();
        std::exception_ptr error;
        try {
          fill_batch(batch, ready_images, ready_labels);
        } catch (...) {
          error = std::current_exception();
        }
        lock.lock();
        job_error = error;
        job_pending = false;
        job_done = true;
        cv.notify_all();
      }
    }

    /// Assembles batch `batch` of the current epoch. A file that fails to decode while
    /// streaming is replaced by the next sample of the epoch order that decodes.
    void fill_batch(Index batch, Tensor<Scalar>& images, std::vector<std::int32_t>& labels) const {
      const Index begin = batch * batch_size;
      const Index n = std::min<Index>(batch_size, static_cast<Index>(order.size()) - begin);
      const auto& s = *store;
      images.resize({n, s.size.height, s.size.width, 3});
      labels.assign(static_cast<std::size_t>(n), 0);
      const std::size_t bytes = s.image_bytes();
      const int threads = s.cached ? 1 : s.threads;
      detail::run_on_threads(static_cast<std::size_t>(n), threads, [&](std::size_t k) {
        std::vector<std::uint8_t> pixels(bytes);
        const std::size_t count = order.size();
        std::size_t position = static_cast<std::size_t>(begin) + k;
        std::size_t index = members[order[position]];
        std::size_t attempts = 0;
        while (!s.load(index, pixels.data()).empty()) {
          if (++attempts == count) {
            throw DataError("ImageDataset::next_batch: expected at least one decodable file, "
                            "got none of " + std::to_string(count) + "; see the warnings");
          }
          position = (position + 1) % count;
          index = members[order[position]];
        }
        labels[k] = s.labels[index];
        Scalar* out = images.data() + static_cast<Index>(k * bytes);
        for (std::size_t i = 0; i < bytes; ++i) out[i] = static_cast<Scalar>(pixels[i]);
      });
    }
  };

  std::unique_ptr<State> state_;
};

/// The data sets of one load. With Subset::All or Training only `training` holds files, with
/// Validation only `validation`; the other one is empty(). Unpacks as
/// `auto [train, val] = nn::image_dataset_from_directory<float>(root, options);`.
template <typename Scalar>
struct ImageDatasets {
  ImageDataset<Scalar> training;
  ImageDataset<Scalar> validation;
};

namespace detail {

/// Collects the image files under `dir` (recursively), sorted as Keras sorts them: by folder,
/// then by file name.
inline void collect_images(const std::filesystem::path& dir, bool follow_links,
                           std::set<std::filesystem::path>& visited,
                           std::vector<std::filesystem::path>& files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (follow_links) {
    // A link back to an ancestor would loop forever; visit each real folder once.
    const fs::path real = fs::canonical(dir, ec);
    if (ec || !visited.insert(real).second) return;
  }
  std::vector<fs::path> here, subdirs;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (is_hidden(path)) continue;
    const bool link = it->is_symlink(ec);
    if (link && !follow_links) continue;
    if (it->is_directory(ec)) {
      subdirs.push_back(path);
    } else if (it->is_regular_file(ec) && has_image_extension(path)) {
      here.push_back(path);
    }
  }
  std::sort(here.begin(), here.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  files.insert(files.end(), here.begin(), here.end());
  std::sort(subdirs.begin(), subdirs.end());
  for (const auto& sub : subdirs) collect_images(sub, follow_links, visited, files);
}

inline std::string subset_name(Subset subset) {
  switch (subset) {
    case Subset::All: return "All";
    case Subset::Training: return "Training";
    case Subset::Validation: return "Validation";
    case Subset::Both: return "Both";
  }
  return "?";
}

inline void check_folder_options(const ImageFolderOptions& o) {
  const std::string where = "image_dataset_from_directory: ";
  if (o.image_size.height <= 0 || o.image_size.width <= 0) {
    throw ShapeError(where + "expected a positive image_size, got " +
                     std::to_string(o.image_size.height) + "x" + std::to_string(o.image_size.width));
  }
  if (o.batch_size <= 0) {
    throw ShapeError(where + "expected batch_size >= 1, got " + std::to_string(o.batch_size));
  }
  if (!(o.validation_split >= 0.0 && o.validation_split < 1.0)) {
    std::ostringstream v;
    v << o.validation_split;
    throw ShapeError(where + "expected validation_split in (0, 1), or 0 for no split, got " +
                     v.str());
  }
  if (o.subset != Subset::All && o.validation_split == 0.0) {
    throw ShapeError(where + "subset " + subset_name(o.subset) +
                     " needs a validation_split in (0, 1), got 0");
  }
  if (o.subset == Subset::All && o.validation_split > 0.0) {
    std::ostringstream v;
    v << o.validation_split;
    throw ShapeError(where + "validation_split " + v.str() +
                     " needs a subset (Training, Validation or Both), got All");
  }
  if (o.validation_split > 0.0 && o.shuffle && !o.seed &&
      (o.subset == Subset::Training || o.subset == Subset::Validation)) {
    throw ShapeError(where + "expected a seed when validation_split is set and shuffle is on, "
                     "got none; without one, the training and validation subsets of two calls "
                     "overlap");
  }
  if (o.max_pixels == 0) throw ShapeError(where + "expected max_pixels >= 1, got 0");
  if (o.num_threads < 0) {
    throw ShapeError(where + "expected num_threads >= 0, got " + std::to_string(o.num_threads));
  }
}

}  // namespace detail

/// Reads a folder of class sub-folders into training and/or validation data sets, as Keras'
/// image_dataset_from_directory does.
///
/// Throws DataError when `directory` is missing, is not a folder, has no class folders or no
/// usable image, and ShapeError for invalid options. Bad image files never throw: each is
/// skipped with one warning naming the file and the reason.
template <typename Scalar>
ImageDatasets<Scalar> image_dataset_from_directory(const std::string& directory,
                                                   const ImageFolderOptions& options = {}) {
  namespace fs = std::filesystem;
  const std::string where = "image_dataset_from_directory: ";
  detail::check_folder_options(options);

  // The class folders: every non-hidden sub-folder, in byte order of the names.
  std::error_code ec;
  const fs::path root(directory);
  if (!fs::exists(root, ec)) {
    throw DataError(where + "expected a folder with one sub-folder per class, got \"" +
                    directory + "\", which does not exist");
  }
  if (!fs::is_directory(root, ec)) {
    throw DataError(where + "expected a folder with one sub-folder per class, got \"" +
                    directory + "\", which is not a folder");
  }
  std::vector<std::string> found_classes;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (detail::is_hidden(it->path())) continue;
    if (it->is_symlink(ec) && !options.follow_links) continue;
    if (it->is_directory(ec)) found_classes.push_back(it->path().filename().string());
  }
  if (ec) throw DataError(where + "cannot list \"" + directory + "\": " + ec.message());
  std::sort(found_classes.begin(), found_classes.end());
  if (found_classes.empty()) {
    throw DataError(where + "\"" + directory + "\" has no class folders; expected one "
                    "sub-folder per label, e.g. " + (root / "cat").string() + "/");
  }
  std::vector<std::string> class_names = found_classes;
  if (!options.class_names.empty()) {
    std::vector<std::string> sorted = options.class_names;
    std::sort(sorted.begin(), sorted.end());
    if (sorted != found_classes) {
      std::string got;
      for (const auto& name : found_classes) got += (got.empty() ? "" : ", ") + name;
      throw ShapeError(where + "expected class_names to list the sub-folders of \"" + directory +
                       "\", got " + std::to_string(options.class_names.size()) +
                       " names for the folders: " + got);
    }
    class_names = options.class_names;
  }

  auto log = std::make_shared<detail::MessageLog>(options.log);

  // The candidate files of each class, in class order.
  std::vector<std::string> candidates;
  std::vector<std::int32_t> candidate_labels;
  std::vector<std::size_t> per_class(class_names.size(), 0);
  for (std::size_t c = 0; c < class_names.size(); ++c) {
    std::set<fs::path> visited;
    std::vector<fs::path> files;
    detail::collect_images(root / class_names[c], options.follow_links, visited, files);
    for (const auto& file : files) {
      candidates.push_back(file.string());
      candidate_labels.push_back(static_cast<std::int32_t>(c));
    }
    per_class[c] = files.size();
  }

  auto store = std::make_shared<detail::ImageStore>();
  store->size = options.image_size;
  store->interpolation = options.interpolation;
  store->crop_to_aspect_ratio = options.crop_to_aspect_ratio;
  store->max_pixels = options.max_pixels;
  store->threads = options.num_threads > 0 ? options.num_threads : num_threads();
  store->class_names = class_names;
  store->log = log;

  // Decode everything once when the cache fits the budget, else check each file's header and
  // structure; either way the unusable files are known before anything is counted.
  const std::uint64_t image_bytes = store->image_bytes();
  const std::uint64_t n = candidates.size();
  store->cached = n <= options.cache_budget_bytes / image_bytes;
  std::vector<std::string> errors(candidates.size());
  if (store->cached) store->pixels.resize(static_cast<std::size_t>(n * image_bytes));
  detail::run_on_threads(candidates.size(), store->threads, [&](std::size_t i) {
    errors[i] = store->cached
                    ? store->decode_resized(candidates[i], store->pixels.data() + i * image_bytes)
                    : store->check_file(candidates[i]);
  });

  // Keep the usable files, compacting the cache in place, and report the others.
  std::size_t skipped = 0;
  std::vector<std::size_t> usable_per_class(class_names.size(), 0);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!errors[i].empty()) {
      ++skipped;
      log->emit("Warning: skipping \"" + candidates[i] + "\": " + errors[i] + ".");
      continue;
    }
    const std::size_t k = store->paths.size();
    if (store->cached && k != i) {
      std::memmove(store->pixels.data() + k * image_bytes, store->pixels.data() + i * image_bytes,
                   static_cast<std::size_t>(image_bytes));
    }
    store->paths.push_back(candidates[i]);
    store->labels.push_back(candidate_labels[i]);
    ++usable_per_class[static_cast<std::size_t>(candidate_labels[i])];
  }
  if (store->cached) {
    store->pixels.resize(store->paths.size() * static_cast<std::size_t>(image_bytes));
    store->pixels.shrink_to_fit();
  }
  for (std::size_t c = 0; c < class_names.size(); ++c) {
    if (usable_per_class[c] > 0) continue;
    const std::string folder = (root / class_names[c]).string();
    log->emit("Warning: class folder \"" + folder + "\" has no " +
              (per_class[c] == 0 ? "images" : "readable images") + "; class " +
              std::to_string(c) + " (\"" + class_names[c] + "\") has no samples.");
  }

  const std::size_t usable = store->paths.size();
  std::string found = "Found " + detail::count_noun(usable, "file", "files") + " belonging to " +
                      detail::count_noun(class_names.size(), "class", "classes");
  if (skipped > 0) {
    found += "; skipped " + detail::count_noun(skipped, "unreadable file", "unreadable files");
  }
  log->emit(found + ".");
  if (usable == 0) {
    throw DataError(where + "expected image files in the class folders of \"" + directory +
                    "\", got " + (skipped ? "only unreadable ones" : "none") +
                    "; allowed extensions: .jpg, .jpeg, .png, .bmp, .gif");
  }

  // The split: one seeded shuffle of all usable files, the last floor(split * n) validate.
  const std::uint64_t seed = options.seed ? *options.seed : [] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) | device();
  }();
  std::vector<std::size_t> all(usable);
  for (std::size_t i = 0; i < usable; ++i) all[i] = i;
  if (options.shuffle) {
    Random random(seed);
    random.shuffle(all.begin(), all.end());
  }
  const auto validation_count =
      static_cast<std::size_t>(std::floor(options.validation_split * static_cast<double>(usable)));
  std::vector<std::size_t> training_members(all.begin(), all.end() - static_cast<std::ptrdiff_t>(validation_count));
  std::vector<std::size_t> validation_members(all.end() - static_cast<std::ptrdiff_t>(validation_count), all.end());

  const bool want_training = options.subset == Subset::Training || options.subset == Subset::Both;
  const bool want_validation =
      options.subset == Subset::Validation || options.subset == Subset::Both;
  std::ostringstream split_text;
  split_text << options.validation_split;
  if (want_training) {
    log->emit("Using " + detail::count_noun(training_members.size(), "file", "files") +
              " for training.");
    if (training_members.empty()) {
      throw DataError(where + "validation_split " + split_text.str() + " of " +
                      detail::count_noun(usable, "file", "files") +
                      " leaves no file for training; expected at least 1");
    }
  }
  if (want_validation) {
    log->emit("Using " + detail::count_noun(validation_members.size(), "file", "files") +
              " for validation.");
    if (validation_members.empty()) {
      throw DataError(where + "validation_split " + split_text.str() + " of " +
                      detail::count_noun(usable, "file", "files") +
                      " leaves no file for validation; expected at least 1");
    }
  }

  ImageDatasets<Scalar> result;
  const auto make = [&](std::vector<std::size_t> members, Subset subset) {
    return ImageDataset<Scalar>(store, std::move(members), subset, options.batch_size,
                                options.shuffle, seed, options.prefetch);
  };
  if (options.subset == Subset::All) {
    result.training = make(std::move(all), Subset::All);
    result.validation = make({}, Subset::Validation);
  } else {
    result.training = make(want_training ? std::move(training_members) : std::vector<std::size_t>{},
                           Subset::Training);
    result.validation = make(
        want_validation ? std::move(validation_members) : std::vector<std::size_t>{},
        Subset::Validation);
  }
  return result;
}

}  // namespace nn
