#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 5m),
# one after another, and prints the executions and the outcome of each.
# Targets are found with `go test -list`, so a new FuzzX function is picked
# up without editing this script. Crashers are written by Go under the
# package's testdata/fuzz/FuzzX/, where the ordinary tests then replay them.
#
#   scripts/fuzz.sh                 # every target, 5 minutes each
#   FUZZTIME=30s scripts/fuzz.sh    # shorter
#   scripts/fuzz.sh ./internal/npy  # the targets of some packages only
#   FUZZPARALLEL=1 scripts/fuzz.sh  # one fuzzing worker (default: one a core)
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-5m}
FUZZPARALLEL=${FUZZPARALLEL:-$(nproc)}
TAGS=${GOTAGS:-}
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)
echo "fuzzing for $FUZZTIME per target, $FUZZPARALLEL workers, on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
status=0
summary=()
for pkg in $(go list -tags "$TAGS" "${pkgs[@]}"); do
	targets=$(go test -tags "$TAGS" -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for target in $targets; do
		log=$(mktemp)
		echo "== $pkg $target"
		go test -tags "$TAGS" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -parallel "$FUZZPARALLEL" "$pkg" 2>&1 | tee "$log" | grep -v '^fuzz: elapsed' || true
		execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
		if grep -q '^--- FAIL\|^FAIL' "$log"; then
			summary+=("$(printf '%-28s %-22s %12s execs  CRASH' "${pkg#github.com/aebridge/aebridge/}" "$target" "${execs:-?}")")
			status=1
		else
			summary+=("$(printf '%-28s %-22s %12s execs  ok' "${pkg#github.com/aebridge/aebridge/}" "$target" "${execs:-?}")")
		fi
		rm -f "$log"
	done
done
echo
printf '%s\n' "${summary[@]}"
exit $status
