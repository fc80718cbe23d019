#!/bin/bash
# devshm.sh: a domain's /dev/shm is private, writable and size-limited (a tmpfs of pdvm's own mount namespace), POSIX semaphores work in it, and images carry its files.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /bin/busybox /usr/bin/python3
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

tag=pdvm-e2e-$$
# Written in the domain, absent from the host's /dev/shm, gone with the domain.
run_pdvm -- /bin/busybox sh -c "echo inside > /dev/shm/$tag && cat /dev/shm/$tag"
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = inside ] && [ ! -e "/dev/shm/$tag" ]; then
	pass private-and-writable
else
	fail private-and-writable "$(last_output); host has it: $([ -e "/dev/shm/$tag" ] && echo yes || echo no)"
fi
rm -f "/dev/shm/$tag"

# --shm-size bounds it: 2 MiB do not fit in 1 MiB.
run_pdvm --shm-size 1M -- /bin/busybox sh -c \
	'dd if=/dev/zero of=/dev/shm/big bs=1024 count=2048 2>/dev/null; echo "dd $?"; ls -l /dev/shm/big | awk "{print \$5}"'
if [ "$RC" = 0 ] && [ "$(head -n1 "$OUT")" = "dd 1" ] && [ "$(sed -n 2p "$OUT")" -le 1048576 ]; then
	pass size-limited
else
	fail size-limited "$(last_output)"
fi

# 0 asks for none: the host's /dev/shm, read-only like the rest of the root.
run_pdvm --shm-size 0 -- /bin/busybox sh -c "echo x > /dev/shm/$tag"
if [ "$RC" != 0 ] && grep -q "Read-only file system" "$ERR" && [ ! -e "/dev/shm/$tag" ]; then
	pass size-0-is-the-hosts-read-only
else
	fail size-0-is-the-hosts-read-only "$(last_output)"
fi

run_pdvm --shm-size lots -- /bin/true
if [ "$RC" = 125 ] && grep -q "shm_size" "$ERR"; then
	pass bad-size-refused
else
	fail bad-size-refused "$(last_output)"
fi

# POSIX semaphores and shared values between processes, as multiprocessing
# makes them (sem_open and mmap of /dev/shm files): they failed with EROFS.
compare python-multiprocessing -- /usr/bin/python3 -c '
import multiprocessing as mp
def add(lock, v):
    for _ in range(50):
        with lock:
            v.value += 1
if __name__ == "__main__":
    lock, v = mp.Lock(), mp.Value("i", 0)
    ps = [mp.Process(target=add, args=(lock, v)) for _ in range(4)]
    for p in ps: p.start()
    for p in ps: p.join()
    s = mp.BoundedSemaphore(2)
    print(v.value, s.acquire(timeout=1), s.acquire(timeout=1), s.acquire(timeout=0.1))
'

# An image carries the files, and a descriptor open on one reads on after
# the restore; the file is the domain's user's again.
d=$SCRATCH/snap
mkdir -p "$d"
start_run shm "$d/run.out" "$d/run.err" -- /bin/busybox sh -c \
	'echo before > /dev/shm/keep; exec 3</dev/shm/keep; i=0
	 while [ $i -lt 60 ]; do echo tick $i; i=$((i + 1)); sleep 0.1; done
	 cat /dev/shm/keep; cat <&3; stat -c "%U %s" /dev/shm/keep'
pid=$BGPID
why=""
if wait_sock shm "$pid" && wait_lines "$d/run.out" 3 "$pid"; then
	snap --stop shm "$d/img"
	[ "$SRC" = 0 ] || why="snapshot: exit $SRC: $(cat "$SERR")"
else
	why="did not get going: $(tail -n 5 "$d/run.err")"
fi
wait_pid "$pid"
if [ -z "$why" ]; then
	restore_fg "$d/restore.out" "$d/restore.err" "$d/img"
	want=$(printf 'before\nbefore\npdvm 7')
	got=$(grep -v '^tick' "$d/restore.out")
	if [ "$RRC" != 0 ] || [ "$got" != "$want" ]; then
		why="restore: exit $RRC, output: $got; $(tail -n 5 "$d/restore.err")"
	fi
fi
if [ -z "$why" ]; then pass snapshot-carries-files; else fail snapshot-carries-files "$why"; fi
finish
