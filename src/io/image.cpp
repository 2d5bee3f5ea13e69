// Image files (JPEG through libjpeg, PNG through libpng) and class-per-folder image data sets.
// The system libraries rather than stb_image: their decoders are the ones PIL uses, so pixels match Python
// pipelines exactly (stb's JPEG IDCT differs by +-1 on many pixels).
#include <png.h>
#include <stdio.h>  // jpeglib.h needs FILE and size_t declared first
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on
#include <setjmp.h>

#include <algorithm>
#include <cstring>

#include "io/io_internal.h"

namespace ntk::io {
namespace {

struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<unsigned char> pixels;  // (H, W, C)
};

struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr cinfo) {
  JpegError* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

// Decoded images are held as doubles (8 bytes a value): more pixels than this (8192 x 8192, 1.5 GiB for
// RGB) is refused before anything is allocated. It also bounds what a corrupt header can ask for: a 100-byte
// file claiming 20000 x 20000 pixels (found by fuzzing) no longer allocates gigabytes.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

void check_image_size(const std::string& path, const char* format, int64_t height, int64_t width) {
  if (height * width > kMaxImagePixels) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path,
                "%s image of %lldx%lld (HxW) pixels is larger than the %lld-pixel limit (corrupt header?)",
                format, static_cast<long long>(height), static_cast<long long>(width),
                static_cast<long long>(kMaxImagePixels));
  }
}

void jpeg_emit_message(j_common_ptr cinfo, int level) {
  // A file cut short, or entropy-coded data that is corrupt, only draws a warning from libjpeg, which then
  // invents the rest of the image (grey or zero blocks): make those errors. Other warnings (extraneous bytes
  // before a marker and the like) are harmless and stay silent.
  if (level >= 0) return;
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
      code == JWRN_ARITH_BAD_CODE || code == JWRN_MUST_RESYNC) {
    jpeg_error_exit(cinfo);
  }
}

// The libjpeg part of decode_jpeg, with the setjmp that libjpeg's errors longjmp to. It holds no C++ object
// (longjmp would skip destructors, and locals changed after setjmp are indeterminate after it): the image is
// written through `img`, which lives in the caller. Returns false with err->message set on a decoding error;
// sets *too_large (and returns false) when the header claims more than kMaxImagePixels.
bool decode_jpeg_into(const unsigned char* bytes, unsigned long size, Image* img, JpegError* err,
                      int64_t* height, int64_t* width, bool* too_large) {
  jpeg_decompress_struct cinfo;
  err->message[0] = '\0';
  cinfo.err = jpeg_std_error(&err->mgr);
  err->mgr.error_exit = jpeg_error_exit;
  err->mgr.emit_message = jpeg_emit_message;
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes, size);
  jpeg_read_header(&cinfo, TRUE);
  *height = cinfo.image_height;
  *width = cinfo.image_width;
  // Before libjpeg allocates its buffers for the image.
  if (*height * *width > kMaxImagePixels) {
    jpeg_destroy_decompress(&cinfo);
    *too_large = true;
    return false;
  }
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  img->height = cinfo.output_height;
  img->width = cinfo.output_width;
  img->channels = cinfo.output_components;
  // Grown row by row: a corrupt file fails at its first bad row, before the whole image is allocated.
  const size_t row_bytes = static_cast<size_t>(img->width * img->channels);
  while (cinfo.output_scanline < cinfo.output_height) {
    img->pixels.resize(static_cast<size_t>(cinfo.output_scanline + 1) * row_bytes);
    JSAMPROW row = img->pixels.data() + static_cast<size_t>(cinfo.output_scanline) * row_bytes;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

Image decode_jpeg(const std::string& path, const std::string& bytes) {
  Image img;
  JpegError err;
  int64_t height = 0, width = 0;
  bool too_large = false;
  if (!decode_jpeg_into(reinterpret_cast<const unsigned char*>(bytes.data()),
                        static_cast<unsigned long>(bytes.size()), &img, &err, &height, &width, &too_large)) {
    if (too_large) check_image_size(path, "JPEG", height, width);
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "cannot decode JPEG: %s", err.message);
  }
  return img;
}

Image decode_png(const std::string& path, const std::string& bytes) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    const std::string msg = png.message;
    png_image_free(&png);
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "cannot decode PNG: %s", msg.c_str());
  }
  if (static_cast<int64_t>(png.height) * png.width > kMaxImagePixels) {
    const int64_t h = png.height, w = png.width;
    png_image_free(&png);
    check_image_size(path, "PNG", h, w);
  }
  const bool color = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  // Read with alpha and drop it ourselves, as PIL's convert("RGB") does; asking libpng for a format without
  // alpha would composite onto a background instead.
  png.format = color ? PNG_FORMAT_RGBA : PNG_FORMAT_GA;
  const int in_c = color ? 4 : 2;
  std::vector<unsigned char> buf(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, buf.data(), 0, nullptr)) {
    const std::string msg = png.message;
    png_image_free(&png);
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "cannot decode PNG: %s", msg.c_str());
  }
  Image img;
  img.height = png.height;
  img.width = png.width;
  img.channels = in_c - 1;
  const size_t n = static_cast<size_t>(img.height * img.width);
  img.pixels.resize(n * static_cast<size_t>(img.channels));
  for (size_t i = 0; i < n; ++i) {
    for (int c = 0; c < img.channels; ++c) img.pixels[i * img.channels + c] = buf[i * in_c + c];
  }
  png_image_free(&png);
  return img;
}

Image decode_image(const std::string& path) {
  const std::string bytes = detail::read_file(path);
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return decode_jpeg(path, bytes);
  if (bytes.size() >= 8 && std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return decode_png(path, bytes);
  NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "not a JPEG or PNG image (unknown magic)");
}

bool is_image_name(const std::string& name) {
  const std::string ext = detail::extension(name);
  return !name.empty() && name[0] != '.' && (ext == ".jpg" || ext == ".jpeg" || ext == ".png") &&
         !detail::ends_with(detail::to_lower(name), ".gz");
}

// splitmix64: a fixed generator so the subset drawn for a seed is the same on every platform and standard
// library (std::shuffle's algorithm is unspecified).
uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Tensor load_image(const std::string& path) {
  const Image img = decode_image(path);
  Tensor t({img.height, img.width, img.channels});
  for (size_t i = 0; i < img.pixels.size(); ++i) t.data[i] = img.pixels[i] * (1.0 / 255.0);
  return t;
}

Dataset load_image_folder(const std::string& root, const ImageFolderOptions& options) {
  NTK_THROW_IF_NOT(options.max_per_class >= 0, "%s: max_per_class must be >= 0", root.c_str());
  if (!detail::is_directory(root)) NTK_IO_FAIL(ErrorKind::kIo, root, "not a folder");
  Dataset ds;
  std::vector<std::string> files;
  for (const std::string& name : detail::list_directory(root)) {
    const std::string dir = detail::join_path(root, name);
    if (name[0] == '.' || !detail::is_directory(dir)) continue;
    std::vector<std::string> images;
    for (const std::string& f : detail::list_directory(dir)) {
      if (is_image_name(f)) images.push_back(f);
    }
    if (images.empty())
      NTK_IO_FAIL(ErrorKind::kInvalidInput, dir, "class folder has no .jpg/.jpeg/.png images");
    const int64_t label = static_cast<int64_t>(ds.class_names.size());
    if (options.max_per_class > 0 && static_cast<int64_t>(images.size()) > options.max_per_class) {
      // Partial Fisher-Yates on indices, seeded per class, then back to name order.
      std::vector<size_t> idx(images.size());
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      uint64_t state = options.seed * 0x100000001B3ull + static_cast<uint64_t>(label);
      const size_t k = static_cast<size_t>(options.max_per_class);
      for (size_t i = 0; i < k; ++i) {
        const size_t j = i + static_cast<size_t>(splitmix64(&state) % (idx.size() - i));
        std::swap(idx[i], idx[j]);
      }
      idx.resize(k);
      std::sort(idx.begin(), idx.end());
      std::vector<std::string> chosen;
      for (size_t i : idx) chosen.push_back(images[i]);
      images.swap(chosen);
    }
    for (const std::string& f : images) {
      files.push_back(detail::join_path(dir, f));
      ds.labels.push_back(label);
    }
    ds.class_names.push_back(name);
  }
  if (ds.class_names.empty()) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, root, "no class folders (expected root/<class>/*.jpg|png)");
  }
  std::vector<Image> images;
  images.reserve(files.size());
  int64_t channels = 1;
  for (const std::string& f : files) {
    images.push_back(decode_image(f));
    const Image& img = images.back();
    const Image& first = images.front();
    if (img.height != first.height || img.width != first.width) {
      NTK_IO_FAIL(ErrorKind::kInvalidInput, f, "image is %lldx%lld (HxW), expected %lldx%lld like %s",
                  static_cast<long long>(img.height), static_cast<long long>(img.width),
                  static_cast<long long>(first.height), static_cast<long long>(first.width),
                  files[0].c_str());
    }
    channels = std::max(channels, img.channels);
  }
  const int64_t h = images[0].height, w = images[0].width, n = static_cast<int64_t>(images.size());
  ds.x = Tensor({n, h, w, channels});
  const int64_t per = h * w * channels;
  for (int64_t i = 0; i < n; ++i) {
    const Image& img = images[static_cast<size_t>(i)];
    double* out = ds.x.data.data() + i * per;
    for (int64_t p = 0; p < h * w; ++p) {
      for (int64_t c = 0; c < channels; ++c) {
        // Grey images in a colour set: replicate the grey value into R, G and B.
        const int64_t src_c = img.channels == 1 ? 0 : c;
        out[p * channels + c] = img.pixels[static_cast<size_t>(p * img.channels + src_c)] * (1.0 / 255.0);
      }
    }
  }
  return ds;
}

}  // namespace ntk::io
