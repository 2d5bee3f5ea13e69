#include <gtest/gtest.h>

#include "ntk/arch.h"
#include "ntk/error.h"

namespace ntk {
namespace {

std::string error_of(const std::string& spec) {
  try {
    Architecture::parse(spec);
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

TEST(ArchParse, IssueExamplesParse) {
  for (const char* spec : {"dense(w_std=1.5, b_std=0.2), relu, dense(w_std=1.5, b_std=0.2), relu, dense",
                           "repeat(3, conv(3, w_std=1.41, b_std=0.1), relu), gap, dense",
                           "conv(3, pad=valid), relu, conv(2, stride=2), relu, avgpool(2, stride=2), flatten, "
                           "dense(trainable=false)",
                           "dense, residual(relu, dense, relu, dense), relu, dense"}) {
    EXPECT_NO_THROW(Architecture::parse(spec)) << spec;
  }
}

TEST(ArchParse, RepeatAndResidualExpand) {
  Architecture a = Architecture::parse("repeat(3, conv(3), relu), gap, dense");
  EXPECT_EQ(a.ops().size(), 8u);
  Architecture r = Architecture::parse("dense, residual(relu, dense), dense");
  ASSERT_EQ(r.ops().size(), 6u);
  EXPECT_EQ(r.ops()[1].kind, ArchOp::Kind::kFork);
  EXPECT_EQ(r.ops()[4].kind, ArchOp::Kind::kJoin);
}

TEST(ArchParse, ReadoutHasWidthOneAndHiddenWidthOverride) {
  Architecture a = Architecture::parse("dense, relu, dense", ParseOptions{64});
  EXPECT_EQ(a.ops()[0].layer->describe(), "dense(width=64, w_std=1, b_std=0, trainable=true)");
  EXPECT_EQ(a.ops()[2].layer->describe(), "dense(width=1, w_std=1, b_std=0, trainable=true)");
  Architecture b = Architecture::parse("dense(width=7), relu, dense(width=3)", ParseOptions{64});
  EXPECT_EQ(b.ops()[0].layer->describe(), "dense(width=7, w_std=1, b_std=0, trainable=true)");
  EXPECT_EQ(b.ops()[2].layer->describe(), "dense(width=3, w_std=1, b_std=0, trainable=true)");
}

TEST(ArchParse, ErrorsNameColumnAndChoices) {
  EXPECT_NE(error_of("dense, relux").find("column 8: unknown layer 'relux'; known: "), std::string::npos);
  EXPECT_NE(error_of("dense, relux").find("tanh"), std::string::npos);
  EXPECT_NE(error_of("dense(w_sdt=1)").find("column 7: dense: unknown argument 'w_sdt'; valid arguments: width"),
            std::string::npos);
  EXPECT_NE(error_of("dense(width=-3)").find("column 13: dense: width must be an integer >= 1"), std::string::npos);
  EXPECT_NE(error_of("conv(3, stride=0)").find("stride must be an integer >= 1"), std::string::npos);
  EXPECT_NE(error_of("conv(3, pad=full)").find("pad must be one of same, valid, circular"), std::string::npos);
  EXPECT_NE(error_of("dense(").find("column 7: expected"), std::string::npos);
  EXPECT_NE(error_of("dense,, relu").find("column 7: expected a layer name"), std::string::npos);
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("repeat(0, dense)").find("positive integer count"), std::string::npos);
  EXPECT_NE(error_of("conv").find("missing required argument 'k'"), std::string::npos);
  EXPECT_NE(error_of("dense(1.5)").find("width must be an integer"), std::string::npos);
  EXPECT_NE(error_of("dense(trainable=maybe)").find("true or false"), std::string::npos);
  EXPECT_NE(error_of("relu, dense) ").find("column 12: expected ',' between layers"), std::string::npos);
}

TEST(ArchShapes, ConvOnVectorsAndTooSmallImages) {
  Architecture conv = Architecture::parse("conv(3), relu, flatten, dense");
  ExampleShape vec;
  vec.channels = 10;
  EXPECT_THROW(conv.infer_shapes(vec), Error);
  Architecture valid = Architecture::parse("conv(5, pad=valid), flatten, dense");
  ExampleShape img{true, 3, 3, 2};
  try {
    valid.infer_shapes(img);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("too small"), std::string::npos) << e.message();
  }
  ExampleShape ok{true, 8, 6, 2};
  auto shapes = Architecture::parse("conv(3, stride=2), avgpool(2), flatten, dense").infer_shapes(ok);
  EXPECT_EQ(shapes[1].height, 4);
  EXPECT_EQ(shapes[1].width, 3);
  EXPECT_EQ(shapes[2].height, 3);
  EXPECT_EQ(shapes[2].width, 2);
  EXPECT_EQ(shapes.back().channels, 1);
}

TEST(ArchShapes, ResidualNeedsEqualShapes) {
  ExampleShape vec;
  vec.channels = 5;
  EXPECT_THROW(Architecture::parse("residual(dense(width=3)), dense").infer_shapes(vec), Error);
  EXPECT_NO_THROW(Architecture::parse("dense(width=3), residual(relu, dense(width=3)), dense").infer_shapes(vec));
}

TEST(ArchPresets, ExpandToTheirLayerLists) {
  const std::string s = "1.4142135623730951";
  const std::string c = "conv(3, w_std=" + s + "), relu";
  EXPECT_EQ(arch_preset_expansion("myrtle5"), "repeat(2, " + c + "), avgpool(2, stride=2), " + c +
                                                  ", avgpool(2, stride=2), " + c +
                                                  ", avgpool(8, stride=8), flatten, dense(w_std=" + s + ")");
  EXPECT_EQ(arch_preset_expansion("myrtle10"), "repeat(3, " + c + "), avgpool(2, stride=2), repeat(3, " + c +
                                                   "), avgpool(2, stride=2), repeat(3, " + c +
                                                   "), avgpool(8, stride=8), flatten, dense(w_std=" + s +
                                                   ")");
  EXPECT_EQ(arch_preset_expansion("cntk_v", 3),
            "repeat(3, conv(3, w_std=" + s + "), relu), flatten, dense(w_std=" + s + ")");
  EXPECT_EQ(arch_preset_expansion("cntk_gap", 2),
            "conv(3, w_std=" + s + ", trainable=false), relu, conv(3, w_std=" + s +
                "), relu, gap, dense(w_std=" + s + ", trainable=false)");
  // Layer counts: Myrtle-d has d - 1 convolutions and a readout.
  auto count = [](const std::string& spec, const std::string& what) {
    int n = 0;
    const Architecture a = Architecture::parse(spec);
    for (const auto& op : a.ops())
      if (op.kind == ArchOp::Kind::kLayer && op.layer->describe().rfind(what, 0) == 0) ++n;
    return n;
  };
  EXPECT_EQ(count("myrtle5", "conv"), 4);
  EXPECT_EQ(count("myrtle7", "conv"), 6);
  EXPECT_EQ(count("myrtle10", "conv"), 9);
  EXPECT_EQ(count("myrtle7", "avgpool"), 3);
  EXPECT_EQ(count("cntk_gap(14)", "conv"), 14);
  EXPECT_EQ(count("cntk_v(5)", "conv"), 5);
}

TEST(ArchPresets, ParseLikeTheirExpansionEverywhere) {
  for (const char* name : {"myrtle5", "myrtle7", "myrtle10"})
    EXPECT_EQ(Architecture::parse(name).describe(),
              Architecture::parse(arch_preset_expansion(name)).describe());
  EXPECT_EQ(Architecture::parse("cntk_gap(6)").describe(),
            Architecture::parse(arch_preset_expansion("cntk_gap", 6)).describe());
  // Myrtle maps 32x32 images to 1x1 before the readout.
  auto shapes = Architecture::parse("myrtle5").infer_shapes(ExampleShape{true, 32, 32, 3});
  EXPECT_FALSE(shapes.back().spatial);
  EXPECT_EQ(shapes.back().channels, 1);
  // Composition: a preset is an item; the readout rule applies to the whole string, and nested presets
  // expand.
  Architecture a = Architecture::parse("cntk_v(2), relu, dense", ParseOptions{64});
  EXPECT_EQ(a.ops()[5].layer->describe(),
            "dense(width=64, w_std=1.4142135623730951, b_std=0, trainable=true)");  // no longer the readout
  EXPECT_EQ(a.ops().back().layer->describe(), "dense(width=1, w_std=1, b_std=0, trainable=true)");
  EXPECT_EQ(expand_arch_presets("residual(cntk_v(1)), dense"),
            "residual(repeat(1, conv(3, w_std=1.4142135623730951), relu), flatten, "
            "dense(w_std=1.4142135623730951)),"
            " dense");
  EXPECT_EQ(expand_arch_presets("dense, relu, dense"), "dense, relu, dense");
  EXPECT_EQ(expand_arch_presets(" myrtle5 "), " " + arch_preset_expansion("myrtle5"));
}

TEST(ArchPresets, ErrorsListThePresets) {
  EXPECT_NE(error_of("myrtle6").find("presets: cntk_gap(d), cntk_v(d), myrtle10, myrtle5, myrtle7"),
            std::string::npos)
      << error_of("myrtle6");
  EXPECT_NE(error_of("myrtle5(3)").find("column 1: myrtle5 takes no arguments"), std::string::npos);
  EXPECT_NE(error_of("cntk_v").find("cntk_v(d) needs one argument, the depth d"), std::string::npos);
  EXPECT_NE(
      error_of("cntk_gap(1)").find("column 10: cntk_gap(d): the depth d must be an integer in [2, 10000]"),
      std::string::npos)
      << error_of("cntk_gap(1)");
  EXPECT_NE(error_of("cntk_v(2.5)").find("must be an integer"), std::string::npos);
  EXPECT_THROW(arch_preset_expansion("resnet"), Error);
  // Myrtle's 8x8 pool needs 32x32 inputs (or larger).
  try {
    Architecture::parse("myrtle5").infer_shapes(ExampleShape{true, 16, 16, 3});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("too small for a 8x8 window"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace ntk
