# Registration end to end on a two-domain lab: the test UE over UDP and TCP with AKA,
# a Digest MD5 UE, SIPp as an independent AKA client, resync, re-registration,
# de-registration, expiry, and the failures (wrong password, unknown user, foreign
# domain); after each step the P-CSCF, S-CSCF and HSS REST views must agree.
. "$(dirname "$0")/lib.sh"
topo=$top/tests/e2e/topologies/reg.json
A=127.0.7
B=127.0.6

for n in hss.ims.alpha.test hss.ims.beta.test; do start_node "$topo" $n || { finish; exit 1; }; done
start_node "$topo" scscf.ims.alpha.test --min-expires 1 || { finish; exit 1; }
start_node "$topo" scscf.ims.beta.test || { finish; exit 1; }
for n in icscf.ims.alpha.test icscf.ims.beta.test pcscf.ims.alpha.test pcscf.ims.beta.test \
	alice.ims.alpha.test carol.ims.alpha.test dave.ims.alpha.test bob.ims.beta.test; do
	start_node "$topo" $n || { finish; exit 1; }
done

# register UE-ADDRESS: POST /register, prints the HTTP status
register() { curl -s -o "$scratch/reg.json" -w '%{http_code}' -X POST "http://$1:8080/register" ${2:+-d "$2"}; }
unregister() { curl -s -o "$scratch/reg.json" -w '%{http_code}' -X POST "http://$1:8080/unregister"; }
ue_state() { curl -s "http://$1:8080/status" | jq -r .registration.state; }
# views IMPU PCSCF SCSCF HSS IMPI: "pcscf-state scscf-state hss-state"
views() {
	local p s h
	p=$(curl -s "http://$2:8080/registrations/$1" | jq -r '.state // "none"')
	s=$(curl -s "http://$3:8080/registrations/$1" | jq -r '.state // "none"')
	h=$(curl -s "http://$4:8080/subscribers/$5" | jq -r .serving.state)
	echo "$p $s $h"
}
alpha_views() { views "$1" $A.1 $A.3 $A.10 "$2"; }

# AKA over UDP (alice) and TCP (carol)
check_eq "alice registers (UDP, AKA)" 200 "$(register $A.100)"
check_eq "alice's UE says registered" registered "$(ue_state $A.100)"
check_eq "P-CSCF, S-CSCF, HSS agree on alice" "registered registered registered" \
	"$(alpha_views sip:alice@ims.alpha.test alice@ims.alpha.test)"
check_eq "implicit set: tel URI registered too" "registered registered" \
	"$(views tel:+15550001 $A.1 $A.3 $A.10 alice@ims.alpha.test | cut -d' ' -f1-2)"
check_eq "HSS names the serving S-CSCF" "sip:scscf.ims.alpha.test:5060" \
	"$(curl -s http://$A.10:8080/subscribers/alice@ims.alpha.test | jq -r .serving.scscf)"
check_eq "S-CSCF echoed the P-CSCF Path" "sip:term@pcscf.ims.alpha.test:5060;lr" \
	"$(curl -s http://$A.3:8080/registrations/sip:alice@ims.alpha.test | jq -r '.contacts[0].path[0]' | tr -d '<>')"
check_eq "UE got the Service-Route" "sip:orig@scscf.ims.alpha.test:5060;lr" \
	"$(curl -s http://$A.100:8080/status | jq -r '.registration.service_route[0]' | tr -d '<>')"
check "P-CSCF stripped CK/IK from the 401 (UE never saw ck=)" sh -c \
	"! grep -q 'ck=' '$scratch/alice.ims.alpha.test/log'"
check_eq "carol registers (TCP, AKA)" 200 "$(register $A.101)"
check_eq "views agree on carol" "registered registered registered" \
	"$(alpha_views sip:carol@ims.alpha.test carol@ims.alpha.test)"
check_eq "bob registers in the other domain" 200 "$(register $B.100)"
check_eq "beta views agree on bob" "registered registered registered" \
	"$(views sip:bob@ims.beta.test $B.1 $B.3 $B.10 bob@ims.beta.test)"

# Digest MD5 (dave): right and wrong password
check_eq "dave registers with MD5" 200 "$(register $A.102)"
check_eq "views agree on dave" "registered registered registered" \
	"$(alpha_views sip:dave@ims.alpha.test dave@ims.alpha.test)"

# Re-registration keeps everything registered and counts a re-registration
re_before=$(curl -s http://$A.3:8080/metrics | awk '/^scscf_reg_re_success_total/ {print $2}')
check_eq "alice re-registers" 200 "$(register $A.100)"
re_after=$(curl -s http://$A.3:8080/metrics | awk '/^scscf_reg_re_success_total/ {print $2}')
check "S-CSCF counted the re-registration" test "${re_after:-0}" -gt "${re_before:-0}"
check_eq "views still agree on alice" "registered registered registered" \
	"$(alpha_views sip:alice@ims.alpha.test alice@ims.alpha.test)"

# De-registration
check_eq "carol de-registers" 200 "$(unregister $A.101)"
check_eq "views agree carol is gone" "none none not_registered" \
	"$(alpha_views sip:carol@ims.alpha.test carol@ims.alpha.test)"

# Expiry: register for 2 s, kill the UE so it cannot refresh, wait
check_eq "dave registers for 2 s" 200 "$(register $A.102 '{"expires": 2}')"
kill -9 "$(cat "$scratch/dave.ims.alpha.test/pid")"
sleep 3.5
check_eq "after expiry no node keeps dave" "none none not_registered" \
	"$(alpha_views sip:dave@ims.alpha.test dave@ims.alpha.test)"

# Resync: carol's USIM is far ahead of the HSS (TS 33.102 6.3.5)
stop_node carol.ims.alpha.test
start_node "$topo" carol.ims.alpha.test --sqn-ms 0000fff00000 || { finish; exit 1; }
check_eq "carol registers after a resync" 200 "$(register $A.101)"
check_eq "her UE counted one resync" 1 "$(curl -s http://$A.101:8080/status | jq .registration.resyncs)"
check_eq "views agree on carol" "registered registered registered" \
	"$(alpha_views sip:carol@ims.alpha.test carol@ims.alpha.test)"

# Failures: wrong MD5 password, unknown user, a REGISTER for another home domain
start_node "$topo" dave.ims.alpha.test --password not-daves || { finish; exit 1; }
check_eq "wrong password: 403" 403 "$(register $A.102)"
check_eq "and nobody registered dave" "none none not_registered" \
	"$(alpha_views sip:dave@ims.alpha.test dave@ims.alpha.test)"
# request METHOD RURI USER [HEADERS...]: a raw request as the UE 127.0.7.200 would send it
request() {
	local m=$1 ruri=$2 user=$3 h
	shift 3
	printf '%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s.200:5099;branch=z9hG4bK%s;rport\r\n' \
		"$m" "$ruri" $A "$RANDOM$RANDOM"
	printf 'Max-Forwards: 70\r\nFrom: <sip:%s>;tag=t%s\r\nTo: <sip:%s>\r\n' "$user" "$RANDOM" "$user"
	printf 'Call-ID: c%s@e2e\r\nCSeq: 1 %s\r\nContact: <sip:x@%s.200:5099>\r\n' "$RANDOM$RANDOM" "$m" $A
	for h in "$@"; do printf '%s\r\n' "$h"; done
	printf 'Content-Length: 0\r\n\r\n'
}
send() { "$bin/sipsend" --from $A.200 --timeout 1500 "$@" | grep -v '^SIP/2.0 100' | head -n1; }
check_eq "unknown user: 403" "SIP/2.0 403" \
	"$(request REGISTER sip:ims.alpha.test nobody@ims.alpha.test | send $A.1:5060 - | cut -c1-11)"
check_eq "REGISTER for the other domain through this P-CSCF (roaming refused): 403" "SIP/2.0 403" \
	"$(request REGISTER sip:ims.beta.test bob@ims.beta.test | send $A.1:5060 - | cut -c1-11)"
check_eq "REGISTER for a domain not in the lab: 403" "SIP/2.0 403" \
	"$(request REGISTER sip:ims.nowhere.test x@ims.nowhere.test | send $A.1:5060 - | cut -c1-11)"
check_eq "MESSAGE from an unregistered UE: 403" "SIP/2.0 403" \
	"$(request MESSAGE sip:alice@ims.alpha.test nobody@ims.alpha.test | send $A.1:5060 - | cut -c1-11)"

# SIPp as an independent AKA client through the P-CSCF (it checks the network's MAC)
k=$(jq -r '.domains[0].subscribers[] | select(.impi == "carol@ims.alpha.test") | .k' "$topo")
op=$(jq -r '.domains[0].subscribers[] | select(.impi == "carol@ims.alpha.test") | .op' "$topo")
"$top/tests/sipp/scenario" reg-aka carol@ims.alpha.test "$k" "$op" >"$scratch/reg.xml"
check "SIPp registers carol with AKAv1-MD5 (3 times)" sh -c "cd '$scratch' &&
	sipp -sf reg.xml -i $A.201 -p 5060 -m 3 -r 10 -nostdin -default_behaviors -bye \
	-auth_uri sip:ims.alpha.test -recv_timeout 5000 -timeout 20 $A.1:5060 >/dev/null 2>&1"
check_eq "S-CSCF lists SIPp's contact beside carol's UE" 2 \
	"$(curl -s http://$A.3:8080/registrations/sip:carol@ims.alpha.test | jq '.contacts | length')"

# Bad input at the P-CSCF: answered 400 (or dropped when no answer is possible),
# and the node keeps running with its registrations
good=$(request OPTIONS sip:ims.alpha.test alice@ims.alpha.test)
bad() { # name expected text
	check_eq "bad input, $1" "$2" "$(printf '%b' "$3" | send $A.1:5060 - | cut -c1-11)"
}
bad "missing Call-ID" "SIP/2.0 400" "$(echo "$good" | grep -v '^Call-ID')"
bad "missing Via" "no answer" "$(echo "$good" | grep -v '^Via')"
bad "missing CSeq" "SIP/2.0 400" "$(echo "$good" | grep -v '^CSeq')"
bad "absurd Content-Length" "SIP/2.0 400" "$(echo "$good" | sed 's/^Content-Length: 0/Content-Length: 99999999/')"
bad "truncated headers" "SIP/2.0 400" "$(echo "$good" | head -n 4)"
bad "binary garbage" "no answer" "\x00\x01\xffINVITE\x00\x80garbage\r\n\r\n"
flood=$(for i in $(seq 1 300); do printf 'X-Flood-%d: %d\r\n' "$i" "$i"; done)
bad "header flood (over 128 header lines)" "SIP/2.0 400" "$(echo "$good" | sed "s/^Contact:/${flood//$'\n'/}Contact:/")"
head -c 70000 /dev/zero | tr '\0' 'a' >"$scratch/huge"
check_eq "bad input, oversized datagram dropped" "no answer" \
	"$("$bin/sipsend" --from $A.200 --timeout 500 $A.1:5060 "$scratch/huge" 2>/dev/null || echo 'no answer')"
check "P-CSCF still running" alive pcscf.ims.alpha.test
check_eq "and still knows alice" registered \
	"$(curl -s http://$A.1:8080/registrations/sip:alice@ims.alpha.test | jq -r .state)"

finish
