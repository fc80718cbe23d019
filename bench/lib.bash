# lib.bash: the helpers bench/run.sh and its sections share — medians, ratios, times, JSON numbers, the host kind — also when a section runs alone.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms_now() { echo $(($(date +%s%N) / 1000)); }   # microseconds
us_to_ms_f() { awk -v d="$1" 'BEGIN { printf "%.1f", d / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
num_or_na() { [ -n "$1" ] && echo "$1" || echo n/a; }
# wall_ms_median REPS CMD...: the median wall time of REPS runs of CMD (output dropped), ms.
wall_ms_median() {
	local reps=$1 v=() t0 t1
	shift
	for _ in $(seq "$reps"); do
		t0=$(ms_now); "$@" >/dev/null 2>&1; t1=$(ms_now)
		v+=("$((t1 - t0))")
	done
	printf '%s\n' "${v[@]}" | median | awk '{ printf "%.1f", $1 / 1000 }'
}
jnum() { [[ "$1" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] && echo "$1" || echo null; }
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr -d '"\\' | tr '\n' ' ')"; }
# bench_backend PDVM: the trap backend pdvm's probe finds (pvm, ring0, or empty).
bench_backend() { "$1" info 2>/dev/null | sed -n 's/^trap backend: *\([a-z0-9]*\).*/\1/p'; }
# bench_host_kind BACKEND: what the numbers are from (dmesg's "kvm-pvm: loaded" line may
# have rotated out of the ring: the probe decides).
bench_host_kind() {
	if [ -n "${BENCH_INNER:-}" ]; then echo "${1:-none} in the nested TCG VM (a host without /dev/kvm)"
	elif [ "$1" = pvm ]; then echo "pvm host (native)"
	else echo "${1:-none} (standard KVM host, native)"; fi
}
# bench_alone_json FILE-PREFIX SECTION-KEY JSON: a section run alone writes
# bench/results/PREFIX-<date>.json with the host kind.
bench_alone_json() {
	local f
	mkdir -p bench/results
	f=bench/results/$1-$(date -u +%Y%m%d-%H%M%S).json
	printf '{ "date": "%s", "commit": "%s", "host_kind": "%s", "cpu": "%s", "repetitions": %s, "%s": %s }\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(git rev-parse --short HEAD 2>/dev/null)" \
		"$(bench_host_kind "$(bench_backend "$PDVM")")" \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" "$REPS" "$2" "$3" >"$f"
	echo "bench: wrote $f"
}
