# The S-CSCF registrar against the real HSS, driven directly (no P-/I-CSCF): SIPp as an
# independent AKA and Digest MD5 client (registration, re-registration, de-registration,
# expiry, barred subscription), raw REGISTERs for the 400/423/403 answers, then the
# full P -> I -> S chain with the test UE forced to resynchronise, and the HSS going away
# (480). After each step the S-CSCF's and the HSS's REST views must agree.
# Addresses: 127.0.4.x (tests/e2e/topologies/scscf.json).
. "$(dirname "$0")/lib.sh"
topo=$top/tests/e2e/topologies/scscf.json
P=127.0.4
S=http://$P.3:8080
H=http://$P.10:8080
ALICE_K=0xaaf0b84ce835ceaee3a93116e82627ed
ALICE_OP=0xb2024a034f549bd456bb650e43dbef13
ZED_K=0x2c42c83d08399adec270e868d2def055
ZED_OP=0xd6ddeb5075141eed8612929c68a73f76

start_node "$topo" hss.ims.alpha.test || { finish; exit 1; }
start_node "$topo" scscf.ims.alpha.test --min-expires 2 || { finish; exit 1; }

# A SIPp scenario: REGISTER -> 401 -> REGISTER with SIPp's own response -> EXPECT.
cat >"$scratch/reg.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="S-CSCF registration">
  <send retrans="500"><![CDATA[

      REGISTER sip:ims.alpha.test SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:@USER@>;tag=[pid]SIPpTag[call_number]
      To: <sip:@USER@>
      Call-ID: [call_id]
      CSeq: [cseq] REGISTER
      Contact: <sip:ue@[local_ip]:[local_port]>
      Expires: @EXPIRES@
      Authorization: Digest username="@USER@", realm="ims.alpha.test", nonce="", uri="sip:ims.alpha.test", response=""
      Content-Length: 0

    ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[

      REGISTER sip:ims.alpha.test SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:@USER@>;tag=[pid]SIPpTag[call_number]
      To: <sip:@USER@>
      Call-ID: [call_id]
      CSeq: [cseq] REGISTER
      Contact: <sip:ue@[local_ip]:[local_port]>
      Expires: @EXPIRES@
      [authentication username=@USER@ @AUTH@]
      Content-Length: 0

    ]]></send>
  <recv response="@EXPECT@"/>
</scenario>
EOF

metric() { curl -s $S/metrics | awk -v m="$1" '$1 == m {print $2}'; }

# sipp_reg USER AUTH EXPIRES EXPECT: one SIPp registration; SIPp computes a wrong response
# when RES holds a 0x00 byte (FIELD-NOTES), so a run the S-CSCF counted as an
# authentication failure is repeated with a fresh vector, at most 3 times.
sipp_reg() {
	local try fails
	sed -e "s|@USER@|$1|g" -e "s|@AUTH@|$2|" -e "s|@EXPIRES@|$3|g" -e "s|@EXPECT@|$4|" \
		"$scratch/reg.xml" >"$scratch/run.xml"
	for try in 1 2 3; do
		fails=$(metric scscf_auth_failures_total)
		(cd "$scratch" && timeout 20 sipp -sf run.xml -i $P.200 -p 5060 -t u1 -m 1 \
			-auth_uri sip:ims.alpha.test -nostdin -nd -recv_timeout 5000 \
			-trace_err $P.3:5060 >/dev/null 2>&1) && return 0
		[ "$(metric scscf_auth_failures_total)" != "$fails" ] || return 1
	done
	return 1
}

# sip_send: the message on stdin (LF line ends) over UDP to the S-CSCF; prints the final
# answer (provisional ones skipped), or "no answer".
sip_send() {
	"$bin/sipsend" --crlf --final --from $P.201 --timeout 8000 $P.3:5060 -
}
status_of() { sip_send | head -n1 | tr -d '\r'; }
# sipp_reg_exact ARGS: sipp_reg, and the S-CSCF must not have counted a wrong response
# (a 403 expected for another reason must not be SIPp's RES bug)
sipp_reg_exact() {
	local try fails
	for try in 1 2 3; do
		fails=$(metric scscf_auth_failures_total)
		sipp_reg "$@" || return 1
		[ "$(metric scscf_auth_failures_total)" = "$fails" ] && return 0
	done
	return 1
}
# raw METHOD USER HEADERS...: a request from the raw sender (each header one argument)
raw() {
	local m=$1 u=$2 h
	shift 2
	printf '%s sip:ims.alpha.test SIP/2.0\nVia: SIP/2.0/UDP 127.0.4.201:5060;branch=z9hG4bK-%s\n' "$m" "$RANDOM$RANDOM"
	printf 'Max-Forwards: 70\nFrom: <sip:%s>;tag=raw\nTo: <sip:%s>\nCall-ID: raw-%s\nCSeq: 1 %s\n' "$u" "$u" "$RANDOM" "$m"
	for h in "$@"; do printf '%s\n' "$h"; done
	printf 'Content-Length: 0\n\n'
}
scscf_state() { curl -s "$S/registrations/$1" | jq -r '.state // "none"'; }
hss_state() { curl -s "$H/subscribers/$1" | jq -r .serving.state; }

alice_aka="aka_K=$ALICE_K aka_OP=$ALICE_OP aka_AMF=0x8000"

# AKA registration (TS 24.229 5.4.1.2)
check "SIPp registers alice with AKAv1-MD5" sipp_reg alice@ims.alpha.test "$alice_aka" 600 200
check_eq "S-CSCF and HSS agree alice is registered" "registered registered" \
	"$(scscf_state sip:alice@ims.alpha.test) $(hss_state alice@ims.alpha.test)"
check_eq "the implicit set finds the same registration" \
	"alice@ims.alpha.test sip:ue@$P.200:5060" \
	"$(curl -s "$S/registrations/tel:+15550001" | jq -r '"\(.impi) \(.contacts[0].uri)"')"
check_eq "barred identity kept out of the associated URIs" \
	"sip:alice@ims.alpha.test,tel:+15550001|sip:alice.hidden@ims.alpha.test" \
	"$(curl -s "$S/registrations/sip:alice@ims.alpha.test" |
		jq -r '"\(.associated_uris | join(","))|\(.barred_uris | join(","))"')"
check_eq "HSS names this S-CSCF" "sip:scscf.ims.alpha.test:5060" \
	"$(curl -s "$H/subscribers/alice@ims.alpha.test" | jq -r .serving.scscf)"
check_eq "/registrations lists one" 1 "$(curl -s $S/registrations | jq .count)"
check_eq "unknown IMPU: 404" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$S/registrations/sip:nobody@ims.alpha.test")"

# Re-registration refreshes the one binding (RFC 3261 10.3 step 7: new Call-ID)
check "SIPp re-registers alice" sipp_reg alice@ims.alpha.test "$alice_aka" 900 200
check_eq "re-registration counted" 1 "$(metric scscf_reg_re_success_total)"
check_eq "still one binding, refreshed to 900 s" "1 true" \
	"$(curl -s "$S/registrations/sip:alice@ims.alpha.test" |
		jq -r '"\(.contacts | length) \(.contacts[0].expires_in > 850)"')"

# SIP Digest MD5 (TS 24.229 5.4.1.2.1B)
check "SIPp registers dave with Digest MD5" sipp_reg dave@ims.alpha.test "password=dave-secret" 600 200
check_eq "views agree on dave" "registered registered" \
	"$(scscf_state sip:dave@ims.alpha.test) $(hss_state dave@ims.alpha.test)"
check "SIPp with a wrong MD5 password gets 403" sipp_reg dave@ims.alpha.test "password=nope" 600 403

# A barred subscription authenticates but cannot register (TS 24.229 5.4.1.2.2)
check "barred zed: 403 after authentication" sipp_reg_exact zed@ims.alpha.test \
	"aka_K=$ZED_K aka_OP=$ZED_OP aka_AMF=0x8000" 600 403
check_eq "zed registered nowhere" "none not_registered" \
	"$(scscf_state sip:zed@ims.alpha.test) $(hss_state zed@ims.alpha.test)"

# De-registration (TS 24.229 5.4.1.4)
check "SIPp de-registers dave (Expires: 0)" sipp_reg dave@ims.alpha.test "password=dave-secret" 0 200
check_eq "views agree dave is gone" "none not_registered" \
	"$(scscf_state sip:dave@ims.alpha.test) $(hss_state dave@ims.alpha.test)"

# Expiry (TS 24.229 5.4.1.5): 2 s, never refreshed
check "SIPp registers dave for 2 s" sipp_reg dave@ims.alpha.test "password=dave-secret" 2 200
sleep 3
check_eq "after expiry: gone, HSS told (TIMEOUT_DEREGISTRATION)" "none not_registered 1" \
	"$(scscf_state sip:dave@ims.alpha.test) $(hss_state dave@ims.alpha.test) $(metric scscf_reg_expired_total)"

# Bad input answered at once
check_eq "no Contact: 400" "SIP/2.0 400 Missing Contact header" \
	"$(raw REGISTER alice@ims.alpha.test | status_of)"
check_eq "Expires below --min-expires: 423" "SIP/2.0 423 Interval Too Brief|Min-Expires: 2" \
	"$(raw REGISTER alice@ims.alpha.test "Contact: <sip:x@$P.201>" "Expires: 1" | sip_send |
		tr -d '\r' | awk 'NR == 1 {s = $0} /^Min-Expires/ {m = $0} END {print s "|" m}')"
check_eq "Contact * without Expires 0: 400" \
	"SIP/2.0 400 Contact * needs Expires 0 and no other Contact" \
	"$(raw REGISTER alice@ims.alpha.test "Contact: *" | status_of)"
check_eq "malformed Authorization: 400" "SIP/2.0 400 Malformed Authorization header" \
	"$(raw REGISTER alice@ims.alpha.test "Contact: <sip:x@$P.201>" 'Authorization: Digest username="x' | status_of)"
check_eq "unknown user (MAA 5001): 403" "SIP/2.0 403 Forbidden" \
	"$(raw REGISTER nobody@ims.alpha.test "Contact: <sip:x@$P.201>" | status_of)"
check_eq "first REGISTER: 401 with AKA challenge, CK and IK" "SIP/2.0 401 Unauthorized 1" \
	"$(raw REGISTER alice@ims.alpha.test "Contact: <sip:x@$P.201>" | sip_send | tr -d '\r' |
		awk 'NR == 1 {s = $0} /^WWW-Authenticate: Digest .*algorithm=AKAv1-MD5.*ck=".*ik="/ {n++}
		END {print s, n}')"
check_eq "OPTIONS: 200" "SIP/2.0 200 OK" "$(raw OPTIONS alice@ims.alpha.test | status_of)"
check_eq "INVITE for the domain, no user (terminating, tests/e2e/t_scscf_call.sh): 404" \
	"SIP/2.0 404 Not Found" "$(raw INVITE alice@ims.alpha.test "Contact: <sip:x@$P.201>" | status_of)"

# The full chain, and resync: the UE's USIM is far ahead of the HSS (TS 33.102 6.3.5)
for n in icscf.ims.alpha.test pcscf.ims.alpha.test; do start_node "$topo" $n || { finish; exit 1; }; done
start_node "$topo" alice.ims.alpha.test --sqn-ms 00000fff0000 || { finish; exit 1; }
resyncs=$(metric scscf_auth_resyncs_total)
check_eq "UE registers alice through P- and I-CSCF" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST http://$P.100:8080/register)"
check "the S-CSCF saw an auts (resync)" test "$(metric scscf_auth_resyncs_total)" -gt "${resyncs:-0}"
check_eq "S-CSCF stored the P-CSCF's Path" "<sip:term@pcscf.ims.alpha.test:5060;lr>" \
	"$(curl -s "$S/registrations/sip:alice@ims.alpha.test" |
		jq -r '.contacts[] | select(.uri | contains("127.0.4.100")) | .path[0]')"
stop_node alice.ims.alpha.test
stop_node pcscf.ims.alpha.test
stop_node icscf.ims.alpha.test

# The HSS goes away: 480 (TS 24.229 5.3.1.2, as the I-CSCF answers), not ready
stop_node hss.ims.alpha.test
check_eq "HSS gone: 480" "SIP/2.0 480 Temporarily Unavailable" \
	"$(raw REGISTER alice@ims.alpha.test "Contact: <sip:x@$P.201>" | status_of)"
check_eq "S-CSCF not ready without its HSS" false "$(curl -s $S/status | jq .ready)"
check "S-CSCF still alive" alive scscf.ims.alpha.test
# Back again: the S-CSCF reconnects (and then stops quickly: freeDiameter waits ~15 s
# at shutdown for a peer it is still trying to reach).
start_node "$topo" hss.ims.alpha.test || { finish; exit 1; }
ready_again() {
	for _ in $(seq 1 100); do
		[ "$(curl -s $S/status | jq .ready)" = true ] && return 0
		sleep 0.1
	done
	return 1
}
check "S-CSCF ready again once the HSS is back" ready_again
check_eq "REGISTER answered again (401)" "SIP/2.0 401 Unauthorized" \
	"$(raw REGISTER alice@ims.alpha.test "Contact: <sip:x@$P.201>" | status_of)"
stop_node scscf.ims.alpha.test
check "S-CSCF stopped by SIGTERM" grep -q stopping "$scratch/scscf.ims.alpha.test/log"
check "S-CSCF process gone" eval "! alive scscf.ims.alpha.test"

finish
