#!/bin/bash
# security.sh: holes a hostile guest tried (issue 15), each attempt answered as Linux answers an unprivileged process, checked against a native run of the same program.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/holes"

# clone(2) with a kernel-half TLS base: EPERM for a thread and for a new process.
run_native -- "$GUEST/holes" clone-tls
NRC=$RC
run_pdvm -- "$GUEST/holes" clone-tls
if [ "$NRC" = 0 ] && [ "$RC" = 0 ] && ! grep -q '^not ok' "$OUT"; then
	pass "clone-kernel-tls-eperm"
else
	fail "clone-kernel-tls-eperm" "native exit $NRC; $(last_output)"
fi

# rt_sigreturn to a non-canonical RIP: the program dies of SIGSEGV (139), not pdvm (125).
run_native -- "$GUEST/holes" sigreturn-rip
NRC=$RC
run_pdvm -- "$GUEST/holes" sigreturn-rip
if [ "$NRC" = 139 ] && [ "$RC" = 139 ]; then
	pass "sigreturn-noncanonical-rip-sigsegv"
else
	fail "sigreturn-noncanonical-rip-sigsegv" "native exit $NRC; $(last_output)"
fi
# Set-ID bits and chown in a writable tree: no setuid binary of pdvm's user, no file
# given to another user; the host's view of the file is the proof.
W=$SCRATCH/w
mkdir -p "$W"
run_pdvm --writable "$W" --cwd "$W" -- "$GUEST/holes" setid "$W"
host_mode=$(stat -c '%a %u' "$W/suid" 2>/dev/null)
if [ "$RC" = 0 ] && ! grep -q '^not ok' "$OUT" && [ "${host_mode%% *}" = 755 ] &&
   [ "$(stat -c %a "$W/sgid-dir" 2>/dev/null)" = 755 ] && [ "${host_mode#* }" != 4321 ]; then
	pass "no-setid-bits-no-chown-away"
else
	fail "no-setid-bits-no-chown-away" "host sees suid as '$host_mode', sgid-dir as $(stat -c %a "$W/sgid-dir" 2>/dev/null); $(grep '^not ok' "$OUT"); $(last_output)"
fi
finish
