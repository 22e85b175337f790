// YamlReader: error text, line numbers and the shared scalar checks.
#include "sim/yaml_reader.h"

#include <gtest/gtest.h>

#include <functional>

namespace parley::sim {
namespace {

YamlError caught(const std::function<void()>& f) {
  try {
    f();
  } catch (const YamlError& e) {
    return e;
  }
  ADD_FAILURE() << "no YamlError thrown";
  return {};
}

TEST(YamlReader, ErrorNamesLabelLineAndPath) {
  const YamlReader r("x.yaml");
  const YAML::Node root = YAML::Load("a: 1\nb:\n  c: fast\n");
  const YamlError e = caught([&] { (void)r.duration(root["b"]["c"], "b.c"); });
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.path, "b.c");
  EXPECT_EQ(e.text,
            "x.yaml:3: b.c: expected a duration such as 90 (seconds), 30s, 15m, 8h, 1h30m or "
            "08:30, got \"fast\"");
}

TEST(YamlReader, AbsentNodeHasNoLineAndTopLevelIsNamed) {
  const YamlReader r("x.yaml");
  const YAML::Node root = YAML::Load("a: 1\n");
  const YamlError e = r.error(YamlReader::get(root, "missing"), "", "oops");
  EXPECT_EQ(e.line, 0);
  EXPECT_EQ(e.text, "x.yaml: (top level): oops");
}

TEST(YamlReader, GetOnAScalarOrListIsAbsentNotAnException) {
  const YAML::Node scalar = YAML::Load("just text");
  const YAML::Node list = YAML::Load("[1, 2]");
  EXPECT_FALSE(YamlReader::get(scalar, "k").IsDefined());
  EXPECT_FALSE(YamlReader::get(list, "0").IsDefined());
}

TEST(YamlReader, RequireMapRejectsUnknownKeyAtItsLine) {
  const YamlReader r("x.yaml");
  const YAML::Node root = YAML::Load("q:\n  name: a\n  strategi: ring-all\n");
  const YamlError e = caught([&] { r.requireMap(root["q"], "q", {"name", "strategy"}); });
  EXPECT_EQ(e.text, "x.yaml:3: q.strategi: unknown key");
}

TEST(YamlReader, ScalarChecks) {
  const YamlReader r("x.yaml");
  EXPECT_EQ(r.integer(YAML::Load("42"), "n", 0, 100), 42);
  EXPECT_EQ(caught([&] { (void)r.integer(YAML::Load("420"), "n", 0, 100); }).message,
            "must be between 0 and 100");
  EXPECT_TRUE(r.boolean(YAML::Load("yes"), "b"));
  EXPECT_FALSE(r.boolean(YAML::Load("off"), "b"));
  EXPECT_EQ(r.duration(YAML::Load("1m30s"), "d"), engine::Millis{90'000});
  EXPECT_EQ(caught([&] { (void)r.positiveDuration(YAML::Load("0"), "d"); }).message,
            "must be greater than zero");
  EXPECT_EQ(caught([&] { (void)r.scalar(YAML::Load("[1]"), "s"); }).message,
            "expected a single value");
}

TEST(YamlReader, YamlExceptionBecomesInvalidYamlWithLine) {
  try {
    (void)YAML::Load("a: 1\nb: [1, 2\n");
    FAIL() << "yaml-cpp accepted broken YAML";
  } catch (const YAML::Exception& ex) {
    const YamlError e = yamlExceptionError("x.yaml", ex);
    EXPECT_GT(e.line, 0);
    EXPECT_EQ(e.text.rfind("x.yaml:", 0), 0u) << e.text;
    EXPECT_NE(e.text.find("invalid YAML"), std::string::npos) << e.text;
  }
}

}  // namespace
}  // namespace parley::sim
