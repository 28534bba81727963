// load_yaml_all: libyaml's parse built into yaml-cpp trees. On every valid
// input here (the test data, the seed's manifests, and texts for each
// construct) the tree must be the one yaml-cpp's own loader builds: types,
// scalars, tags, styles and marks. Then what yaml-cpp could not survive,
// and the bounds it lacked.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "helpers.h"
#include "axon/policy/yaml.h"

using namespace axon::policy;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first difference between two trees, or "".
std::string differ(const YAML::Node& a, const YAML::Node& b, const std::string& path) {
  auto where = [&](const std::string& what) { return (path.empty() ? "(root)" : path) + ": " + what; };
  if (a.Type() != b.Type())
    return where("type " + std::to_string(a.Type()) + " != " + std::to_string(b.Type()));
  if (a.Tag() != b.Tag()) return where("tag '" + a.Tag() + "' != '" + b.Tag() + "'");
  if (!a.IsNull() && (a.Mark().line != b.Mark().line || a.Mark().column != b.Mark().column))
    return where("mark " + std::to_string(a.Mark().line) + ":" + std::to_string(a.Mark().column) +
                 " != " + std::to_string(b.Mark().line) + ":" + std::to_string(b.Mark().column));
  if (a.IsScalar() && a.Scalar() != b.Scalar()) return where("'" + a.Scalar() + "' != '" + b.Scalar() + "'");
  if (a.IsSequence() || a.IsMap()) {
    if (a.Style() != b.Style()) return where("style");
    if (a.size() != b.size()) return where("size " + std::to_string(a.size()) + " != " + std::to_string(b.size()));
  }
  if (a.IsSequence()) {
    for (size_t i = 0; i < a.size(); ++i)
      if (auto d = differ(a[i], b[i], path + "[" + std::to_string(i) + "]"); !d.empty()) return d;
  }
  if (a.IsMap()) {
    auto i = a.begin();
    auto j = b.begin();
    for (int n = 0; i != a.end(); ++i, ++j, ++n) {
      if (auto d = differ(i->first, j->first, path + ".<key " + std::to_string(n) + ">"); !d.empty()) return d;
      const std::string key = i->first.IsScalar() ? i->first.Scalar() : "<" + std::to_string(n) + ">";
      if (auto d = differ(i->second, j->second, path + "." + key); !d.empty()) return d;
    }
  }
  return "";
}

void same_as_yaml_cpp(const std::string& text, const std::string& what) {
  CAPTURE(what);
  std::vector<YAML::Node> ours, theirs;
  REQUIRE_NOTHROW(ours = load_yaml_all(text));
  REQUIRE_NOTHROW(theirs = YAML::LoadAll(text));
  REQUIRE(ours.size() == theirs.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    CAPTURE(i);
    CHECK(differ(ours[i], theirs[i], "") == "");
  }
}

}  // namespace

TEST_CASE("load_yaml_all builds yaml-cpp's own tree: every YAML and JSON file of the tests") {
  int files = 0;
  for (const char* dir : {AXON_POLICY_TESTDATA "/../..", AXON_SEED_DIR}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      const auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".yaml" && ext != ".yml" && ext != ".json")) continue;
      const std::string text = slurp(e.path());
      bool yaml_cpp_takes = true;
      try {
        (void)YAML::LoadAll(text);
      } catch (const YAML::Exception&) {
        yaml_cpp_takes = false;  // a file of broken input: compared below by construct
      }
      if (!yaml_cpp_takes) continue;
      same_as_yaml_cpp(text, e.path().string());
      ++files;
    }
  }
  CHECK(files >= 20);
}

TEST_CASE("load_yaml_all builds yaml-cpp's own tree: each construct") {
  const char* texts[] = {
      "",
      "# only a comment\n",
      "---\n",
      "---\n---\n",
      "a: 1\n---\n---\nb: 2\n...\n",
      "~\n",
      "a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: 'null'\ng: \"\"\nh: nulls\n",
      "port: 53\nname: \"53\"\nq: '8080'\nt: true\nf: 1.5\n",
      "k: !!str 53\nl: !custom x\nm: !!int \"7\"\nn: ! plain\n",
      "seq:\n- a\n- b\n-\n- - nested\n  - more\n",
      "  indented:\n    deeper:\n      - x: 1\n        y: 2\n",
      "flow: {a: 1, b: [x, y, {c: d}], e: }\n",
      "[a, b, [c, d], {e: f}]\n",
      "{\"apiVersion\": \"v1\", \"kind\": \"X\", \"list\": [1, 2, \"3\"], \"o\": {\"k\": null}}\n",
      "lit: |\n  line one\n  line two\nfold: >-\n  folded\n  text\nkeep: |+\n  kept\n\nind: |2\n    two\n",
      "\"quoted key\": 1\n'single': 2\n? complex\n: value\n",
      "? [a, b]\n: flow key\n? {k: v}\n: map key\n",
      "base: &b {x: 1, y: [2, 3]}\nuse: *b\nscalar: &s text\nagain: *s\n",
      "a: 1 # trailing comment\n# between\nb: \"x # not a comment\"\n",
      "multi: this is\n  a plain scalar\n  on lines\n",
      "esc: \"tab\\tnl\\nuni\\u00e9\"\nsq: 'it''s'\n",
      "%YAML 1.1\n---\na: 1\n",
      "- &a\n  k: v\n- *a\n- {x: *a}\n",
      "dup: 1\ndup: 2\n",
      "empty_seq: []\nempty_map: {}\n",
      "url: http://x:80/p?q=1\ntime: 12:30:00\n",
  };
  for (const char* t : texts) same_as_yaml_cpp(t, t);
}

TEST_CASE("load_yaml_all: an alias is the anchored node itself, as yaml-cpp's") {
  auto docs = load_yaml_all("base: &b {x: 1}\nuse: *b\n");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0]["use"].is(docs[0]["base"]));
  CHECK(docs[0]["use"]["x"].as<int>() == 1);
}

TEST_CASE("load_yaml_all: syntax errors carry the line (and the context) libyaml reports") {
  struct Case {
    const char* text;
    int line;  // 0-based, as YAML::Mark
    const char* says;
  };
  const Case cases[] = {
      {"a: 1\nb: [x, y\nc: 3\n", 2, "did not find expected"},
      {"k: - a\n", 0, "block sequence entries are not allowed"},  // yaml-cpp took "- a" as text
      {"a: 1\n  b: 2\n", 1, "mapping values are not allowed"},
      {"k: \"open\n", 1, "found unexpected end of stream"},
      {"a:\n\t- x\n", 1, "cannot start any token"},
      {"x: *nowhere\n", 0, "names no anchor"},
      {"a: &s {k: *s}\n", 0, "names no anchor"},  // a cycle: the anchor is not complete yet
      {"ok: 1\nbad: \xc3\x28\n", 1, "invalid"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    try {
      (void)load_yaml_all(c.text);
      FAIL("parsed");
    } catch (const YAML::ParserException& e) {
      CHECK(e.mark.line == c.line);
      CHECK_MESSAGE(e.msg.find(c.says) != std::string::npos, e.msg);
    }
  }
}

TEST_CASE("load_yaml_all: nesting and alias expansion are bounded (yaml-cpp had neither guard)") {
  // 600 levels: refused, with the line; 500 load.
  std::string deep(600, '[');
  deep += std::string(600, ']');
  CHECK_THROWS_WITH_AS(load_yaml_all(deep), doctest::Contains("levels of nesting"), YAML::ParserException);
  std::string ok(500, '[');
  ok += std::string(500, ']');
  CHECK_NOTHROW(load_yaml_all(ok));
  // A billion laughs: 10 levels of 10 aliases each.
  std::string laughs = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) laughs += std::string(j ? ", " : "") + "*a" + std::to_string(i - 1);
    laughs += "]\n";
  }
  CHECK_THROWS_WITH_AS(load_yaml_all(laughs), doctest::Contains("expands to more than"), YAML::ParserException);
  // A few aliases of small nodes (a Helm-style values file) are fine.
  CHECK(load_yaml_all("d: &d {cpu: 1}\nx: *d\ny: *d\nz: *d\n").size() == 1);
}

TEST_CASE("load_yaml_all: the inputs yaml-cpp's parser hung on end (a tree or an error)") {
  namespace fs = std::filesystem;
  int n = 0;
  for (const char* dir : {AXON_POLICY_TESTDATA "/../fuzz-regressions"}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      CAPTURE(e.path().string());
      const std::string text = slurp(e.path());
      try {
        (void)load_yaml_all(text);
      } catch (const YAML::ParserException&) {
      }
      ++n;
    }
  }
  CHECK(n >= 4);
  for (const char* text : {",t2nt2n2n{}\n", "{a: 1}\n,\n", "[a]\n,", "!t ,a\n", "&a ,b\n", "\"a\" ,b\n"}) {
    CAPTURE(text);
    CHECK_THROWS_AS(load_yaml_all(text), YAML::ParserException);
  }
}
