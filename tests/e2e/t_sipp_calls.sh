# Calls through the P-CSCFs and I-CSCFs with SIPp as independent UEs (issue 4): a
# two-domain lab on 127.0.23.x (alpha) and 127.0.24.x (beta); SIPp registers with AKA,
# then calls across and inside the domains (UDP and TCP), by tel URI, with a Route that
# bypasses the Service-Route, with Privacy: id and a re-INVITE; BYE from either side;
# MESSAGE; 403/404/405/480 answers; /dialogs and the session counters.
. "$(dirname "$0")/lib.sh"
topo=${PI_TOPO:-$top/tests/e2e/topologies/pi-calls.json}
sipp=${PI_SIPP:-$top/tests/sipp}
A=127.0.23
B=127.0.24

for n in hss.ims.alpha.test hss.ims.beta.test scscf.ims.alpha.test scscf.ims.beta.test \
	icscf.ims.alpha.test icscf.ims.beta.test pcscf.ims.alpha.test pcscf.ims.beta.test; do
	start_node "$topo" $n || { finish; exit 1; }
done

key() { jq -r --arg i "$1" '.domains[].subscribers[] | select(.impi == $i) | .'$2 "$topo"; }
# fill TEMPLATE IMPI [CALLEE] [PAUSE1] [PAUSE2] > xml
fill() {
	local impi=$2
	sed -e "s/@IMPI@/$impi/g" -e "s/@DOMAIN@/${impi#*@}/g" -e "s/@USER@/${impi%@*}/g" \
		-e "s/@K@/0x$(key $impi k)/g" -e "s/@OP@/0x$(key $impi op)/g" \
		-e "s|@CALLEE@|${3:-}|g" -e "s/PAUSE1/${4:-0}/" -e "s/PAUSE2/${5:-0}/" "$1"
}
# reg IMPI UE-ADDR PCSCF-ADDR [sipp args]: SIPp registers IMPI from UE-ADDR:5060
reg() {
	local impi=$1 ue=$2 pcscf=$3; shift 3
	fill "$sipp/reg-aka.xml" $impi >"$scratch/reg-$impi.xml"
	(cd "$scratch" && sipp -sf reg-$impi.xml -i $ue -p 5060 -m 1 -nostdin -auth_uri sip:${impi#*@} \
		-recv_timeout 5000 -timeout 20 "$@" $pcscf:5060 >"reg-$impi.out" 2>&1)
}

check "SIPp registers bob (beta, UDP)" reg bob@ims.beta.test $B.150 $B.1
check "SIPp registers alice (alpha, UDP)" reg alice@ims.alpha.test $A.150 $A.1
check "SIPp registers carol (alpha, TCP)" reg carol@ims.alpha.test $A.151 $A.1 -t t1
check_eq "P-CSCF alpha holds carol over TCP" tcp \
	"$(curl -s http://$A.1:8080/registrations/sip:carol@ims.alpha.test | jq -r .contacts[0].transport)"

# uas NAME XML ADDR [sipp args]: starts a SIPp UAS in the background
uas() { local n=$1 x=$2 a=$3; shift 3
	(cd "$scratch" && exec sipp -sf $x -i $a -p 5060 -m 1 -nostdin -timeout 20 -trace_msg -message_file $n.msg "$@" >$n.out 2>&1) &
	uas_pid=$!; sleep 0.3; }
# uac NAME XML ADDR PCSCF [sipp args]
uac() { local n=$1 x=$2 a=$3 p=$4; shift 4
	(cd "$scratch" && sipp -sf $x -i $a -p 5060 -m 1 -nostdin -timeout 20 -recv_timeout 5000 -trace_msg -message_file $n.msg "$@" $p:5060 >$n.out 2>&1); }

# a) cross-domain, callee hangs up; dialogs seen mid-call
fill $sipp/uas-bye.xml bob@ims.beta.test "" 300 1500 >"$scratch/a-uas.xml"
fill $sipp/uac-wait-bye.xml alice@ims.alpha.test sip:bob@ims.beta.test >"$scratch/a-uac.xml"
uas a-uas a-uas.xml $B.150
uac a-uac a-uac.xml $A.150 $A.1 & uac_pid=$!
sleep 1.0
curl -s http://$A.1:8080/dialogs >"$scratch/a-dialogs-alpha.json"
curl -s http://$B.1:8080/dialogs >"$scratch/a-dialogs-beta.json"
wait $uac_pid; check_eq "a) alice calls bob, bob hangs up: caller side" 0 $?
wait $uas_pid; check_eq "a) bob's side" 0 $?
check_eq "a) P-CSCF alpha lists the confirmed dialog" "1 confirmed" "$(jq -r '"\(.total) \(.dialogs[0].state)"' "$scratch/a-dialogs-alpha.json")"
check_eq "a) P-CSCF beta lists it too" "1 confirmed" "$(jq -r '"\(.total) \(.dialogs[0].state)"' "$scratch/a-dialogs-beta.json")"
check_eq "a) callee saw exactly P-CSCF, S-CSCF, S-CSCF, P-CSCF in Record-Route" \
	"<sip:pcscf.ims.beta.test:5060;lr>,<sip:scscf.ims.beta.test:5060;lr>,<sip:scscf.ims.alpha.test:5060;lr>,<sip:pcscf.ims.alpha.test:5060;lr>" \
	"$(sed -n '/^INVITE /,/^$/p' "$scratch/a-uas.msg" | grep -i '^Record-Route:' | sed 's/^Record-Route: *//' | tr -d ' \r' | paste -sd,)"
check_eq "a) callee got alice's asserted identity" "<sip:alice@ims.alpha.test>" \
	"$(sed -n '/^INVITE /,/^$/p' "$scratch/a-uas.msg" | grep -i '^P-Asserted-Identity:' | head -1 | sed 's/^[^:]*: *//' | tr -d '\r')"
check_eq "a) caller got bob's asserted identity in the 200" "<sip:bob@ims.beta.test>" \
	"$(sed -n '/^SIP\/2.0 200/,/^$/p' "$scratch/a-uac.msg" | grep -i '^P-Asserted-Identity:' | head -1 | sed 's/^[^:]*: *//' | tr -d '\r')"
sdp() { awk '/^INVITE /{i=1} i&&/^v=0/{b=1} b&&/^-----/{exit} b' "$1" | tr -d '\r' | sed '/^$/d' | md5sum; }
check_eq "a) SDP offer reached bob untouched" "$(sdp "$scratch/a-uac.msg")" "$(sdp "$scratch/a-uas.msg")"
sleep 0.3
check_eq "a) dialogs gone after the BYE" "0 0" "$(curl -s http://$A.1:8080/dialogs | jq .total) $(curl -s http://$B.1:8080/dialogs | jq .total)"

# b) intra-domain over TCP: alice (UDP) calls carol (TCP, her connection reused)
fill $sipp/call-uas.xml carol@ims.alpha.test >"$scratch/b-uas.xml"
fill $sipp/call-uac.xml alice@ims.alpha.test sip:carol@ims.alpha.test >"$scratch/b-uac.xml"
uas b-uas b-uas.xml $A.151 -t t1
check "b) alice calls carol (TCP) in the same domain, caller hangs up" uac b-uac b-uac.xml $A.150 $A.1
wait $uas_pid; check_eq "b) carol's side" 0 $?
check_eq "b) carol's INVITE shows the P-CSCF twice (orig and term)" 2 \
	"$(sed -n '/^INVITE /,/^$/p' "$scratch/b-uas.msg" | grep -ic 'pcscf.ims.alpha.test')"

# c) tel URI: alice calls tel:+16660002 (bob)
fill $sipp/call-uas.xml bob@ims.beta.test >"$scratch/c-uas.xml"
fill $sipp/call-uac.xml alice@ims.alpha.test tel:+16660002 >"$scratch/c-uac.xml"
uas c-uas c-uas.xml $B.150
check "c) alice calls bob's tel URI" uac c-uac c-uac.xml $A.150 $A.1
wait $uas_pid; check_eq "c) bob answered" 0 $?

# d) a Route that bypasses the Service-Route is corrected (call still goes through alice's S-CSCF)
fill $sipp/call-uas.xml bob@ims.beta.test >"$scratch/d-uas.xml"
fill $sipp/call-uac.xml alice@ims.alpha.test sip:bob@ims.beta.test |
	sed 's|<sip:orig@scscf.ims.alpha.test:5060;lr>|<sip:scscf.ims.beta.test:5060;lr>|' >"$scratch/d-uac.xml"
before=$(curl -s http://$A.1:8080/metrics | awk '/^pcscf_call_requests_total\{outcome="route_replaced"\}/ {print $2}')
uas d-uas d-uas.xml $B.150
check "d) call with a bypassing Route still completes" uac d-uac d-uac.xml $A.150 $A.1
wait $uas_pid; check_eq "d) bob answered" 0 $?
check_eq "d) P-CSCF counted one Route set replaced" $((before + 1)) \
	"$(curl -s http://$A.1:8080/metrics | awk '/^pcscf_call_requests_total\{outcome="route_replaced"\}/ {print $2}')"
check_eq "d) the callee saw alice's S-CSCF in the path" 1 \
	"$(sed -n '/^INVITE /,/^$/p' "$scratch/d-uas.msg" | grep -c 'scscf.ims.alpha.test')"

# e) raw requests: unregistered UE, OPTIONS to the P-CSCF, unknown callee, unregistered callee
request() { # METHOD RURI FROM-USER FROM-ADDR [headers...]
	local m=$1 ruri=$2 user=$3 from=$4; shift 4
	printf '%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5099;branch=z9hG4bK%s;rport\r\n' "$m" "$ruri" $from "$RANDOM$RANDOM"
	printf 'Max-Forwards: 70\r\nFrom: <sip:%s>;tag=t%s\r\nTo: <%s>\r\n' "$user" "$RANDOM" "$ruri"
	printf 'Call-ID: c%s@e2e\r\nCSeq: 1 %s\r\nContact: <sip:x@%s:5099>\r\n' "$RANDOM$RANDOM" "$m" $from
	for h in "$@"; do printf '%s\r\n' "$h"; done
	printf 'Content-Length: 0\r\n\r\n'
}
send() { local from=$1; shift; "$bin/sipsend" --from $from --timeout 4000 "$@" | grep -v '^SIP/2.0 1[0-9][0-9]' | head -n1 | cut -c1-11; }
R="Route: <sip:pcscf.ims.alpha.test:5060;lr>, <sip:orig@scscf.ims.alpha.test:5060;lr>"
check_eq "e) INVITE from an unregistered UE: 403" "SIP/2.0 403" \
	"$(request INVITE sip:bob@ims.beta.test mallory@ims.alpha.test $A.199 "$R" | send $A.199 $A.1:5060 -)"
check_eq "e) INVITE claiming alice from another address: 403" "SIP/2.0 403" \
	"$(request INVITE sip:bob@ims.beta.test alice@ims.alpha.test $A.199 "$R" | send $A.199 $A.1:5060 -)"
check_eq "e) OPTIONS to the P-CSCF: 200" "SIP/2.0 200" \
	"$(request OPTIONS sip:pcscf.ims.alpha.test:5060 nobody@ims.alpha.test $A.199 | send $A.199 $A.1:5060 -)"
check_eq "e) INVITE to the P-CSCF itself: 405" "SIP/2.0 405" \
	"$(request INVITE sip:pcscf.ims.alpha.test:5060 alice@ims.alpha.test $A.150 | send $A.150 $A.1:5060 -)"
check_eq "e) unknown callee: 404" "SIP/2.0 404" \
	"$(request INVITE sip:nobody@ims.beta.test alice@ims.alpha.test $A.150 "$R" | send $A.150 $A.1:5060 -)"
check_eq "e) unregistered callee (erin): 480" "SIP/2.0 480" \
	"$(request INVITE sip:erin@ims.beta.test alice@ims.alpha.test $A.150 "$R" | send $A.150 $A.1:5060 -)"
check_eq "e) OPTIONS to the beta domain at its I-CSCF: 200" "SIP/2.0 200" \
	"$(request OPTIONS sip:ims.beta.test alice@ims.alpha.test $A.199 | send $A.199 $B.2:5060 -)"

# f) MESSAGE across domains (pager mode)
cp "$sipp/msg-uas.xml" "$scratch/msg-uas.xml"
uas f-uas msg-uas.xml $B.150
check_eq "f) MESSAGE alice -> bob: 200" "SIP/2.0 200" \
	"$(request MESSAGE sip:bob@ims.beta.test alice@ims.alpha.test $A.150 "$R" | send $A.150 $A.1:5060 -)"
wait $uas_pid; check_eq "f) bob's SIPp got it" 0 $?

# h) Privacy: id keeps the caller's identity from the callee UE; re-INVITE (hold) in the dialog
fill $sipp/uas-reinvite.xml bob@ims.beta.test >"$scratch/h-uas.xml"
fill $sipp/uac-reinvite.xml alice@ims.alpha.test sip:bob@ims.beta.test >"$scratch/h-uac.xml"
uas h-uas h-uas.xml $B.150
check "h) call with Privacy: id and a re-INVITE" uac h-uac h-uac.xml $A.150 $A.1
wait $uas_pid; check_eq "h) bob's side" 0 $?
check_eq "h) no P-Asserted-Identity reached bob in the INVITE" 0 \
	"$(awk '/^INVITE sip/{n++} n==1' "$scratch/h-uas.msg" | sed '/^$/q' | grep -ic '^P-Asserted-Identity')"
check_eq "h) bob got the re-INVITE's sendonly offer" 1 "$(grep -c '^a=sendonly' "$scratch/h-uas.msg")"

# metrics
m=$(curl -s http://$A.1:8080/metrics)
check "g) P-CSCF metrics: session attempts counted" sh -c "echo '$m' | grep -q '^pcscf_sessions_attempts_total [1-9]'"
check "g) P-CSCF metrics: 2xx answers counted" sh -c "echo '$m' | grep -q '^pcscf_sessions_answered_total{class=\"2xx\"} [1-9]'"
mi=$(curl -s http://$B.2:8080/metrics)
check "g) I-CSCF metrics: LIR answers counted" sh -c "echo '$mi' | grep -q '^icscf_cx_answers_total{command=\"LIR\",result=\"2001\"'"
check "g) I-CSCF metrics: sessions counted" sh -c "echo '$mi' | grep -q '^icscf_sessions_attempts_total [1-9]'"
for n in pcscf.ims.alpha.test pcscf.ims.beta.test icscf.ims.alpha.test icscf.ims.beta.test; do check "$n still running" alive $n; done
finish
