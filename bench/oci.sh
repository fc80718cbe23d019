#!/bin/bash
# oci.sh: the OCI runtime rows of `make bench`, sourced by bench/run.sh or run alone (then it writes bench/results/OCI-<date>.json) — `podman run --rm IMAGE true` and `podman exec CTR true` wall time with pdvm-oci against runc, and a podman checkpoint + restore of a TCP echo server with a connected client: pdvm-oci against runc with CRIU (n/a, with CRIU's reason, where CRIU cannot checkpoint on this machine). Side by side in one run, medians of REPS.
#
# Uses run.sh's REPS, PDVM and bench/lib.bash (sourced alone).

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
	. bench/lib.bash
	B=${B:-build}
	case "$B" in /*) ;; *) B=$PWD/$B ;; esac
	PDVM=$B/pdvm REPS=${BENCH_REPS:-5}
	OCI_ALONE=1
fi

OCI_BIN=$B/pdvm-oci
OCI_STORE=$(mktemp -d /var/tmp/pdvm-bench-oci.XXXXXX)
ocipm() { timeout -k 5 120 podman --root "$OCI_STORE/root" --runroot "$OCI_STORE/run" --runtime "$1" "${@:2}"; }
OCI_U=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
OCI_WHY=""
OCI_RUN_P=n/a OCI_RUN_R=n/a OCI_EX_P=n/a OCI_EX_R=n/a OCI_CR_P=n/a OCI_CR_R=n/a OCI_CR_R_WHY=""

oci_image() {
	local r=$OCI_STORE/img
	mkdir -p "$r/bin" "$r/tmp"
	cp /bin/busybox "$r/bin/" || return 1
	for a in sh true nc cat sleep; do ln -s busybox "$r/bin/$a"; done
	tar -C "$r" -cf "$OCI_STORE/bb.tar" . &&
		ocipm runc import --change 'ENV PATH=/bin' "$OCI_STORE/bb.tar" localhost/pdvm-bench >/dev/null 2>&1
}

# oci_run RUNTIME: median ms of `podman run --rm IMAGE true`.
oci_run() {
	local v=() t0 t1
	ocipm "$1" run --rm "${OCI_U[@]}" localhost/pdvm-bench true >/dev/null 2>&1 || { echo n/a; return; }  # warm
	for _ in $(seq "$REPS"); do
		t0=$(ms_now); ocipm "$1" run --rm "${OCI_U[@]}" localhost/pdvm-bench true >/dev/null 2>&1; t1=$(ms_now)
		v+=("$((t1 - t0))")
	done
	printf '%s\n' "${v[@]}" | median | awk '{ printf "%.1f", $1 / 1000 }'
}

# oci_exec RUNTIME: median ms of `podman exec CTR true` into a running container.
oci_exec() {
	local v=() t0 t1
	ocipm "$1" run -d --name bench-exec "${OCI_U[@]}" localhost/pdvm-bench sleep 1000 >/dev/null 2>&1 &&
		ocipm "$1" exec bench-exec true >/dev/null 2>&1 || { echo n/a; ocipm "$1" rm -f -t 0 bench-exec >/dev/null 2>&1; return; }
	for _ in $(seq "$REPS"); do
		t0=$(ms_now); ocipm "$1" exec bench-exec true >/dev/null 2>&1; t1=$(ms_now)
		v+=("$((t1 - t0))")
	done
	ocipm "$1" rm -f -t 0 bench-exec >/dev/null 2>&1
	printf '%s\n' "${v[@]}" | median | awk '{ printf "%.1f", $1 / 1000 }'
}

# oci_cr RUNTIME: median ms of checkpoint + restore (--tcp-established) of an echo server
# whose client stays connected (checked after each round); n/a, and why in $OCI_STORE/cr.why
# (it runs in a subshell), if one fails.
oci_cr() {
	local rt=$1 ip
	OCI_CR_ERR=""
	rm -f "$OCI_STORE/cr.why" "$OCI_STORE/cr.err"
	ocipm "$rt" rm -f -t 0 bench-echo >/dev/null 2>&1
	ocipm "$rt" run -d --name bench-echo "${OCI_U[@]}" localhost/pdvm-bench nc -l -p 7777 -e cat >/dev/null 2>&1 ||
		{ echo "run failed" >"$OCI_STORE/cr.why"; echo n/a; return; }
	ip=$(ocipm "$rt" inspect -f '{{.NetworkSettings.IPAddress}}' bench-echo)
	local cmd="" i
	for i in $(seq "$REPS"); do
		cmd+="t0=\$(date +%s%N); podman --root $OCI_STORE/root --runroot $OCI_STORE/run --runtime $rt container checkpoint --tcp-established bench-echo >/dev/null 2>$OCI_STORE/cr.err && "
		cmd+="podman --root $OCI_STORE/root --runroot $OCI_STORE/run --runtime $rt container restore --tcp-established bench-echo >/dev/null 2>>$OCI_STORE/cr.err || exit 1; "
		cmd+="echo \$(( (\$(date +%s%N) - t0) / 1000 )) >> $OCI_STORE/cr.times; "
	done
	rm -f "$OCI_STORE/cr.times"
	if ! timeout 600 python3 tests/host/tcpping.py "$ip" 7777 "$cmd" >"$OCI_STORE/cr.out" 2>&1; then
		OCI_CR_ERR=$(grep -v "^ *$" "$OCI_STORE/cr.err" 2>/dev/null | tail -n 1 | rev | cut -c1-200 | rev)
		# CRIU's own reason, when it is CRIU that failed.
		local criu
		criu=$(grep -h -m1 "Error" "$OCI_STORE"/root/overlay-containers/*/userdata/dump.log 2>/dev/null | head -n 1)
		echo "${criu:+CRIU: $criu; }${OCI_CR_ERR:-$(tail -n 1 "$OCI_STORE/cr.out")}" >"$OCI_STORE/cr.why"
		echo n/a
	else
		median <"$OCI_STORE/cr.times" | awk '{ printf "%.1f", $1 / 1000 }'
	fi
	ocipm "$rt" rm -f -t 0 bench-echo >/dev/null 2>&1
}

if ! command -v podman >/dev/null; then
	OCI_WHY="podman is not installed (tools/deps.sh installs it)"
elif [ ! -x "$OCI_BIN" ]; then
	OCI_WHY="$OCI_BIN is missing"
elif ! oci_image; then
	OCI_WHY="podman import failed"
else
	OCI_RUN_R=$(oci_run runc)
	OCI_RUN_P=$(oci_run "$OCI_BIN")
	OCI_EX_R=$(oci_exec runc)
	OCI_EX_P=$(oci_exec "$OCI_BIN")
	OCI_CR_P=$(oci_cr "$OCI_BIN")
	OCI_CR_P_WHY=$(cat "$OCI_STORE/cr.why" 2>/dev/null)
	OCI_CR_R=$(oci_cr runc)
	OCI_CR_R_WHY=$(cat "$OCI_STORE/cr.why" 2>/dev/null)
fi
ocipm runc rm -af -t 0 >/dev/null 2>&1
ocipm runc system reset --force >/dev/null 2>&1
rm -rf "$OCI_STORE"

printf '%-44s %12s %12s %8s\n' "OCI runtime under podman, ms (median of $REPS)" "runc" "pdvm-oci" "ratio"
printf '%-44s %12s %12s %8s\n' "  podman run --rm IMAGE true" "$OCI_RUN_R" "$OCI_RUN_P" "$(ratio "$OCI_RUN_P" "$OCI_RUN_R")"
printf '%-44s %12s %12s %8s\n' "  podman exec CTR true" "$OCI_EX_R" "$OCI_EX_P" "$(ratio "$OCI_EX_P" "$OCI_EX_R")"
printf '%-44s %12s %12s %8s\n' "  checkpoint + restore, TCP client connected" "$OCI_CR_R" "$OCI_CR_P" "$(ratio "$OCI_CR_P" "$OCI_CR_R")"
[ -z "$OCI_WHY" ] || printf '  n/a: %s\n' "$OCI_WHY"
[ -z "${OCI_CR_R_WHY:-}" ] || printf '  runc+CRIU checkpoint n/a here: %s\n' "$OCI_CR_R_WHY"
[ -z "${OCI_CR_P_WHY:-}" ] || printf '  pdvm-oci checkpoint failed: %s\n' "$OCI_CR_P_WHY"
echo

oci_json() {
	printf '{ "podman_run_true_ms": { "runc": %s, "pdvm": %s }, "podman_exec_true_ms": { "runc": %s, "pdvm": %s },' \
		"$(jnum "$OCI_RUN_R")" "$(jnum "$OCI_RUN_P")" "$(jnum "$OCI_EX_R")" "$(jnum "$OCI_EX_P")"
	printf ' "checkpoint_restore_tcp_ms": { "runc_criu": %s, "pdvm": %s },' "$(jnum "$OCI_CR_R")" "$(jnum "$OCI_CR_P")"
	printf ' "runc_criu_error": "%s", "note": "%s" }' "$(printf '%s' "${OCI_CR_R_WHY:-}" | tr -d '"\\')" \
		"$(printf '%s' "$OCI_WHY" | tr -d '"\\')"
}

[ -z "${OCI_ALONE:-}" ] || bench_alone_json OCI oci "$(oci_json)"
