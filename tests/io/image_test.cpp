#include "nn/io/image.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/image_files.hpp"

namespace {

using nn_test::Bytes;

nn::RgbImage decode(const Bytes& bytes, std::uint64_t max_pixels = nn::kDefaultMaxPixels) {
  return nn::decode_image(bytes.data(), bytes.size(), max_pixels);
}

std::vector<std::uint8_t> rgb(std::initializer_list<int> values) {
  std::vector<std::uint8_t> out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

// A 2x2 RGB test pattern used by several formats.
const std::vector<std::uint8_t> kPattern = rgb({255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30});

}  // namespace

TEST_CASE("An RGB PNG decodes to its exact pixels") {
  const auto image = decode(nn_test::rgb_png(2, 2, kPattern));
  CHECK(image.height == 2);
  CHECK(image.width == 2);
  CHECK(image.pixels == kPattern);
}

TEST_CASE("A grey PNG is replicated into three channels") {
  const auto png = nn_test::encode_png(2, 1, nn_test::PngColor::Grey, 8, {7, 200});
  CHECK(decode(png).pixels == rgb({7, 7, 7, 200, 200, 200}));
}

TEST_CASE("Alpha is dropped from grey-alpha and RGBA PNGs") {
  const auto grey_alpha =
      nn_test::encode_png(2, 1, nn_test::PngColor::GreyAlpha, 8, {7, 0, 200, 255});
  CHECK(decode(grey_alpha).pixels == rgb({7, 7, 7, 200, 200, 200}));
  const auto rgba =
      nn_test::encode_png(2, 1, nn_test::PngColor::Rgba, 8, {1, 2, 3, 0, 4, 5, 6, 128});
  CHECK(decode(rgba).pixels == rgb({1, 2, 3, 4, 5, 6}));
}

TEST_CASE("A paletted PNG is expanded to its palette colours") {
  const auto png = nn_test::encode_png(3, 1, nn_test::PngColor::Palette, 8, {2, 0, 1},
                                       rgb({10, 20, 30, 40, 50, 60, 70, 80, 90}));
  CHECK(decode(png).pixels == rgb({70, 80, 90, 10, 20, 30, 40, 50, 60}));
}

TEST_CASE("16-bit PNG samples keep their high byte") {
  const auto png16 = nn_test::encode_png(1, 1, nn_test::PngColor::Rgb, 16, {0xFFFF, 0x1234, 0x00FF});
  CHECK(decode(png16).pixels == rgb({0xFF, 0x12, 0x00}));
  const auto grey16 = nn_test::encode_png(1, 1, nn_test::PngColor::Grey, 16, {0xAB01});
  CHECK(decode(grey16).pixels == rgb({0xAB, 0xAB, 0xAB}));
}

TEST_CASE("JPEG files decode in colour and in grey") {
  // Flat 8x8 images of (250, 128, 16) and grey 90 survive JPEG compression within a few levels.
  const auto image = decode(nn_test::jpeg_fixture("orange_8x8.jpg"));
  REQUIRE(image.pixels.size() == 8 * 8 * 3);
  CHECK(std::abs(image.pixels[0] - 250) <= 3);
  CHECK(std::abs(image.pixels[1] - 128) <= 3);
  CHECK(std::abs(image.pixels[2] - 16) <= 3);

  const auto grey = decode(nn_test::jpeg_fixture("grey_8x8.jpg"));
  CHECK(std::abs(grey.pixels[0] - 90) <= 2);
  CHECK(grey.pixels[0] == grey.pixels[1]);
  CHECK(grey.pixels[1] == grey.pixels[2]);
}

TEST_CASE("A progressive JPEG decodes through all its scans") {
  const auto image = decode(nn_test::jpeg_fixture("progressive_16x16.jpg"));
  REQUIRE(image.pixels.size() == 16 * 16 * 3);
  CHECK(std::abs(image.pixels[0] - 20) <= 3);
  CHECK(std::abs(image.pixels[1] - 200) <= 3);
  CHECK(std::abs(image.pixels[2] - 100) <= 3);
}

TEST_CASE("BMP files decode from 24-bit, 32-bit and paletted layouts") {
  CHECK(decode(nn_test::encode_bmp(2, 2, 3, kPattern)).pixels == kPattern);
  const auto rgba = rgb({1, 2, 3, 255, 4, 5, 6, 0});
  CHECK(decode(nn_test::encode_bmp(2, 1, 4, rgba)).pixels == rgb({1, 2, 3, 4, 5, 6}));
  const auto paletted =
      nn_test::encode_bmp_paletted(3, 2, {0, 1, 1, 1, 0, 0}, rgb({9, 8, 7, 100, 110, 120}));
  CHECK(decode(paletted).pixels ==
        rgb({9, 8, 7, 100, 110, 120, 100, 110, 120, 100, 110, 120, 9, 8, 7, 9, 8, 7}));
}

TEST_CASE("A GIF gives its first frame") {
  const auto palette = rgb({0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255});
  const auto gif = nn_test::encode_gif(3, 1, palette, {{1, 2, 3}, {3, 3, 3}});
  CHECK(decode(gif).pixels == rgb({255, 0, 0, 0, 255, 0, 0, 0, 255}));
}

TEST_CASE("read_image_info reads the header without decoding") {
  const auto png =
      nn_test::encode_png(5, 3, nn_test::PngColor::GreyAlpha, 8, std::vector<std::uint16_t>(30));
  const auto info = nn::read_image_info(png.data(), png.size());
  CHECK(info.format == nn::ImageFormat::Png);
  CHECK(info.width == 5);
  CHECK(info.height == 3);
  CHECK(info.channels == 2);
}

TEST_CASE("Data that is not an image is rejected by its signature") {
  const std::string text = "hello, this is not a picture";
  const Bytes bytes(text.begin(), text.end());
  CHECK_THROWS_WITH_AS(decode(bytes),
                       "decode_image: cannot decode the image: not an image, expected a JPEG, "
                       "PNG, BMP or GIF file",
                       nn::DataError);
  const std::string webp("RIFF\x10\0\0\0WEBPVP8 ", 16);
  CHECK_THROWS_WITH_AS(decode(Bytes(webp.begin(), webp.end())),
                       doctest::Contains("a WebP image, expected a JPEG, PNG, BMP or GIF file"),
                       nn::DataError);
  const std::string tiff("II*\0\x08\0\0\0", 8);
  CHECK_THROWS_WITH_AS(decode(Bytes(tiff.begin(), tiff.end())),
                       doctest::Contains("a TIFF image"), nn::DataError);
  CHECK_THROWS_WITH_AS(decode(Bytes{}), doctest::Contains("the file is empty (0 bytes)"),
                       nn::DataError);
}

TEST_CASE("Truncated JPEG, PNG, BMP and GIF files are rejected") {
  std::vector<std::uint8_t> noise;
  for (int i = 0; i < 32 * 32 * 3; ++i) noise.push_back(static_cast<std::uint8_t>(i * 37 % 251));
  const auto jpeg = nn_test::jpeg_fixture("noise_32x32.jpg");
  const Bytes cut_jpeg(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() * 2 / 3));
  CHECK_THROWS_WITH_AS(decode(cut_jpeg),
                       doctest::Contains("truncated JPEG: the data ends before the end-of-image "
                                         "marker"),
                       nn::DataError);

  const auto png = nn_test::rgb_png(32, 32, noise);
  const Bytes cut_png(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2));
  CHECK_THROWS_WITH_AS(decode(cut_png),
                       doctest::Contains("truncated PNG: the data ends before the IEND chunk"),
                       nn::DataError);

  const auto bmp = nn_test::encode_bmp(32, 32, 3, noise);
  const Bytes cut_bmp(bmp.begin(), bmp.end() - 100);
  const std::string bmp_message = "truncated BMP: expected " + std::to_string(bmp.size()) +
                                  " bytes, got " + std::to_string(cut_bmp.size());
  CHECK_THROWS_WITH_AS(decode(cut_bmp), doctest::Contains(bmp_message.c_str()), nn::DataError);

  const auto gif = nn_test::encode_gif(8, 8, rgb({0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}),
                                       {std::vector<std::uint8_t>(64, 1)});
  const Bytes cut_gif(gif.begin(), gif.end() - 6);
  CHECK_THROWS_WITH_AS(decode(cut_gif),
                       doctest::Contains("truncated GIF: the data ends before the first frame is "
                                         "complete"),
                       nn::DataError);
}

TEST_CASE("An image whose header declares too many pixels is rejected before decoding") {
  // The header says 12000 x 12000; the data behind it is a single pixel's worth.
  auto png = nn_test::rgb_png(1, 1, rgb({1, 2, 3}));
  const std::uint8_t side[4] = {0x00, 0x00, 0x2E, 0xE0};  // 12000, big-endian
  std::copy(side, side + 4, png.begin() + 16);
  std::copy(side, side + 4, png.begin() + 20);
  CHECK_THROWS_WITH_AS(decode(png),
                       doctest::Contains("image of 12000x12000 pixels exceeds max_pixels = "
                                         "100000000"),
                       nn::DataError);

  // 20000 x 14000 passes a raised max_pixels but not stb_image's int-sized buffers.
  const std::uint8_t wide[4] = {0x00, 0x00, 0x4E, 0x20}, high[4] = {0x00, 0x00, 0x36, 0xB0};
  std::copy(wide, wide + 4, png.begin() + 16);
  std::copy(high, high + 4, png.begin() + 20);
  CHECK_THROWS_WITH_AS(decode(png, 1'000'000'000),
                       doctest::Contains("image of 20000x14000 pixels is larger than stb_image "
                                         "decodes safely (268435455 pixels)"),
                       nn::DataError);

  const auto small = nn_test::solid_png(20, 10, 1, 2, 3);
  CHECK_THROWS_WITH_AS(decode(small, 199),
                       doctest::Contains("image of 20x10 pixels exceeds max_pixels = 199"),
                       nn::DataError);
  CHECK(decode(small, 200).pixels.size() == 20 * 10 * 3);
}

TEST_CASE("A corrupt header names the format and stb_image's reason") {
  auto png = nn_test::rgb_png(1, 1, rgb({1, 2, 3}));
  png[12] = 'X';  // IHDR becomes XHDR
  CHECK_THROWS_WITH_AS(decode(png), doctest::Contains("corrupt PNG header (stb_image: "),
                       nn::DataError);
  const Bytes gif{'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, 0x99};
  CHECK_THROWS_WITH_AS(decode(gif), doctest::Contains("corrupt GIF: unknown block"),
                       nn::DataError);
}

TEST_CASE("JPEG segments that stb_image 2.27 mishandles are rejected before it reads them") {
  auto jpeg = nn_test::jpeg_fixture("orange_8x8.jpg");
  std::size_t dht = 2;
  while (!(jpeg[dht] == 0xFF && jpeg[dht + 1] == 0xC4)) ++dht;
  // Counts for code lengths 15 and 16 of the first table: 255 each, far over 256 codes.
  auto overfull = jpeg;
  overfull[dht + 5 + 14] = 255;
  overfull[dht + 5 + 15] = 255;
  CHECK_THROWS_WITH_AS(decode(overfull),
                       doctest::Contains("corrupt JPEG: a Huffman table declares"),
                       nn::DataError);
  // A segment one byte shorter than its tables, so the last code value lies past its end.
  auto overrun = jpeg;
  REQUIRE(overrun[dht + 3] > 0);
  overrun[dht + 3] = static_cast<std::uint8_t>(overrun[dht + 3] - 1);
  CHECK_THROWS_WITH_AS(decode(overrun),
                       doctest::Contains("corrupt JPEG: a Huffman table runs past its segment"),
                       nn::DataError);
  // Without its DHT or DQT segments a scan would decode with uninitialised tables.
  auto without = [&jpeg](std::uint8_t marker) {
    nn_test::Bytes out(jpeg.begin(), jpeg.begin() + 2);
    std::size_t pos = 2;
    while (jpeg[pos + 1] != 0xDA) {
      const std::size_t length = static_cast<std::size_t>(jpeg[pos + 2]) << 8 | jpeg[pos + 3];
      if (jpeg[pos + 1] != marker) out.insert(out.end(), jpeg.begin() + pos, jpeg.begin() + pos + 2 + length);
      pos += 2 + length;
    }
    out.insert(out.end(), jpeg.begin() + pos, jpeg.end());
    return out;
  };
  CHECK_THROWS_WITH_AS(decode(without(0xC4)),
                       doctest::Contains("corrupt JPEG: a scan uses DC Huffman table 0, which is "
                                         "not defined before it"),
                       nn::DataError);
  CHECK_THROWS_WITH_AS(decode(without(0xDB)),
                       doctest::Contains("corrupt JPEG: a scan uses quantization table 0, which "
                                         "is not defined before it"),
                       nn::DataError);
  // Bytes between segments, which stb_image would skip while searching for the next marker.
  auto gap = jpeg;
  gap.insert(gap.begin() + 20, 0x00);
  CHECK_THROWS_WITH_AS(decode(gap), doctest::Contains("corrupt JPEG: expected a marker at byte 20"),
                       nn::DataError);
}

TEST_CASE("A PNG with an empty IDAT chunk or corrupt compressed data is rejected") {
  const auto png = nn_test::rgb_png(2, 2, kPattern);
  auto empty_idat = png;
  const std::uint8_t chunk[12] = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xAF, 0x06, 0x1E};
  empty_idat.insert(empty_idat.begin() + 33, chunk, chunk + 12);  // after IHDR
  CHECK_THROWS_WITH_AS(decode(empty_idat), doctest::Contains("corrupt PNG: empty IDAT chunk"),
                       nn::DataError);
  auto bad_zlib = png;
  bad_zlib[41] = 0x00;  // the zlib header's compression method
  CHECK_THROWS_WITH_AS(decode(bad_zlib), doctest::Contains("corrupt PNG data (stb_image: "),
                       nn::DataError);
}

TEST_CASE("A paletted PNG with a pixel past its palette is rejected") {
  const auto palette = rgb({10, 20, 30, 40, 50, 60, 70, 80, 90});
  const auto png = nn_test::encode_png(3, 1, nn_test::PngColor::Palette, 8, {2, 0, 5}, palette);
  CHECK_THROWS_WITH_AS(decode(png),
                       doctest::Contains("corrupt PNG: a pixel uses palette entry 5, but the "
                                         "palette has 3 entries"),
                       nn::DataError);

  // An interlaced 2-bit PNG with 3 palette entries decodes; cut to 1 entry, it is rejected.
  const auto interlaced = nn_test::png_fixture("palette2_interlaced.png");
  CHECK(decode(interlaced).width == 37);
  const auto cut = nn_test::replace_png_chunk(interlaced, "PLTE", nn_test::Bytes{1, 2, 3});
  CHECK_THROWS_WITH_AS(decode(cut), doctest::Contains("but the palette has 1 entry"),
                       nn::DataError);
}

TEST_CASE("A PNG whose data inflates far beyond its size is stopped early") {
  // 1x1 pixel needs 2 bytes of image data; this stream inflates to about 10 MB.
  const auto bomb = nn_test::png_with_zlib(nn_test::zlib_zero_bomb(40000));
  CHECK(bomb.size() < 70000);
  CHECK_THROWS_WITH_AS(decode(bomb),
                       doctest::Contains("bytes at once, more than an image of 1x1 pixels needs"),
                       nn::DataError);
  // The same encoder with a sane length decodes, so the stream itself is valid.
  CHECK(decode(nn_test::png_with_zlib(nn_test::zlib_zero_bomb(0))).pixels == rgb({0, 0, 0}));
}

TEST_CASE("load_image names the file it cannot read") {
  nn_test::TempDir dir;
  CHECK_THROWS_WITH_AS(nn::load_image((dir / "missing.png").string()),
                       ("load_image: cannot decode \"" + (dir / "missing.png").string() +
                        "\": cannot open the file (No such file or directory)")
                           .c_str(),
                       nn::DataError);
  nn_test::write_file(dir / "empty.jpg", nn_test::Bytes{});
  CHECK_THROWS_WITH_AS(nn::load_image((dir / "empty.jpg").string()),
                       doctest::Contains("empty.jpg\": the file is empty (0 bytes)"),
                       nn::DataError);
  nn_test::write_file(dir / "ok.png", nn_test::rgb_png(2, 2, kPattern));
  CHECK(nn::load_image((dir / "ok.png").string()).pixels == kPattern);
}

TEST_CASE("load_image rejects a folder and a file that is not regular") {
  nn_test::TempDir dir;
  std::filesystem::create_directory(dir / "photo.jpg");
  CHECK_THROWS_WITH_AS(nn::load_image((dir / "photo.jpg").string()),
                       ("load_image: cannot decode \"" + (dir / "photo.jpg").string() +
                        "\": cannot open the file (it is a folder)")
                           .c_str(),
                       nn::DataError);
  // A character device never ends; it must be rejected before anything reads it.
  CHECK_THROWS_WITH_AS(nn::load_image("/dev/zero"),
                       doctest::Contains("cannot open the file (not a regular file)"),
                       nn::DataError);
}
