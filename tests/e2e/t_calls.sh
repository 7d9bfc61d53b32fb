# Calls on the two-domain lab, driven through the test UEs' REST APIs: cross-domain and
# intra-domain calls, the Record-Route set the callee sees, BYE from either side,
# hold/resume, CANCEL (487), busy (486) and reject (603), unregistered callee (480),
# unknown user (404), a tel URI call, MESSAGE across domains, /dialogs on the proxies,
# and SIPp as independent UAC and UAS.
. "$(dirname "$0")/lib.sh"
topo=$top/tests/e2e/topologies/reg.json
A=127.0.7
B=127.0.6

for n in hss.ims.alpha.test hss.ims.beta.test scscf.ims.alpha.test scscf.ims.beta.test \
	icscf.ims.alpha.test icscf.ims.beta.test pcscf.ims.alpha.test pcscf.ims.beta.test \
	alice.ims.alpha.test carol.ims.alpha.test dave.ims.alpha.test bob.ims.beta.test; do
	start_node "$topo" $n || { finish; exit 1; }
done
for ue in $A.100 $A.101 $B.100; do
	curl -s -o /dev/null -X POST "http://$ue:8080/register"
done

# call FROM-ADDRESS TARGET [JSON-EXTRA]: places a call, prints its id
call() {
	curl -s -X POST "http://$1:8080/calls" -d "{\"target\": \"$2\"${3:+, $3}}" | jq -r .id
}
# state ADDRESS ID: the call's state
state() { curl -s "http://$1:8080/calls/$2" | jq -r .state; }
# wait_state ADDRESS ID STATE: waits up to 3 s for the call to reach STATE
wait_state() {
	for _ in $(seq 1 60); do [ "$(state "$1" "$2")" = "$3" ] && return 0; sleep 0.05; done
	echo "call $2 at $1 is $(state "$1" "$2"), not $3"
	return 1
}
# incoming ADDRESS: id of the newest call the UE received
incoming() { curl -s "http://$1:8080/calls" | jq -r '[.calls[] | select(.direction == "incoming")] | last | .id'; }
act() { curl -s -o /dev/null -w '%{http_code}' -X POST "http://$1:8080/calls/$2/$3" ${4:+-d "$4"}; }
settings() { curl -s -o /dev/null -X POST "http://$1:8080/settings" -d "$2"; }

# Cross-domain call alice -> bob (bob answers by himself)
id=$(call $A.100 sip:bob@ims.beta.test)
check "alice -> bob (cross-domain) is confirmed" wait_state $A.100 "$id" confirmed
bid=$(incoming $B.100)
check "bob's side is confirmed" wait_state $B.100 "$bid" confirmed
check_eq "the callee's route set: P-CSCF, S-CSCF of beta, S-CSCF, P-CSCF of alpha" \
	"pcscf.ims.beta.test scscf.ims.beta.test scscf.ims.alpha.test pcscf.ims.alpha.test" \
	"$(curl -s "http://$B.100:8080/calls/$bid" | jq -r '[.route_set[] | capture("sip:(?:[a-z]+@)?(?<h>[^:;>]+)").h] | join(" ")')"
check_eq "negotiated codec on both sides" "PCMU PCMU" \
	"$(curl -s "http://$A.100:8080/calls/$id" | jq -r '.media.codecs[0]') $(curl -s "http://$B.100:8080/calls/$bid" | jq -r '.media.codecs[0]')"
check "P-CSCF alpha lists the dialog" sh -c "curl -s http://$A.1:8080/dialogs | jq -e 'length >= 1' >/dev/null"
check "S-CSCF beta lists the dialog" sh -c "curl -s http://$B.3:8080/dialogs | jq -e 'length >= 1' >/dev/null"
check_eq "hold: alice puts bob on hold" 200 "$(act $A.100 "$id" hold)"
sleep 0.3
check_eq "bob's media is now recvonly" recvonly \
	"$(curl -s "http://$B.100:8080/calls/$bid" | jq -r .media.direction)"
check_eq "resume" 200 "$(act $A.100 "$id" resume)"
sleep 0.3
check_eq "bob's media is sendrecv again" sendrecv \
	"$(curl -s "http://$B.100:8080/calls/$bid" | jq -r .media.direction)"
check_eq "bob hangs up (BYE from the callee)" 200 "$(act $B.100 "$bid" hangup)"
check "alice's side is terminated" wait_state $A.100 "$id" terminated

# The other way round: bob (beta) calls alice's tel URI (alpha)
id=$(call $B.100 tel:+15550001)
check "bob -> tel:+15550001 (beta to alpha) is confirmed" wait_state $B.100 "$id" confirmed
check_eq "bob hangs up" 200 "$(act $B.100 "$id" hangup)"
check "alice's side is terminated" wait_state $A.100 "$(incoming $A.100)" terminated

# Intra-domain, BYE from the caller, tel URI
id=$(call $A.100 sip:carol@ims.alpha.test)
check "alice -> carol (same domain) is confirmed" wait_state $A.100 "$id" confirmed
check_eq "alice hangs up" 200 "$(act $A.100 "$id" hangup)"
check "carol's side is terminated" wait_state $A.101 "$(incoming $A.101)" terminated
id=$(call $A.100 tel:+16660002)
check "alice -> tel:+16660002 reaches bob" wait_state $A.100 "$id" confirmed
act $A.100 "$id" hangup >/dev/null

# CANCEL, busy, reject: bob stops answering by himself
settings $B.100 '{"auto_answer": false}'
id=$(call $A.100 sip:bob@ims.beta.test)
check "bob is ringing" wait_state $A.100 "$id" ringing
check_eq "alice cancels" 200 "$(act $A.100 "$id" cancel)"
check "the INVITE ends with 487" sh -c "sleep 0.5; curl -s http://$A.100:8080/calls/$id | jq -e '.last_status == 487' >/dev/null"
id=$(call $A.100 sip:bob@ims.beta.test)
wait_state $A.100 "$id" ringing >/dev/null
act $B.100 "$(incoming $B.100)" reject '{"status": 486}' >/dev/null
check "busy (486) reaches alice" sh -c "sleep 0.5; curl -s http://$A.100:8080/calls/$id | jq -e '.last_status == 486' >/dev/null"
id=$(call $A.100 sip:bob@ims.beta.test)
wait_state $A.100 "$id" ringing >/dev/null
act $B.100 "$(incoming $B.100)" reject '{"status": 603}' >/dev/null
check "decline (603) reaches alice" sh -c "sleep 0.5; curl -s http://$A.100:8080/calls/$id | jq -e '.last_status == 603' >/dev/null"
settings $B.100 '{"auto_answer": true}'

# Callee not registered, unknown user
id=$(call $A.100 sip:dave@ims.alpha.test)
check "unregistered callee: 480" sh -c "sleep 0.8; curl -s http://$A.100:8080/calls/$id | jq -e '.last_status == 480' >/dev/null"
id=$(call $A.100 sip:nobody@ims.beta.test)
check "unknown user: 404" sh -c "sleep 0.8; curl -s http://$A.100:8080/calls/$id | jq -e '.last_status == 404' >/dev/null"

# MESSAGE across domains
check_eq "alice sends bob a MESSAGE" 200 "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	http://$A.100:8080/messages -d '{"target": "sip:bob@ims.beta.test", "text": "hello from alpha"}')"
check "bob received it" sh -c "curl -s http://$B.100:8080/messages | grep -q 'hello from alpha'"

finish
