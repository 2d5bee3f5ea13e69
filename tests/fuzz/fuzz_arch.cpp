// The architecture language: parse_arch_syntax and Architecture::parse on arbitrary text (also with a
// finite width), the canonical form describe() (which must parse back to itself: it fingerprints tiled jobs),
// and shape inference on a vector and an image input.
#include "fuzz/fuzz_util.h"
#include "ntk/arch.h"

NTK_FUZZ_TARGET(arch)(const uint8_t* data, size_t size) {
  const std::string spec(reinterpret_cast<const char*>(data), size);
  ntk::fuzz::accepts([&] { ntk::parse_arch_syntax(spec); });
  for (int64_t width : {0, 3}) {
    ntk::Architecture arch;
    if (!ntk::fuzz::accepts([&] { arch = ntk::Architecture::parse(spec, ntk::ParseOptions{width}); }))
      continue;
    const std::string canonical = arch.describe();
    ntk::Architecture again;
    NTK_FUZZ_CHECK(ntk::fuzz::accepts([&] { again = ntk::Architecture::parse(canonical); }));
    NTK_FUZZ_CHECK(again.describe() == canonical);
    NTK_FUZZ_CHECK(again.ops().size() == arch.ops().size());
    ntk::ExampleShape vec;
    vec.channels = 3;
    ntk::ExampleShape img;
    img.spatial = true;
    img.height = 5;
    img.width = 4;
    img.channels = 2;
    for (const ntk::ExampleShape& in : {vec, img}) {
      std::vector<ntk::ExampleShape> shapes;
      if (ntk::fuzz::accepts([&] { shapes = arch.infer_shapes(in); })) {
        NTK_FUZZ_CHECK(shapes.size() == arch.ops().size() + 1);
        for (const auto& s : shapes) NTK_FUZZ_CHECK(s.height >= 1 && s.width >= 1 && s.channels >= 1);
      }
    }
    arch.has_position_mixing();
  }
  return 0;
}
