#!/bin/bash
# vdso.sh: the guest vDSO — present and correct whichever way time is served; no trap per clock_gettime when the fast path is on (forced here: nested hosts have no stable TSC); off with PDVM_VDSO=0.
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/vdsotest"

traps() { sed -n 's/^pdvm: stats: traps=\([0-9]*\).*/\1/p' "$ERR" | tail -n1; }

# Default: correct time either way; the log says which way.
run_pdvm -v -- "$GUEST/vdsotest" 100000
T=$(traps)
if [ "$RC" = 0 ] && grep -q '^# all 11 checks passed' "$OUT"; then pass "vdso-default-correct"; else fail "vdso-default-correct" "$(last_output)"; fi
if grep -q 'vDSO: time from the TSC' "$ERR"; then
	if [ "${T:-999999}" -lt 20000 ]; then pass "vdso-default-mode"; else fail "vdso-default-mode" "fast path on but $T traps for 100000 calls"; fi
elif grep -q 'vDSO: KVM does not report a stable TSC' "$ERR"; then
	if [ "${T:-0}" -gt 100000 ]; then pass "vdso-default-mode (no stable TSC: system calls)"; else fail "vdso-default-mode" "fallback mode but only $T traps"; fi
else
	fail "vdso-default-mode" "the log names no vDSO mode: $(last_output)"
fi

# Forced on: no trap per call, and monotonic all the same (accuracy needs a stable TSC).
PDVM_VDSO=force run_pdvm -v -- "$GUEST/vdsotest" 100000
T=$(traps)
if grep -q '^ok 1 - AT_SYSINFO_EHDR' "$OUT" && grep -q '^ok 2 - CLOCK_MONOTONIC never goes backwards' "$OUT" &&
   [ "${T:-999999}" -lt 20000 ]; then
	pass "vdso-fast-path-no-traps ($T traps for 100000 calls)"
else
	fail "vdso-fast-path-no-traps" "traps=$T
$(last_output)"
fi

# Off: no AT_SYSINFO_EHDR; time still correct through system calls.
PDVM_VDSO=0 run_pdvm -- "$GUEST/vdsotest" 1000
if grep -q '^not ok 1 - AT_SYSINFO_EHDR' "$OUT" && grep -q '^# 1 of 11 checks FAILED' "$OUT"; then
	pass "vdso-off"
else
	fail "vdso-off" "$(last_output)"
fi
finish
