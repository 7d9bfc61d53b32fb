# The test UE through the two-domain lab: 100rel with early media and PRACK, UPDATE in
# the early dialog, the offerless INVITE, TCP (carol), INFO, hold from both sides,
# P-Asserted-Identity at the callee, 2xx retransmission-free flows, metrics.
. "$(dirname "$0")/lib.sh"
topo=$top/tests/e2e/topologies/ue-calls.json
A=127.0.51
B=127.0.52
for n in hss.ims.alpha.test hss.ims.beta.test scscf.ims.alpha.test scscf.ims.beta.test \
	icscf.ims.alpha.test icscf.ims.beta.test pcscf.ims.alpha.test pcscf.ims.beta.test \
	alice.ims.alpha.test carol.ims.alpha.test bob.ims.beta.test; do
	start_node "$topo" $n || { finish; exit 1; }
done
check_eq "unregistered alice cannot call (409)" 409 "$(curl -s -o /dev/null -w '%{http_code}' -X POST http://$A.100:8080/calls -d '{"target":"sip:bob@ims.beta.test"}')"
for ue in $A.100 $A.101 $B.100; do curl -s -o /dev/null -X POST "http://$ue:8080/register"; done
call() { curl -s -X POST "http://$1:8080/calls" -d "{\"target\": \"$2\"${3:+, $3}}" | jq -r .id; }
get() { curl -s "http://$1:8080/calls/$2" | jq -r "$3"; }
wait_state() {
	for _ in $(seq 1 60); do [ "$(get "$1" "$2" .state)" = "$3" ] && return 0; sleep 0.05; done
	echo "call $2 at $1 is $(get "$1" "$2" .state), not $3"; return 1
}
incoming() { curl -s "http://$1:8080/calls" | jq -r '[.calls[] | select(.direction == "incoming")] | last | .id'; }
act() { curl -s -o /dev/null -w '%{http_code}' -X POST "http://$1:8080/calls/$2/$3" ${4:+-d "$4"}; }
settings() { curl -s -o /dev/null -X POST "http://$1:8080/settings" -d "$2"; }
events() { get "$1" "$2" '[.events[].what | split(" ")[0:2] | join(" ")] | join(",")'; }

# 100rel, early media: bob rings without answering
settings $B.100 '{"auto_answer": false}'
id=$(call $A.100 sip:bob@ims.beta.test '"100rel": true')
check "100rel: early dialog with early media" wait_state $A.100 "$id" early
bid=$(incoming $B.100)
check_eq "bob saw the PRACKs" "INVITE 1,183 INVITE,PRACK 2,200 PRACK,180 INVITE,PRACK 3,200 PRACK" "$(events $B.100 $bid)"
check_eq "bob sees alice's asserted identity" "sip:alice@ims.alpha.test" "$(get $B.100 $bid .asserted_identity)"
check_eq "UPDATE in the early dialog" 200 "$(act $A.100 $id update '{"codecs": ["PCMA"]}')"
sleep 0.3
check_eq "the UPDATE changed the codec" "PCMA PCMA" "$(get $A.100 $id '.media.codecs[0]') $(get $B.100 $bid '.media.codecs[0]')"
check_eq "bob answers" 200 "$(act $B.100 $bid answer)"
check "confirmed" wait_state $A.100 "$id" confirmed
check_eq "the 2xx after 100rel has no SDP" "200 INVITE 1" "$(get $A.100 $id '[.events[].what] | map(select(startswith("200 INVITE"))) | .[0]')"
check_eq "bob holds alice" 200 "$(act $B.100 $bid hold)"
sleep 0.3
check_eq "alice: recvonly, remote hold" "recvonly true" "$(get $A.100 $id '.media.direction + " " + (.hold.remote|tostring)')"
check_eq "alice holds too: inactive" 200 "$(act $A.100 $id hold)"
sleep 0.3
check_eq "both inactive" "inactive inactive" "$(get $A.100 $id .media.direction) $(get $B.100 $bid .media.direction)"
check_eq "INFO from bob" 200 "$(act $B.100 $bid info)"
sleep 0.2
check_eq "INFO answered 200 end to end" "200" "$(get $B.100 $bid '.events[-1].what | split(" ")[0]')"
check_eq "alice hangs up" 200 "$(act $A.100 $id hangup)"
check "bob terminated" wait_state $B.100 "$bid" terminated
settings $B.100 '{"auto_answer": true}'

# Offer in the 2xx, answer in the ACK, to carol over TCP
id=$(call $A.100 sip:carol@ims.alpha.test '"offer": false')
check "offerless INVITE to carol (TCP) confirmed" wait_state $A.100 "$id" confirmed
cid=$(incoming $A.101)
check "carol confirmed" wait_state $A.101 "$cid" confirmed
sleep 0.2
check_eq "carol got the answer in the ACK" "sendrecv idle" "$(get $A.101 $cid '.media.direction + " " + .sdp.state')"
check_eq "carol's route set: P-CSCF, S-CSCF (term), S-CSCF (orig), P-CSCF" 4 "$(get $A.101 $cid '.route_set | length')"
check_eq "carol hangs up" 200 "$(act $A.101 $cid hangup)"
check "alice terminated" wait_state $A.100 "$id" terminated
# carol calls bob over TCP with 100rel and no offer: 183 carries the offer, PRACK the answer
id=$(call $A.101 tel:+16660002 '"offer": false, "100rel": true')
check "carol -> bob, no offer + 100rel" wait_state $A.101 "$id" confirmed
check_eq "carol answered in the PRACK" "PRACK 2 +sdp" "$(get $A.101 $id '[.events[].what] | map(select(startswith("PRACK"))) | .[0]')"
act $A.101 "$id" hangup >/dev/null
check "bob terminated" wait_state $B.100 "$(incoming $B.100)" terminated

# codec mismatch across the lab: 488
settings $B.100 '{"codecs": ["G722"]}'
id=$(call $A.100 sip:bob@ims.beta.test)
check "no common codec: 488" sh -c "sleep 0.5; curl -s http://$A.100:8080/calls/$id | jq -e '.last_status == 488' >/dev/null"
settings $B.100 '{"codecs": ["PCMU", "PCMA", "telephone-event"]}'
# MESSAGE to a tel URI and back
check_eq "bob -> alice MESSAGE by tel URI" 200 "$(curl -s -o /dev/null -w '%{http_code}' -X POST http://$B.100:8080/messages -d '{"target": "tel:+15550001", "text": "hi alice"}')"
check_eq "alice got it with bob's asserted identity" "sip:bob@ims.beta.test" "$(curl -s http://$A.100:8080/messages | jq -r '.messages[-1].asserted_identity')"
check "no stray responses or retransmissions at alice" sh -c "curl -s http://$A.100:8080/metrics | grep -q '^ue_sip_retransmissions_total 0'"
check_eq "alice's calls: placed / answered" "3 2" "$(curl -s http://$A.100:8080/metrics | awk '/^ue_calls_placed_total/ {p=$2} /^ue_calls_answered_total\{direction="outgoing"\}/ {a=$2} END {print p, a}')"
finish
