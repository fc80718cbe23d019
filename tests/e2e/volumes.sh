#!/bin/bash
# volumes.sh: --volume SRC:DST[:ro] binds host files and directories into a domain's root (as docker -v) in pdvm's own mount namespace: writable or read-only, made in the root when missing, symbolic links in the image resolved inside the root, the host's mounts untouched, bad specs refused, and a restore given the volume finds the file the program had open there and the files of its tmpfs (--tmpfs); --container-fs's /dev.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /bin/busybox
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

# A small root: busybox and nothing else (no /data, no /etc/greeting), and
# /link an absolute symbolic link to /etc — in the root, the root's /etc.
R=$SCRATCH/root
mkdir -p "$R/bin" "$R/etc" "$R/tmp"
cp /bin/busybox "$R/bin/"
ln -s /etc "$R/link"
HOSTDIR=$SCRATCH/hostdir
domain_dir "$HOSTDIR"
echo "from the host" > "$SCRATCH/greeting"
tag=pdvm-volume-$$

run_pdvm --root "$R" --volume "$HOSTDIR:/data" --volume "$SCRATCH/greeting:/etc/greeting:ro" -- \
	/bin/busybox sh -c 'echo written > /data/out; cat /etc/greeting; echo more >> /etc/greeting; echo "append $?"'
if [ "$RC" = 0 ] && [ "$(cat "$HOSTDIR/out" 2>/dev/null)" = written ] &&
   [ "$(stat -c %U "$HOSTDIR/out")" = "$DOMAIN_USER" ] && [ "$(head -n1 "$OUT")" = "from the host" ] &&
   [ "$(sed -n 2p "$OUT")" = "append 1" ] && grep -q "Read-only file system" "$ERR" &&
   [ "$(cat "$SCRATCH/greeting")" = "from the host" ]; then
	pass rw-dir-and-ro-file
else
	fail rw-dir-and-ro-file "$(last_output); host out: $(cat "$HOSTDIR/out" 2>&1)"
fi
# The mount points were made in the root (as docker makes them), empty.
if [ -d "$R/data" ] && [ -f "$R/etc/greeting" ] && [ ! -s "$R/etc/greeting" ] && [ ! -e "$R/data/out" ]; then
	pass mount-points-made-in-root
else
	fail mount-points-made-in-root "$(ls -la "$R" "$R/etc")"
fi
# The binds lived in pdvm's namespace only.
if ! grep -q "$SCRATCH" /proc/self/mountinfo; then
	pass host-mounts-untouched
else
	fail host-mounts-untouched "$(grep "$SCRATCH" /proc/self/mountinfo)"
fi

# A DST through the image's own symbolic link stays in the root: /link/x is
# the root's /etc/x, never the host's /etc.
run_pdvm --root "$R" --volume "$SCRATCH/greeting:/link/$tag:ro" -- /bin/busybox cat "/etc/$tag"
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = "from the host" ] && [ -f "$R/etc/$tag" ] && [ ! -e "/etc/$tag" ]; then
	pass symlink-stays-in-root
else
	fail symlink-stays-in-root "$(last_output); host /etc/$tag: $([ -e "/etc/$tag" ] && echo EXISTS || echo absent)"
fi
rm -f "/etc/$tag"

# A directory over a file (or the reverse) is refused, as are bad specs.
bad=0
for spec in "relative:/data" "$HOSTDIR:data" "$HOSTDIR:/a/../b" "$HOSTDIR:/" "$HOSTDIR:/data:rx" \
	    "$SCRATCH/missing:/data" "$HOSTDIR:/etc/greeting"; do
	run_pdvm --root "$R" --volume "$spec" -- /bin/busybox true
	if [ "$RC" != 125 ] || ! grep -q "volume" "$ERR"; then
		bad=1
		echo "spec $spec: $(last_output)"
	fi
done > "$SCRATCH/bad.log"
if [ "$bad" = 0 ]; then pass bad-specs-refused; else fail bad-specs-refused "$(cat "$SCRATCH/bad.log")"; fi

# The config file's key does the same.
cat > "$SCRATCH/vol.cfg" <<CFG
root = "$R";
command = ["/bin/busybox", "cat", "/etc/greeting"];
volumes = ["$SCRATCH/greeting:/etc/greeting:ro"];
CFG
run_pdvm "$SCRATCH/vol.cfg"
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = "from the host" ]; then
	pass config-key
else
	fail config-key "$(last_output)"
fi

# --container-fs: a container's /proc, /sys and /dev in a root that has none — the
# domain's processes only, sysfs read-only, the harmless devices, a devpts of its own (no
# host pty listed), a writable private /dev/shm — and the host's devices nowhere else.
run_pdvm --root "$R" --container-fs -- /bin/busybox sh -c 'n=$(/bin/busybox ls /proc | /bin/busybox grep -c "^[0-9]");
	[ "$n" -ge 1 ] && [ "$n" -le 4 ] && echo own-pids;
	[ -d /sys/kernel ] && echo sys-ok; echo x > /sys/kernel/x 2>/dev/null || echo sys-ro; echo x > /dev/null && echo null-ok;
	/bin/busybox head -c 5 /dev/urandom | /bin/busybox wc -c; echo s > /dev/shm/f && cat /dev/shm/f;
	/bin/busybox ls /dev/pts; /bin/busybox ls /dev | /bin/busybox tr "\n" " "; [ -e /dev/sda ] || echo no-disk'
want=$(printf 'own-pids\nsys-ok\nsys-ro\nnull-ok\n5\ns\nptmx\nfd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero no-disk')
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = "$want" ] && [ -d "$R/dev" ] && [ -z "$(find "$R/dev" "$R/proc" "$R/sys" -mindepth 1)" ]; then
	pass container-fs
else
	fail container-fs "$(last_output)"
fi

# Snapshot and restore: the program has a file open in the volume and
# appends on after the restore, which is given the same volume; a file it left
# in its tmpfs (/run) is carried by the image and there again after the restore,
# which must mount that tmpfs (without it, the restore is refused, naming it).
d=$SCRATCH/snap
mkdir -p "$d"
rm -f "$HOSTDIR/log"
start_run vol "$d/run.out" "$d/run.err" --root "$R" --volume "$HOSTDIR:/data" --tmpfs /run:mode=0755 -- /bin/busybox sh -c \
	'echo kept > /run/k; exec 3>>/data/log; i=0; while [ $i -lt 80 ]; do echo $i >&3; echo tick; i=$((i + 1)); sleep 0.1; done
	 cat /run/k'
pid=$BGPID
why=""
if wait_sock vol "$pid" && wait_lines "$d/run.out" 3 "$pid"; then
	snap --stop vol "$d/img"
	[ "$SRC" = 0 ] || why="snapshot: exit $SRC: $(cat "$SERR")"
else
	why="did not get going: $(tail -n 5 "$d/run.err")"
fi
wait_pid "$pid"
if [ -z "$why" ]; then
	restore_fg "$d/restore0.out" "$d/restore0.err" --root "$R" --volume "$HOSTDIR:/data" --writable /run "$d/img"
	[ "$RRC" != 0 ] && grep -q "tmpfs on /run" "$d/restore0.err" ||
		why="a restore without the tmpfs: exit $RRC: $(tail -n 3 "$d/restore0.err")"
fi
if [ -z "$why" ]; then
	restore_fg "$d/restore.out" "$d/restore.err" --root "$R" --volume "$HOSTDIR:/data" --tmpfs /run:mode=0755 "$d/img"
	[ "$(tail -n1 "$HOSTDIR/log")" = 79 ] || why="log ends with $(tail -n1 "$HOSTDIR/log"): $(tail -n 5 "$d/restore.err")"
	[ "$(tail -n1 "$d/restore.out")" = kept ] || why="${why:+$why; }the tmpfs file: $(tail -n 2 "$d/restore.out")"
fi
if [ -z "$why" ]; then pass snapshot-restore-keeps-volume-and-tmpfs-files; else fail snapshot-restore-keeps-volume-and-tmpfs-files "$why"; fi

finish
