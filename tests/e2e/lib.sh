# Shared helpers for end-to-end scenarios: assertions that count, and daemons that
# are started from a topology and stopped by the pid we started them with.
# Each scenario sources this file, calls its checks, and ends with `finish`.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${E2E_BIN:-$top/bin}
passed=0
failed=0
started_pids=()
scratch=$(mktemp -d /tmp/ims-e2e.XXXXXX)

ok() { passed=$((passed + 1)); echo "  ok   $*"; }
not_ok() { failed=$((failed + 1)); echo "  FAIL $*"; }

# check "description" command...: passes when the command exits 0
check() {
	local what=$1; shift
	if "$@" >"$scratch/last.out" 2>&1; then ok "$what"; else
		not_ok "$what"; sed 's/^/       | /' "$scratch/last.out" | tail -n 15
	fi
}

# check_eq "description" expected actual
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi
}

# start_node topology fqdn [extra args]: starts bin/<role> for the node, waits for /status
start_node() {
	local topo=$1 fqdn=$2; shift 2
	local role addr rest
	read -r role addr rest < <(jq -r --arg f "$fqdn" '.domains[] as $d | $d.nodes[] |
		select(.name + "." + $d.name == $f) | "\(.role) \(.address) \(.rest_port // 8080)"' "$topo")
	[ -n "$role" ] || { not_ok "start $fqdn: not in $topo"; return 1; }
	mkdir -p "$scratch/$fqdn"
	"$bin/$role" --topology "$topo" --node "$fqdn" --run-dir "$scratch/$fqdn" "$@" \
		>>"$scratch/$fqdn/log" 2>&1 </dev/null &
	local pid=$!
	started_pids+=("$pid")
	echo "$pid" >"$scratch/$fqdn/pid"
	for _ in $(seq 1 200); do
		# The pid check makes sure it is our process answering, not a leftover one.
		if curl -s --max-time 1 "http://$addr:$rest/status" |
			jq -e --argjson pid "$pid" '.ready == true and .pid == $pid' >/dev/null 2>&1; then
			return 0
		fi
		running "$pid" || break
		sleep 0.05
	done
	not_ok "start $fqdn (log follows)"
	tail -n 20 "$scratch/$fqdn/log" | sed 's/^/       | /'
	return 1
}

# running pid: alive and not a zombie (an exited child stays one until reaped)
running() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# stop_node fqdn: SIGTERM to the pid we started, wait for it to exit
stop_node() {
	local pid; pid=$(cat "$scratch/$1/pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 250); do running "$pid" || break; sleep 0.02; done
	running "$pid" && kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

alive() { running "$(cat "$scratch/$1/pid")"; }

finish() {
	for pid in "${started_pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${started_pids[@]}"; do
		for _ in $(seq 1 250); do running "$pid" || break; sleep 0.02; done
		running "$pid" && kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Under `make asan` the daemons report memory errors and leaks in their logs at exit.
	for log in "$scratch"/*/log; do
		[ -f "$log" ] || continue
		grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" &&
			not_ok "sanitizer report in $log"
	done
	if [ "$failed" -ne 0 ]; then
		echo "  (logs kept in $scratch)"
	else
		rm -rf "$scratch"
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
trap 'finish; exit 130' INT TERM
