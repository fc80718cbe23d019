#!/bin/bash
# escape.sh: a domain with --root set to a scratch tree cannot read host files through .., absolute or relative symlinks, and cannot write outside --writable (EROFS).
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/escape" "$GUEST/hello" /bin/busybox

# ---- the root tree: a decoy /etc/passwd and links that point "out" ---------------------------
R=$SCRATCH/root
mkdir -p "$R/bin" "$R/etc" "$R/sub/deep"
domain_dir "$R/w"
cp /bin/busybox "$R/bin/busybox"
cp "$GUEST/escape" "$R/bin/escape"
printf 'DECOY:x:0:0:decoy:/:/bin/sh\n' >"$R/etc/passwd"
ln -s /etc "$R/etc_link"
ln -s ../../.. "$R/up"
ln -s ../../../../../../etc "$R/sub/deep/rel"
ln -s /etc/passwd "$R/sub/deep/abs_file"
ln -s loop_b "$R/loop_a"
ln -s loop_a "$R/loop_b"
ln -s /bin/busybox "$R/bin/sh"
# A block device in the tree (a loop device: opening it needs no backing file).
mknod "$R/blk" b 7 7 2>/dev/null || echo "# no block device node: the /blk checks do not run"
HOST_FIRST=$(head -n 1 /etc/passwd)

# Sanity of the tree itself: the escape program passes natively in a chroot (write checks off).
if chroot "$R" /bin/escape /w --native >"$SCRATCH/native.out" 2>&1; then
	pass "native-chroot-oracle"
else
	if grep -q '^not ok' "$SCRATCH/native.out"; then
		fail "native-chroot-oracle" "$(grep '^not ok' "$SCRATCH/native.out" | head)"
	else
		skip "native-chroot-oracle" "chroot unavailable"
	fi
fi
rm -f "$R/w"/*

# ---- the escape program in pdvm ---------------------------------------------------------------
run_pdvm --root "$R" --writable /w --cwd / -- /bin/escape /w
if [ "$RC" = 0 ] && ! grep -q '^not ok' "$OUT"; then
	pass "escape-program"
else
	fail "escape-program" "$(grep '^not ok' "$OUT" | head -n 15)
$(last_output)"
fi
if [ -f "$R/w/inside.txt" ] && [ "$(cat "$R/w/inside.txt")" = inside ]; then
	pass "writable-dir-write-lands-in-root-tree"
else
	fail "writable-dir-write-lands-in-root-tree" "$(ls -la "$R/w")"
fi
created=""
for f in "$R/outside.txt" "$R/newdir" "$R/newlink" "$R/escaped.txt" "$R/created.txt" "$R/etc/new" "$R/etc/pw2" \
	"$R/w/moved" "$SCRATCH/escaped.txt"; do
	if [ -e "$f" ] || [ -L "$f" ]; then created="$created $f"; fi
done
if [ -z "$created" ]; then pass "nothing-created-outside-writable"; else fail "nothing-created-outside-writable" "$created"; fi
[ "$(head -n 1 "$R/etc/passwd")" = "DECOY:x:0:0:decoy:/:/bin/sh" ] && pass "decoy-intact" || fail "decoy-intact"
[ "$(head -n 1 /etc/passwd)" = "$HOST_FIRST" ] && pass "host-passwd-intact" || fail "host-passwd-intact"

# ---- the same with busybox applets ------------------------------------------------------------
# bb_read NAME CWD PATH: cat PATH must fail or print the decoy, never host content.
bb_read() {
	local name=$1 cwd=$2 path=$3
	run_pdvm --root "$R" --cwd "$cwd" -- /bin/busybox cat "$path"
	if grep -qF "$HOST_FIRST" "$OUT"; then
		fail "$name" "read host /etc/passwd via $path"
	elif [ "$RC" = 0 ] && ! grep -q '^DECOY' "$OUT"; then
		fail "$name" "unexpected content via $path: $(head -c 200 "$OUT")"
	else
		pass "$name"
	fi
}
bb_read cat-dotdot /sub/deep ../../../../../../etc/passwd
bb_read cat-abs-link / /etc_link/passwd
bb_read cat-up-link / /up/up/etc/passwd
bb_read cat-rel-link /sub/deep rel/passwd
bb_read cat-abs-file-link / /sub/deep/abs_file

run_pdvm --root "$R" --cwd / -- /bin/busybox ls /up/up/up
if [ "$RC" = 0 ] && grep -qx etc_link "$OUT" && ! grep -qx proc "$OUT" && ! grep -qx usr "$OUT"; then
	pass "ls-through-up-link-shows-the-root-tree"
else
	fail "ls-through-up-link-shows-the-root-tree" "$(last_output)"
fi

run_pdvm --root "$R" --cwd / -- /bin/busybox touch /outside.txt
if [ "$RC" != 0 ] && grep -q 'Read-only file system' "$ERR" && [ ! -e "$R/outside.txt" ]; then
	pass "touch-outside-writable-EROFS"
else
	fail "touch-outside-writable-EROFS" "$(last_output)"
fi

run_pdvm --root "$R" --writable /w --cwd /w -- /bin/busybox mkdir -p a/b
if [ "$RC" = 0 ] && [ -d "$R/w/a/b" ]; then pass "mkdir-inside-writable"; else fail "mkdir-inside-writable" "$(last_output)"; fi

run_pdvm --root "$R" --writable /w --cwd / -- /bin/busybox cp /etc/passwd /w/copy
if [ "$RC" = 0 ] && grep -q '^DECOY' "$R/w/copy"; then pass "cp-into-writable"; else fail "cp-into-writable" "$(last_output)"; fi

# The program path is looked up inside the root too: a host path outside it does not exist there.
run_pdvm --root "$R" -- "$GUEST/hello"
if [ "$RC" = 127 ]; then pass "program-outside-root-not-found"; else fail "program-outside-root-not-found" "$(last_output)"; fi

finish
