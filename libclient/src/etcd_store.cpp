#include "axon/client/etcd_store.h"

#include <ctime>
#include <random>

#include "axon/base/strings.h"

namespace axon::client {
namespace {

// The requirements of a selector; an empty last one (a trailing comma) is dropped.
std::vector<std::string> split_requirements(const std::string& s) {
  auto out = split_outside_parens(s);
  if (out.back().empty()) out.pop_back();
  return out;
}

std::string label(const Json& labels, const std::string& key, bool& present) {
  present = labels.is_object() && labels.contains(key) && labels[key].is_string();
  return present ? labels[key].get<std::string>() : "";
}

}  // namespace

Result<bool> selector_matches(const std::string& selector, const Json& labels) {
  for (const auto& req : split_requirements(selector)) {
    bool present = false;
    auto set_op = [&](const std::string& op)
        -> std::optional<std::pair<std::string, std::vector<std::string>>> {
      auto pos = req.find(" " + op + " ");
      if (pos == std::string::npos) return std::nullopt;
      std::string key = trim(req.substr(0, pos));
      std::string rest = trim(req.substr(pos + op.size() + 2));
      if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') return std::nullopt;
      std::vector<std::string> values;
      std::string cur;
      for (char c : rest.substr(1, rest.size() - 2)) {
        if (c == ',') {
          values.push_back(trim(cur));
          cur.clear();
        } else {
          cur += c;
        }
      }
      values.push_back(trim(cur));
      return std::make_pair(key, values);
    };
    if (auto in = set_op("notin")) {
      std::string v = label(labels, in->first, present);
      if (present && std::find(in->second.begin(), in->second.end(), v) != in->second.end())
        return false;
    } else if (auto in2 = set_op("in")) {
      std::string v = label(labels, in2->first, present);
      if (!present || std::find(in2->second.begin(), in2->second.end(), v) == in2->second.end())
        return false;
    } else if (auto ne = req.find("!="); ne != std::string::npos) {
      std::string v = label(labels, trim(req.substr(0, ne)), present);
      if (present && v == trim(req.substr(ne + 2))) return false;
    } else if (auto eq = req.find('='); eq != std::string::npos) {
      size_t vstart = req.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1;
      std::string v = label(labels, trim(req.substr(0, eq)), present);
      if (!present || v != trim(req.substr(vstart))) return false;
    } else if (req.starts_with("!")) {
      label(labels, trim(req.substr(1)), present);
      if (present) return false;
    } else if (req.find_first_of(" ()") == std::string::npos && !req.empty()) {
      label(labels, req, present);
      if (!present) return false;
    } else {
      return Error{"invalid label selector \"" + selector + "\" at \"" + req + "\""};
    }
  }
  return true;
}

std::string new_uid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> EtcdStore::prefix_of(const std::string& api_version, const std::string& kind,
                                         const std::string& ns) {
  auto r = find_resource(api_version, kind);
  if (!r) return Error{"axon does not know the kind " + kind + " (" + api_version + ")"};
  std::string p =
      std::string(kRegistryPrefix) + (r->group.empty() ? "core" : r->group) + "/" + r->plural + "/";
  if (!ns.empty()) p += ns + "/";
  if (!r->namespaced && ns.empty()) p += "_/";
  return p;
}

Result<std::string> EtcdStore::key_of(const ObjectRef& ref) {
  auto r = find_resource(ref.api_version, ref.kind);
  if (!r) return Error{"axon does not know the kind " + ref.kind + " (" + ref.api_version + ")"};
  if (ref.name.empty()) return Error{ref.kind + " without metadata.name"};
  if (r->namespaced && ref.namespace_.empty())
    return Error{ref.kind + " " + ref.name + " without metadata.namespace"};
  auto p = prefix_of(ref.api_version, ref.kind, r->namespaced ? ref.namespace_ : "");
  if (!p) return p.error();
  return *p + ref.name;
}

Json EtcdStore::with_version(const std::string& value, int64_t mod_revision) {
  Json o = Json::parse(value, nullptr, false);
  if (o.is_discarded() || !o.is_object()) return Json();
  o["metadata"]["resourceVersion"] = std::to_string(mod_revision);
  return o;
}

std::string EtcdStore::describe() const {
  return description_.empty() ? "etcd at " + etcd_->target() : description_;
}

Result<std::optional<Json>> EtcdStore::get(const ObjectRef& ref) {
  auto key = key_of(ref);
  if (!key) return key.error();
  auto kv = etcd_->get(*key);
  if (!kv) return kv.error();
  if (!*kv) return std::optional<Json>();
  return std::optional<Json>(with_version((*kv)->value, (*kv)->mod_revision));
}

Result<std::vector<Json>> EtcdStore::list_at(const std::string& api_version,
                                             const std::string& kind, int64_t* revision) {
  auto r = find_resource(api_version, kind);
  if (!r) return Error{"axon does not know the kind " + kind + " (" + api_version + ")"};
  std::string prefix =
      std::string(kRegistryPrefix) + (r->group.empty() ? "core" : r->group) + "/" + r->plural + "/";
  auto kvs = etcd_->list(prefix, revision);
  if (!kvs) return kvs.error();
  std::vector<Json> out;
  for (const auto& kv : *kvs) {
    Json o = with_version(kv.value, kv.mod_revision);
    if (!o.is_null()) out.push_back(std::move(o));
  }
  return out;
}

Result<std::vector<Json>> EtcdStore::list(const std::string& api_version, const std::string& kind,
                                          const std::string& ns,
                                          const std::string& label_selector) {
  auto all = list_at(api_version, kind, nullptr);
  if (!all) return all.error();
  std::vector<Json> out;
  for (auto& o : *all) {
    if (!ns.empty() && o["metadata"].value("namespace", "") != ns) continue;
    if (!label_selector.empty()) {
      Json labels = o["metadata"].contains("labels") ? o["metadata"]["labels"] : Json::object();
      auto m = selector_matches(label_selector, labels);
      if (!m) return m.error();
      if (!*m) continue;
    }
    out.push_back(std::move(o));
  }
  return out;
}

Result<ApplyOutcome> EtcdStore::apply(const Json& object) {
  ObjectRef ref = ObjectRef::of(object);
  auto key = key_of(ref);
  if (!key) return key.error();
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto kv = etcd_->get(*key);
    if (!kv) return kv.error();
    Json next;
    int64_t expected = 0;
    if (*kv) {
      Json live = with_version((*kv)->value, (*kv)->mod_revision);
      if (apply_outcome(live, object) == ApplyOutcome::unchanged) return ApplyOutcome::unchanged;
      expected = (*kv)->mod_revision;
      // kubectl's three-way merge: what other writers set (status, fields
      // the manifest never had) survives; what the manifest dropped goes.
      // uid and creationTimestamp are the store's.
      next = three_way_merge(live, last_applied(live), object);
      next["metadata"].erase("resourceVersion");
      for (const char* f : {"uid", "creationTimestamp"}) {
        if (live["metadata"].contains(f)) next["metadata"][f] = live["metadata"][f];
      }
      int64_t gen = live["metadata"].value("generation", int64_t{1});
      bool spec_changed = live.value("spec", Json()) != next.value("spec", Json());
      next["metadata"]["generation"] = spec_changed ? gen + 1 : gen;
    } else {
      next = three_way_merge(Json::object(), nullptr, object);
      next["metadata"].erase("resourceVersion");
      next["metadata"]["uid"] = new_uid();
      next["metadata"]["creationTimestamp"] = now_rfc3339();
      next["metadata"]["generation"] = 1;
    }
    auto put = etcd_->put_if(*key, next.dump(), expected);
    if (!put) return put.error();
    if (*put) return *kv ? ApplyOutcome::configured : ApplyOutcome::created;
  }
  return Error{"apply " + ref.str() + ": the object keeps changing; try again"};
}

Result<Json> EtcdStore::update(const Json& object) {
  ObjectRef ref = ObjectRef::of(object);
  auto key = key_of(ref);
  if (!key) return key.error();
  std::string rv = object["metadata"].value("resourceVersion", "");
  Json next = object;
  next["metadata"].erase("resourceVersion");
  if (rv.empty()) {
    auto put = etcd_->put(*key, next.dump());
    if (!put) return put.error();
    return with_version(next.dump(), *put);
  }
  int64_t expected = std::stoll(rv);
  auto put = etcd_->put_if(*key, next.dump(), expected);
  if (!put) return put.error();
  if (!*put) return Error{"conflict: " + ref.str() + " changed since resourceVersion " + rv};
  return with_version(next.dump(), **put);
}

Result<std::optional<Json>> EtcdStore::create(const Json& object) {
  ObjectRef ref = ObjectRef::of(object);
  auto key = key_of(ref);
  if (!key) return key.error();
  Json next = object;
  next["metadata"].erase("resourceVersion");
  next["metadata"]["uid"] = new_uid();
  next["metadata"]["creationTimestamp"] = now_rfc3339();
  next["metadata"]["generation"] = 1;
  auto put = etcd_->put_if(*key, next.dump(), 0);
  if (!put) return put.error();
  if (!*put) return std::optional<Json>();
  return std::optional<Json>(with_version(next.dump(), **put));
}

Result<std::optional<Json>> EtcdStore::replace(const Json& object) {
  ObjectRef ref = ObjectRef::of(object);
  const std::string rv = member(object, "metadata").value("resourceVersion", "");
  if (rv.empty() || rv.find_first_not_of("0123456789") != std::string::npos)
    return Error{"replace " + ref.str() + ": metadata.resourceVersion is required (the version read)"};
  auto key = key_of(ref);
  if (!key) return key.error();
  Json next = object;
  next["metadata"].erase("resourceVersion");
  auto put = etcd_->put_if(*key, next.dump(), std::stoll(rv));
  if (!put) return put.error();
  if (!*put) return std::optional<Json>();
  return std::optional<Json>(with_version(next.dump(), **put));
}

Result<bool> EtcdStore::remove(const ObjectRef& ref) {
  auto key = key_of(ref);
  if (!key) return key.error();
  if (ref.kind == "Namespace" && ref.api_version == "v1") {
    // As the API server's namespace controller does: a namespace goes with
    // everything in it.
    auto kv = etcd_->get(*key);
    if (!kv) return kv.error();
    if (!*kv) return false;
    for (const auto& r : known_resources()) {
      if (!r.namespaced) continue;
      auto prefix = prefix_of(r.api_version(), r.kind, ref.name);
      if (!prefix) return prefix.error();
      if (auto gone = etcd_->remove_prefix(*prefix); !gone) return gone.error();
    }
  }
  return etcd_->remove(*key);
}

Result<std::unique_ptr<EtcdWatch>> EtcdStore::watch(const std::string& api_version,
                                                    const std::string& kind,
                                                    int64_t start_revision) {
  auto r = find_resource(api_version, kind);
  if (!r) return Error{"axon does not know the kind " + kind + " (" + api_version + ")"};
  std::string prefix =
      std::string(kRegistryPrefix) + (r->group.empty() ? "core" : r->group) + "/" + r->plural + "/";
  return etcd_->watch(prefix, start_revision, true);
}

std::optional<ObjectEvent> EtcdStore::decode(const EtcdEvent& e) {
  ObjectEvent ev;
  if (e.type == EtcdEvent::Type::remove) {
    ev.type = ObjectEvent::Type::deleted;
    ev.object = with_version(e.prev_kv.value, e.kv.mod_revision);
  } else {
    ev.type = e.kv.version == 1 ? ObjectEvent::Type::added : ObjectEvent::Type::modified;
    ev.object = with_version(e.kv.value, e.kv.mod_revision);
  }
  if (ev.object.is_null()) return std::nullopt;
  return ev;
}

Result<ListResult> EtcdStore::list_versioned(const std::string& api_version,
                                             const std::string& kind) {
  int64_t revision = 0;
  auto items = list_at(api_version, kind, &revision);
  if (!items) return items.error();
  return ListResult{std::move(*items), std::to_string(revision)};
}

namespace {

class EtcdWatchStream final : public WatchStream {
 public:
  explicit EtcdWatchStream(std::unique_ptr<EtcdWatch> watch) : watch_(std::move(watch)) {}

  Result<WatchBatch> next(std::chrono::milliseconds timeout) override {
    WatchBatch out;
    auto batch = watch_->next(timeout);
    if (!batch) return out;
    if (batch->canceled) {
      if (batch->compact_revision != 0) {
        out.gone = true;
        return out;
      }
      return Error{"etcd watch canceled" + (batch->reason.empty() ? "" : ": " + batch->reason)};
    }
    for (const auto& e : batch->events) {
      auto ev = EtcdStore::decode(e);
      if (!ev) continue;
      WatchEvent w;
      w.type = ev->type == ObjectEvent::Type::added      ? WatchEvent::Type::added
               : ev->type == ObjectEvent::Type::modified ? WatchEvent::Type::modified
                                                         : WatchEvent::Type::deleted;
      w.object = std::move(ev->object);
      out.events.push_back(std::move(w));
    }
    return out;
  }

 private:
  std::unique_ptr<EtcdWatch> watch_;
};

}  // namespace

Result<std::unique_ptr<WatchStream>> EtcdStore::watch_objects(const std::string& api_version,
                                                              const std::string& kind,
                                                              const std::string& resource_version) {
  int64_t from = 0;
  try {
    from = resource_version.empty() ? 0 : std::stoll(resource_version) + 1;
  } catch (...) {
    return Error{"watch " + kind + ": resourceVersion \"" + resource_version + "\" is not an etcd revision"};
  }
  auto w = watch(api_version, kind, from);
  if (!w) return w.error();
  return std::unique_ptr<WatchStream>(std::make_unique<EtcdWatchStream>(std::move(*w)));
}

}  // namespace axon::client
