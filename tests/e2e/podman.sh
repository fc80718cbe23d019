#!/bin/bash
# podman.sh: podman drives pdvm-oci as it drives runc, on a busybox image imported offline — output and exit status identical to runc's (also of Debian's python3 in an image of its own), -it with a pty, exec (like runc's, -it, -d), stop, kill, pause/unpause, and checkpoint/restore (a TCP connection from the host survives it) also through --export/--import into a fresh podman store.
# timeout: 400
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /bin/busybox
command -v podman >/dev/null || { fail setup "podman is not installed (tools/deps.sh installs it)"; finish; }

OCI="$(cd "$B" && pwd)/pdvm-oci"
# A podman store of the test's own, on disk for overlayfs.
STORE=$(mktemp -d /var/tmp/pdvm-podman.XXXXXX)
pm() { timeout -k 5 120 podman --root "$STORE/$1/root" --runroot "$STORE/$1/run" --runtime "${RT:-$OCI}" "${@:2}"; }
cleanup() {
	for s in a; do
		pm $s rm -af -t 0 >/dev/null 2>&1
		pm $s system reset --force >/dev/null 2>&1
	done
	rm -rf "$STORE"
}
trap 'cleanup; _e2e_cleanup' EXIT
# This sandbox's hard limits are below podman's defaults (tests the same under runc).
U=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# The image: busybox and its applet links, built here and imported (no registry).
R=$SCRATCH/img
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/root"
cp /bin/busybox "$R/bin/"
for a in $(/bin/busybox --list | grep -vx busybox); do ln -s busybox "$R/bin/$a"; done
chmod 1777 "$R/tmp"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
tar -C "$R" -cf "$SCRATCH/bb.tar" .
for s in a; do
	pm $s import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' "$SCRATCH/bb.tar" localhost/pdvm-bb >/dev/null 2>&1 ||
		{ fail setup "podman import failed"; finish; }
done

# The same script's output and status under runc and under pdvm-oci (the image's user is
# root: the program sees uid 0 and owns what it creates, though pdvm runs it unprivileged).
S='echo hi; uname -n | wc -c; cat /etc/hostname | wc -c; ls /; grep -c . /etc/hosts; echo $HOSTNAME | wc -c
ls /dev; echo x > /dev/null && echo null-ok; head -c 3 /dev/urandom | wc -c; echo $((6 * 7))
id -u; id -g; id -un; touch /tmp/mine; stat -c "%u %g" /tmp/mine
echo pid $$ $PPID; kill -TERM $$; echo alive-after-term; exit 3'
RT=runc pm a run --rm "${U[@]}" localhost/pdvm-bb sh -c "$S" >"$SCRATCH/runc.out" 2>&1
rrc=$?
pm a run --rm "${U[@]}" localhost/pdvm-bb sh -c "$S" >"$SCRATCH/pdvm.out" 2>&1
prc=$?
if [ "$rrc" = 3 ] && [ "$prc" = 3 ] && cmp -s "$SCRATCH/runc.out" "$SCRATCH/pdvm.out"; then
	pass output-and-status-like-runc
elif [ "$rrc" != 3 ]; then
	# runc itself cannot run here: pdvm's output must still be the one expected.
	skip output-and-status-like-runc "runc failed here (exit $rrc): $(tail -n 2 "$SCRATCH/runc.out")"
else
	fail output-and-status-like-runc "runc $rrc, pdvm $prc: $(diff "$SCRATCH/runc.out" "$SCRATCH/pdvm.out" | head -n 12)"
fi

# Debian's python3 in an image of its own (its binary, libraries and standard library,
# tests and caches left out): the same program's output and status under runc and pdvm.
P=$SCRATCH/py
mkdir -p "$P/usr/bin" "$P/lib64" "$P/lib/x86_64-linux-gnu" "$P/usr/lib" "$P/bin"
cp /bin/busybox "$P/bin/" && ln -s busybox "$P/bin/sh"
PYB=$(readlink -f /usr/bin/python3)
cp "$PYB" "$P/usr/bin/python3"
for l in $(ldd "$PYB" | awk '/=>/ { print $3 }') /lib64/ld-linux-x86-64.so.2; do cp -L "$l" "$P$l"; done
PYLIB=$(/usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
tar -C / --exclude=__pycache__ --exclude="${PYLIB#/}/test" --exclude="${PYLIB#/}/idlelib" \
	--exclude="${PYLIB#/}/tkinter" --exclude="${PYLIB#/}/ensurepip" --exclude="${PYLIB#/}/lib2to3" \
	-cf - "${PYLIB#/}" | tar -C "$P" -xf -
tar -C "$P" -cf "$SCRATCH/py.tar" .
pm a import --change 'ENV PATH=/usr/bin:/bin' "$SCRATCH/py.tar" localhost/pdvm-py >/dev/null 2>&1 ||
	fail setup "podman import of the python3 image failed"
PYS='import os, sys, json, hashlib, subprocess, threading
print(sys.version_info[:2], sys.executable)
print(json.dumps(sorted(os.listdir("/"))))
print(hashlib.sha256(b"pdvm").hexdigest())
print(subprocess.run(["/bin/sh", "-c", "echo sub $((2 + 3))"], capture_output=True, text=True).stdout.strip())
t = threading.Thread(target=lambda: print("thread", os.getcwd())); t.start(); t.join()
sys.exit(4)'
RT=runc pm a run --rm "${U[@]}" localhost/pdvm-py python3 -c "$PYS" >"$SCRATCH/py-runc.out" 2>&1
rrc=$?
pm a run --rm "${U[@]}" localhost/pdvm-py python3 -c "$PYS" >"$SCRATCH/py-pdvm.out" 2>&1
prc=$?
if [ "$rrc" = 4 ] && [ "$prc" = 4 ] && cmp -s "$SCRATCH/py-runc.out" "$SCRATCH/py-pdvm.out"; then
	pass python3-like-runc
elif [ "$rrc" != 4 ]; then
	skip python3-like-runc "runc failed here (exit $rrc): $(tail -n 2 "$SCRATCH/py-runc.out")"
else
	fail python3-like-runc "runc $rrc, pdvm $prc: $(diff "$SCRATCH/py-runc.out" "$SCRATCH/py-pdvm.out" | head -n 12)"
fi

# -it: the program's stdio is a terminal of the size podman's is.
# podman stays in the pty's foreground process group (timeout --foreground): in a group of
# its own, its switch to raw mode is a background tcsetattr, stopped by SIGTTOU or, once its
# signal proxy catches that signal, retried forever (CI hung here at stop 32).
timeout -k 5 90 script -qec "stty cols 91 rows 27; timeout --foreground -k 5 60 podman --root $STORE/a/root --runroot $STORE/a/run --runtime $OCI run -it --rm \
	${U[*]} localhost/pdvm-bb sh -c '[ -t 0 ] && [ -t 1 ] && echo is-a-tty; stty size'" /dev/null >"$SCRATCH/tty.out" 2>&1
if grep -q is-a-tty "$SCRATCH/tty.out" && grep -q "^27 91" "$SCRATCH/tty.out"; then
	pass tty
else
	fail tty "$(tr -d '\r' <"$SCRATCH/tty.out" | tail -n 5); left running: $(pgrep -a 'conmon|pdvm' | tail -n 5)"
fi

# exec: output and status as under runc (--env, --workdir; 127 for a program not
# there); -it with a pty; -d; and a checkpoint refused while an exec'd process runs,
# taken once it has ended.
X='echo hi; pwd; echo $A; ls /; ps -o args | grep -c "^sleep 1000"; tr "\\0" " " </proc/1/cmdline; echo; exit 5'
for rt in runc pdvm; do
	[ $rt = runc ] && export RT=runc || unset RT
	pm a run -d --name ex-$rt "${U[@]}" localhost/pdvm-bb sleep 1000 >/dev/null
	pm a exec -e A=b -w /bin ex-$rt sh -c "$X" >"$SCRATCH/ex-$rt.out" 2>&1
	echo "status $?" >>"$SCRATCH/ex-$rt.out"
	pm a exec ex-$rt /no/such >/dev/null 2>&1
	echo "not found $?" >>"$SCRATCH/ex-$rt.out"
done
unset RT
if cmp -s "$SCRATCH/ex-runc.out" "$SCRATCH/ex-pdvm.out" && grep -q "^status 5" "$SCRATCH/ex-pdvm.out"; then
	pass exec-like-runc
elif ! grep -q "^status 5" "$SCRATCH/ex-runc.out"; then
	skip exec-like-runc "runc's exec failed here: $(head -n 3 "$SCRATCH/ex-runc.out")"
else
	fail exec-like-runc "$(diff "$SCRATCH/ex-runc.out" "$SCRATCH/ex-pdvm.out" | head -n 12)"
fi
timeout -k 5 90 script -qec "stty cols 83 rows 21; timeout --foreground -k 5 60 podman --root $STORE/a/root --runroot $STORE/a/run --runtime $OCI exec -it \
	ex-pdvm sh -c '[ -t 0 ] && [ -t 1 ] && echo is-a-tty; stty size'" /dev/null >"$SCRATCH/extty.out" 2>&1
grep -q is-a-tty "$SCRATCH/extty.out" && grep -q "^21 83" "$SCRATCH/extty.out" && pass exec-tty ||
	fail exec-tty "$(tr -d '\r' <"$SCRATCH/extty.out" | tail -n 5)"
pm a exec -d ex-pdvm sh -c 'echo $$ >/tmp/d.pid; sleep 3' >/dev/null 2>&1
for i in $(seq 50); do pm a exec ex-pdvm test -s /tmp/d.pid && break; sleep 0.1; done
pm a container checkpoint ex-pdvm >"$SCRATCH/exck.out" 2>&1
ck1=$?
for i in $(seq 100); do
	pm a exec ex-pdvm sh -c 'test -e /proc/$(cat /tmp/d.pid)' || break
	sleep 0.1
done
pm a container checkpoint ex-pdvm >>"$SCRATCH/exck.out" 2>&1
ck2=$?
if [ "$ck1" != 0 ] && grep -q "started by exec" "$SCRATCH/exck.out" && [ "$ck2" = 0 ]; then
	pass exec-detached-then-checkpoint
else
	fail exec-detached-then-checkpoint "while running: $ck1, after: $ck2: $(tail -n 4 "$SCRATCH/exck.out")"
fi
pm a rm -f -t 0 ex-runc ex-pdvm >/dev/null 2>&1

# stop: TERM reaches the program's handler, well before podman's KILL.
pm a run -d --name stop1 "${U[@]}" localhost/pdvm-bb sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
t0=$(date +%s)
pm a stop -t 20 stop1 >/dev/null 2>&1
t1=$(date +%s)
code=$(pm a inspect -f '{{.State.ExitCode}}' stop1 2>&1)
if [ "$code" = 0 ] && [ $((t1 - t0)) -lt 15 ]; then pass stop; else fail stop "exit code $code after $((t1 - t0)) s"; fi
# kill: SIGKILL, 137.
pm a run -d --name kill1 "${U[@]}" localhost/pdvm-bb sh -c 'while :; do sleep 0.1; done' >/dev/null
pm a kill kill1 >/dev/null 2>&1
pm a wait kill1 >/dev/null 2>&1
code=$(pm a inspect -f '{{.State.ExitCode}}' kill1 2>&1)
[ "$code" = 137 ] && pass kill || fail kill "exit code $code"

# pause/unpause: the counter stands still while paused, goes on after.
pm a run -d --name cnt "${U[@]}" localhost/pdvm-bb sh -c 'i=0; while :; do echo $i; i=$((i + 1)); sleep 0.1; done' >/dev/null
lines() { pm a logs cnt 2>/dev/null | grep -c '^[0-9]'; }
sleep 1
pm a pause cnt >/dev/null 2>&1
st=$(pm a inspect -f '{{.State.Status}}' cnt)
n1=$(lines); sleep 1; n2=$(lines)
pm a unpause cnt >/dev/null 2>&1
sleep 1; n3=$(lines)
if [ "$st" = paused ] && [ "$n1" = "$n2" ] && [ "$n3" -gt "$n2" ]; then
	pass pause-unpause
else
	fail pause-unpause "status $st, lines $n1 $n2 $n3"
fi

# checkpoint/restore: the counter goes on from where it was, no line lost or repeated.
pm a container checkpoint cnt >"$SCRATCH/ck.out" 2>&1
ckrc=$?
n4=$(lines)
sleep 0.5
pm a container restore cnt >"$SCRATCH/rs.out" 2>&1
rsrc=$?
sleep 1.5
seq_ok() { pm "$1" logs "$2" 2>/dev/null | grep '^[0-9]' | awk 'NR - 1 != $1 { bad = 1 } END { exit bad || NR < 5 }'; }
if [ "$ckrc" = 0 ] && [ "$rsrc" = 0 ] && [ "$(lines)" -gt "$n4" ] && seq_ok a cnt &&
   [ "$(pm a inspect -f '{{.State.Status}}' cnt)" = running ]; then
	pass checkpoint-restore
else
	fail checkpoint-restore "checkpoint $ckrc: $(tail -n 3 "$SCRATCH/ck.out"); restore $rsrc: $(tail -n 3 "$SCRATCH/rs.out"); $(pm a logs cnt 2>&1 | tail -n 4)"
fi

# A TCP echo server (nc -e cat) with a client on the host: checkpoint with
# --tcp-established, --export, and restore --import into a fresh store; the client's
# connection carries on.
pm a run -d --name echo1 "${U[@]}" localhost/pdvm-bb nc -l -p 7777 -e cat >/dev/null
IP=$(pm a inspect -f '{{.NetworkSettings.IPAddress}}' echo1)
# The fresh store is store a again, reset: an import expects the paths it was exported
# from (conmon's files under the run root), as on another host with podman's defaults.
PA="podman --root $STORE/a/root --runroot $STORE/a/run"
pm a save -q -o "$SCRATCH/bbimg.tar" localhost/pdvm-bb
MOVE="$PA --runtime $OCI container checkpoint --tcp-established --export $SCRATCH/echo.tar.gz echo1 &&
$PA rm -f echo1 && $PA system reset --force && $PA load -q -i $SCRATCH/bbimg.tar &&
$PA --runtime $OCI container restore --tcp-established --import $SCRATCH/echo.tar.gz"
timeout 200 python3 tests/host/tcpping.py "$IP" 7777 "$MOVE" >"$SCRATCH/tcp.out" 2>&1
if [ $? = 0 ] && grep -q "^after ok" "$SCRATCH/tcp.out" && [ "$(pm a ps -a --format '{{.Names}}')" = echo1 ]; then
	pass tcp-survives-export-import
else
	fail tcp-survives-export-import "$(tail -n 6 "$SCRATCH/tcp.out"); after: $(pm a ps -a 2>&1 | tail -n 2)"
fi

finish
