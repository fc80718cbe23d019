#!/bin/bash
# cli.sh: the pdvm command line: help, config files (good and bad, with file:line errors), exit codes 125/126/127, exit status pass-through, environment.
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
BB=/bin/busybox

# Help, config files, exit codes, environment and stdio are pdvm's own, the same on
# every backend: the native pass checks them; the ring-0 pass in the nested VM of a PVM
# host (PDVM_E2E_BACKEND_ONLY) only the backend sections at the end. On a host without
# /dev/kvm everything runs in the nested VM.
if [ -z "${PDVM_E2E_BACKEND_ONLY:-}" ]; then
# ---- help -----------------------------------------------------------------------------------
"$PDVM" --help >"$OUT" 2>"$ERR"
RC=$?
if [ "$RC" = 0 ] && grep -qw run "$OUT" "$ERR"; then pass "pdvm-help"; else fail "pdvm-help" "$(last_output)"; fi
"$PDVM" run --help >"$OUT" 2>"$ERR"
RC=$?
if [ "$RC" = 0 ] && grep -qw run "$OUT" "$ERR" && grep -q -- '--writable' "$OUT" "$ERR"; then
	pass "pdvm-run-help"
else
	fail "pdvm-run-help" "$(last_output)"
fi
"$PDVM" frobnicate >"$OUT" 2>"$ERR"
RC=$?
if [ "$RC" != 0 ] && [ -s "$ERR" ]; then pass "unknown-subcommand-fails"; else fail "unknown-subcommand-fails" "$(last_output)"; fi
"$PDVM" run --no-such-option -- $BB true >"$OUT" 2>"$ERR"
RC=$?
if [ "$RC" != 0 ] && [ -s "$ERR" ]; then pass "unknown-option-fails"; else fail "unknown-option-fails" "$(last_output)"; fi

# ---- config files ---------------------------------------------------------------------------
CFG=$SCRATCH/cfg
domain_dir "$CFG/w"

# expect_cfg_error NAME FILE LINE: exit 125 and "FILE:LINE" in the message.
expect_cfg_error() {
	local name=$1 file=$2 line=$3
	"$PDVM" run "$file" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	local base
	base=$(basename "$file")
	if [ "$RC" = 125 ] && grep -qE "$base:$line([^0-9]|$)" "$ERR"; then
		pass "$name"
	else
		fail "$name" "want exit 125 and '$base:$line' in the message
$(last_output)"
	fi
}

cat >"$CFG/syntax.cfg" <<'EOF'
# a syntax error on line 3
command = ["/bin/busybox", "echo", "hi"];
memory = "64M"
root = ;
EOF
# libconfig reports the line where it notices the error: accept 3 or 4.
"$PDVM" run "$CFG/syntax.cfg" >"$OUT" 2>"$ERR" </dev/null
RC=$?
if [ "$RC" = 125 ] && grep -qE 'syntax\.cfg:[34]([^0-9]|$)' "$ERR"; then
	pass "config-syntax-error"
else
	fail "config-syntax-error" "want exit 125 and 'syntax.cfg:3' or ':4'
$(last_output)"
fi

cat >"$CFG/unknown.cfg" <<'EOF'
command = ["/bin/busybox", "echo", "hi"];
colour = "blue";
EOF
expect_cfg_error "config-unknown-key" "$CFG/unknown.cfg" 2
grep -q colour "$ERR" && pass "config-unknown-key-named" || fail "config-unknown-key-named" "$(last_output)"

cat >"$CFG/badmem.cfg" <<'EOF'
command = ["/bin/busybox", "echo", "hi"];

memory = "12XB";
EOF
expect_cfg_error "config-bad-memory" "$CFG/badmem.cfg" 3

cat >"$CFG/badtype.cfg" <<'EOF'
command = "not a list";
EOF
"$PDVM" run "$CFG/badtype.cfg" >"$OUT" 2>"$ERR" </dev/null
RC=$?
if [ "$RC" = 125 ] && grep -q 'badtype\.cfg:1' "$ERR"; then pass "config-bad-type"; else fail "config-bad-type" "$(last_output)"; fi

"$PDVM" run "$CFG/does-not-exist.cfg" >"$OUT" 2>"$ERR" </dev/null
RC=$?
if [ "$RC" = 125 ] && [ -s "$ERR" ]; then pass "config-missing-file"; else fail "config-missing-file" "$(last_output)"; fi

"$PDVM" run --memory 12XB -- $BB true >"$OUT" 2>"$ERR" </dev/null
RC=$?
if [ "$RC" != 0 ] && [ -s "$ERR" ]; then pass "cli-bad-memory"; else fail "cli-bad-memory" "$(last_output)"; fi

cat >"$CFG/good.cfg" <<EOF
# a complete config: command, memory, root, writable, env, cwd
command = ["/bin/busybox", "sh", "-c", "echo \$GREETING > out.txt; read x < out.txt; echo \"\$x from \$PWD\"; exit 7"];
memory = "64M";
root = "/";
writable = ["$CFG/w"];
env = ["PATH=/bin", "GREETING=hello"];
cwd = "$CFG/w";
EOF
"$PDVM" run "$CFG/good.cfg" >"$OUT" 2>"$ERR" </dev/null
RC=$?
if [ "$RC" = 7 ] && [ "$(cat "$OUT")" = "hello from $CFG/w" ] && [ "$(cat "$CFG/w/out.txt" 2>/dev/null)" = hello ]; then
	pass "config-good"
else
	fail "config-good" "$(last_output)"
fi

if [ -f examples/hello.cfg ]; then
	"$PDVM" run examples/hello.cfg >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	if [ "$RC" = 0 ] && [ -s "$OUT" ]; then pass "example-hello-cfg"; else fail "example-hello-cfg" "$(last_output)"; fi
else
	fail "example-hello-cfg" "examples/hello.cfg is missing"
fi

# ---- exit codes -----------------------------------------------------------------------------
run_pdvm -- /nonexistent/program
if [ "$RC" = 127 ] && [ -s "$ERR" ]; then pass "missing-program-127"; else fail "missing-program-127" "$(last_output)"; fi

DYN=""
for f in /bin/true /usr/bin/true /bin/ls; do
	if [ -x "$f" ] && file -L "$f" 2>/dev/null | grep -q 'dynamically linked'; then DYN=$f; break; fi
done
if [ -n "$DYN" ]; then
	run_pdvm -- "$DYN"
	if [ "$RC" = 0 ]; then pass "dynamic-program-runs"; else fail "dynamic-program-runs" "$(last_output)"; fi
else
	skip "dynamic-program-runs" "no dynamically linked program found"
fi

printf 'not an ELF file\n' >"$CFG/notelf"
chmod +x "$CFG/notelf"
run_pdvm -- "$CFG/notelf"
if [ "$RC" = 126 ] && [ -s "$ERR" ]; then pass "non-elf-program-126"; else fail "non-elf-program-126" "$(last_output)"; fi

run_pdvm -- $BB sh -c 'exit 42'
if [ "$RC" = 42 ]; then pass "exit-status-42"; else fail "exit-status-42" "$(last_output)"; fi
run_pdvm -- $BB true
if [ "$RC" = 0 ] && [ ! -s "$ERR" ]; then pass "true-is-quiet"; else fail "true-is-quiet" "$(last_output)"; fi

# ---- environment: only what pdvm gives, never the caller's -------------------------------------
export PDVM_E2E_LEAK=should-not-appear
run_pdvm -- $BB env
if [ "$RC" = 0 ] && [ "$(LC_ALL=C sort "$OUT")" = "$(printf '%s\n' "${DEFAULT_ENV[@]}" | LC_ALL=C sort)" ]; then
	pass "default-environment"
else
	fail "default-environment" "$(last_output)"
fi
run_pdvm --env FOO=bar --env 'SPACED=a b' -- $BB env
if [ "$RC" = 0 ] && grep -qx FOO=bar "$OUT" && grep -qx 'SPACED=a b' "$OUT" && ! grep -q PDVM_E2E_LEAK "$OUT"; then
	pass "env-option"
else
	fail "env-option" "$(last_output)"
fi
unset PDVM_E2E_LEAK
run_pdvm --cwd /usr -- $BB pwd
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = /usr ]; then pass "cwd-option"; else fail "cwd-option" "$(last_output)"; fi

# ---- stdin/stdout/stderr pass through -----------------------------------------------------------
printf 'line one\nline two\n' >"$CFG/in.txt"
STDIN=$CFG/in.txt run_pdvm -- $BB wc -l
if [ "$RC" = 0 ] && [ "$(tr -d ' ' <"$OUT")" = 2 ]; then pass "stdin-pass-through"; else fail "stdin-pass-through" "$(last_output)"; fi
run_pdvm -- $BB sh -c 'echo to-stderr >&2; echo to-stdout'
if [ "$(cat "$OUT")" = to-stdout ] && grep -qx to-stderr "$ERR"; then pass "stdout-stderr-separate"; else fail "stdout-stderr-separate" "$(last_output)"; fi

# ---- -v prints statistics ------------------------------------------------------------------------
run_pdvm -v -- $BB true
# -v always prints the line when the domain ran: its absence is a failure, not a skip.
if [ "$RC" = 0 ] && grep -q 'pdvm: stats:' "$ERR"; then pass "verbose-stats"; else fail "verbose-stats" "$(last_output)"; fi

else
	echo "# help, config, exit codes, environment, stdio, -v: in the native pass only"
fi

# ---- trap backends: info names the one that works; forcing the other fails clearly --------------
timeout -k 5 60 "$PDVM" info >"$OUT" 2>"$ERR"
RC=$?
KIND=$(sed -n 's/^trap backend: *\([a-z0-9]*\).*/\1/p' "$OUT")
if [ "$RC" = 0 ] && { [ "$KIND" = ring0 ] || [ "$KIND" = pvm ]; } && grep -q '^host:' "$OUT"; then
	pass "info-names-backend ($KIND)"
else
	fail "info-names-backend" "$(last_output)"
fi
# The ring-0 backend's vCPUs run with SMEP and SMAP where the CPU has them (read back).
if [ "$KIND" = ring0 ]; then
	if grep -q '^ring 0: .*SMEP, SMAP' "$OUT"; then
		pass "ring0-smep-smap"
	elif grep -qw smep /proc/cpuinfo && grep -qw smap /proc/cpuinfo; then
		fail "ring0-smep-smap" "$(last_output)"
	else
		skip "ring0-smep-smap" "this CPU lacks SMEP or SMAP"
	fi
fi
# The third kind: no /dev/kvm (a private mount namespace puts a plain file over it).
if command -v unshare >/dev/null && : >"$SCRATCH/nokvm"; then
	unshare -m sh -c 'mount --bind "$1" /dev/kvm && exec "$2" info' sh "$SCRATCH/nokvm" "$PDVM" >"$OUT" 2>"$ERR"
	RC=$?
	if [ "$RC" = 1 ] && grep -q '^host: *no /dev/kvm' "$OUT" && grep -q '^trap backend: *none' "$OUT"; then
		pass "info-says-no-kvm"
	else
		fail "info-says-no-kvm" "$(last_output)"
	fi
else
	skip "info-says-no-kvm" "no unshare here"
fi
OTHER=pvm
[ "$KIND" = pvm ] && OTHER=ring0
run_pdvm --trap-backend "$OTHER" -- $BB true
if [ "$RC" = 125 ] && grep -q "trap backend $OTHER cannot work here" "$ERR"; then
	pass "wrong-backend-fails-clearly"
else
	fail "wrong-backend-fails-clearly" "$(last_output)"
fi
run_pdvm --trap-backend "${KIND:-ring0}" -- $BB true
if [ "$RC" = 0 ]; then pass "right-backend-runs"; else fail "right-backend-runs" "$(last_output)"; fi
run_pdvm --trap-backend bogus -- $BB true
if [ "$RC" = 125 ] && grep -q 'want auto, pvm or ring0' "$ERR"; then pass "bad-backend-name-125"; else fail "bad-backend-name-125" "$(last_output)"; fi

finish
