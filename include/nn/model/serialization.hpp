#pragma once
/// Little-endian binary encoding, CRC-32 and crash-safe file writing for saved models.
///
/// The file format itself is documented in docs/model-format.md; Sequential::save and
/// Sequential::load use the pieces here.

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#define NN_HAVE_POSIX_FILES 1
#endif

#include "nn/core/errors.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"

namespace nn {
namespace detail {

/// CRC-32 as in zlib and PNG (reflected polynomial 0xEDB88320, initial and final xor ~0).
inline std::uint32_t crc32(const unsigned char* data, std::size_t size) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

/// Appends values to a byte buffer in little-endian order, whatever the host's order.
class ByteWriter {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }

  /// Appends a string as u32 byte count and the bytes, without a terminator.
  void string(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes_.append(s);
  }

  /// Appends a shape as u32 rank and one i64 per extent.
  void shape(const Shape& s) {
    u32(static_cast<std::uint32_t>(s.rank()));
    for (Index d : s.dims()) i64(static_cast<std::int64_t>(d));
  }

  /// Appends the elements of a tensor as IEEE-754 values of the tensor's own width.
  template <typename Scalar>
  void values(const Tensor<Scalar>& t) {
    static_assert(std::is_same<Scalar, float>::value || std::is_same<Scalar, double>::value,
                  "saved models store float or double");
    bytes_.reserve(bytes_.size() + static_cast<std::size_t>(t.size()) * sizeof(Scalar));
    for (Index i = 0; i < t.size(); ++i) {
      if constexpr (sizeof(Scalar) == 4) {
        std::uint32_t bits;
        std::memcpy(&bits, &t.data()[i], 4);
        u32(bits);
      } else {
        std::uint64_t bits;
        std::memcpy(&bits, &t.data()[i], 8);
        u64(bits);
      }
    }
  }

  const std::string& bytes() const { return bytes_; }
  std::string& bytes() { return bytes_; }

 private:
  void put(std::uint64_t v, int count) {
    for (int i = 0; i < count; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
  }

  std::string bytes_;
};

/// Reads little-endian values from a byte range. Every read is bounds-checked, so a range that
/// ends early throws a DataError naming the file and the field.
class ByteReader {
 public:
  ByteReader(std::string file, const char* data, std::size_t size)
      : file_(std::move(file)), data_(reinterpret_cast<const unsigned char*>(data)), size_(size) {}

  std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(get(1, what)); }
  std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(get(4, what)); }
  std::uint64_t u64(const char* what) { return get(8, what); }
  std::int64_t i64(const char* what) { return static_cast<std::int64_t>(get(8, what)); }

  std::string string(const char* what) {
    const std::uint32_t length = u32(what);
    require(length, what);
    std::string s(reinterpret_cast<const char*>(data_ + position_), length);
    position_ += length;
    return s;
  }

  /// Reads a shape of rank at most 8 whose element count is at most 2^40.
  Shape shape(const char* what) {
    const std::uint32_t rank = u32(what);
    if (rank > 8) {
      fail(std::string("corrupted payload: ") + what + " expected a rank of at most 8, got " +
           std::to_string(rank));
    }
    // The limit keeps Shape::size() from overflowing; real tensors are far smaller.
    constexpr std::int64_t max_elements = std::int64_t(1) << 40;
    std::vector<Index> dims;
    std::int64_t elements = 1;
    for (std::uint32_t i = 0; i < rank; ++i) {
      const std::int64_t d = i64(what);
      if (d < 0 || d > max_elements || (d > 0 && elements > max_elements / d)) {
        fail(std::string("corrupted payload: ") + what + " has an invalid extent " +
             std::to_string(d));
      }
      elements *= d;
      dims.push_back(static_cast<Index>(d));
    }
    return Shape(std::move(dims));
  }

  /// Reads `count` stored values of `stored_size` bytes (4 or 8) into t, converting them.
  template <typename Scalar>
  void values(Tensor<Scalar>& t, std::uint32_t stored_size, const char* what) {
    const auto count = static_cast<std::size_t>(t.size());
    if (count > (size_ - position_) / stored_size) require(count * stored_size, what);
    for (std::size_t i = 0; i < count; ++i) {
      if (stored_size == 4) {
        const auto bits = static_cast<std::uint32_t>(get(4, what));
        float f;
        std::memcpy(&f, &bits, 4);
        t.data()[i] = static_cast<Scalar>(f);
      } else {
        const std::uint64_t bits = get(8, what);
        double d;
        std::memcpy(&d, &bits, 8);
        t.data()[i] = static_cast<Scalar>(d);
      }
    }
  }

  std::size_t remaining() const { return size_ - position_; }
  const std::string& file() const { return file_; }

  [[noreturn]] void fail(const std::string& message) const {
    throw DataError(file_ + ": " + message);
  }

 private:
  void require(std::size_t count, const char* what) const {
    if (count > size_ - position_) {
      fail(std::string("corrupted payload: ") + what + " needs " + std::to_string(count) +
           " bytes at offset " + std::to_string(position_) + ", but only " +
           std::to_string(size_ - position_) + " remain");
    }
  }

  std::uint64_t get(int count, const char* what) {
    require(static_cast<std::size_t>(count), what);
    std::uint64_t v = 0;
    for (int i = 0; i < count; ++i) {
      v |= static_cast<std::uint64_t>(data_[position_ + static_cast<std::size_t>(i)]) << (8 * i);
    }
    position_ += static_cast<std::size_t>(count);
    return v;
  }

  std::string file_;
  const unsigned char* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

/// Reads a whole file into memory; throws DataError naming the file when it cannot be read.
inline std::string read_file(const std::string& path) {
  // A folder opens as a stream on POSIX systems and then fails inside the read with an
  // exception that does not name the path; a device such as /dev/zero would never end.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_directory(status)) {
    throw DataError(path + ": cannot open file for reading: it is a folder, not a model file");
  }
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    throw DataError(path + ": cannot open file for reading: not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open file for reading: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(path + ": read failed");
  return bytes;
}

/// Writes `bytes` to `path` so that the file is either the old one or the complete new one.
///
/// The bytes go to a temporary file in the same folder, which is flushed to disk (fsync) and
/// then renamed over `path`. Rename within one file system is atomic on POSIX systems, so a
/// crash leaves at worst a stray temporary file. The folder is synced too, so the rename itself
/// survives a power loss.
inline void write_file_atomically(const std::string& path, const std::string& bytes) {
#ifdef NN_HAVE_POSIX_FILES
  // open() with O_EXCL and mode 0666 lets the user's umask set the permissions, as a plain
  // fopen would; mkstemp would force 0600.
  static std::atomic<unsigned> counter{0};
  std::string temp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    temp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    throw DataError(path + ": cannot create temporary file " + temp + ": " +
                    std::strerror(errno));
  }
  const auto fail = [&](const char* step) {
    const int error = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw DataError(path + ": " + step + " failed for temporary file " + temp + ": " +
                    std::strerror(error));
  };
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw DataError(path + ": close failed for temporary file " + temp + ": " +
                    std::strerror(error));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw DataError(path + ": cannot rename temporary file " + temp + " to it: " +
                    std::strerror(error));
  }
  const std::size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dir = ::open(folder.c_str(), O_RDONLY);
  if (dir >= 0) {
    ::fsync(dir);  // best effort: some file systems do not support syncing a folder
    ::close(dir);
  }
#else
  // Limitation: without POSIX calls the file is not synced to disk before the rename. The old
  // file is removed first because std::rename may fail when the target exists (Windows).
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw DataError(path + ": cannot write temporary file " + temp);
  }
  std::remove(path.c_str());
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw DataError(path + ": cannot rename temporary file " + temp + " to it");
  }
#endif
}

}  // namespace detail
}  // namespace nn
