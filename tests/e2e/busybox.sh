#!/bin/bash
# busybox.sh: busybox-static applets run natively and in pdvm with the same env and cwd; stdout, exit status (and stderr where it is path-independent) must match; sh's background jobs stopped, continued, killed and waited for.
# timeout: 400
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
BB=/bin/busybox
if [ ! -x "$BB" ] || ! file -L "$BB" 2>/dev/null | grep -q 'statically linked'; then
	echo "SKIP: $BB (Debian busybox-static) is not installed"
	exit 77
fi

# ---- inputs --------------------------------------------------------------------------------
IN=$SCRATCH/in
mkdir -p "$IN/sub/deeper"
printf 'banana 3\napple 10\ncherry 7\napple 10\nfoo bar baz\ndate 1\nbanana 3\nelderberry 42\nfig 5\nfoo again\n' >"$IN/lines.txt"
seq 1 200 | awk '{ print ($1 * 7919) % 1000 }' >"$IN/nums.txt"
printf 'a\na\nb\nc\nc\nc\nd\n' >"$IN/sorted.txt"
printf 'root:x:0:0\nuser:x:1000:1000\nnobody:x:65534:65534\n' >"$IN/pw.txt"
# deterministic binary data
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "%c", (i * 131 + 7) % 251 + 1 }' >"$IN/data.bin" 2>/dev/null
printf 'x\n' >"$IN/sub/one.txt"
printf 'y\n' >"$IN/sub/deeper/two.txt"
ln -s lines.txt "$IN/link.txt"
touch -d @1000000000 "$IN"/*.txt "$IN/data.bin" "$IN/sub/one.txt" "$IN/sub/deeper/two.txt"
chmod 640 "$IN/pw.txt"
chown "$DOMAIN_USER:" "$IN/pw.txt"  # readable by its owner only: the domain's user

c() { compare "$@"; }

# ---- read-only applets, cwd = inputs --------------------------------------------------------
c echo --cwd "$IN" -- $BB echo hello world
c echo-n --cwd "$IN" -- $BB echo -n no newline
c cat --cwd "$IN" -- $BB cat lines.txt sub/one.txt
c cat-stdin --cwd "$IN" --stdin "$IN/lines.txt" -- $BB cat
c cat-missing --stderr --cwd "$IN" -- $BB cat missing.txt
c ls-l --cwd "$IN" -- $BB ls -l
c ls-la-sub --cwd "$IN" -- $BB ls -la sub/deeper
c ls-missing --stderr --cwd "$IN" -- $BB ls nothing-here
c wc --cwd "$IN" -- $BB wc lines.txt nums.txt data.bin
c wc-l-stdin --cwd "$IN" --stdin "$IN/nums.txt" -- $BB wc -l
c sort --cwd "$IN" -- $BB sort lines.txt
c sort-n-r --cwd "$IN" -- $BB sort -n -r nums.txt
c sort-k --cwd "$IN" -- $BB sort -k2,2n -k1,1 lines.txt
c uniq --cwd "$IN" -- $BB uniq -c sorted.txt
c head --cwd "$IN" -- $BB head -n 3 lines.txt
c head-c --cwd "$IN" -- $BB head -c 100 data.bin
c tail --cwd "$IN" -- $BB tail -n 2 lines.txt
c tail-c --cwd "$IN" -- $BB tail -c 37 data.bin
c grep --cwd "$IN" -- $BB grep -n foo lines.txt
c grep-c-i --cwd "$IN" -- $BB grep -c -i APPLE lines.txt
c grep-r --cwd "$IN" --sort -- $BB grep -r x sub
c grep-nomatch --cwd "$IN" -- $BB grep zzzz lines.txt
c grep-missing --stderr --cwd "$IN" -- $BB grep foo missing.txt
c sed --cwd "$IN" -- $BB sed -n 's/foo/FOO/p' lines.txt
c sed-d --cwd "$IN" -- $BB sed -e '2,4d' -e 's/[0-9]/#/g' lines.txt
c awk --cwd "$IN" -- $BB awk '{ s += $2 } END { print s, NR }' lines.txt
c awk-F --cwd "$IN" -- $BB awk -F: '$3 >= 1000 { print $1 }' pw.txt
c awk-math --cwd "$IN" -- $BB awk 'BEGIN { for (i = 1; i <= 10; i++) s += i * i; printf "%d %.3f\n", s, sqrt(s) }'
c find --cwd "$IN" --sort -- $BB find .
c find-name --cwd "$IN" --sort -- $BB find . -name '*.txt' -type f
c sha256sum --cwd "$IN" -- $BB sha256sum lines.txt data.bin
c md5sum --cwd "$IN" -- $BB md5sum lines.txt data.bin
c od --cwd "$IN" -- $BB od -A x -t x1z -N 64 data.bin
c od-whole --cwd "$IN" -- $BB od -c lines.txt
c expr --cwd "$IN" -- $BB expr 6 \* 7
c expr-length --cwd "$IN" -- $BB expr length hello
c expr-zero --cwd "$IN" -- $BB expr 0
c seq --cwd "$IN" -- $BB seq 1 100
c seq-step --cwd "$IN" -- $BB seq 10 -3 -5
c date-epoch --cwd "$IN" -- $BB date -u -d @0 +%F
c date-fmt --cwd "$IN" -- $BB date -u -d @1700000000 '+%Y-%m-%d %H:%M:%S %a %j'
c stat --cwd "$IN" -- $BB stat -c '%n %s %a %F %h %u %g %Y' lines.txt pw.txt sub link.txt
c stat-L --cwd "$IN" -- $BB stat -L -c '%n %s %F' link.txt
c du --cwd "$IN" -- $BB du -k lines.txt data.bin
c du-s --cwd "$IN" -- $BB du -s sub
c readlink --cwd "$IN" -- $BB readlink link.txt
c cut --cwd "$IN" -- $BB cut -d: -f1,3 pw.txt
c tr-stdin --cwd "$IN" --stdin "$IN/lines.txt" -- $BB tr a-z A-Z
c cksum --cwd "$IN" -- $BB cksum data.bin
c gzip-c --cwd "$IN" -- $BB gzip -c -9 lines.txt
c base64 --cwd "$IN" -- $BB base64 lines.txt
c basename-dirname --cwd "$IN" -- $BB basename /a/b/c.txt .txt
c printf --cwd "$IN" -- $BB printf '%05d|%-4s|%x\n' 42 ab 255
c true --cwd "$IN" -- $BB true
c false --cwd "$IN" -- $BB false
c test-f --cwd "$IN" -- $BB test -f nope
c env --cwd "$IN" -- $BB env
c pwd --cwd "$IN" -- $BB pwd
c sh-builtins --cwd "$IN" -- $BB sh -c 'x=0; for i in 1 2 3 4 5; do x=$((x + i)); done; echo "sum $x"; exit 3'

# ---- applets that write: cwd in a fresh directory per side, that directory writable ----------
# compare_w NAME -- CMD...: runs CMD natively in $SCRATCH/wn/NAME and in pdvm in $SCRATCH/wp/NAME
# (writable), then compares status, stdout and the resulting trees.
compare_w() {
	local name=$1
	shift
	[ "$1" = -- ] && shift
	local wn=$SCRATCH/wn/$name wp=$SCRATCH/wp/$name
	domain_dir "$wn" "$wp"
	run_native --cwd "$wn" -- "$@"
	local nrc=$RC nout
	nout=$(cat "$OUT")
	run_pdvm --cwd "$wp" --writable "$wp" -- "$@"
	local why=""
	[ "$nrc" = "$RC" ] || why="exit status: native $nrc, pdvm $RC"
	[ "$nout" = "$(cat "$OUT")" ] || why="${why:+$why
}stdout differs"
	local d
	if ! d=$(diff -r --no-dereference "$wn" "$wp" 2>&1); then
		why="${why:+$why
}trees differ: $(printf '%s' "$d" | head -n 5)"
	fi
	# modes and types too (diff -r compares contents only)
	if [ "$(cd "$wn" && find . -printf '%p %y %m %s\n' | LC_ALL=C sort)" != \
	     "$(cd "$wp" && find . -printf '%p %y %m %s\n' | LC_ALL=C sort)" ]; then
		why="${why:+$why
}file types/modes/sizes differ"
	fi
	if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why
$(last_output)"; fi
}

compare_w cp -- $BB cp "$IN/lines.txt" copy.txt
compare_w cp-r -- $BB cp -r "$IN/sub" tree
compare_w cp-a -- $BB cp -a "$IN/data.bin" "$IN/link.txt" .
compare_w mkdir -- $BB mkdir -p a/b/c
compare_w mkdir-mode -- $BB mkdir -m 700 private
compare_w mkdir-exists -- $BB mkdir .
compare_w touch -- $BB touch -d @1000000000 new.txt
compare_w ln-s -- $BB ln -s /etc/hostname host-link
# sh with builtins and redirections only: pipelines, external commands and scripts (fork,
# exec, wait) are compared in processes.sh
compare_w sh-redirect -- $BB sh -c 'echo one > f.txt; echo two >> f.txt; while read l; do echo "got $l"; done < f.txt; mkdir_ok=1'
compare_w tar -- $BB tar -cf t.tar -C "$IN" lines.txt sub

# ---- job control: stopped and continued children of sh -------------------------------------
# Each condition is made deterministically: a child stopped while it waits in a read cannot go
# on before SIGCONT whatever the timing, and the shell's `wait` returns only on the child's end.
# The child reads from a FIFO the shell opened read-write before starting it (fd 3): a child
# that opened it itself could be stopped inside that open, and a writer's open that saw the
# interrupted reader come and go would leave the restarted one waiting for good (natively too).
# A stopped child, continued, then reads what the FIFO brings it.
compare_w sh-stop-cont-wait -- $BB sh -c 'mkfifo f; exec 3<>f; ( read x <&3; echo "child read $x"; exit 7 ) & p=$!
kill -STOP $p; kill -CONT $p; echo hello >&3; wait $p; echo "status $?"; rm f'
# It does not read data waiting for it while stopped: the parent's line comes first. (The
# sleep gives a child that failed to stop the time to show it; a stopped one waits regardless.)
compare_w sh-stopped-child-waits -- $BB sh -c 'mkfifo f; exec 3<>f; ( read x <&3; echo "child read $x" ) & p=$!
kill -STOP $p; echo hello >&3; sleep 0.2; echo "parent wrote"; kill -CONT $p; wait $p; echo "status $?"; rm f'
# The shell waits on a stopped child that another child continues. (The sleep only makes it
# likely that the shell is inside `wait` by then; the output is the same either way.)
compare_w sh-wait-continued-by-sibling -- $BB sh -c 'mkfifo f; exec 3<>f; ( read x <&3; echo "child read $x"; exit 3 ) & p=$!
kill -STOP $p; ( sleep 0.3; kill -CONT $p; echo hello >&3 ) & wait $p; echo "status $?"; wait; rm f'
# SIGKILL ends a stopped child; SIGTERM waits for SIGCONT, then ends it.
c sh-kill-stopped -- $BB sh -c 'sleep 5 & p=$!; kill -STOP $p; kill -KILL $p; wait $p; echo "status $?"'
c sh-term-stopped -- $BB sh -c 'sleep 5 & p=$!; kill -STOP $p; kill -TERM $p; kill -CONT $p; wait $p; echo "status $?"'

# A domain's first process leads a session of its own, so its process group is orphaned:
# SIGTSTP, SIGTTIN and SIGTTOU sent there are discarded (SIGSTOP is not). Natively that is
# sh run by setsid; without it, the group's orphanhood would be the test harness's.
ORPHAN='sleep 0.5 & p=$!; kill -TSTP $p; kill -TTIN $p; kill -TTOU $p; wait $p; echo "status $?"
sleep 5 & p=$!; kill -STOP $p; kill -KILL $p; wait $p; echo "status $?"'
run_native -- setsid -w $BB sh -c "$ORPHAN"
nrc=$RC nout=$(cat "$OUT")
run_pdvm -- $BB sh -c "$ORPHAN"
if [ "$nrc" = "$RC" ] && [ "$nout" = "$(cat "$OUT")" ]; then
	pass sh-orphaned-group-tstp-discarded
else
	fail sh-orphaned-group-tstp-discarded "native (setsid) $nrc: $nout
$(last_output)"
fi

# writing outside --writable must be refused: a read-only file system
RO=$SCRATCH/ro
mkdir -p "$RO"
run_pdvm --cwd "$RO" -- $BB touch "$RO/denied.txt"
if [ "$RC" != 0 ] && [ ! -e "$RO/denied.txt" ] && grep -q 'Read-only file system' "$ERR"; then
	pass "write-outside-writable-is-EROFS"
else
	fail "write-outside-writable-is-EROFS" "$(last_output)"
fi

finish
