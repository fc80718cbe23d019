#!/bin/bash
# containerd.sh: containerd's runc shim (io.containerd.runc.v2) execs pdvm-oci where it would exec runc — `ctr run` with --runc-binary: output and exit status, a bind mount; `ctr container checkpoint --task` of a running counter and `ctr container restore --live` after its task is gone: the counter goes on from where it stood; `ctr task exec` into it. A containerd of the test's own (its root, state and socket in the scratch directory).
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /bin/busybox
for c in containerd ctr podman; do
	command -v $c >/dev/null || { fail setup "$c is not installed (tools/deps.sh installs it)"; finish; }
done

OCI="$(cd "$B" && pwd)/pdvm-oci"
# The shim's runtime state is under /run/containerd/runc/default whatever the
# containerd: names of this run's own.
R1=pdvm-r1-$$ CK=pdvm-ck-$$
CD=$SCRATCH/ctd
mkdir -p "$CD"
containerd --root "$CD/root" --state "$CD/state" --address "$CD/sock" >"$CD/log" 2>&1 &
CPID=$!
cleanup() {
	for c in $(timeout 10 ctr --address "$CD/sock" t ls -q 2>/dev/null); do
		timeout 10 ctr --address "$CD/sock" t kill -s KILL "$c" >/dev/null 2>&1
	done
	kill "$CPID" 2>/dev/null
	for n in "$R1" "$CK"; do "$OCI" --root /run/containerd/runc/default delete --force "$n" >/dev/null 2>&1; done
	wait "$CPID" 2>/dev/null
	# Its shims outlive it; their tasks are pdvm processes.
	pkill -KILL -f -- "$CD/" 2>/dev/null
	awk -v p="$CD/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null
}
trap 'cleanup; _e2e_cleanup' EXIT
c() { timeout -k 5 60 ctr --address "$CD/sock" "$@"; }
for _ in $(seq 100); do c version >/dev/null 2>&1 && break; sleep 0.1; done

# The image: busybox, built here, through podman's OCI archive (no registry).
R=$SCRATCH/img
mkdir -p "$R/bin" "$R/tmp"
cp /bin/busybox "$R/bin/"
for a in sh echo cat sleep true ls; do ln -s busybox "$R/bin/$a"; done
PS=$(mktemp -d /var/tmp/pdvm-ctd-podman.XXXXXX)     # on disk: overlayfs
tar -C "$R" -cf "$SCRATCH/bb.tar" .
if ! timeout 120 podman --root "$PS/root" --runroot "$PS/run" import --change 'ENV PATH=/bin' "$SCRATCH/bb.tar" localhost/pdvm-bb >"$SCRATCH/im.out" 2>&1 ||
   ! timeout 120 podman --root "$PS/root" --runroot "$PS/run" save --format oci-archive -o "$SCRATCH/bb-oci.tar" localhost/pdvm-bb >>"$SCRATCH/im.out" 2>&1 ||
   ! c images import --base-name localhost/pdvm-bb "$SCRATCH/bb-oci.tar" >>"$SCRATCH/im.out" 2>&1; then
	fail setup "image import failed: $(tail -n 3 "$SCRATCH/im.out")"
	rm -rf "$PS"
	finish
fi
timeout 60 podman --root "$PS/root" --runroot "$PS/run" system reset --force >/dev/null 2>&1
rm -rf "$PS"

# ctr run: output, exit status, a bind mount the program writes.
HOSTDIR=$SCRATCH/data
domain_dir "$HOSTDIR"
c run --rm --runc-binary "$OCI" --mount "type=bind,src=$HOSTDIR,dst=/data,options=rbind:rw" localhost/pdvm-bb:latest "$R1" \
	sh -c 'echo hello from ctr; echo written > /data/f; ls /dev | head -n 3; exit 5' >"$OUT" 2>"$ERR"
RC=$?
if [ "$RC" = 5 ] && [ "$(cat "$OUT")" = "$(printf 'hello from ctr\nfd\nfull\nmqueue')" ] && [ "$(cat "$HOSTDIR/f")" = written ]; then
	pass run-output-status-bind
else
	fail run-output-status-bind "$(last_output)"
fi

# Checkpoint of a running counter into containerd's content store, its task killed and
# the container removed, then restored live: the count goes on from where it stood then.
rm -f "$HOSTDIR/n"
c run -d --runc-binary "$OCI" --mount "type=bind,src=$HOSTDIR,dst=/data,options=rbind:rw" localhost/pdvm-bb:latest "$CK" \
	sh -c 'i=0; while :; do echo $i >> /data/n; i=$((i + 1)); sleep 0.1; done' >"$SCRATCH/run-d.out" 2>&1
for _ in $(seq 100); do [ "$(wc -l 2>/dev/null <"$HOSTDIR/n" || echo 0)" -ge 5 ] && break; sleep 0.1; done
why=""
c c checkpoint --task --rw "$CK" localhost/pdvm-ck:1 >"$SCRATCH/ck.out" 2>&1 || why="checkpoint: $(tail -n 3 "$SCRATCH/ck.out")"
c t kill -s KILL "$CK" >/dev/null 2>&1
for _ in $(seq 50); do c t ls 2>/dev/null | grep -q "$CK .*STOPPED" && break; sleep 0.1; done
c t rm "$CK" >/dev/null 2>&1
c c rm "$CK" >/dev/null 2>&1
n0=$(wc -l <"$HOSTDIR/n")
if [ -z "$why" ]; then
	c c restore --live --rw "$CK" localhost/pdvm-ck:1 >"$SCRATCH/rs.out" 2>&1 || why="restore: $(tail -n 3 "$SCRATCH/rs.out")"
fi
sleep 1.5
n1=$(wc -l <"$HOSTDIR/n")
# The task ran on after the checkpoint (containerd leaves it running) until the kill, so
# the restored counter starts again from its checkpointed count: at least 5, at most one
# past the last number before the kill, and on by one from there (not from 0).
if [ -z "$why" ] && [ "$n1" -gt "$((n0 + 3))" ] &&
   awk -v n0="$n0" 'NR == n0 { last = $1 } NR == n0 + 1 { if ($1 < 5 || $1 > last + 1) bad = 1 }
	NR > n0 + 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' "$HOSTDIR/n" &&
   c t ls | grep -q "$CK .*RUNNING"; then
	pass checkpoint-restore-live
else
	fail checkpoint-restore-live "run -d: $(tail -n 2 "$SCRATCH/run-d.out"); ${why:-lines $n0 then $n1: $(tail -n 3 "$HOSTDIR/n" | tr '\n' ' ')}; tasks: $(c t ls 2>&1 | tail -n 2)"
fi
# ctr task exec into the restored task: the shim's exec (--process, -d, --pid-file, its
# FIFOs as stdio) reaches the domain: output and exit status come back.
c t exec --exec-id ex1 "$CK" sh -c 'echo from exec $(cat /data/n | wc -l | tr -d " " | grep -c .); exit 6' >"$OUT" 2>"$ERR"
RC=$?
[ "$RC" = 6 ] && [ "$(cat "$OUT")" = "from exec 1" ] && pass task-exec || fail task-exec "$(last_output)"
finish
