#!/bin/bash
# k8s_example.sh: the Kubernetes RuntimeClass example (docs/kubernetes) holds together — containerd's config fragment parses (by containerd itself where it is installed) and hands the runc shim pdvm-oci, and the RuntimeClass's handler is that runtime and the pod's class that RuntimeClass. No cluster here: syntax and names only.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
D=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../docs/kubernetes" && pwd)

out=$(/usr/bin/python3 - "$D/containerd-pdvm.toml" "$D/runtimeclass.yaml" 2>&1 <<'PY'
import sys, tomllib, yaml
t = tomllib.load(open(sys.argv[1], "rb"))
rts = t["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
assert t["version"] == 2, "containerd config version 2"
(name, rt), = rts.items()
assert rt["runtime_type"] == "io.containerd.runc.v2", rt
assert rt["options"]["BinaryName"].endswith("/pdvm-oci"), rt["options"]
docs = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
rc = [d for d in docs if d["kind"] == "RuntimeClass"][0]
pod = [d for d in docs if d["kind"] == "Pod"][0]
assert rc["apiVersion"] == "node.k8s.io/v1" and rc["handler"] == name, (rc, name)
assert pod["spec"]["runtimeClassName"] == rc["metadata"]["name"], pod["spec"]
print("handler", name)
PY
)
if [ $? = 0 ]; then pass names-hold-together; else fail names-hold-together "$out"; fi

# containerd's own parser, when it is here: the fragment as a whole config.
if command -v containerd >/dev/null; then
	if containerd --config "$D/containerd-pdvm.toml" config dump >"$SCRATCH/dump" 2>&1 &&
	   grep -q 'BinaryName = "/usr/local/bin/pdvm-oci"' "$SCRATCH/dump"; then
		pass containerd-parses-it
	else
		fail containerd-parses-it "$(tail -n 5 "$SCRATCH/dump")"
	fi
else
	skip containerd-parses-it "containerd is not installed"
fi
finish
