#!/bin/bash
# oci.sh: pdvm as an OCI runtime (tools/oci.c) driven as engines drive runc — run, exec (with the bind mounts, capabilities, seccomp profile, masked paths and pids limit engines give), and create/start/state/pause/resume/kill/delete on a busybox bundle, checkpoint/restore (also incremental after a pre-dump, and leaving it running), the OCI states at each step, errors that name the config.json field pdvm cannot honour, --log in runc's JSON, duplicate and unknown ids.
# timeout: 200
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /bin/busybox

OCI="$B/pdvm-oci"
[ -x "$OCI" ] || { fail setup "$OCI is missing (make builds it)"; finish; }
ROOT=$SCRATCH/state
BUNDLE=$SCRATCH/bundle
mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/tmp"
cp /bin/busybox "$BUNDLE/rootfs/bin/"
for a in sh echo cat sleep true id; do ln -s busybox "$BUNDLE/rootfs/bin/$a"; done
domain_dir "$BUNDLE/rootfs/tmp"

# config ARGS-JSON [EXTRA-TOP-LEVEL-JSON]: writes $BUNDLE/config.json (python3 builds it).
config() {
	python3 - "$BUNDLE/config.json" "$1" "${2:-{\}}" <<'EOF'
import json, sys
c = {
    "ociVersion": "1.0.2",
    "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": json.loads(sys.argv[2]),
                "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/tmp", "noNewPrivileges": True},
    "root": {"path": "rootfs", "readonly": True},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}],
              "resources": {"memory": {"limit": 100663296}, "devices": [{"allow": False, "access": "rwm"}]}},
    "annotations": {"org.example.pdvm": "yes"},
}
for k, v in json.loads(sys.argv[3]).items():
    if v is None:
        c.pop(k, None)
    elif isinstance(v, dict) and isinstance(c.get(k), dict):
        c[k].update(v)
    else:
        c[k] = v
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF
}
oci() { (cd "$BUNDLE" && timeout -k 5 60 "$OCI" --root "$ROOT" "$@") </dev/null >"$OUT" 2>"$ERR"; RC=$?; }
status_of() { timeout 20 "$OCI" --root "$ROOT" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo none; }

# run: the program's output, status and working directory; the container is gone after.
config '["/bin/sh", "-c", "echo hello from $(pwd); exit 7"]'
oci run r1
[ "$RC" = 7 ] && [ "$(cat "$OUT")" = "hello from /tmp" ] && [ "$(status_of r1)" = none ] && pass run-foreground ||
	fail run-foreground "exit $RC: $(last_output)"

# What engines put in every config: bind mounts (a writable directory, a read-only file),
# their default capabilities (taken as not held, which --log says), a seccomp profile
# (uname refused), a masked path, a pids limit.
HOSTDIR=$SCRATCH/ocidata
domain_dir "$HOSTDIR"
echo greetings > "$SCRATCH/greet"
mkdir -p "$BUNDLE/rootfs/etc"
echo secret > "$BUNDLE/rootfs/etc/secret"
config '["/bin/sh", "-c", "cat /etc/greet; echo hi > /data/x; [ \"$(busybox uname -s)\" = Linux ] && echo uname-ran || echo uname-refused; echo \"[$(cat /etc/secret)]\"; echo no > /etc/greet"]' "$(cat <<JSON
{"mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/data", "type": "bind", "source": "$HOSTDIR", "options": ["rbind", "rprivate"]},
            {"destination": "/etc/greet", "type": "bind", "source": "$SCRATCH/greet", "options": ["bind", "ro", "nosuid"]}],
 "process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"], "effective": ["CAP_KILL"]}},
 "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]},
           "maskedPaths": ["/etc/secret", "/proc/kcore"], "resources": {"pids": {"limit": 64}}}}
JSON
)"
rm -f "$SCRATCH/oci-warn.log"
(cd "$BUNDLE" && timeout -k 5 60 "$OCI" --root "$ROOT" --log "$SCRATCH/oci-warn.log" run e1) </dev/null >"$OUT" 2>"$ERR"
RC=$?
want=$(printf 'greetings\nuname-refused\n[]')
if [ "$RC" != 0 ] && [ "$(cat "$OUT")" = "$want" ] && [ "$(cat "$HOSTDIR/x" 2>/dev/null)" = hi ] &&
   grep -q "Read-only file system" "$ERR" && grep -q 'level=warning.*process.capabilities' "$SCRATCH/oci-warn.log" &&
   [ "$(cat "$SCRATCH/greet")" = greetings ]; then
	pass engine-defaults-honoured
else
	fail engine-defaults-honoured "$(last_output); log: $(cat "$SCRATCH/oci-warn.log" 2>&1)"
fi
rm -f "$BUNDLE/rootfs/etc/secret"

# create: the process waits (the program has not run), state says created with the pid of
# the pid file; start runs it; pause/resume; kill TERM reaches the program's handler; stopped.
t=lifecycle
WHY=""
config '["/bin/sh", "-c", "echo started >/tmp/out; trap \"echo got TERM >>/tmp/out; exit 3\" TERM; while true; do sleep 0.05; done"]' \
	'{"root": {"readonly": false}}'
rm -f "$BUNDLE/rootfs/tmp/out"
oci create --pid-file "$SCRATCH/pid" c1
[ "$RC" = 0 ] || WHY="create: exit $RC: $(last_output)"
if [ -z "$WHY" ]; then
	timeout 20 "$OCI" --root "$ROOT" state c1 >"$SCRATCH/state.json" 2>&1
	python3 - "$SCRATCH/state.json" "$(cat "$SCRATCH/pid" 2>/dev/null)" "$BUNDLE" <<'EOF' || WHY="state after create: $(cat "$SCRATCH/state.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == "created" and s["id"] == "c1" and str(s["pid"]) == sys.argv[2] and s["bundle"] == sys.argv[3], s
assert s["annotations"] == {"org.example.pdvm": "yes"} and s["ociVersion"].startswith("1."), s
EOF
	sleep 0.3
	[ -n "$WHY" ] || [ ! -e "$BUNDLE/rootfs/tmp/out" ] || WHY="the program ran before start"
fi
[ -n "$WHY" ] || { oci start c1; [ "$RC" = 0 ] || WHY="start: exit $RC: $(last_output)"; }
if [ -z "$WHY" ]; then
	for _ in $(seq 100); do [ -s "$BUNDLE/rootfs/tmp/out" ] && break; sleep 0.1; done
	[ "$(status_of c1)" = running ] && [ -s "$BUNDLE/rootfs/tmp/out" ] || WHY="after start: $(status_of c1)"
fi
[ -n "$WHY" ] || { oci start c1; [ "$RC" = 1 ] || WHY="a second start: exit $RC (want 1)"; }
[ -n "$WHY" ] || { oci pause c1; [ "$RC" = 0 ] && [ "$(status_of c1)" = paused ] || WHY="pause: exit $RC, $(status_of c1)"; }
[ -n "$WHY" ] || { oci resume c1; [ "$RC" = 0 ] && [ "$(status_of c1)" = running ] || WHY="resume: exit $RC, $(status_of c1)"; }
[ -n "$WHY" ] || { oci delete c1; [ "$RC" = 1 ] && grep -q "not stopped" "$ERR" || WHY="delete of a running one: exit $RC"; }
if [ -z "$WHY" ]; then
	oci kill c1 TERM
	for _ in $(seq 100); do [ "$(status_of c1)" = stopped ] && break; sleep 0.1; done
	[ "$RC" = 0 ] && [ "$(status_of c1)" = stopped ] && grep -q "got TERM" "$BUNDLE/rootfs/tmp/out" ||
		WHY="kill TERM: exit $RC, $(status_of c1), out: $(cat "$BUNDLE/rootfs/tmp/out")"
fi
[ -n "$WHY" ] || { oci delete c1; [ "$RC" = 0 ] && [ "$(status_of c1)" = none ] || WHY="delete: exit $RC"; }
[ -n "$WHY" ] || { oci state c1; [ "$RC" = 1 ] && grep -q "does not exist" "$ERR" || WHY="state after delete: exit $RC"; }
oci delete --force c1
[ -z "$WHY" ] && pass "$t" || fail "$t" "$WHY"

# delete --force of a running container, and kill KILL.
config '["/bin/sleep", "100"]'
oci run -d c2
r1=$RC
oci delete --force c2
[ "$r1" = 0 ] && [ "$RC" = 0 ] && [ "$(status_of c2)" = none ] && pass delete-force-running ||
	fail delete-force-running "run -d: $r1, delete --force: $RC: $(last_output)"
oci run -d c3
pid3=$(timeout 20 "$OCI" --root "$ROOT" state c3 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
oci ps --format json c3
[ "$RC" = 0 ] && [ "$(cat "$OUT")" = "[$pid3]" ] && pass ps-json || fail ps-json "exit $RC: $(last_output) (pid $pid3)"
# events --stats: runc's stats event, the memory limit config.json gave, a thread, CPU time.
oci events --stats c3
python3 -c 'import json,sys; e = json.load(open(sys.argv[1])); d = e["data"]
assert e["type"] == "stats" and e["id"] == "c3", e
assert d["memory"]["usage"]["limit"] == 100663296 and 0 < d["memory"]["usage"]["usage"] <= 100663296, d
assert d["pids"]["current"] >= 1 and d["cpu"]["usage"]["total"] >= 0, d' "$OUT" 2>"$SCRATCH/ev.err" &&
	[ "$RC" = 0 ] && pass events-stats || fail events-stats "exit $RC: $(last_output); $(tail -n 2 "$SCRATCH/ev.err")"
oci kill c3 KILL
for _ in $(seq 50); do [ "$(status_of c3)" = stopped ] && break; sleep 0.1; done
[ "$RC" = 0 ] && [ "$(status_of c3)" = stopped ] && pass kill-kill || fail kill-kill "exit $RC, $(status_of c3)"
oci delete c3

# The same id twice; an id that does not exist; a bad id.
oci create d1
oci create d1
[ "$RC" = 1 ] && grep -q "already exists" "$ERR" && pass duplicate-id || fail duplicate-id "exit $RC: $(last_output)"
oci delete d1
oci kill nosuch KILL
[ "$RC" = 1 ] && grep -q "does not exist" "$ERR" && pass unknown-id || fail unknown-id "exit $RC: $(last_output)"
oci state ../etc
[ "$RC" = 1 ] && pass bad-id || fail bad-id "exit $RC: $(last_output)"
# As runc: delete --force of what does not exist succeeds (an engine cleaning up after a
# create that failed); without --force it is an error.
oci delete nosuch
r1=$RC
oci delete --force nosuch
[ "$r1" = 1 ] && [ "$RC" = 0 ] && pass delete-force-missing || fail delete-force-missing "delete: $r1, --force: $RC"

# Fields pdvm cannot honour are errors naming them (and create leaves nothing behind).
bad() {
	local name=$1 field=$2 extra=$3
	config '["/bin/true"]' "$extra"
	oci create x1
	if [ "$RC" = 1 ] && grep -qF "$field" "$ERR" && [ "$(status_of x1)" = none ]; then
		pass "refuses-$name"
	else
		fail "refuses-$name" "exit $RC (want 1, naming $field): $(last_output)"
	fi
	oci delete --force x1
}
bad hostname hostname '{"hostname": "no/slash"}'
bad nfs-mount 'mounts[2]' '{"mounts": [{"destination": "/proc", "type": "proc"}, {"destination": "/dev", "type": "tmpfs"}, {"destination": "/data", "type": "nfs", "source": "srv:/x"}]}'
bad terminal process.terminal '{"process": {"terminal": true, "args": ["/bin/true"], "cwd": "/"}}'
bad capabilities process.capabilities '{"process": {"args": ["/bin/true"], "cwd": "/", "capabilities": {"bounding": ["CAP_SYS_ADMIN"]}}}'
bad user-namespace 'linux.namespaces[0]' '{"linux": {"namespaces": [{"type": "user"}]}}'
bad unknown-field seccompX '{"seccompX": {}}'
bad hook-relative-path 'hooks.prestart[0].path' '{"hooks": {"prestart": [{"path": "bin/true"}]}}'
bad hook-unknown-stage 'hooks.preStart' '{"hooks": {"preStart": [{"path": "/bin/true"}]}}'

# --log-format json: the error as runc writes it, one JSON object a line.
config '["/bin/true"]' '{"domainname": "example.org"}'
rm -f "$SCRATCH/oci.log"
(cd "$BUNDLE" && timeout 20 "$OCI" --root "$ROOT" --log "$SCRATCH/oci.log" --log-format json create j1) </dev/null >/dev/null 2>&1
python3 -c 'import json,sys; o = json.loads(open(sys.argv[1]).readline()); assert o["level"] == "error" and "domainname" in o["msg"], o' \
	"$SCRATCH/oci.log" 2>/dev/null && pass log-json || fail log-json "$(cat "$SCRATCH/oci.log" 2>&1)"

# The memory limit becomes the domain's memory.
config '["/bin/true"]'
rm -f /var/log/pdvm/m1.log
oci run m1
grep -q "memory 96 MiB" /var/log/pdvm/m1.log 2>/dev/null && [ "$RC" = 0 ] && pass memory-limit ||
	fail memory-limit "exit $RC: $(grep -h started /var/log/pdvm/m1.log 2>/dev/null | tail -n 1)"

# process.terminal with --console-socket: the engine gets the pty's master over the socket
# (SCM_RIGHTS, runc's protocol) and reads the program's output there; the program's stdio is
# a terminal of the given size.
t=console-socket
config '["/bin/sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty; stty size"]' \
	'{"process": {"terminal": true, "consoleSize": {"height": 33, "width": 101}, "args": ["/bin/sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty; stty size"], "cwd": "/"}}'
rm -f "$SCRATCH/console.sock" "$SCRATCH/console.out"
cat >"$SCRATCH/console.py" <<'EOF'
import os, socket, sys
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1])
srv.listen(1)
conn, _ = srv.accept()
msg, fds, _, _ = socket.recv_fds(conn, 256, 1)
out = b"name:" + msg + b"\n"
while True:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    out += d
open(sys.argv[2], "wb").write(out)
EOF
timeout 60 python3 "$SCRATCH/console.py" "$SCRATCH/console.sock" "$SCRATCH/console.out" &
helper=$!
for _ in $(seq 100); do [ -S "$SCRATCH/console.sock" ] && break; sleep 0.05; done
oci run --console-socket "$SCRATCH/console.sock" tty1
wait "$helper"
out=$(tr -d '\r' <"$SCRATCH/console.out" 2>/dev/null)
[ "$RC" = 0 ] && grep -q "^name:/dev/pts/" <<<"$out" && grep -q "^is-a-tty$" <<<"$out" && grep -q "^33 101$" <<<"$out" &&
	pass "$t" || fail "$t" "run exit $RC: $(last_output); the console read: $out"
config '["/bin/true"]'
oci create --console-socket "$SCRATCH/console.sock" tty2
[ "$RC" = 1 ] && grep -q "process.terminal is false" "$ERR" && pass console-socket-needs-terminal-true ||
	fail console-socket-needs-terminal-true "exit $RC: $(last_output)"
oci delete --force tty2

# process.rlimits: the limits the program starts with (RLIMIT_NOFILE is enforced).
config '["/bin/sh", "-c", "ulimit -n; ulimit -Hn"]' \
	'{"process": {"args": ["/bin/sh", "-c", "ulimit -n; ulimit -Hn"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512}]}}'
oci run l1
[ "$RC" = 0 ] && [ "$(cat "$OUT" | tr '\n' ' ')" = "256 512 " ] && pass rlimits || fail rlimits "exit $RC: $(last_output)"

oci features
[ "$RC" = 0 ] && python3 -m json.tool "$OUT" >/dev/null && pass features || fail features "$(last_output)"

# checkpoint and restore, as podman and containerd call them: a counter checkpointed (it
# stops), deleted, restored under the same id from the image; it counts on from where it was.
# --pre-dump then --parent-path: an incremental image restores too; --leave-running keeps it.
config '["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.02; done"]' \
	'{"root": {"readonly": false}}'
count() { cat "$BUNDLE/rootfs/tmp/n" 2>/dev/null || echo 0; }
wait_count() { for _ in $(seq 200); do [ "$(count)" -ge "$1" ] && return 0; sleep 0.05; done; return 1; }
t=checkpoint-restore
WHY=""
rm -f "$BUNDLE/rootfs/tmp/n"
oci run -d k1
wait_count 10 || WHY="the counter did not count: $(last_output)"
[ -n "$WHY" ] || { oci checkpoint --image-path "$SCRATCH/ck" --tcp-established --file-locks k1
	[ "$RC" = 0 ] && [ "$(status_of k1)" = stopped ] || WHY="checkpoint: exit $RC, $(status_of k1): $(last_output)"; }
at=$(count)
sleep 0.3
[ -n "$WHY" ] || [ "$(count)" = "$at" ] || WHY="it went on counting after its checkpoint ($at, then $(count))"
[ -n "$WHY" ] || { oci delete k1; oci restore -d --image-path "$SCRATCH/ck" --pid-file "$SCRATCH/rpid" k1
	[ "$RC" = 0 ] || WHY="restore: exit $RC: $(last_output)"; }
[ -n "$WHY" ] || wait_count $((at + 10)) || WHY="the restored counter did not go on from $at: $(count)"
[ -n "$WHY" ] || [ "$(status_of k1)" = running ] && [ "$(cat "$SCRATCH/rpid")" = "$(timeout 20 "$OCI" --root "$ROOT" state k1 |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')" ] || WHY="${WHY:-state after restore: $(status_of k1)}"
if [ -z "$WHY" ]; then
	oci checkpoint --image-path "$SCRATCH/pre" --pre-dump k1
	[ "$RC" = 0 ] && [ "$(status_of k1)" = running ] || WHY="pre-dump: exit $RC, $(status_of k1): $(last_output)"
fi
if [ -z "$WHY" ]; then
	oci checkpoint --image-path "$SCRATCH/final" --parent-path ../pre k1
	[ "$RC" = 0 ] && [ "$(status_of k1)" = stopped ] || WHY="checkpoint on a pre-dump: exit $RC: $(last_output)"
	at=$(count)
	oci delete k1
	oci restore -d --image-path "$SCRATCH/final" k1
	[ "$RC" = 0 ] && wait_count $((at + 10)) || WHY="restore of the incremental image: exit $RC, $at then $(count)"
fi
if [ -z "$WHY" ]; then
	oci checkpoint --image-path "$SCRATCH/live" --leave-running k1
	at=$(count)
	[ "$RC" = 0 ] && [ -s "$SCRATCH/live/manifest.json" ] && wait_count $((at + 10)) && [ "$(status_of k1)" = running ] ||
		WHY="--leave-running: exit $RC, $(status_of k1)"
fi
oci delete --force k1
[ -z "$WHY" ] && pass "$t" || fail "$t" "$WHY"

# hostname: the node name uname gives the program, kept by a checkpoint and restore.
config '["/bin/sh", "-c", "while true; do uname -n >/tmp/h.new; mv /tmp/h.new /tmp/h; sleep 0.02; done"]' \
	'{"root": {"readonly": false}, "hostname": "ctr-1"}'
hn() { cat "$BUNDLE/rootfs/tmp/h" 2>/dev/null; }
wait_hn() { for _ in $(seq 200); do [ "$(hn)" = ctr-1 ] && return 0; sleep 0.05; done; return 1; }
rm -f "$BUNDLE/rootfs/tmp/h"
oci run -d h1
WHY=""
wait_hn || WHY="before: uname -n said '$(hn)'"
[ -n "$WHY" ] || { oci checkpoint --image-path "$SCRATCH/hck" h1; [ "$RC" = 0 ] || WHY="checkpoint: exit $RC"; }
[ -n "$WHY" ] || { rm -f "$BUNDLE/rootfs/tmp/h"; oci delete h1; oci restore -d --image-path "$SCRATCH/hck" h1
	wait_hn || WHY="after restore: uname -n said '$(hn)' (restore exit $RC)"; }
oci delete --force h1
[ -z "$WHY" ] && pass hostname-kept-by-checkpoint || fail hostname-kept-by-checkpoint "$WHY"
# exec, as engines call it: a command (its output, status, the container's cwd), a
# --process file (podman's form), -d with --pid-file (a host proxy that lives as long as
# the process), a user other than the container's refused naming process.user, and a
# paused or stopped container refused.
config '["/bin/sleep", "1000"]'
oci run -d e1
WHY=""
oci exec e1 /bin/sh -c 'echo in $(pwd); exit 6'
[ "$RC" = 6 ] && [ "$(cat "$OUT")" = "in /tmp" ] || WHY+="exec: $(last_output); "
python3 -c 'import json, sys; json.dump({"args": ["/bin/sh", "-c", "echo $X; pwd; exit 2"], "env": ["PATH=/bin", "X=y"],
    "cwd": "/bin", "user": {"uid": int(sys.argv[2]), "gid": 0}}, open(sys.argv[1], "w"))' "$SCRATCH/p0.json" 0
python3 -c 'import json, sys; json.dump({"args": ["/bin/true"], "cwd": "/", "user": {"uid": int(sys.argv[2]), "gid": 0}},
    open(sys.argv[1], "w"))' "$SCRATCH/p1000.json" 1000
oci exec --process "$SCRATCH/p0.json" e1
[ "$RC" = 2 ] && [ "$(cat "$OUT" | tr '\n' ' ')" = "y /bin " ] || WHY+="--process: $(last_output); "
oci exec --process "$SCRATCH/p1000.json" e1
[ "$RC" = 1 ] && grep -q "process.user" "$ERR" || WHY+="another user: $(last_output); "
oci exec -d --pid-file "$SCRATCH/epid" e1 /bin/sleep 1
[ "$RC" = 0 ] && kill -0 "$(cat "$SCRATCH/epid")" 2>/dev/null || WHY+="-d: $(last_output); "
for _ in $(seq 100); do kill -0 "$(cat "$SCRATCH/epid")" 2>/dev/null || break; sleep 0.1; done
kill -0 "$(cat "$SCRATCH/epid")" 2>/dev/null && WHY+="-d: the proxy outlived its process; "
oci pause e1
oci exec e1 /bin/true
[ "$RC" = 1 ] && grep -q "paused" "$ERR" || WHY+="paused: $(last_output); "
oci resume e1
oci kill e1 KILL
for _ in $(seq 100); do [ "$(status_of e1)" = stopped ] && break; sleep 0.1; done
oci exec e1 /bin/true
[ "$RC" = 1 ] && grep -q "stopped" "$ERR" || WHY+="stopped: $(last_output); "
oci delete --force e1
[ -z "$WHY" ] && pass exec || fail exec "$WHY"
# hooks: each stage at its point, with the state on stdin (its status then), in the
# runtime's namespace (createRuntime) or the container's (createContainer, startContainer);
# a failing createRuntime hook stops create and leaves nothing; a hook past its timeout is
# killed and fails; a failing poststart is a warning only.
H=$SCRATCH/hooks
mkdir -p "$H"
hook() { echo "{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"/bin/cat > $H/$1.json; /bin/readlink /proc/self/ns/net > $H/$1.ns\"]}"; }
HOOKS="{\"hooks\": {\"createRuntime\": [$(hook createRuntime)], \"createContainer\": [$(hook createContainer)],
  \"startContainer\": [$(hook startContainer)], \"poststart\": [$(hook poststart)], \"poststop\": [$(hook poststop)]},
  \"linux\": {\"namespaces\": [{\"type\": \"network\"}, {\"type\": \"mount\"}]}}"
config '["/bin/sleep", "100"]' "$HOOKS"
WHY=""
oci run -d hk1
[ "$RC" = 0 ] || WHY+="run -d: $(last_output); "
hpid=$(timeout 20 "$OCI" --root "$ROOT" state hk1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
oci kill hk1 KILL
for _ in $(seq 100); do [ "$(status_of hk1)" = stopped ] && break; sleep 0.1; done
oci delete hk1
for st in createRuntime:creating createContainer:creating startContainer:created poststart:running poststop:stopped; do
	python3 -c 'import json,sys; o = json.load(open(sys.argv[1])); assert o["id"] == "hk1" and o["status"] == sys.argv[2] \
		and o["pid"] == int(sys.argv[3]) and o["annotations"]["org.example.pdvm"] == "yes", o' \
		"$H/${st%%:*}.json" "${st#*:}" "$hpid" 2>/dev/null || WHY+="${st%%:*}: $(cat "$H/${st%%:*}.json" 2>&1); "
done
hostns=$(readlink /proc/self/ns/net)
[ "$(cat "$H/createRuntime.ns" 2>/dev/null)" = "$hostns" ] && [ -s "$H/createContainer.ns" ] &&
	[ "$(cat "$H/createContainer.ns")" != "$hostns" ] && [ "$(cat "$H/startContainer.ns")" = "$(cat "$H/createContainer.ns")" ] ||
	WHY+="namespaces: host $hostns, $(cat "$H"/*.ns 2>&1 | tr '\n' ' '); "
[ -z "$WHY" ] && pass hooks-at-their-stages || fail hooks-at-their-stages "$WHY"
config '["/bin/true"]' '{"hooks": {"createRuntime": [{"path": "/bin/false"}]}}'
oci create hk2
[ "$RC" = 1 ] && grep -q 'hooks.createRuntime\[0\] (/bin/false): exit status 1' "$ERR" && [ "$(status_of hk2)" = none ] &&
	pass hook-failure-stops-create || fail hook-failure-stops-create "$(last_output)"
oci delete --force hk2
config '["/bin/true"]' '{"hooks": {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}}'
t0=$SECONDS
oci create hk3
[ "$RC" = 1 ] && grep -q "timed out after 1 s" "$ERR" && [ $((SECONDS - t0)) -lt 20 ] && pass hook-timeout ||
	fail hook-timeout "$(last_output)"
oci delete --force hk3
config '["/bin/true"]' '{"hooks": {"poststart": [{"path": "/bin/false"}]}}'
oci run hk4
[ "$RC" = 0 ] && grep -q "warning: hooks.poststart\[0\]" "$ERR" && pass hook-poststart-warns ||
	fail hook-poststart-warns "$(last_output)"
finish
