#!/bin/bash
# run.sh: runs pdvm's unit tests on the host and its end-to-end tests on every trap backend the machine can run.
#
# Usage: B=build tests/run.sh [PATTERN]     (what `make test` runs, after building everything)
#   PATTERN: an extended regex; only tests whose name matches it run. Names are
#   "unit/test_X" for $B/unit/test_X and "e2e/X" for tests/e2e/X.sh.
#
# ---- Protocol for test authors ---------------------------------------------------------
# Unit tests: every executable $B/unit/test_* runs on the host (no KVM), from the repo
#   root, with stdin from /dev/null, a 300 s timeout, and env B and PDVM. Exit 0 = pass,
#   77 = skip, anything else = fail. It counts as ONE test whatever it prints.
# End-to-end tests: every tests/e2e/*.sh runs as `bash tests/e2e/X.sh` from the repo root
#   with env B (absolute build dir), PDVM=$B/pdvm, and a private empty TMPDIR; stdin is
#   /dev/null. Where the host has /dev/kvm all of them run directly on it; else all run in
#   ONE nested VM (tests/nested/vm-run). On a PVM host the RING0_SUBSET scripts also run
#   in the nested VM (the ring-0 backend), beside the native pass, reported (after it) as "ring0/e2e/X". Timeout per script: 300 s (PDVM_E2E_TIMEOUT), or its own if
#   one of its first 15 lines is "# timeout: SECS". Inside the VM /tmp is a fresh tmpfs
#   and the rest of the host filesystem is shared read-write.
#   - A script that prints no result lines is ONE test "e2e/X": exit 0 = pass, 77 = skip,
#     anything else (including a timeout) = fail.
#   - A script may instead report several sub-tests by printing lines, at line start,
#     "PASS: name", "FAIL: name" or "SKIP: name" (to stdout or stderr). Each line is one
#     test "e2e/X: name". The script must then exit non-zero if it printed any FAIL, and
#     0 (or 77) otherwise. Any other outcome adds one failed test "e2e/X" on top of the
#     sub-tests: a timeout or signal, FAILs with exit 0, or a non-zero exit other than
#     77 without any FAIL line (e.g. `set -e` aborting half way).
# Output: one line per test, "PASS name", "SKIP name" or "FAIL name" (followed by the last
#   20 lines of its log), then exactly one summary line "N passed, N failed" (plus
#   ", N skipped" when any were skipped, and " (e2e backends: ...)" naming the trap
#   backends the e2e tests ran on and where). Exit status 1 if any test failed, else 0.
#   Logs stay in $B/test-results/ (the last 5 runs).
# If the VM cannot boot (or times out), every e2e test that did not report counts as failed.
# If the VM's kernel stalls or panics (vm-run exit 123), the scripts
# that did not report run again in a fresh VM (twice at most), with a warning and the
# console's tail.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-build}
case "$B" in /*) ;; *) B=$(cd "$B" 2>/dev/null && pwd || echo "$PWD/$B") ;; esac
export B
export PDVM=${PDVM:-$B/pdvm}
PATTERN=${1:-}
cd "$ROOT" || exit 1

npass=0 nfail=0 nskip=0

matches() { [ -z "$PATTERN" ] || [[ "$1" =~ $PATTERN ]]; }

# report STATUS NAME [LOG]: prints one result line; a failure is followed by its log tail.
report() {
	case "$1" in
	PASS) npass=$((npass + 1)); echo "PASS $2" ;;
	SKIP) nskip=$((nskip + 1)); echo "SKIP $2" ;;
	FAIL) nfail=$((nfail + 1)); echo "FAIL $2"
	      if [ -n "${3:-}" ] && [ -s "$3" ]; then tail -n 20 "$3" | sed 's/^/    | /'; fi ;;
	esac
}

mkdir -p "$B/test-results" || exit 1
RES=$(mktemp -d "$B/test-results/$(date +%Y%m%d-%H%M%S).XXXX") || exit 1
# Keep the five newest result directories.
ls -1dt "$B"/test-results/*/ 2>/dev/null | tail -n +6 | xargs -r rm -rf

# ---- unit tests, on the host ---------------------------------------------------------------
mkdir -p "$RES/unit"
for t in "$B"/unit/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case "$t" in *.o|*.d) continue ;; esac
	name=unit/$(basename "$t")
	matches "$name" || continue
	log=$RES/$name.log
	timeout -k 10 300 "$t" >"$log" 2>&1 </dev/null
	rc=$?
	case $rc in
	0) report PASS "$name" ;;
	77) report SKIP "$name" ;;
	124|137) echo "run.sh: timed out after 300s" >>"$log"; report FAIL "$name" "$log" ;;
	*) echo "run.sh: exit status $rc" >>"$log"; report FAIL "$name" "$log" ;;
	esac
done

# ---- end-to-end tests: which backends ------------------------------------------------------
# Every backend the machine can run gets exercised. A PVM host runs every script natively
# (the pvm backend) and the RING0 subset below in the nested VM (the ring-0 backend under
# nested SVM); a standard KVM host runs every script natively (ring0); a host without
# /dev/kvm runs every script in the nested VM (ring0). Results of the nested pass on a
# PVM host are named "ring0/e2e/X".
RING0_SUBSET=(kvm_present cli signals snapshot security exitless replay)
# On a PVM host a domain's default syscall path is exitless (vmm/exl.c): these scripts run
# once more with every call a VM exit (PDVM_SYSCALL_PATH=exit), named "exit/e2e/X".
EXIT_SUBSET=(signals ptrace hostile)
# On a PVM host these run natively only once nothing else does (see the pvm case below):
# they need both cores (the exitless server beside its vCPU; two threads racing in parallel).
ALONE=(exitless replay)
e2e=()
for t in tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	matches "e2e/$(basename "$t" .sh)" || continue
	e2e+=("$t")
done
host_kind=none
if [ -c /dev/kvm ] && [ ${#e2e[@]} -gt 0 ]; then
	host_kind=$("$PDVM" info 2>/dev/null | sed -n 's/^trap backend: *\([a-z0-9]*\).*/\1/p')
	[ -n "$host_kind" ] || host_kind=unknown
fi

# e2e_result NAME RC LOG: applies the protocol above to one finished script.
e2e_result() {
	local name=${prefix}e2e/$1 rc=$2 log=$3 line st sub nsub=0 nsubfail=0
	while IFS= read -r line; do
		st=${line%%:*}
		sub=${line#*: }
		nsub=$((nsub + 1))
		[ "$st" = FAIL ] && nsubfail=$((nsubfail + 1))
		report "$st" "$name: $sub"
	done < <(grep -aE '^(PASS|FAIL|SKIP): ' "$log" 2>/dev/null)
	[ "$nsubfail" -gt 0 ] && [ -s "$log" ] && tail -n 20 "$log" | sed 's/^/    | /'
	if [ "$nsub" -eq 0 ]; then
		case $rc in
		0) report PASS "$name" ;;
		77) report SKIP "$name" ;;
		*) echo "run.sh: exit status $rc" >>"$log"; report FAIL "$name" "$log" ;;
		esac
		return
	fi
	if [ "$rc" = 124 ] || [ "$rc" = 137 ] || [ "$rc" -gt 128 ]; then
		report FAIL "$name (timed out or killed by a signal: exit $rc)" "$log"
	elif [ "$nsubfail" -gt 0 ] && [ "$rc" = 0 ]; then
		report FAIL "$name (printed FAIL lines but exited 0)"
	elif [ "$nsubfail" -eq 0 ] && [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		report FAIL "$name (exit $rc after its sub-tests)" "$log"
	fi
}

# e2e_pass DIR PREFIX VMRUN-OPTS SCRIPT...: one pass, all scripts in one tests/nested/vm-run
# (natively where /dev/kvm exists, unless VMRUN-OPTS says --nested); results in $RES/DIR,
# named PREFIX + e2e/X.
e2e_pass() {
	local dir=$RES/$1 vmopts=$3 t name attempt
	prefix=$2
	shift 3
	local scripts=("$@")
	mkdir -p "$dir"
	: >"$dir/status"
	local vm_note=""
	if [ ! -c /dev/kvm ] || [ -n "$vmopts" ]; then
		case "$B" in /tmp|/tmp/*) vm_note="B=$B is under /tmp, which the nested VM does not share" ;; esac
	fi
	declare -gA done_e2e=()
	done_e2e=()
	seen=0
	# Print results as the VM reports them (status lines appear as each script finishes).
	drain() {
		local lines n name rc secs
		mapfile -t lines <"$dir/status"
		for ((n = seen; n < ${#lines[@]}; n++)); do
			read -r name rc secs <<<"${lines[n]}"
			[ -n "${secs:-}" ] || break   # a line still being written
			done_e2e[$name]=1
			e2e_result "$name" "$rc" "$dir/$name.log"
			seen=$((n + 1))
		done
	}
	# vm_batch SCRIPT...: one VM runs the scripts; sets vm_rc.
	vm_batch() {
		local t tmo vtmo=120
		for t in "$@"; do
			tmo=$(sed -n '1,15s/^# *timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n1)
			vtmo=$((vtmo + ${tmo:-${PDVM_E2E_TIMEOUT:-300}} + 15))
		done
		if [ -n "$vm_note" ]; then
			echo "run.sh: $vm_note" >"$dir/vm.log"
			(exit 125) &
		else
			# shellcheck disable=SC2086  # vmopts is empty or one word
			tests/nested/vm-run $vmopts --timeout "$vtmo" -- bash tests/nested/e2e-inner.sh "$dir" "$@" \
				>>"$dir/vm.log" 2>&1 &
		fi
		vm_pid=$!
		trap 'kill "$vm_pid" 2>/dev/null; exit 130' INT
		trap 'kill "$vm_pid" 2>/dev/null; exit 143' TERM
		while kill -0 "$vm_pid" 2>/dev/null; do
			drain
			sleep 1
		done
		wait "$vm_pid"
		vm_rc=$?
		trap - INT TERM
		drain
	}
	vm_batch "${scripts[@]}"
	# A guest kernel that stalled or panicked (vm-run 123) is the emulated machine's
	# failure — user-space pdvm cannot crash it — not a test's: the scripts that did
	# not report get a fresh VM, twice at most. Said loudly, with the console.
	for attempt in 1 2; do
		[ "$vm_rc" = 123 ] || break
		local rest=()
		for t in "${scripts[@]}"; do
			[ -n "${done_e2e[$(basename "$t" .sh)]:-}" ] || rest+=("$t")
		done
		[ ${#rest[@]} -gt 0 ] || break
		echo "run.sh: WARNING: the nested VM's kernel stalled or died; console:"
		tail -n 90 "$dir/vm.log" | sed 's/^/    | /'
		echo "run.sh: re-running (retry $attempt of 2) in a fresh VM the ${#rest[@]} script(s) that did not report: ${rest[*]}"
		mv "$dir/vm.log" "$dir/vm.failed-$attempt.log"
		vm_batch "${rest[@]}"
	done
	local vm_msg_shown=""
	for t in "${scripts[@]}"; do
		name=$(basename "$t" .sh)
		[ -n "${done_e2e[$name]:-}" ] && continue
		if [ -z "$vm_msg_shown" ]; then
			echo "run.sh: the VM run failed (vm-run exit $vm_rc); e2e tests that did not report fail:"
			tail -n 25 "$dir/vm.log" | sed 's/^/    | /'
			vm_msg_shown=1
		fi
		echo "run.sh: $prefix""e2e/$name did not complete: vm-run exit $vm_rc, see $dir/vm.log" >>"$dir/$name.log"
		report FAIL "$prefix""e2e/$name"
		echo "    | did not complete: vm-run exit $vm_rc (see above)"
	done
}

backends=""
if [ ${#e2e[@]} -gt 0 ]; then
	[ -x "$PDVM" ] || echo "run.sh: warning: $PDVM is missing; e2e tests will likely fail" >&2
	case $host_kind in
	none)
		e2e_pass e2e "" "" "${e2e[@]}"
		backends="ring0 in the nested VM" ;;
	pvm)
		# The ring-0 pass runs BESIDE the native passes: its VM is one TCG thread (one
		# core) and the native passes leave a core mostly idle (waits, I/O), so the
		# suite takes the longer of the two instead of their sum. It runs at the lowest
		# priority, and the ALONE scripts wait until it is over: they need a second
		# core that is really idle (exitless.sh counts calls the server thread took
		# within its 40 us; measured: a nice-19 CPU hog beside regsave cut 500 to 1-300;
		# replay.sh's racy threads ran one at a time beside it: 41 runs, no race).
		# Its result lines are kept and printed after the native passes, then counted.
		r0=()
		for t in "${e2e[@]}"; do
			for n in "${RING0_SUBSET[@]}"; do [ "$(basename "$t" .sh)" = "$n" ] && r0+=("$t"); done
		done
		r0_pid=""
		if [ ${#r0[@]} -gt 0 ]; then
			mkdir -p "$RES/ring0" && : >"$RES/ring0/backend-only"
			(
				renice -n 19 -p "$BASHPID" >/dev/null 2>&1
				npass=0 nfail=0 nskip=0
				e2e_pass ring0 ring0/ --nested "${r0[@]}"
				echo "$npass $nfail $nskip" >"$RES/ring0/counts"
			) >"$RES/ring0/results" 2>&1 &
			r0_pid=$!
			trap 'kill "$r0_pid" 2>/dev/null; exit 130' INT
			trap 'kill "$r0_pid" 2>/dev/null; exit 143' TERM
		fi
		beside=() alone=()
		for t in "${e2e[@]}"; do
			case " ${ALONE[*]} " in
			*" $(basename "$t" .sh) "*) alone+=("$t") ;;
			*) beside+=("$t") ;;
			esac
		done
		[ ${#beside[@]} -eq 0 ] || e2e_pass e2e "" "" "${beside[@]}"
		if [ -n "$r0_pid" ] && [ ${#alone[@]} -gt 0 ]; then
			echo "run.sh: waiting for the ring-0 pass before ${alone[*]}"
			wait "$r0_pid"
		fi
		[ ${#alone[@]} -eq 0 ] || e2e_pass e2e-alone "" "" "${alone[@]}"
		backends="pvm natively"
		sub=()
		for t in "${e2e[@]}"; do
			for n in "${EXIT_SUBSET[@]}"; do [ "$(basename "$t" .sh)" = "$n" ] && sub+=("$t"); done
		done
		if [ ${#sub[@]} -gt 0 ]; then
			echo "run.sh: the exit syscall path, natively: ${#sub[@]} script(s)"
			export PDVM_SYSCALL_PATH=exit
			e2e_pass exit exit/ "" "${sub[@]}"
			unset PDVM_SYSCALL_PATH
			backends+=" (and with the exit syscall path for ${#sub[@]})"
		fi
		if [ -n "$r0_pid" ]; then
			echo "run.sh: the ring-0 backend, in the nested VM (run beside the above): ${#r0[@]} script(s)"
			wait "$r0_pid" 2>/dev/null
			trap - INT TERM
			cat "$RES/ring0/results"
			if read -r p f k <"$RES/ring0/counts" 2>/dev/null; then
				npass=$((npass + p)) nfail=$((nfail + f)) nskip=$((nskip + k))
			else
				report FAIL "ring0/e2e (the nested pass ended without its counts)" "$RES/ring0/results"
			fi
			backends+=", ring0 in the nested VM for ${#r0[@]} of ${#e2e[@]} scripts"
		fi ;;
	*)
		e2e_pass e2e "" "" "${e2e[@]}"
		backends="$host_kind natively" ;;
	esac
fi

echo "logs: $RES" >&2
summary="$npass passed, $nfail failed"
[ "$nskip" -gt 0 ] && summary+=", $nskip skipped"
[ -n "$backends" ] && summary+=" (e2e backends: $backends)"
echo "$summary"
[ "$nfail" -eq 0 ]
