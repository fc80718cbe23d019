#!/bin/bash
# compat.sh: images that outlive the pdvm that wrote them, and state that must survive one — a format-1 image (tests/fixtures/format1, written by pdvm as of ac85fa7) restores; a section this pdvm does not know is refused by name when the image says it is required and ignored with a log line when optional; newer section versions and other architectures are refused; a new image states each section's version and whether it is required.
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/ticker" "$GUEST/prctlstate" tests/fixtures/format1/manifest.json
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

# The fixture's domain: tests/guest/ticker 30 100 4 128, checkpointed after line 10.
native=$SCRATCH/native.out
(cd / && exec env -i "${DEFAULT_ENV[@]}" "$GUEST/ticker" 30 0 4 128) </dev/null >"$native" 2>&1

# restored_is_native OUT: the restored ticker printed native's lines from where it stopped on.
restored_is_native() {
	local first
	first=$(head -n1 "$1" | cut -d' ' -f1)
	[ -n "$first" ] && [ "$first" -gt 1 ] && tail -n +"$first" "$native" | cmp -s - "$1"
}

# ---- an image of the previous format ------------------------------------------------------------
d=$SCRATCH/f1
cp -r tests/fixtures/format1 "$d"
restore_fg "$SCRATCH/f1.out" "$SCRATCH/f1.err" --name compat-f1 "$d"
if [ "$RRC" = 0 ] && restored_is_native "$SCRATCH/f1.out" && [ "$(head -c 3 "$SCRATCH/f1.out")" = "11 " ]; then
	pass "format1-image-restores"
else
	fail "format1-image-restores" "restore exit $RRC; want lines 11 to 30 of ticker 30 0 4 128
$(tails "$SCRATCH/f1.out" "$SCRATCH/f1.err")"
fi

# ---- a fresh image of today's format ------------------------------------------------------------
img=$SCRATCH/img
start_run compat "$SCRATCH/run.out" "$SCRATCH/run.err" --cwd / -- "$GUEST/ticker" 30 100 4 128
pid=$BGPID
if wait_sock compat "$pid" && wait_lines "$SCRATCH/run.out" 5 "$pid"; then
	snap --stop compat "$img"
fi
wait_pid "$pid"
if [ ! -f "$img/manifest.json" ]; then
	fail "current-image" "no image (snapshot exit ${SRC:-none}): $(tails "$SCRATCH/run.err" "$SERR")"
	finish
fi
# Format 2: every section entry says its version and whether a reader must know it.
if python3 - "$img/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
secs = {s["name"]: s for s in m["sections"]}
ok = m["version"] == 2 and {"domain", "mm", "files", "vcpus", "memory", "memidx"} <= set(secs)
for s in secs.values():
    ok = ok and isinstance(s.get("version"), int) and s["version"] >= 1 and isinstance(s.get("required"), bool)
sys.exit(0 if ok and secs["vcpus"]["required"] else 1)
PY
then
	pass "manifest-states-versions"
else
	fail "manifest-states-versions" "manifest: $(head -c 800 "$img/manifest.json")"
fi

# edited COPY PYTHON: a copy of the image at $SCRATCH/COPY, its manifest edited by PYTHON
# (m is the manifest as a dict; add(name, data, required) adds a section file).
edited() {
	local c=$SCRATCH/$1
	rm -rf "$c"
	cp -r "$img" "$c"
	python3 - "$c" "$2" <<'PY'
import json, sys, zlib
d, code = sys.argv[1], sys.argv[2]
m = json.load(open(d + "/manifest.json"))
def add(name, data, required):
    open("%s/%s.bin" % (d, name), "wb").write(data)
    m["sections"].append({"name": name, "file": name + ".bin", "size": len(data),
                          "crc32": zlib.crc32(data), "version": 1, "required": required})
def sec(name):
    return [s for s in m["sections"] if s["name"] == name][0]
exec(code)
json.dump(m, open(d + "/manifest.json", "w"))
PY
	echo "$c"
}

# refused TEST COPY PYTHON PATTERN: an edited copy (as `edited`) that restore --check must
# refuse with exit 2 and a message matching PATTERN (grep).
refused() {
	local c
	c=$(edited "$2" "$3")
	restore_fg "$SCRATCH/$2.out" "$SCRATCH/$2.err" --check "$c"
	if [ "$RRC" = 2 ] && grep -q "$4" "$SCRATCH/$2.err"; then
		pass "$1"
	else
		fail "$1" "restore --check exit $RRC, want 2 and /$4/: $(cat "$SCRATCH/$2.err")"
	fi
}

# A section a newer pdvm would add, which this one cannot know.
refused unknown-required-section-refused-by-name req 'add("futurestate", b"\x01\x00\x00\x00state", True)' \
	'needs section "futurestate", which this pdvm does not know'

c=$(edited opt 'add("futurehint", b"\x01\x00\x00\x00hint", False)')
log=/var/log/pdvm/compat-opt.log
rm -f "$log"
restore_fg "$SCRATCH/opt.out" "$SCRATCH/opt.err" --name compat-opt "$c"
if [ "$RRC" = 0 ] && restored_is_native "$SCRATCH/opt.out" &&
	grep -q 'ignoring optional section(s) futurehint' "$SCRATCH/opt.err" &&
	grep -q 'ignored optional section(s) futurehint' "$log"; then
	pass "unknown-optional-section-ignored-with-a-log-line"
else
	fail "unknown-optional-section-ignored-with-a-log-line" "restore exit $RRC
$(tails "$SCRATCH/opt.out" "$SCRATCH/opt.err" "$log")"
fi

refused newer-section-version-refused newer 'sec("vcpus")["version"] = 7' \
	'section "vcpus" is of version 7; this pdvm reads versions 1 to [0-9]'
refused other-architecture-refused arch 'm["arch"] = "aarch64"' 'architecture aarch64'
# Format 2 must say what a reader needs to know of each section.
refused format2-entry-without-flag-refused noflag 'del sec("files")["required"]' \
	'lacks its version or required flag'

# State format 1 did not hold: threads' names, parent-death signals, nice values and
# policies (vcpus 2), each
# process's dumpable, no_new_privs and personality (domain 2): the lines after the restore
# are the lines before it.
WHY=""
stop_restore prctl-state 3 / -- "$GUEST/prctlstate" 12 100
p=$SCRATCH/prctl-state
if [ -z "$WHY" ] && ! grep -q '^12 name=kept-name pdeathsig=10 dumpable=0 no_new_privs=1 personality=0x40000 nice+3 policy=3$' "$p/restore.out"; then
	WHY="after the restore: $(tail -n 2 "$p/restore.out")"
fi
verdict prctl-state-survives-restore

# And the image itself restores (the copies above were refused for their edits alone).
restore_fg "$SCRATCH/plain.out" "$SCRATCH/plain.err" --name compat-plain "$img"
if [ "$RRC" = 0 ] && restored_is_native "$SCRATCH/plain.out"; then
	pass "current-image-restores"
else
	fail "current-image-restores" "restore exit $RRC: $(tails "$SCRATCH/plain.out" "$SCRATCH/plain.err")"
fi
finish
