#include "axon/client/apply.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "axon/base/strings.h"

namespace axon::client {
namespace fs = std::filesystem;

namespace {

Diagnostic problem(const std::string& file, int line, std::string message, std::string fix = "") {
  Diagnostic d;
  d.location = SourceLocation{file, line};
  d.message = std::move(message);
  d.fix = std::move(fix);
  return d;
}

bool manifest_extension(const fs::path& p) {
  const std::string ext = to_lower(p.extension().string());
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

void add_documents(ManifestSet& set, const std::string& text, const std::string& file) {
  auto docs = parse_yaml_stream(text, file);
  if (!docs) {
    // Not YAML; JSON that YAML cannot read (tabs in odd places) still is JSON.
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) {
      Diagnostic d;
      d.message = docs.error().message;  // "file:line: invalid YAML: ..."
      d.fix = "check the indentation and quoting around that line";
      set.problems.push_back(std::move(d));
      return;
    }
    YamlDocument doc;
    doc.value = std::move(j);
    doc.line = 1;
    std::vector<YamlDocument> one;
    one.push_back(std::move(doc));
    docs = std::move(one);
  }
  for (auto& d : *docs) {
    auto source = std::make_shared<const YamlDocument>(std::move(d));
    const Json& v = source->value;
    const int document = source->index + 1;
    const bool list = v.is_object() && v.contains("kind") && v["kind"] == "List" &&
                      v.contains("items") && v["items"].is_array();
    if (list) {
      for (size_t i = 0; i < v["items"].size(); ++i) {
        set.objects.push_back(
            ManifestObject{v["items"][i], file, document, child_path("items", i), source});
      }
    } else {
      set.objects.push_back(ManifestObject{v, file, document, "", source});
    }
  }
}

// Helm's install order, for the kinds axon knows; CRDs before Namespaces
// so a CRD's kinds exist before anything else is applied.
int apply_rank(const std::string& kind) {
  static const std::vector<std::string> order = {
      "CustomResourceDefinition",
      "Namespace",
      "NetworkPolicy",
      "ServiceAccount",
      "Secret",
      "ConfigMap",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
      "Service",
      "Endpoints",
      "EndpointSlice",
      "DaemonSet",
      "Pod",
      "Deployment",
  };
  auto it = std::find(order.begin(), order.end(), kind);
  return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
}

std::string kind_of(const ManifestObject& m) {
  return m.object.is_object() && m.object.contains("kind") && m.object["kind"].is_string()
             ? m.object["kind"].get<std::string>()
             : "";
}

}  // namespace

ManifestSet load_manifests(const std::vector<std::string>& sources, bool recursive,
                           std::istream& in) {
  ManifestSet set;
  for (const auto& src : sources) {
    if (src == "-") {
      std::stringstream buf;
      buf << in.rdbuf();
      add_documents(set, buf.str(), "-");
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(src, ec)) {
      std::vector<std::string> files;
      auto collect = [&](const fs::directory_entry& e) {
        if (e.is_regular_file() && manifest_extension(e.path())) files.push_back(e.path().string());
      };
      if (recursive) {
        for (const auto& e : fs::recursive_directory_iterator(src, ec)) collect(e);
      } else {
        for (const auto& e : fs::directory_iterator(src, ec)) collect(e);
      }
      if (ec) {
        set.problems.push_back(problem(src, 0, "cannot read the directory: " + ec.message()));
        continue;
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        set.problems.push_back(problem(src, 0, "no .yaml, .yml or .json files in this directory",
                                       recursive ? "" : "-R also reads its subdirectories"));
      }
      for (const auto& f : files) {
        std::ifstream file(f, std::ios::binary);
        std::stringstream buf;
        buf << file.rdbuf();
        add_documents(set, buf.str(), f);
      }
      continue;
    }
    if (!fs::exists(src, ec)) {
      set.problems.push_back(problem(src, 0, "the path \"" + src + "\" does not exist"));
      continue;
    }
    std::ifstream file(src, std::ios::binary);
    if (!file) {
      set.problems.push_back(problem(src, 0, "cannot read the file: " + sys_error("").str()));
      continue;
    }
    std::stringstream buf;
    buf << file.rdbuf();
    add_documents(set, buf.str(), src);
  }
  return set;
}

ManifestSet load_manifest_text(const std::string& text, const std::string& file) {
  ManifestSet set;
  add_documents(set, text, file);
  return set;
}

std::vector<Diagnostic> validate_manifests(const ValidatorRegistry& validators,
                                           const std::vector<ManifestObject>& objects) {
  std::vector<Diagnostic> out;
  for (const auto& m : objects) {
    auto d = validators.validate(m);
    out.insert(out.end(), std::make_move_iterator(d.begin()), std::make_move_iterator(d.end()));
  }
  return out;
}

std::vector<Diagnostic> check_identities(const std::vector<ManifestObject>& objects) {
  std::vector<Diagnostic> out;
  for (const auto& m : objects) {
    auto d = check_identity(m);
    out.insert(out.end(), std::make_move_iterator(d.begin()), std::make_move_iterator(d.end()));
  }
  return out;
}

std::vector<Diagnostic> assign_namespaces(std::vector<ManifestObject>& objects,
                                          const NamespaceChoice& ns) {
  std::vector<Diagnostic> out;
  std::map<std::string, size_t> first;  // "Kind ns/name" -> index
  for (size_t i = 0; i < objects.size(); ++i) {
    auto& m = objects[i];
    if (!m.object.is_object()) continue;
    ObjectRef ref = ObjectRef::of(m.object);
    auto r = find_resource(ref.api_version, ref.kind);
    if (!r || ref.name.empty()) continue;
    if (r->namespaced) {
      if (ref.namespace_.empty()) {
        m.object["metadata"]["namespace"] = ns.name;
        ref.namespace_ = ns.name;
      } else if (ns.given && ref.namespace_ != ns.name) {
        Diagnostic d;
        d.location = m.where("metadata.namespace");
        d.document = m.document;
        d.object = m.describe();
        d.path = "metadata.namespace";
        d.message = "the namespace from the provided object \"" + ref.namespace_ +
                    "\" does not match the namespace \"" + ns.name + "\" given with -n";
        d.fix = "pass -n " + ref.namespace_ + ", or leave -n out to use each object's own";
        out.push_back(std::move(d));
        continue;
      }
    }
    const std::string key = r->group + "/" + ref.kind + " " + ref.namespace_ + "/" + ref.name;
    auto [it, inserted] = first.emplace(key, i);
    if (!inserted) {
      const auto& earlier = objects[it->second];
      Diagnostic d;
      d.severity = Severity::warning;
      d.location = m.where("metadata.name");
      d.document = m.document;
      d.object = m.describe();
      d.message = "the same object as document " + std::to_string(earlier.document) + " of " +
                  earlier.where("metadata.name").str() +
                  "; both are applied in turn, so this one wins";
      d.fix = "keep one of them";
      out.push_back(std::move(d));
    }
  }
  return out;
}

void sort_for_apply(std::vector<ManifestObject>& objects) {
  std::stable_sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) {
    return apply_rank(kind_of(a)) < apply_rank(kind_of(b));
  });
}

void sort_for_delete(std::vector<ManifestObject>& objects) {
  std::stable_sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) {
    return apply_rank(kind_of(a)) > apply_rank(kind_of(b));
  });
}

Result<std::vector<Diagnostic>> missing_namespaces(ClusterStore& store,
                                                   const std::vector<ManifestObject>& objects) {
  std::set<std::string> created;
  for (const auto& m : objects) {
    ObjectRef ref = ObjectRef::of(m.object);
    if (ref.kind == "Namespace" && ref.api_version == "v1") created.insert(ref.name);
  }
  std::map<std::string, bool> exists;
  std::vector<Diagnostic> out;
  for (const auto& m : objects) {
    ObjectRef ref = ObjectRef::of(m.object);
    auto r = find_resource(ref.api_version, ref.kind);
    if (!r || !r->namespaced || ref.namespace_.empty() || created.count(ref.namespace_)) continue;
    auto it = exists.find(ref.namespace_);
    if (it == exists.end()) {
      auto live = store.get(ObjectRef{"v1", "Namespace", "", ref.namespace_});
      if (!live) return live.error();
      it = exists.emplace(ref.namespace_, live->has_value()).first;
    }
    if (it->second) continue;
    Diagnostic d;
    d.location = m.where("metadata.namespace");
    d.document = m.document;
    d.object = m.describe();
    d.path = "metadata.namespace";
    d.message = "namespaces \"" + ref.namespace_ + "\" not found";
    d.fix = "create the namespace first, or apply a Namespace named " + ref.namespace_ +
            " together with these objects";
    d.command =
        "echo '{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"" +
        ref.namespace_ + "\"}}' | axon apply -f -";
    out.push_back(std::move(d));
  }
  return out;
}

Result<ApplyOutcome> preview_apply(ClusterStore& store, const Json& object) {
  auto live = store.get(ObjectRef::of(object));
  if (!live) return live.error();
  if (!live->has_value()) return ApplyOutcome::created;
  return apply_outcome(**live, object);
}

}  // namespace axon::client
