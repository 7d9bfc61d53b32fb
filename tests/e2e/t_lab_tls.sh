# The lab launcher with a TLS topology: `lab up` generates a CA and per-node
# certificates, starts the HSS with Cx over TLS, the Cx client talks to it with its
# own certificate, `lab status` shows it ready, `lab down` stops exactly it.
. "$(dirname "$0")/lib.sh"
topo=$top/tests/e2e/topologies/hss-tls.json
run=$top/run/e2e-hss-tls
rm -rf "$run"

check "lab up" "$top/lab" up "$topo"
check "certificate CN is the node identity" sh -c \
	"openssl x509 -in '$run/certs/hss.ims.alpha.test.crt' -noout -subject | grep -q 'CN *= *hss.ims.alpha.test'"
check "certificate chains to the lab CA" \
	openssl verify -CAfile "$run/certs/ca.crt" "$run/certs/hss.ims.alpha.test.crt"
check "freeDiameter configured for TLS" grep -q '^TLS_Cred' "$run/hss.ims.alpha.test/hss.ims.alpha.test.fd.conf"
check_eq "lab status shows the HSS ready" ready \
	"$("$top/lab" status "$topo" | awk '$2 == "hss.ims.alpha.test" {print $4}')"
"$bin/cxclient" --topology "$topo" --hss hss.ims.alpha.test --certs "$run/certs" --json \
	mar --impi alice@ims.alpha.test --impu sip:alice@ims.alpha.test --verify >"$scratch/ans" 2>/dev/null
check_eq "MAR over TLS: vector verifies" "2001 true" \
	"$(jq -r '"\(.result) \(.items[0].verify.mac_ok)"' "$scratch/ans")"
pid=$(cat "$run/hss.ims.alpha.test/pid")
check "lab down" "$top/lab" down "$topo"
check "HSS process gone" eval "! running $pid"
check "pid file removed" test ! -f "$run/hss.ims.alpha.test/pid"
rm -rf "$run"
finish
