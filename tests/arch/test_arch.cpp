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

}  // namespace
}  // namespace ntk
