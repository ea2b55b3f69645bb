#pragma once
/// The saved-model file: its header constants and a parser into plain structures.
///
/// docs/model-format.md describes every field. Sequential::save writes the file and
/// Sequential::load / load_weights read it through `parse_model_file`.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "nn/core/errors.hpp"
#include "nn/core/shape.hpp"
#include "nn/core/tensor.hpp"
#include "nn/layers/layer.hpp"
#include "nn/model/serialization.hpp"

namespace nn {
namespace detail {

/// The first 8 bytes of every model file: 0x89 "NNMOD" CR LF. The non-ASCII first byte and the
/// CR LF pair expose files damaged by a text-mode transfer, as in PNG.
inline constexpr char model_magic[8] = {'\x89', 'N', 'N', 'M', 'O', 'D', '\r', '\n'};
inline constexpr std::uint32_t model_format_version = 1;

/// Bytes before the payload: magic, version, scalar size, payload size, payload CRC-32.
inline constexpr std::size_t model_header_size = 8 + 4 + 4 + 8 + 4;

/// Upper bounds that reject absurd counts in a damaged file before anything is allocated.
inline constexpr std::uint32_t model_max_layers = 100000;
inline constexpr std::uint32_t model_max_entries = 100000;

template <typename Scalar>
struct SavedParameter {
  std::string name;
  Tensor<Scalar> value;
};

template <typename Scalar>
struct SavedLayer {
  std::string type;
  std::string name;
  LayerConfig config;
  std::vector<SavedParameter<Scalar>> parameters;
};

template <typename Scalar>
struct SavedOptimizer {
  std::string type;
  LayerConfig config;
  std::int64_t iterations = 0;
  std::vector<Tensor<Scalar>> state;
};

/// Everything a model file contains, with values converted to Scalar.
template <typename Scalar>
struct ModelFile {
  std::string model_name;
  Shape input_shape;
  std::uint64_t seed = 0;
  std::int64_t epochs_completed = 0;
  std::vector<SavedLayer<Scalar>> layers;
  std::string loss;  ///< empty when the model was saved before compile()
  bool has_optimizer = false;
  SavedOptimizer<Scalar> optimizer;
};

inline void write_config(ByteWriter& out, const LayerConfig& config) {
  out.u32(static_cast<std::uint32_t>(config.entries().size()));
  for (const auto& entry : config.entries()) {
    out.string(entry.first);
    out.string(entry.second);
  }
}

inline LayerConfig read_config(ByteReader& in) {
  const std::uint32_t count = in.u32("configuration entry count");
  if (count > model_max_entries) {
    in.fail("corrupted payload: " + std::to_string(count) + " configuration entries");
  }
  LayerConfig config;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string key = in.string("configuration key");
    config.set(key, in.string("configuration value"));
  }
  return config;
}

/// Reads a shape and then its values into a new tensor.
template <typename Scalar>
Tensor<Scalar> read_tensor(ByteReader& in, std::uint32_t stored_size, const char* what) {
  const Shape shape = in.shape(what);
  // Check the byte count before allocating, so a damaged extent cannot request terabytes.
  if (static_cast<std::uint64_t>(shape.size()) > in.remaining() / stored_size) {
    in.fail(std::string("corrupted payload: ") + what + " " + shape.to_string() + " needs " +
            std::to_string(static_cast<std::uint64_t>(shape.size()) * stored_size) +
            " bytes, but only " + std::to_string(in.remaining()) + " remain");
  }
  Tensor<Scalar> t(shape);
  in.values(t, stored_size, what);
  return t;
}

/// Parses the bytes of a model file; every problem is a DataError that starts with `path`.
template <typename Scalar>
ModelFile<Scalar> parse_model_file(const std::string& path, const std::string& bytes) {
  // Header: magic, version, scalar size, payload size and checksum.
  if (bytes.size() < 8 || std::memcmp(bytes.data(), model_magic, 8) != 0) {
    throw DataError(path + ": not an nn model file (wrong magic number); expected a file "
                    "written by Sequential::save");
  }
  if (bytes.size() < model_header_size) {
    throw DataError(path + ": truncated file: expected a header of " +
                    std::to_string(model_header_size) + " bytes, got " +
                    std::to_string(bytes.size()));
  }
  ByteReader header(path, bytes.data() + 8, model_header_size - 8);
  const std::uint32_t version = header.u32("format version");
  if (version != model_format_version) {
    throw DataError(path + ": unknown format version " + std::to_string(version) +
                    "; expected version " + std::to_string(model_format_version) +
                    " (the file may come from a newer nn)");
  }
  const std::uint32_t stored_size = header.u32("scalar size");
  if (stored_size != 4 && stored_size != 8) {
    throw DataError(path + ": corrupted header: expected a scalar size of 4 or 8 bytes, got " +
                    std::to_string(stored_size));
  }
  const std::uint64_t payload_size = header.u64("payload size");
  const std::uint32_t stored_crc = header.u32("payload checksum");
  const std::uint64_t available = bytes.size() - model_header_size;
  if (payload_size > available) {
    throw DataError(path + ": truncated file: expected " + std::to_string(payload_size) +
                    " payload bytes, got " + std::to_string(available));
  }
  if (payload_size < available) {
    throw DataError(path + ": corrupted file: expected " + std::to_string(payload_size) +
                    " payload bytes, got " + std::to_string(available));
  }
  const char* payload = bytes.data() + model_header_size;
  const std::uint32_t crc = crc32(reinterpret_cast<const unsigned char*>(payload),
                                  static_cast<std::size_t>(payload_size));
  if (crc != stored_crc) {
    char text[96];
    std::snprintf(text, sizeof text, "stored CRC-32 0x%08x, computed 0x%08x",
                  static_cast<unsigned>(stored_crc), static_cast<unsigned>(crc));
    throw DataError(path + ": corrupted payload: checksum mismatch (" + text + ")");
  }

  // Payload: model, layers, loss, optimizer.
  ByteReader in(path, payload, static_cast<std::size_t>(payload_size));
  ModelFile<Scalar> file;
  file.model_name = in.string("model name");
  file.input_shape = in.shape("input shape");
  file.seed = in.u64("seed");
  file.epochs_completed = in.i64("epochs completed");
  if (file.epochs_completed < 0) {
    in.fail("corrupted payload: negative epoch count " + std::to_string(file.epochs_completed));
  }

  const std::uint32_t layer_count = in.u32("layer count");
  if (layer_count > model_max_layers) {
    in.fail("corrupted payload: " + std::to_string(layer_count) + " layers");
  }
  for (std::uint32_t i = 0; i < layer_count; ++i) {
    SavedLayer<Scalar> layer;
    layer.type = in.string("layer type");
    layer.name = in.string("layer name");
    layer.config = read_config(in);
    const std::uint32_t parameter_count = in.u32("parameter count");
    if (parameter_count > model_max_entries) {
      in.fail("corrupted payload: " + std::to_string(parameter_count) + " parameters in layer " +
              std::to_string(i + 1));
    }
    for (std::uint32_t p = 0; p < parameter_count; ++p) {
      SavedParameter<Scalar> parameter;
      parameter.name = in.string("parameter name");
      parameter.value = read_tensor<Scalar>(in, stored_size, "parameter");
      layer.parameters.push_back(std::move(parameter));
    }
    file.layers.push_back(std::move(layer));
  }

  file.loss = in.string("loss type");
  const std::uint8_t has_optimizer = in.u8("optimizer flag");
  if (has_optimizer > 1) {
    in.fail("corrupted payload: optimizer flag " + std::to_string(has_optimizer));
  }
  file.has_optimizer = has_optimizer == 1;
  if (file.has_optimizer) {
    file.optimizer.type = in.string("optimizer type");
    file.optimizer.config = read_config(in);
    file.optimizer.iterations = in.i64("optimizer iterations");
    if (file.optimizer.iterations < 0) {
      in.fail("corrupted payload: negative optimizer iteration count");
    }
    const std::uint32_t slot_count = in.u32("optimizer state count");
    if (slot_count > model_max_entries) {
      in.fail("corrupted payload: " + std::to_string(slot_count) + " optimizer state tensors");
    }
    for (std::uint32_t s = 0; s < slot_count; ++s) {
      file.optimizer.state.push_back(read_tensor<Scalar>(in, stored_size, "optimizer state"));
    }
  }
  if (in.remaining() != 0) {
    in.fail("corrupted payload: " + std::to_string(in.remaining()) +
            " unexpected bytes after the optimizer section");
  }
  return file;
}

/// Wraps a finished payload in the header and returns the complete file.
inline std::string frame_model_file(const std::string& payload, std::uint32_t scalar_size) {
  ByteWriter header;
  for (char c : model_magic) header.u8(static_cast<std::uint8_t>(c));
  header.u32(model_format_version);
  header.u32(scalar_size);
  header.u64(payload.size());
  header.u32(crc32(reinterpret_cast<const unsigned char*>(payload.data()), payload.size()));
  std::string file = header.bytes();
  file += payload;
  return file;
}

}  // namespace detail
}  // namespace nn
