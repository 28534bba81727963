#include "axon/agent/cni_plugin.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "axon/agent/v1/agent.grpc.pb.h"
#include "axon/base/process.h"
#include "axon/client/yaml.h"


namespace axon::agent {
using client::Json;
namespace {

namespace pb = axon::agent::v1;

const std::set<std::string> kSupportedVersions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};

struct CniError {
  int code;
  std::string msg;
  std::string details;
  CniError(int c, std::string m, std::string d = "")
      : code(c), msg(std::move(m)), details(std::move(d)) {}
};

std::string get(const std::map<std::string, std::string>& env, const char* k) {
  auto it = env.find(k);
  return it == env.end() ? "" : it->second;
}

// Runs `ip ARGS` inside the network namespace at `netns_path`.
Result<std::string> ip_in(const std::string& netns_path, const std::vector<std::string>& args) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return sys_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    int fd = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "cannot enter %s\n", netns_path.c_str());
      _exit(126);
    }
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    std::vector<char*> argv{const_cast<char*>("ip")};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp("ip", argv.data());
    _exit(127);
  }
  ::close(out[1]);
  std::string o;
  char buf[2048];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) o.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    while (!o.empty() && o.back() == '\n') o.pop_back();
    std::string cmd = "ip";
    for (const auto& a : args) cmd += " " + a;
    return Error{cmd + " (in " + netns_path + "): " + o};
  }
  return o;
}

// {name, mac, ifindex} of a link in the current namespace, or nullopt.
std::optional<Json> link(const std::string& netns_path, const std::string& name) {
  auto r = netns_path.empty() ? proc::ip({"-j", "link", "show", "dev", name})
                              : ip_in(netns_path, {"-j", "link", "show", "dev", name});
  if (!r) return std::nullopt;
  Json j = Json::parse(*r, nullptr, false);
  if (!j.is_array() || j.empty()) return std::nullopt;
  return j[0];
}

std::map<std::string, std::string> parse_cni_args(const std::string& s) {
  std::map<std::string, std::string> out;
  std::istringstream in(s);
  for (std::string kv; std::getline(in, kv, ';');) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

std::unique_ptr<pb::Agent::Stub> agent(const std::string& socket) {
  return pb::Agent::NewStub(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
}

void deadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
}

struct Op {
  std::map<std::string, std::string> env;
  Json conf;
  std::string version, container, netns, ifname, host_if, socket, pod_ns, pod_name;
};

Result<Json> add(const Op& op) {
  if (link(op.netns, op.ifname))
    return Error{"interface " + op.ifname + " already exists in " + op.netns};
  auto stub = agent(op.socket);
  pb::IpamRequest ireq;
  ireq.set_container_id(op.container);
  ireq.set_pod_namespace(op.pod_ns);
  ireq.set_pod_name(op.pod_name);
  pb::IpamResponse ip;
  {
    grpc::ClientContext ctx;
    deadline(ctx);
    auto st = stub->IpamAllocate(&ctx, ireq, &ip);
    if (!st.ok())
      return Error{"the axon agent did not allocate an address (" + op.socket +
                   "): " + st.error_message()};
  }
  auto release = [&] {
    grpc::ClientContext ctx;
    deadline(ctx);
    pb::ContainerRequest r;
    r.set_container_id(op.container);
    pb::Empty e;
    (void)stub->IpamRelease(&ctx, r, &e);
    (void)proc::ip({"link", "del", op.host_if});
  };
  const std::string tmp = "tmp" + op.host_if.substr(3);
  (void)proc::ip({"link", "del", op.host_if});  // left over from a failed ADD
  std::vector<std::vector<std::string>> host_steps = {
      {"link", "add", op.host_if, "type", "veth", "peer", "name", tmp},
      {"link", "set", "dev", tmp, "netns", op.netns},
  };
  for (const auto& s : host_steps) {
    if (auto r = proc::ip(s); !r) {
      release();
      return r.error();
    }
  }
  const std::string addr = ip.ip() + "/32";
  // The gateway is the host-side veth itself: a permanent neighbour entry
  // (proxy ARP alone needs the host to have a route to the gateway address).
  auto host_link = link("", op.host_if);
  if (!host_link) {
    release();
    return Error{"host interface " + op.host_if + " vanished"};
  }
  const std::string host_mac = (*host_link).value("address", "");
  std::vector<std::vector<std::string>> pod_steps = {
      {"link", "set", "dev", tmp, "name", op.ifname},
      {"addr", "add", addr, "dev", op.ifname},
      {"link", "set", "dev", op.ifname, "up"},
      {"route", "add", ip.gateway(), "dev", op.ifname, "scope", "link"},
      {"neigh", "replace", ip.gateway(), "lladdr", host_mac, "dev", op.ifname, "nud", "permanent"},
      {"route", "add", "default", "via", ip.gateway(), "dev", op.ifname},
  };
  for (const auto& s : pod_steps) {
    if (auto r = ip_in(op.netns, s); !r) {
      release();
      return r.error();
    }
  }
  // The host side answers ARP for the pod's gateway and routes the pod's /32.
  std::ofstream(std::string("/proc/sys/net/ipv4/conf/") + op.host_if + "/proxy_arp") << "1";
  for (const auto& s :
       std::vector<std::vector<std::string>>{{"link", "set", "dev", op.host_if, "up"},
                                             {"route", "replace", addr, "dev", op.host_if}}) {
    if (auto r = proc::ip(s); !r) {
      release();
      return r.error();
    }
  }
  auto host = link("", op.host_if);
  auto inner = link(op.netns, op.ifname);
  if (!host || !inner) {
    release();
    return Error{"the veth pair vanished while being set up"};
  }
  pb::EndpointRequest ereq;
  ereq.set_container_id(op.container);
  ereq.set_pod_namespace(op.pod_ns);
  ereq.set_pod_name(op.pod_name);
  ereq.set_host_ifname(op.host_if);
  ereq.set_host_ifindex((*host)["ifindex"].get<uint32_t>());
  ereq.set_ip(ip.ip());
  ereq.set_netns(op.netns);
  ereq.set_mac((*inner).value("address", ""));
  pb::EndpointResponse ep;
  {
    grpc::ClientContext ctx;
    deadline(ctx);
    auto st = stub->EndpointCreate(&ctx, ereq, &ep);
    if (!st.ok()) {
      release();
      return Error{"the axon agent did not create the endpoint: " + st.error_message()};
    }
  }
  return Json{
      {"cniVersion", op.version},
      {"interfaces",
       Json::array(
           {{{"name", op.host_if}, {"mac", (*host).value("address", "")}},
            {{"name", op.ifname}, {"mac", (*inner).value("address", "")}, {"sandbox", op.netns}}})},
      {"ips", Json::array({{{"address", addr}, {"gateway", ip.gateway()}, {"interface", 1}}})},
      {"routes", Json::array({{{"dst", "0.0.0.0/0"}, {"gw", ip.gateway()}}})},
      {"dns", Json::object()}};
}

// DEL undoes ADD and succeeds whatever is already gone.
void del(const Op& op, std::ostream& log) {
  auto stub = agent(op.socket);
  pb::ContainerRequest r;
  r.set_container_id(op.container);
  pb::Empty e;
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    deadline(ctx);
    auto st = i == 0 ? stub->EndpointDelete(&ctx, r, &e) : stub->IpamRelease(&ctx, r, &e);
    if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND) {
      log << "axon-cni: DEL " << op.container << ": " << st.error_message() << "\n";
    }
  }
  (void)proc::ip({"link", "del", op.host_if});
}

Result<void> check(const Op& op) {
  if (!link("", op.host_if)) return Error{"host interface " + op.host_if + " is missing"};
  if (!op.netns.empty() && !link(op.netns, op.ifname))
    return Error{op.ifname + " is missing in " + op.netns};
  auto stub = agent(op.socket);
  grpc::ClientContext ctx;
  deadline(ctx);
  pb::EndpointList list;
  auto st = stub->ListEndpoints(&ctx, pb::Empty(), &list);
  if (!st.ok())
    return Error{"the axon agent is not reachable at " + op.socket + ": " + st.error_message()};
  for (const auto& ep : list.endpoints()) {
    if (ep.container_id() == op.container) return {};
  }
  return Error{"the axon agent has no endpoint for container " + op.container};
}

}  // namespace

std::string host_veth_name(const std::string& container_id) {
  uint32_t h = 2166136261u;
  for (char c : container_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "lxc%08x", h);
  return buf;
}

int run_cni_plugin(const std::map<std::string, std::string>& env, const std::string& stdin_data,
                   std::ostream& out, std::ostream& log) {
  Json conf = Json::parse(stdin_data.empty() ? "{}" : stdin_data, nullptr, false);
  std::string version = conf.is_object() ? conf.value("cniVersion", "1.0.0") : "1.0.0";
  auto fail = [&](CniError e) {
    Json j = {{"cniVersion", version}, {"code", e.code}, {"msg", e.msg}};
    if (!e.details.empty()) j["details"] = e.details;
    out << j.dump() << "\n";
    return 1;
  };
  if (conf.is_discarded() || !conf.is_object())
    return fail({6, "cannot decode the network configuration", stdin_data});
  const std::string command = get(env, "CNI_COMMAND");
  if (command == "VERSION") {
    Json supported = Json::array();
    for (const auto& v : kSupportedVersions) supported.push_back(v);
    out << Json{{"cniVersion", version}, {"supportedVersions", supported}}.dump() << "\n";
    return 0;
  }
  if (!kSupportedVersions.count(version)) {
    return fail({1, "incompatible CNI version " + version,
                 "axon-cni supports 0.3.0, 0.3.1, 0.4.0 and 1.0.0"});
  }
  if (command != "ADD" && command != "DEL" && command != "CHECK") {
    return fail({4, "unknown CNI_COMMAND \"" + command + "\""});
  }
  Op op;
  op.env = env;
  op.conf = conf;
  op.version = version;
  op.container = get(env, "CNI_CONTAINERID");
  op.netns = get(env, "CNI_NETNS");
  op.ifname = get(env, "CNI_IFNAME");
  std::vector<std::string> missing;
  if (op.container.empty()) missing.push_back("CNI_CONTAINERID");
  if (op.ifname.empty()) missing.push_back("CNI_IFNAME");
  if (op.netns.empty() && command != "DEL") missing.push_back("CNI_NETNS");
  if (!missing.empty()) {
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
    return fail({4, "required environment variables missing: " + names});
  }
  op.host_if = host_veth_name(op.container);
  op.socket = conf.value("socket", std::string(kDefaultAgentSocket));
  auto args = parse_cni_args(get(env, "CNI_ARGS"));
  op.pod_ns = args["K8S_POD_NAMESPACE"];
  op.pod_name = args["K8S_POD_NAME"];
  if (command == "ADD") {
    if (op.pod_ns.empty() || op.pod_name.empty()) {
      return fail({4, "CNI_ARGS lacks K8S_POD_NAMESPACE and K8S_POD_NAME",
                   "axon needs the pod to find its labels"});
    }
    auto r = add(op);
    if (!r) {
      bool unreachable = r.error().message.find("did not allocate") != std::string::npos;
      return fail({unreachable ? 11 : 100, r.error().message});
    }
    out << r->dump() << "\n";
    return 0;
  }
  if (command == "DEL") {
    del(op, log);
    return 0;
  }
  if (auto r = check(op); !r) return fail({100, r.error().message});
  return 0;
}

}  // namespace axon::agent
