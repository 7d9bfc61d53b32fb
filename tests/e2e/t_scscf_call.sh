# The S-CSCF's call routing (TS 24.229 5.4.3) against the real HSS, with SIPp standing in
# for the P-CSCFs, the I-CSCFs and the UEs around it: registrations with a Path made by
# SIPp (MD5), then terminating calls (Request-URI := contact, Route := Path,
# Record-Route, ACK and BYE along the route set), a parallel fork to two contacts where
# the one that does not answer is cancelled, originating calls to the I-CSCF of the own
# domain, of another domain and of a tel number range, and the refusals (403, 404, 416,
# 480 after SAR UNREGISTERED_USER, 604). /dialogs and /metrics must tell the same story.
# Then the whole lab with the test UEs: calls across domains (sip and tel), in the own
# domain through the same S-CSCF twice, to an unregistered and an unknown user.
# Addresses: 127.0.10.x (ims.alpha.test) and 127.0.11.x (ims.beta.test),
# tests/e2e/topologies/scscf-call.json.
. "$(dirname "$0")/lib.sh"
topo=$top/tests/e2e/topologies/scscf-call.json
P=127.0.10
S=http://$P.3:8080
H=http://$P.10:8080
SCSCF=$P.3:5060
RR='<sip:scscf.ims.alpha.test:5060;lr>'

start_node "$topo" hss.ims.alpha.test || { finish; exit 1; }
start_node "$topo" scscf.ims.alpha.test || { finish; exit 1; }

metric() { curl -s $S/metrics | awk -v m="$1" '$1 == m {print $2}'; }

# --- SIPp scenarios (placeholders %NAME% filled by sed) ---------------------------------

# A registration with Digest MD5 and a Path, as a P-CSCF would forward it.
cat >"$scratch/reg.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register with Path">
  <send retrans="500"><![CDATA[

      REGISTER sip:ims.alpha.test SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:%USER%@ims.alpha.test>;tag=[pid]SIPpTag[call_number]
      To: <sip:%USER%@ims.alpha.test>
      Call-ID: [call_id]
      CSeq: [cseq] REGISTER
      Path: <sip:term@%UA%;lr>
      Contact: <sip:%USER%@%UA%>
      Expires: 600
      Authorization: Digest username="%USER%@ims.alpha.test", realm="ims.alpha.test", nonce="", uri="sip:ims.alpha.test", response=""
      Content-Length: 0

    ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[

      REGISTER sip:ims.alpha.test SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:%USER%@ims.alpha.test>;tag=[pid]SIPpTag[call_number]
      To: <sip:%USER%@ims.alpha.test>
      Call-ID: [call_id]
      CSeq: [cseq] REGISTER
      Path: <sip:term@%UA%;lr>
      Contact: <sip:%USER%@%UA%>
      Expires: 600
      [authentication username=%USER%@ims.alpha.test password=%USER%-secret]
      Content-Length: 0

    ]]></send>
  <recv response="200"/>
</scenario>
EOF

# The caller: INVITE with SDP (an originating one carries our orig Route and a
# P-Asserted-Identity, as the P-CSCF sends it), ACK and BYE along the Record-Route set.
cat >"$scratch/uac.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="UAC">
  <send retrans="500"><![CDATA[

      INVITE %RURI% SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      %ROUTE%
      %PAI%
      From: <sip:alice@ims.alpha.test>;tag=[pid]SIPpTag00[call_number]
      To: <%RURI%>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:alice@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      [routes]
      From: <sip:alice@ims.alpha.test>;tag=[pid]SIPpTag00[call_number]
      To: <%RURI%>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0

    ]]></send>
  <pause milliseconds="%HOLD%"/>
  <send retrans="500"><![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      [routes]
      From: <sip:alice@ims.alpha.test>;tag=[pid]SIPpTag00[call_number]
      To: <%RURI%>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Content-Length: 0

    ]]></send>
  <recv response="200"/>
</scenario>
EOF

# The callee that answers (a P-CSCF and UE in one): 180, 200 with SDP, then ACK and BYE.
cat >"$scratch/uas.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="UAS answers">
  <recv request="INVITE"/>
  <send><![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]></send>
  <pause milliseconds="%DELAY%"/>
  <send retrans="500"><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 2 2 IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]></send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]></send>
</scenario>
EOF

# The callee that only rings: the fork's other branch, cancelled (RFC 3261 16.7 step 10).
cat >"$scratch/uas-ring.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="UAS rings, is cancelled">
  <recv request="INVITE"/>
  <send><![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag02[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]></send>
  <recv request="CANCEL"/>
  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]></send>
  <send><![CDATA[

      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag02[call_number]
      [last_Call-ID:]
      CSeq: 1 INVITE
      Content-Length: 0

    ]]></send>
  <recv request="ACK"/>
</scenario>
EOF

# sipp_reg USER UA: registers USER@ims.alpha.test with Contact and Path at UA (ip:port)
sipp_reg() {
	sed -e "s|%USER%|$1|g" -e "s|%UA%|$2|g" "$scratch/reg.xml" >"$scratch/reg-$1.xml"
	(cd "$scratch" && timeout 20 sipp -sf "reg-$1.xml" -i $P.60 -p 5060 -t u1 -m 1 \
		-auth_uri sip:ims.alpha.test -nostdin -nd -recv_timeout 5000 $SCSCF >/dev/null 2>&1)
}

# uas NAME IP PORT SCENARIO [DELAY] [TRANSPORT]: a callee in the background, its messages
# traced
uas() {
	sed -e "s|%DELAY%|${5:-100}|g" "$scratch/$4.xml" >"$scratch/$1.xml"
	(cd "$scratch" && exec timeout 20 sipp -sf "$1.xml" -i "$2" -p "$3" -t "${6:-u1}" -m 1 -nostdin -nd \
		-recv_timeout 10000 -trace_msg -message_file "$scratch/$1.msg" >/dev/null 2>&1) &
	echo $! >"$scratch/$1.pid"
	sleep 0.3
}
uas_ok() { wait "$(cat "$scratch/$1.pid")"; }

# uac NAME RURI ROUTE PAI [HOLD]: one call to the S-CSCF (ROUTE and PAI: a header line or
# "-"); returns SIPp's status
uac() {
	local route=${3/#-/X-No-Route: 1} pai=${4/#-/X-No-PAI: 1}
	sed -e "s|%RURI%|$2|g" -e "s|%ROUTE%|$route|" -e "s|%PAI%|$pai|" \
		-e "s|%HOLD%|${5:-200}|" "$scratch/uac.xml" >"$scratch/$1.xml"
	(cd "$scratch" && timeout 20 sipp -sf "$1.xml" -i $P.61 -p 5060 -t u1 -m 1 -nostdin -nd \
		-recv_timeout 10000 -trace_msg -message_file "$scratch/$1.msg" $SCSCF >/dev/null 2>&1)
}

# first_request FILE METHOD: the first METHOD request SIPp traced in FILE, CRs removed
first_request() {
	awk -v m="$2" '
		/^-+ .*$/ { if (inmsg) exit; next }
		!inmsg && $0 ~ "^" m " " { inmsg = 1 }
		inmsg && /^\r?$/ { exit }
		inmsg { print }' "$1" | tr -d '\r'
}
header() { grep -i "^$1:" | head -n1 | sed "s/^[^:]*: *//"; }

# sip_send: the message on stdin (LF line ends) over UDP to the S-CSCF; prints the final
# answer (provisional ones skipped), or "no answer".
sip_send() {
	"$bin/sipsend" --crlf --final --from $P.201 --timeout 8000 $P.3:5060 -
}
status_of() { sip_send | head -n1 | tr -d '\r'; }
# req METHOD RURI [HEADER...]: a request as the raw sender writes it
req() {
	local m=$1 u=$2 h
	shift 2
	printf '%s %s SIP/2.0\nVia: SIP/2.0/UDP 127.0.10.201:5060;branch=z9hG4bK-%s\n' "$m" "$u" "$RANDOM$RANDOM"
	printf 'Max-Forwards: 70\nFrom: <sip:alice@ims.alpha.test>;tag=raw\nCall-ID: raw-%s\nCSeq: 1 %s\n' "$RANDOM$RANDOM" "$m"
	for h in "$@"; do printf '%s\n' "$h"; done
	printf 'Content-Length: 0\n\n'
}
ORIG='Route: <sip:orig@scscf.ims.alpha.test:5060;lr>'
PAI_ALICE='P-Asserted-Identity: <sip:alice@ims.alpha.test>'
# orig RURI [PAI]: an originating INVITE as the P-CSCF forwards it
orig() { req INVITE "$1" "$ORIG" "${2:-$PAI_ALICE}" "To: <$1>" "Contact: <sip:alice@$P.50:5070>"; }
# term RURI: a terminating INVITE as an I-CSCF forwards it
term() { req INVITE "$1" "To: <$1>" "Contact: <sip:alice@$P.61:5060>"; }

# --- registrations ----------------------------------------------------------------------

check "alice registers, Path <sip:term@$P.50:5070;lr>" sipp_reg alice $P.50:5070
check "dave registers a first contact ($P.51)" sipp_reg dave $P.51:5070
check "dave registers a second contact ($P.52)" sipp_reg dave $P.52:5070
check_eq "dave has two bindings, each with its Path" \
	"<sip:term@$P.51:5070;lr> <sip:term@$P.52:5070;lr>" \
	"$(curl -s "$S/registrations/sip:dave@ims.alpha.test" |
		jq -r '[.contacts[].path[0]] | sort | join(" ")')"

# --- terminating (TS 24.229 5.4.3.3) ------------------------------------------------------

uas t1 $P.50 5070 uas
uac t1c sip:alice@ims.alpha.test - - 1500 &
uac_pid=$!
sleep 0.8
check_eq "/dialogs shows the confirmed dialog with our Record-Route" "1 confirmed $RR" \
	"$(curl -s $S/dialogs | jq -r '"\(.total) \(.dialogs[0].state) \(.dialogs[0].route_set | join(","))"')"
wait $uac_pid
check_eq "terminating call to alice (as from an I-CSCF): 200, ACK, BYE" 0 $?
check "callee saw the whole call" uas_ok t1
inv=$(first_request "$scratch/t1.msg" INVITE)
check_eq "Request-URI := the registered contact" "INVITE sip:alice@$P.50:5070 SIP/2.0" \
	"$(echo "$inv" | head -n1)"
check_eq "Route := the stored Path" "<sip:term@$P.50:5070;lr>" "$(echo "$inv" | header Route)"
check_eq "Record-Route: the S-CSCF" "$RR" "$(echo "$inv" | header Record-Route)"
check "body untouched (SDP of the caller)" eval "grep -q '^m=audio' '$scratch/t1.msg'"
check_eq "ACK and BYE reached the callee through the S-CSCF" "ACK BYE" \
	"$(for m in ACK BYE; do first_request "$scratch/t1.msg" $m | head -n1 | cut -d' ' -f1; done | xargs)"
check_eq "the dialog is gone after the BYE" 0 "$(curl -s $S/dialogs | jq .total)"

# the implicit set: tel URI of alice reaches the same contact
uas t2 $P.50 5070 uas
check "terminating call to alice's tel URI" uac t2c "tel:+1-555-0001" - -
check "callee answered" uas_ok t2
check_eq "tel URI: Request-URI := the contact" "INVITE sip:alice@$P.50:5070 SIP/2.0" \
	"$(first_request "$scratch/t2.msg" INVITE | head -n1)"
check_eq "P-Called-Party-ID: the Request-URI as received" "<tel:+1-555-0001>" \
	"$(first_request "$scratch/t2.msg" INVITE | header P-Called-Party-ID)"

# parallel fork: .51 answers after 0.5 s, .52 rings and gets CANCEL
uas f1 $P.51 5070 uas 500
uas f2 $P.52 5070 uas-ring
check "call to dave forks to both contacts, the first to answer wins" uac f0 sip:dave@ims.alpha.test - -
check "the answering branch had the whole call" uas_ok f1
check "the other branch was cancelled (CANCEL, 487, ACK)" uas_ok f2
check_eq "each branch went along its own Path" "<sip:term@$P.51:5070;lr> <sip:term@$P.52:5070;lr>" \
	"$(for f in f1 f2; do first_request "$scratch/$f.msg" INVITE | header Route; done | xargs)"
check_eq "two branches counted" 4 "$(metric scscf_term_branches_total)"

# --- originating (TS 24.229 5.4.3.2) ------------------------------------------------------

uas o1 127.0.11.2 5060 uas
check "originating call to another domain goes to its I-CSCF" \
	uac o1c sip:bob@ims.beta.test "$ORIG" "$PAI_ALICE"
check "beta's I-CSCF (SIPp) had the whole call" uas_ok o1
inv=$(first_request "$scratch/o1.msg" INVITE)
check_eq "Request-URI unchanged" "INVITE sip:bob@ims.beta.test SIP/2.0" "$(echo "$inv" | head -n1)"
check_eq "our orig Route popped, none left" "" "$(echo "$inv" | header Route)"
check_eq "Record-Route: the S-CSCF" "$RR" "$(echo "$inv" | header Record-Route)"
check_eq "P-Asserted-Identity passed on" "<sip:alice@ims.alpha.test>" \
	"$(echo "$inv" | header P-Asserted-Identity)"

uas o2 127.0.11.2 5060 uas
check "originating call to a tel number of beta's range" \
	uac o2c "tel:+16660002" "$ORIG" "P-Asserted-Identity: <tel:+15550001>"
check "beta's I-CSCF answered" uas_ok o2
check_eq "tel Request-URI kept" "INVITE tel:+16660002 SIP/2.0" \
	"$(first_request "$scratch/o2.msg" INVITE | head -n1)"

uas o3 $P.2 5060 uas
check "originating call in the own domain goes through the own I-CSCF" \
	uac o3c sip:dave@ims.alpha.test "$ORIG" "$PAI_ALICE"
check "alpha's I-CSCF (SIPp) answered" uas_ok o3

# --- refusals ---------------------------------------------------------------------------

check_eq "originating, P-Asserted-Identity not registered here: 403" "SIP/2.0 403 Forbidden" \
	"$(orig sip:bob@ims.beta.test 'P-Asserted-Identity: <sip:erin@ims.alpha.test>' | status_of)"
check_eq "originating without P-Asserted-Identity: 403" "SIP/2.0 403 Forbidden" \
	"$(orig sip:bob@ims.beta.test 'X-None: 1' | status_of)"
check_eq "originating from a barred identity: 403" "SIP/2.0 403 Forbidden" \
	"$(orig sip:bob@ims.beta.test 'P-Asserted-Identity: <sip:alice.hidden@ims.alpha.test>' | status_of)"
check_eq "originating to a domain not in the topology: 404" "SIP/2.0 404 Not Found" \
	"$(orig sip:x@ims.gamma.test | status_of)"
check_eq "originating to a number in no range: 604" "SIP/2.0 604 Does Not Exist Anywhere" \
	"$(orig tel:+4930123456 | status_of)"
check_eq "originating to a local number: 404" "SIP/2.0 404 Not Found" \
	"$(orig 'tel:1234;phone-context=ims.alpha.test' | status_of)"
check_eq "originating to another URI scheme: 416" "SIP/2.0 416 Unsupported URI Scheme" \
	"$(orig mailto:bob@ims.beta.test | status_of)"
check_eq "counters: 3 forbidden, 4 unroutable" "3 4" \
	"$(metric scscf_orig_forbidden_total) $(metric scscf_orig_unroutable_total)"

sars=$(curl -s $S/status | jq .cx.SAR.requests)
check_eq "terminating to a known unregistered user: 480" "SIP/2.0 480 Temporarily Unavailable" \
	"$(term sip:erin@ims.alpha.test | status_of)"
check_eq "after SAR UNREGISTERED_USER: the HSS names us for erin" \
	"unregistered sip:scscf.ims.alpha.test:5060 $((sars + 1))" \
	"$(curl -s $H/subscribers/erin@ims.alpha.test | jq -r '"\(.serving.state) \(.serving.scscf)"') $(curl -s $S/status | jq .cx.SAR.requests)"
check_eq "terminating to a user the HSS does not know: 404" "SIP/2.0 404 Not Found" \
	"$(term sip:nobody@ims.alpha.test | status_of)"
check_eq "terminating to a barred identity: 404" "SIP/2.0 404 Not Found" \
	"$(term sip:alice.hidden@ims.alpha.test | status_of)"
check_eq "terminating to another domain's user: 404" "SIP/2.0 404 Not Found" \
	"$(term sip:bob@ims.beta.test | status_of)"
check_eq "MESSAGE to an unregistered user: 480" "SIP/2.0 480 Temporarily Unavailable" \
	"$(req MESSAGE sip:erin@ims.alpha.test 'To: <sip:erin@ims.alpha.test>' | status_of)"
check_eq "OPTIONS for the S-CSCF itself: 200" "SIP/2.0 200 OK" \
	"$(req OPTIONS sip:scscf.ims.alpha.test:5060 'To: <sip:scscf.ims.alpha.test>' | status_of)"
check_eq "OPTIONS for a user is routed: 480 for erin" "SIP/2.0 480 Temporarily Unavailable" \
	"$(req OPTIONS sip:erin@ims.alpha.test 'To: <sip:erin@ims.alpha.test>' | status_of)"
check_eq "in-dialog BYE whose next hop is the S-CSCF itself: 404" "SIP/2.0 404 Not Found" \
	"$(req BYE sip:scscf.ims.alpha.test:5060 'To: <sip:bob@ims.beta.test>;tag=x' | status_of)"

check_eq "sessions: INVITE attempts and 2xx counted by the core" "true true" \
	"$(curl -s $S/status | jq -c '"\(.sessions.attempts >= 6) \(.sessions.answered."2xx" >= 6)"' -r)"
check "the S-CSCF is still alive" alive scscf.ims.alpha.test

# --- the whole chain: P -> S -> I -> S -> P with the test UEs (ARCHITECTURE.md) ----------

for n in hss.ims.beta.test scscf.ims.beta.test icscf.ims.alpha.test icscf.ims.beta.test \
	pcscf.ims.alpha.test pcscf.ims.beta.test carol.ims.alpha.test bob.ims.beta.test; do
	start_node "$topo" $n || { finish; exit 1; }
done
CAROL=http://$P.100:8080
BOB=http://127.0.11.100:8080
S2=http://127.0.11.3:8080
check_eq "carol and bob register" "200 200" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST $CAROL/register) $(curl -s -o /dev/null -w '%{http_code}' -X POST $BOB/register)"

# call UE TARGET: places a call, prints its id
call() { curl -s -X POST -d "{\"target\": \"$2\"}" "$1/calls" | jq -r .id; }
# call_state UE ID: "state last_status"
call_state() { curl -s "$1/calls/$2" | jq -r '"\(.state) \(.last_status)"'; }
# wait_state UE ID STATE: until the call reaches STATE (5 s at most)
wait_state() {
	for _ in $(seq 1 50); do
		[ "$(curl -s "$1/calls/$2" | jq -r .state)" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# hosts: the hosts of a JSON array of Route/Record-Route values on stdin, comma-separated
hosts() { jq -r '[.[] | capture("sip:(?<h>[^:;>]+)").h] | join(",")'; }
last_call() { curl -s "$1/calls" | jq -r '.calls[-1].id'; }

id=$(call $CAROL sip:bob@ims.beta.test)
check "carol -> bob across domains: confirmed" wait_state $CAROL "$id" confirmed
bid=$(last_call $BOB)
check_eq "the route set bob sees: P-CSCF, S-CSCF of beta, S-CSCF, P-CSCF of alpha" \
	"pcscf.ims.beta.test,scscf.ims.beta.test,scscf.ims.alpha.test,pcscf.ims.alpha.test" \
	"$(curl -s "$BOB/calls/$bid" | jq "(.route_set // .dialog.route_set)" | hosts)"
check_eq "both S-CSCFs list the confirmed dialog" "1 confirmed 1 confirmed" \
	"$(curl -s $S/dialogs | jq -r '"\(.total) \(.dialogs[0].state)"') $(curl -s $S2/dialogs | jq -r '"\(.total) \(.dialogs[0].state)"')"
check_eq "bob hangs up: BYE along the route set" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BOB/calls/$bid/hangup")"
check "carol's call ends" wait_state $CAROL "$id" terminated
check_eq "the dialog is gone at both S-CSCFs" "0 0" \
	"$(curl -s $S/dialogs | jq .total) $(curl -s $S2/dialogs | jq .total)"

id=$(call $CAROL tel:+16660002)
check "carol -> tel:+16660002 (beta's range): confirmed" wait_state $CAROL "$id" confirmed
check_eq "carol hangs up" 200 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$CAROL/calls/$id/hangup")"
check "bob's side ends" wait_state $BOB "$(last_call $BOB)" terminated

# in the own domain: S-CSCF(orig) -> own I-CSCF -> the same S-CSCF(term), to frank, a
# SIPp contact registered with TCP (the INVITE is over 1300 bytes by then: RFC 3261
# 18.1.1) and a Path pointing at SIPp itself
check "frank registers a TCP contact" sipp_reg frank "$P.53:5070;transport=tcp"
uas b1 $P.53 5070 uas 100 t1
id=$(call $CAROL sip:frank@ims.alpha.test)
check "carol -> frank in the own domain (spiral through the S-CSCF): confirmed" \
	wait_state $CAROL "$id" confirmed
check_eq "the route set carol learnt: P-CSCF, S-CSCF (orig), S-CSCF (term)" \
	"pcscf.ims.alpha.test,scscf.ims.alpha.test,scscf.ims.alpha.test" \
	"$(curl -s "$CAROL/calls/$id" | jq "(.route_set // .dialog.route_set)" | hosts)"
check_eq "carol hangs up" 200 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$CAROL/calls/$id/hangup")"
check "frank's SIPp got INVITE, ACK and BYE" uas_ok b1

id=$(call $CAROL sip:erin@ims.alpha.test)
check "carol -> erin (not registered): terminated" wait_state $CAROL "$id" terminated
check_eq "... with 480" "terminated 480" "$(call_state $CAROL "$id")"
id=$(call $CAROL sip:nobody@ims.beta.test)
check "carol -> nobody@beta (unknown user): terminated" wait_state $CAROL "$id" terminated
check_eq "... with 404" "terminated 404" "$(call_state $CAROL "$id")"
id=$(call $CAROL tel:+4930123456)
check "carol -> a number in no range: terminated" wait_state $CAROL "$id" terminated
check_eq "... with 604" "terminated 604" "$(call_state $CAROL "$id")"
check "both S-CSCFs still alive" eval "alive scscf.ims.alpha.test && alive scscf.ims.beta.test"
finish
