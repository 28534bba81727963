#!/usr/bin/env python3
"""A Kubernetes API test server for axon's Kubernetes path.

HTTPS only, with a client certificate required (signed by --ca). It keeps
objects in memory and speaks the parts of the API axon uses, strictly:

- paths: /api/v1/..., /apis/GROUP/VERSION/... with namespaces/NS/ for
  namespaced kinds; unknown resources and malformed paths are 404;
- verbs: GET (object, collection with labelSelector), PATCH with
  Content-Type application/apply-patch+yaml only (415 otherwise),
  fieldManager required (422 without, as the API server does), force=true;
  DELETE;
- errors as metav1.Status bodies (kind Status, reason, code, details.causes);
- every request is appended to --log as a JSON line (method, path, query,
  content type, client certificate subject) for the test to inspect.

Control (plain JSON over the same TLS port, for tests only):
  POST /_test/fail    {"method": "PATCH", "path": "...", "code": 422,
                       "reason": "Invalid", "message": "...",
                       "causes": [{"field": "...", "message": "..."}]}
                      makes matching requests fail until cleared
  POST /_test/clear   removes injected failures
  POST /_test/seed    {"path": "...", "object": {...}} stores an object as is

Prints the listening port on stdout, then serves until killed.
"""
import argparse
import json
import socket
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (group, version, plural) -> (kind, namespaced)
RESOURCES = {
    ("", "v1", "namespaces"): ("Namespace", False),
    ("", "v1", "nodes"): ("Node", False),
    ("", "v1", "pods"): ("Pod", True),
    ("", "v1", "services"): ("Service", True),
    ("", "v1", "serviceaccounts"): ("ServiceAccount", True),
    ("", "v1", "configmaps"): ("ConfigMap", True),
    ("apps", "v1", "daemonsets"): ("DaemonSet", True),
    ("apps", "v1", "deployments"): ("Deployment", True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles"): ("ClusterRole", False),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"): ("ClusterRoleBinding", False),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions"): ("CustomResourceDefinition", False),
    ("cilium.io", "v2", "ciliumnetworkpolicies"): ("CiliumNetworkPolicy", True),
    ("gateway.networking.k8s.io", "v1", "gatewayclasses"): ("GatewayClass", False),
}

LOCK = threading.Lock()
OBJECTS = {}  # (group, version, plural, namespace, name) -> object
FAILURES = []
RV = [100]
LOG = None


def status(code, reason, message, causes=None, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    d = dict(details or {})
    if causes:
        d["causes"] = causes
    if d:
        body["details"] = d
    return code, body


def parse_path(path):
    """Returns (group, version, plural, namespace, name) or None."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    if len(rest) not in (1, 2):
        return None
    plural = rest[0]
    name = rest[1] if len(rest) == 2 else ""
    key = (group, version, plural)
    if key not in RESOURCES:
        return None
    kind, namespaced = RESOURCES[key]
    if namespaced and name and not namespace:
        return None  # a namespaced object needs its namespace in the path
    if not namespaced and namespace:
        return None
    return group, version, plural, namespace, name


def matches_selector(obj, selector):
    if not selector:
        return True
    labels = obj.get("metadata", {}).get("labels", {}) or {}
    for term in selector.split(","):
        k, _, v = term.partition("=")
        if labels.get(k) != v:
            return False
    return True


def set_status(obj):
    """What controllers would report: CRDs established, workloads ready."""
    kind = obj.get("kind")
    gen = obj["metadata"].get("generation", 1)
    if kind == "CustomResourceDefinition":
        obj["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
    elif kind == "DaemonSet":
        obj["status"] = {"observedGeneration": gen, "desiredNumberScheduled": 3, "numberReady": 3,
                         "updatedNumberScheduled": 3}
    elif kind == "Deployment":
        n = obj.get("spec", {}).get("replicas", 1)
        obj["status"] = {"observedGeneration": gen, "replicas": n, "readyReplicas": n, "updatedReplicas": n}


def merge(live, patch):
    """Server-side apply, simplified: the applied fields replace the live ones."""
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(live.get(k), dict):
            merge(live[k], v)
        else:
            live[k] = v


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without NODELAY each
        # response waits for the client's delayed ACK (40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def client_subject(self):
        cert = self.connection.getpeercert()
        for rdn in cert.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return ""

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, method, raw_body):
        url = urllib.parse.urlsplit(self.path)
        entry = {"method": method, "path": url.path, "query": dict(urllib.parse.parse_qsl(url.query)),
                 "contentType": self.headers.get("Content-Type", ""), "accept": self.headers.get("Accept", ""),
                 "client": self.client_subject(), "userAgent": self.headers.get("User-Agent", "")}
        if raw_body:
            try:
                entry["body"] = json.loads(raw_body)
            except ValueError:
                entry["body"] = raw_body.decode(errors="replace")
        if LOG and not url.path.startswith("/_test/"):
            with LOCK, open(LOG, "a") as f:
                f.write(json.dumps(entry) + "\n")
        return url, entry

    def handle_any(self, method):
        raw = self.body()
        url, entry = self.record(method, raw)
        if url.path.startswith("/_test/"):
            return self.control(url.path, raw)
        for f in FAILURES:
            if f.get("method", method) == method and f["path"] == url.path:
                return self.reply(*status(f["code"], f.get("reason", ""), f.get("message", ""), f.get("causes")))
        parsed = parse_path(url.path)
        if parsed is None:
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        group, version, plural, ns, name = parsed
        kind, namespaced = RESOURCES[(group, version, plural)]
        key = (group, version, plural, ns, name)
        q = entry["query"]
        with LOCK:
            if method == "GET" and name:
                obj = OBJECTS.get(key)
                if obj is None:
                    return self.reply(*status(404, "NotFound", f'{plural} "{name}" not found',
                                              details={"name": name, "kind": plural}))
                return self.reply(200, obj)
            if method == "GET":
                items = [o for (g, v, p, n, _), o in sorted(OBJECTS.items())
                         if (g, v, p) == (group, version, plural) and (not ns or n == ns)
                         and matches_selector(o, q.get("labelSelector", ""))]
                RV[0] += 1
                return self.reply(200, {"kind": kind + "List", "apiVersion": (group + "/" if group else "") + version,
                                        "metadata": {"resourceVersion": str(RV[0])}, "items": items})
            if method == "PATCH":
                if not name:
                    return self.reply(*status(405, "MethodNotAllowed", "PATCH needs an object path"))
                if entry["contentType"] != "application/apply-patch+yaml":
                    return self.reply(*status(415, "UnsupportedMediaType",
                                              f'the body of the request was in an unknown format - accepted media '
                                              f'types include: application/apply-patch+yaml; got {entry["contentType"]}'))
                if not q.get("fieldManager"):
                    return self.reply(*status(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: "
                                              "Required value: is required for apply patch",
                                              [{"reason": "FieldValueRequired", "field": "fieldManager",
                                                "message": "Required value: is required for apply patch"}]))
                try:
                    obj = json.loads(raw)
                except ValueError:
                    return self.reply(*status(400, "BadRequest", "error decoding YAML"))
                meta = obj.get("metadata", {})
                if meta.get("name") != name or (namespaced and meta.get("namespace") != ns) or obj.get("kind") != kind:
                    return self.reply(*status(400, "BadRequest",
                                              "the name/namespace/kind of the object does not match the URL"))
                existing = OBJECTS.get(key)
                RV[0] += 1
                if existing is None:
                    obj["metadata"]["resourceVersion"] = str(RV[0])
                    obj["metadata"]["uid"] = f"uid-{RV[0]}"
                    obj["metadata"]["generation"] = 1
                    obj["metadata"]["managedFields"] = [{"manager": q["fieldManager"], "operation": "Apply"}]
                    set_status(obj)
                    OBJECTS[key] = obj
                    return self.reply(201, obj)
                merge(existing, obj)
                existing["metadata"]["resourceVersion"] = str(RV[0])
                existing["metadata"]["generation"] = existing["metadata"].get("generation", 1) + 1
                set_status(existing)
                return self.reply(200, existing)
            if method == "DELETE":
                obj = OBJECTS.pop(key, None)
                if obj is None:
                    return self.reply(*status(404, "NotFound", f'{plural} "{name}" not found'))
                return self.reply(200, obj)
        return self.reply(*status(405, "MethodNotAllowed", f"{method} is not supported"))

    def control(self, path, raw):
        req = json.loads(raw or b"{}")
        with LOCK:
            if path == "/_test/fail":
                FAILURES.append(req)
            elif path == "/_test/clear":
                FAILURES.clear()
            elif path == "/_test/seed":
                parsed = parse_path(req["path"])
                OBJECTS[parsed] = req["object"]
            else:
                return self.reply(404, {})
        return self.reply(200, {})

    def do_GET(self):
        self.handle_any("GET")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True, help="CA that signs accepted client certificates")
    ap.add_argument("--log")
    args = ap.parse_args()
    LOG = args.log
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
