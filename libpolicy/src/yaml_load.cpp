// YAML text into yaml-cpp trees, parsed by libyaml: the reference C parser
// (a state machine over explicit stacks, linear in its input, fuzzed in
// OSS-Fuzz) in place of yaml-cpp 0.7's own parser, which loops forever or
// allocates without bound on some inputs (tests/policy/fuzz-regressions:
// the inputs it hung on). The tree is built as yaml-cpp's loader builds it
// (its NodeBuilder), so every reader of YAML::Node is unchanged:
//   - a plain scalar without a tag that reads as null ("", ~, null, Null,
//     NULL) is a Null node; other scalars keep their text, with the tag "?"
//     when plain and "!" when quoted or a block scalar (an explicit tag as
//     written, handles resolved: !!str is tag:yaml.org,2002:str);
//   - collections have the tag "?" (or theirs) and their style, flow or block;
//   - every node has its mark (line and column where it starts);
//   - an alias is the anchored node itself (shared, as yaml-cpp's).
// Bounds yaml-cpp's parser lacks: 512 levels of nesting, and aliases that
// would expand (in a reader walking the tree: to JSON, say) to more than
// 1,000,000 nodes are refused ("billion laughs"); an alias of a node not
// yet complete (a cycle) is refused as an unknown anchor.
#include <yaml.h>

#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "axon/policy/yaml.h"

namespace axon::policy::detail {
struct MarkSetter;
}  // namespace axon::policy::detail

// A node's mark is set by yaml-cpp's own builder only; Node befriends every
// as_if<T, S>, so this specialization is how a builder outside yaml-cpp
// sets it.
template <>
struct YAML::as_if<axon::policy::detail::MarkSetter, void> {
  static void set(YAML::Node& n, const YAML::Mark& m) {
    n.EnsureNodeExists();
    n.m_pNode->set_mark(m);
  }
};

namespace axon::policy {
namespace {

constexpr size_t kMaxDepth = 512;
constexpr uint64_t kMaxExpanded = 1'000'000;

using SetMark = YAML::as_if<detail::MarkSetter, void>;

YAML::Mark mark_of(const yaml_mark_t& m) {
  YAML::Mark out;
  out.pos = static_cast<int>(m.index);
  out.line = static_cast<int>(m.line);
  out.column = static_cast<int>(m.column);
  return out;
}

bool is_null_text(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::string text_of(const yaml_char_t* s) { return s ? std::string(reinterpret_cast<const char*>(s)) : std::string(); }

// The parser and its current event, freed however the parse ends.
struct Parser {
  yaml_parser_t p{};
  yaml_event_t e{};
  bool have_event = false;
  explicit Parser(std::string_view text) {
    yaml_parser_initialize(&p);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~Parser() {
    if (have_event) yaml_event_delete(&e);
    yaml_parser_delete(&p);
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  // The next event; throws what libyaml says is wrong, where.
  const yaml_event_t& next(std::string_view text) {
    if (have_event) yaml_event_delete(&e);
    have_event = false;
    if (yaml_parser_parse(&p, &e)) {
      have_event = true;
      return e;
    }
    YAML::Mark where = mark_of(p.problem_mark);
    if (p.error == YAML_READER_ERROR) {  // bad bytes: the mark is the offset's
      where = YAML::Mark();
      where.pos = static_cast<int>(p.problem_offset);
      where.line = 0;
      for (size_t i = 0; i < p.problem_offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
          ++where.line;
          where.column = 0;
        } else {
          ++where.column;
        }
      }
    }
    std::string what = p.error == YAML_MEMORY_ERROR ? "out of memory" : (p.problem ? p.problem : "cannot parse");
    if (p.error == YAML_READER_ERROR && p.problem_value >= 0) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "#%02x", static_cast<unsigned>(p.problem_value) & 0xff);
      what += std::string(" (byte ") + hex + ")";
    }
    if (p.context) {
      what += std::string(" ") + p.context;
      if (p.context_mark.line != p.problem_mark.line)
        what += " started at line " + std::to_string(p.context_mark.line + 1);
    }
    throw YAML::ParserException(where, what);
  }
};

struct Frame {
  YAML::Node node;
  bool map = false;
  bool have_key = false;
  YAML::Node key;         // a map's key waiting for its value
  bool key_pending = false;  // a map's key: attached whole when complete
  std::string anchor;       // registered when the node is complete
  uint64_t expanded = 1;    // nodes in the subtree, aliases counted whole
};

class Builder {
 public:
  explicit Builder(std::string_view text) : text_(text), parser_(text) {}

  std::vector<YAML::Node> run() {
    std::vector<YAML::Node> docs;
    for (;;) {
      const yaml_event_t& e = parser_.next(text_);
      switch (e.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_NO_EVENT:
          break;
        case YAML_STREAM_END_EVENT:
          return docs;
        case YAML_DOCUMENT_START_EVENT:
          root_.reset();
          have_root_ = false;
          anchors_.clear();  // anchors are per document
          expanded_ = 0;
          break;
        case YAML_DOCUMENT_END_EVENT:
          docs.push_back(have_root_ ? root_ : YAML::Node(YAML::NodeType::Null));
          break;
        case YAML_ALIAS_EVENT: {
          const std::string name = text_of(e.data.alias.anchor);
          auto it = anchors_.find(name);
          if (it == anchors_.end())
            throw YAML::ParserException(mark_of(e.start_mark), "the alias *" + name + " names no anchor before it");
          count(it->second.expanded, e.start_mark);
          attach(it->second.node, it->second.expanded);
          break;
        }
        case YAML_SCALAR_EVENT: {
          const auto& s = e.data.scalar;
          const std::string_view value(reinterpret_cast<const char*>(s.value), s.length);
          const bool plain = s.style == YAML_PLAIN_SCALAR_STYLE || s.style == YAML_ANY_SCALAR_STYLE;
          YAML::Node n(YAML::NodeType::Null);
          if (!plain || s.tag != nullptr || !is_null_text(value)) {
            n = std::string(value);
            n.SetTag(s.tag ? text_of(s.tag) : (plain ? "?" : "!"));
          }
          SetMark::set(n, mark_of(e.start_mark));
          count(1, e.start_mark);
          attach(n, 1);
          if (s.anchor) anchor(text_of(s.anchor), n, 1);
          break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
          const bool map = e.type == YAML_MAPPING_START_EVENT;
          if (stack_.size() >= kMaxDepth)
            throw YAML::ParserException(mark_of(e.start_mark),
                                        "more than " + std::to_string(kMaxDepth) + " levels of nesting");
          const yaml_char_t* tag = map ? e.data.mapping_start.tag : e.data.sequence_start.tag;
          const yaml_char_t* anchor = map ? e.data.mapping_start.anchor : e.data.sequence_start.anchor;
          const bool flow = map ? e.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                                : e.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
          YAML::Node n(map ? YAML::NodeType::Map : YAML::NodeType::Sequence);
          n.SetTag(tag ? text_of(tag) : "?");
          n.SetStyle(flow ? YAML::EmitterStyle::Flow : YAML::EmitterStyle::Block);
          SetMark::set(n, mark_of(e.start_mark));
          count(1, e.start_mark);
          // Into its parent before its children: they all join the
          // document's one memory as they come (a subtree built apart and
          // merged late would copy its node set at every level).
          const bool is_key = !stack_.empty() && stack_.back().map && !stack_.back().have_key;
          if (!is_key) attach(n, 0);
          Frame f;
          f.node.reset(n);
          f.map = map;
          f.key_pending = is_key;
          f.anchor = text_of(anchor);
          stack_.push_back(std::move(f));
          break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
          Frame f = std::move(stack_.back());
          stack_.pop_back();
          if (f.key_pending) attach(f.node, f.expanded);
          else if (!stack_.empty()) stack_.back().expanded = add(stack_.back().expanded, f.expanded);
          if (!f.anchor.empty()) anchor(f.anchor, f.node, f.expanded);
          break;
        }
      }
    }
  }

 private:
  struct Anchored {
    YAML::Node node;
    uint64_t expanded = 1;
  };

  static uint64_t add(uint64_t a, uint64_t b) {
    return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
  }
  // (Re)defines an anchor. Never Node's operator=, here or anywhere in
  // this file: on a node that holds one it rebinds the node it held (in
  // the tree) to the other's data; reset() only rebinds the handle.
  void anchor(const std::string& name, const YAML::Node& n, uint64_t expanded) {
    anchors_.erase(name);
    anchors_.emplace(name, Anchored{n, expanded});
  }

  // The document's nodes as a reader walking it sees them (aliases whole).
  void count(uint64_t n, const yaml_mark_t& at) {
    expanded_ = add(expanded_, n);
    if (expanded_ > kMaxExpanded)
      throw YAML::ParserException(mark_of(at), "the document expands to more than " +
                                                   std::to_string(kMaxExpanded) +
                                                   " nodes (aliases counted whole); refused");
  }

  // Puts a complete node (or a collection about to be filled) where it
  // goes: the root, the next item, a key, or the value of the key before.
  void attach(const YAML::Node& n, uint64_t expanded) {
    if (stack_.empty()) {
      root_.reset(n);
      have_root_ = true;
      return;
    }
    Frame& top = stack_.back();
    top.expanded = add(top.expanded, expanded);
    if (!top.map) {
      top.node.push_back(n);
    } else if (!top.have_key) {
      top.key.reset(n);
      top.have_key = true;
    } else {
      top.node.force_insert(top.key, n);
      top.key.reset();
      top.have_key = false;
    }
  }

  std::string_view text_;
  Parser parser_;
  std::vector<Frame> stack_;
  std::unordered_map<std::string, Anchored> anchors_;
  YAML::Node root_;
  bool have_root_ = false;
  uint64_t expanded_ = 0;
};

}  // namespace

std::vector<YAML::Node> load_yaml_all(std::string_view text) { return Builder(text).run(); }

YAML::Node load_yaml(std::string_view text) {
  auto docs = load_yaml_all(text);
  return docs.empty() ? YAML::Node() : docs.front();
}

}  // namespace axon::policy
