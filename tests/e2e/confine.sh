#!/bin/bash
# confine.sh: what an operator (or an OCI config) narrows a domain to — a seccomp profile (--seccomp-profile, config key seccomp_profile: errno, SIGSYS trap and kill rules on both syscall paths, carried by images), a pids limit (--pids-limit: fork fails with EAGAIN past it), masked and read-only paths (--mask, --read-only).
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /bin/busybox "$GUEST/seccomp_profile"
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

PROFILE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/seccomp" && pwd)/profile.json

run_pdvm --seccomp-profile "$PROFILE" -- "$GUEST/seccomp_profile" errno
if [ "$RC" = 0 ] && grep -q "^0 failures" "$OUT"; then pass seccomp-errno-both-paths; else fail seccomp-errno-both-paths "$(last_output)"; fi

run_pdvm --seccomp-profile "$PROFILE" -- "$GUEST/seccomp_profile" trap
if [ "$RC" = 0 ] && grep -q "^0 failures" "$OUT"; then pass seccomp-trap-sigsys; else fail seccomp-trap-sigsys "$(last_output)"; fi

# KILL_PROCESS: killed by SIGSYS (31) at the call, as the kernel kills.
run_pdvm --seccomp-profile "$PROFILE" -- "$GUEST/seccomp_profile" kill
if [ "$RC" = $((128 + 31)) ] && [ "$(cat "$OUT")" = before ]; then pass seccomp-kill-process; else fail seccomp-kill-process "$(last_output)"; fi

# Without the profile the same calls run (the refusals were the profile's).
run_pdvm -- /bin/busybox uname -s
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = Linux ]; then pass without-profile-uname-runs; else fail without-profile-uname-runs "$(last_output)"; fi

# A bad profile is refused at start, naming the field.
echo '{"defaultAction": "SCMP_ACT_NOTIFY"}' > "$SCRATCH/bad.json"
run_pdvm --seccomp-profile "$SCRATCH/bad.json" -- /bin/busybox true
if [ "$RC" = 125 ] && grep -q "defaultAction" "$ERR"; then pass bad-profile-refused; else fail bad-profile-refused "$(last_output)"; fi

# The config key, relative to the config file; and an image keeps the
# profile: after a restore uname is still refused.
echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["uname"], "action": "SCMP_ACT_ERRNO"}]}' \
	> "$SCRATCH/p.json"
cat > "$SCRATCH/c.cfg" <<CFG
command = ["/bin/busybox", "sh", "-c", "i=0; while [ \$i -lt 60 ]; do [ \"\$(uname -s 2>/dev/null)\" = Linux ] && echo ran || echo refused; i=\$((i + 1)); sleep 0.1; done"];
seccomp_profile = "p.json";
CFG
d=$SCRATCH/snap
mkdir -p "$d"
start_run prof "$d/run.out" "$d/run.err" "$SCRATCH/c.cfg"
pid=$BGPID
why=""
if wait_sock prof "$pid" && wait_lines "$d/run.out" 3 "$pid"; then
	snap --stop prof "$d/img"
	[ "$SRC" = 0 ] || why="snapshot: exit $SRC: $(cat "$SERR")"
else
	why="did not get going: $(tail -n 5 "$d/run.err")"
fi
wait_pid "$pid"
[ -n "$why" ] || grep -qv refused "$d/run.out" && why="${why:-before: uname ran: $(sort -u "$d/run.out")}"
if [ -z "$why" ]; then
	restore_fg "$d/restore.out" "$d/restore.err" "$d/img"
	if [ "$RRC" != 0 ] || [ ! -s "$d/restore.out" ] || grep -qv refused "$d/restore.out"; then
		why="after restore: exit $RRC: $(sort -u "$d/restore.out"; tail -n 3 "$d/restore.err")"
	fi
fi
if [ -z "$why" ]; then pass image-keeps-profile; else fail image-keeps-profile "$why"; fi

# --pids-limit 3: the shell and two children; the third fork fails (EAGAIN).
run_pdvm --pids-limit 3 -- /bin/busybox sh -c 'sleep 1 & sleep 1 & sleep 1 & wait'
if grep -q "can't fork: Resource temporarily unavailable" "$ERR"; then
	pass pids-limit
else
	fail pids-limit "$(last_output)"
fi
run_pdvm --pids-limit 4 -- /bin/busybox sh -c 'sleep 0.2 & sleep 0.2 & sleep 0.2 & wait; echo done'
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = done ] && [ ! -s "$ERR" ]; then pass pids-limit-room; else fail pids-limit-room "$(last_output)"; fi

# Masked: a file reads empty, a directory lists nothing; read-only: a
# directory inside a writable tree refuses writes (EROFS), its neighbour not.
R=$SCRATCH/root
mkdir -p "$R/bin" "$R/secretdir" "$R/rw/frozen" "$R/rw/open"
cp /bin/busybox "$R/bin/"
echo "do not read" > "$R/secret"
echo x > "$R/secretdir/inside"
domain_dir "$R/rw" "$R/rw/frozen" "$R/rw/open"
run_pdvm --root "$R" --writable /rw --mask /secret --mask /secretdir --mask /not-there --read-only /rw/frozen -- \
	/bin/busybox sh -c 'echo "[$(cat /secret)]"; echo "[$(ls /secretdir)]"; echo a > /rw/open/f && echo open-ok;
		echo b > /rw/frozen/f || echo frozen-refused'
want=$(printf '[]\n[]\nopen-ok\nfrozen-refused')
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = "$want" ] && grep -q "Read-only file system" "$ERR" &&
   [ "$(cat "$R/secret")" = "do not read" ] && [ ! -e "$R/rw/frozen/f" ]; then
	pass masked-and-read-only
else
	fail masked-and-read-only "$(last_output)"
fi

finish
