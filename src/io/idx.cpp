// IDX files (LeCun's MNIST format, also Fashion-MNIST): magic 0x00 0x00 <type> <rank>, then `rank` big-endian
// uint32 dimensions, then the data in big-endian C order.
#include <algorithm>
#include <cstring>

#include "io/io_internal.h"

namespace ntk::io {
namespace {

struct IdxHeader {
  int type = 0;  // 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
  int item_size = 0;
  std::vector<int64_t> shape;
};

IdxHeader read_idx_header(detail::InputFile& in) {
  const std::string& path = in.path();
  unsigned char magic[4];
  const size_t got = in.read_some(magic, 4);
  if (got < 4 || magic[0] != 0 || magic[1] != 0) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "not an IDX file (bad magic)");
  }
  IdxHeader h;
  h.type = magic[2];
  switch (h.type) {
    case 0x08:
    case 0x09:
      h.item_size = 1;
      break;
    case 0x0B:
      h.item_size = 2;
      break;
    case 0x0C:
    case 0x0D:
      h.item_size = 4;
      break;
    case 0x0E:
      h.item_size = 8;
      break;
    default:
      NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "not an IDX file (unknown element type 0x%02x)", h.type);
  }
  const int rank = magic[3];
  if (rank < 1) NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "bad IDX header: rank 0");
  for (int a = 0; a < rank; ++a) {
    unsigned char b[4];
    in.read_exact(b, 4, "IDX header dimensions");
    h.shape.push_back((static_cast<int64_t>(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
  }
  detail::checked_product(h.shape, h.item_size, path);
  return h;
}

double decode(const unsigned char* p, int type) {
  switch (type) {
    case 0x08:
      return p[0];
    case 0x09:
      return static_cast<int8_t>(p[0]);
    case 0x0B:
      return static_cast<int16_t>((p[0] << 8) | p[1]);
    case 0x0C:
      return static_cast<int32_t>((static_cast<uint32_t>(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]);
    case 0x0D: {
      const uint32_t u = (static_cast<uint32_t>(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    }
    default: {
      uint64_t u = 0;
      for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
      double d;
      std::memcpy(&d, &u, 8);
      return d;
    }
  }
}

// Loads the array; `scale` multiplies every value (1/255 for byte images).
Tensor load_idx_impl(const std::string& path, int* type_out) {
  detail::InputFile in(path);
  const IdxHeader h = read_idx_header(in);
  *type_out = h.type;
  const int64_t n = detail::checked_product(h.shape, 1, path);
  Tensor t;
  t.shape = h.shape;
  const auto truncated = [&](int64_t have) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path,
                "truncated IDX data: shape %s needs %lld bytes, file has %lld", t.shape_string().c_str(),
                static_cast<long long>(n * h.item_size), static_cast<long long>(have));
  };
  // As load_npy: check a plain file's size before allocating; grow with the data for gzip.
  const int64_t left = in.bytes_left();
  if (left >= 0 && left < n * h.item_size) truncated(left);
  detail::check_array_size(path, t.shape, sizeof(double));
  if (left >= 0) t.data.resize(static_cast<size_t>(n));
  constexpr int64_t kChunk = 1 << 20;
  std::vector<unsigned char> buf(static_cast<size_t>(std::min(n, kChunk) * h.item_size));
  for (int64_t done = 0; done < n;) {
    const int64_t m = std::min(kChunk, n - done);
    const size_t bytes = static_cast<size_t>(m * h.item_size);
    const size_t got = in.read_some(buf.data(), bytes);
    if (got != bytes) truncated(done * h.item_size + static_cast<int64_t>(got));
    if (left < 0) t.data.resize(static_cast<size_t>(done + m));
    for (int64_t i = 0; i < m; ++i)
      t.data[static_cast<size_t>(done + i)] = decode(&buf[i * h.item_size], h.type);
    done += m;
  }
  check_finite(t, path);
  return t;
}

}  // namespace

Tensor load_idx(const std::string& path) {
  int type = 0;
  return load_idx_impl(path, &type);
}

Tensor load_idx_images(const std::string& path) {
  int type = 0;
  Tensor t = load_idx_impl(path, &type);
  if (t.rank() == 3) {
    t.shape.push_back(1);
  } else if (t.rank() != 4) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "IDX images must have rank 3 (N, H, W) or 4, got shape %s",
                t.shape_string().c_str());
  }
  if (type == 0x08) {
    for (double& v : t.data) v *= 1.0 / 255.0;
  }
  return t;
}

std::vector<int64_t> load_idx_labels(const std::string& path) {
  int type = 0;
  const Tensor t = load_idx_impl(path, &type);
  if (t.rank() != 1) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path, "IDX labels must have rank 1, got shape %s",
                t.shape_string().c_str());
  }
  if (type == 0x0D || type == 0x0E) {
    NTK_IO_FAIL(ErrorKind::kInvalidInput, path,
                "IDX labels must be integers, file holds floating-point values");
  }
  return std::vector<int64_t>(t.data.begin(), t.data.end());
}

std::string find_idx_labels_for(const std::string& images_path) {
  const size_t slash = images_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : images_path.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? images_path : images_path.substr(slash + 1);
  const size_t images = name.find("images");
  if (images == std::string::npos) return "";
  name.replace(images, 6, "labels");
  // train-images-idx3-ubyte -> train-labels-idx1-ubyte (also "images.idx3" spellings).
  const size_t idx3 = name.find("idx3", images);
  if (idx3 != std::string::npos) name[idx3 + 3] = '1';
  std::string stem = name;
  if (detail::ends_with(stem, ".gz")) stem.resize(stem.size() - 3);
  for (const std::string& candidate : {dir + name, dir + stem, dir + stem + ".gz"}) {
    if (detail::is_regular_file(candidate)) return candidate;
  }
  return "";
}

}  // namespace ntk::io
