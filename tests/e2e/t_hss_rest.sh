# HSS provisioning over REST against a real hss: create, read (keys never shown),
# list, update, errors, delete; changes survive a restart and the topology seed is
# not applied twice.
. "$(dirname "$0")/lib.sh"
topo=$top/tests/e2e/topologies/hss.json
hss=hss.ims.alpha.test
api=http://127.0.9.10:8080

start_node "$topo" "$hss" || { finish; exit 1; }

# code METHOD PATH [BODY]: prints the HTTP status, body in $scratch/body
code() {
	curl -s -o "$scratch/body" -w '%{http_code}' -X "$1" "$api$2" ${3:+-d "$3"}
}
body() { jq -r "$1" "$scratch/body"; }

frank='{"impi": "frank@ims.alpha.test",
	"impus": ["sip:frank@ims.alpha.test", {"uri": "tel:+15550042", "barred": true}],
	"k": "465b5ce8b199b49faa5f0a2ee238a6bc", "op": "cdc202d5123e20f62b6d676ac72cb318",
	"sqn": "0000000000a0", "password": "frank-secret"}'

check_eq "seeded subscribers listed" 4 "$(curl -s $api/subscribers | jq '.subscribers | length')"
check_eq "POST creates (201)" 201 "$(code POST /subscribers "$frank")"
check_eq "created record has its IMPUs" "sip:frank@ims.alpha.test tel:+15550042" \
	"$(body '[.impus[].uri] | join(" ")')"
check_eq "GET returns the record" 200 "$(code GET /subscribers/frank@ims.alpha.test)"
check_eq "keys are write-only" "null null null null" "$(body '[.k, .op, .opc, .password] | map(tostring) | join(" ")')"
check_eq "auth summary" "true op true" "$(body '"\(.auth.aka) \(.auth.op_kind) \(.auth.digest)"')"
check_eq "barred IMPU kept" true "$(body '.impus[1].barred')"
check_eq "SQN as provisioned" 0000000000a0 "$(body .sqn)"
check_eq "duplicate IMPI is 409" 409 "$(code POST /subscribers "$frank")"
check_eq "IMPU of another subscriber is 409" 409 "$(code POST /subscribers \
	'{"impi": "x@ims.alpha.test", "impus": ["sip:alice@ims.alpha.test"], "password": "p"}')"
check "409 names the IMPU" grep -q 'sip:alice@ims.alpha.test' "$scratch/body"
check_eq "bad JSON is 400" 400 "$(code POST /subscribers '{"impi": ')"
check_eq "bad key is 400" 400 "$(code POST /subscribers \
	'{"impi": "y@ims.alpha.test", "impus": ["sip:y@ims.alpha.test"], "k": "12", "op": "00"}')"
check "400 names the field" grep -q '"message":"k:' "$scratch/body"
check_eq "unknown field is 400" 400 "$(code POST /subscribers \
	'{"impi": "y@ims.alpha.test", "impus": ["sip:y@ims.alpha.test"], "password": "p", "pasword": "q"}')"
check_eq "no credentials is 400" 400 "$(code POST /subscribers \
	'{"impi": "y@ims.alpha.test", "impus": ["sip:y@ims.alpha.test"]}')"
check_eq "unknown subscriber is 404" 404 "$(code GET /subscribers/nobody@ims.alpha.test)"
check_eq "error body format" 404 "$(body .error.code)"
check_eq "wrong method is 405" 405 "$(code PATCH /subscribers)"
check_eq "unknown path is 404" 404 "$(code GET /nothing)"
page1=$(curl -s "$api/subscribers?limit=2")
next=$(echo "$page1" | jq -r .next)
page2=$(curl -s "$api/subscribers?limit=10&after=$next")
check_eq "pagination: two pages cover the list in order" \
	"alice barred carol dave frank null" \
	"$(echo "$page1 $page2" | jq -rs '[.[].subscribers[].impi | split("@")[0]] + [.[1].next | tostring] | join(" ")')"
check_eq "limit out of range is 400" 400 "$(code GET '/subscribers?limit=0')"

check_eq "PUT replaces (200)" 200 "$(code PUT /subscribers/frank@ims.alpha.test \
	'{"impi": "frank@ims.alpha.test", "impus": ["sip:frank@ims.alpha.test"], "password": "new"}')"
check_eq "PUT dropped the tel IMPU and AKA" "1 false" "$(body '"\(.impus | length) \(.auth.aka)"')"
check_eq "PUT kept the SQN" 0000000000a0 "$(body .sqn)"
check_eq "PUT with another IMPI is 400" 400 "$(code PUT /subscribers/frank@ims.alpha.test \
	'{"impi": "other@ims.alpha.test", "impus": ["sip:frank@ims.alpha.test"], "password": "new"}')"
check_eq "PUT of unknown is 404" 404 "$(code PUT /subscribers/nobody@ims.alpha.test \
	'{"impus": ["sip:nobody@ims.alpha.test"], "password": "new"}')"
check_eq "DELETE seeded dave (204)" 204 "$(code DELETE /subscribers/dave@ims.alpha.test)"
check_eq "DELETE again is 404" 404 "$(code DELETE /subscribers/dave@ims.alpha.test)"

stop_node "$hss"
start_node "$topo" "$hss" || { finish; exit 1; }
check_eq "provisioned subscriber survives restart" 200 "$(code GET /subscribers/frank@ims.alpha.test)"
check_eq "deleted seed subscriber not re-seeded" 404 "$(code GET /subscribers/dave@ims.alpha.test)"
check_eq "status after restart" "hss true" "$(curl -s $api/status | jq -r '"\(.role) \(.ready)"')"
check "metrics are Prometheus text" sh -c "curl -s $api/metrics | grep -q '^# TYPE hss_cx_requests_total counter'"
finish
