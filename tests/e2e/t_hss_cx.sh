# The HSS over real Diameter Cx, driven by the Cx client: every command with its
# success and error codes, vectors checked against the subscriber's keys, resync,
# SQN never reissued across a restart, malformed requests answered, HSS alive.
. "$(dirname "$0")/lib.sh"
topo=$top/tests/e2e/topologies/hss.json
hss=hss.ims.alpha.test
api=http://127.0.9.10:8080
alice=(--impi alice@ims.alpha.test --impu sip:alice@ims.alpha.test)

start_node "$topo" "$hss" || { finish; exit 1; }

# cx COMMAND ARGS...: one answer as JSON in $scratch/ans
cx() { "$bin/cxclient" --topology "$topo" --hss "$hss" --json "$@" >"$scratch/ans" 2>"$scratch/cx.err"; }
ans() { jq -r "$1" "$scratch/ans"; }
result() { ans '"\(.result) \(.experimental)"'; }

# UAR (TS 29.228 6.1.1)
cx uar "${alice[@]}"
check_eq "UAR first registration: exp 2001" "2001 true" "$(result)"
check_eq "UAR capabilities name both S-CSCFs" \
	"sip:scscf.ims.alpha.test:5060 sip:scscf2.ims.alpha.test:5060" \
	"$(ans '.server_capabilities.server_names | join(" ")')"
cx uar --impi alice@ims.alpha.test --impu sip:nobody@ims.alpha.test
check_eq "UAR unknown IMPU: exp 5001" "5001 true" "$(result)"
cx uar --impi alice@ims.alpha.test --impu sip:carol@ims.alpha.test
check_eq "UAR identities of two users: exp 5002" "5002 true" "$(result)"
cx uar --impi barred@ims.alpha.test --impu sip:barred@ims.alpha.test
check_eq "UAR barred subscription: 5003 AUTHORIZATION_REJECTED" "5003 false" "$(result)"
cx uar "${alice[@]}" --visited ims.beta.test
check_eq "UAR from a visited network: exp 5004" "5004 true" "$(result)"
cx uar "${alice[@]}" --type de_registration
check_eq "UAR de-registration, not registered: exp 5003" "5003 true" "$(result)"

# MAR (TS 29.228 6.3), vectors verified UE-side with alice's K/OP from the topology
cx mar "${alice[@]}" --items 3 --verify
check_eq "MAR 3 AKA vectors: 2001" "2001 false 3" "$(result) $(ans '.items | length')"
check_eq "every AUTN verifies with alice's K/OP, RES = XRES" "true true true" \
	"$(ans '[.items[].verify.mac_ok and .items[].verify.res_ok] | map(tostring) | join(" ")' |
		sed 's/true true true true true true true true true/true true true/')"
check_eq "SQNs strictly increasing" true \
	"$(ans '[.items[].verify.sqn | ltrimstr("0x") ] as $s | ($s | sort) == $s and ($s | unique | length) == 3')"
first_sqn=$(ans '.items[0].verify.sqn')
cx mar --impi dave@ims.alpha.test --impu sip:dave@ims.alpha.test
check_eq "MAR AKA for a Digest-only user: exp 5006" "5006 true" "$(result)"
cx mar --impi dave@ims.alpha.test --impu sip:dave@ims.alpha.test --scheme "SIP Digest"
check_eq "MAR SIP Digest: realm, qop, HA1 = MD5(impi:realm:password)" \
	"2001 ims.alpha.test auth $(printf '%s' 'dave@ims.alpha.test:ims.alpha.test:dave-secret' | md5sum | cut -c1-32)" \
	"$(ans '.result') $(ans '.items[0].digest | "\(.realm) \(.qop) \(.ha1)"')"
cx mar --impi alice@ims.alpha.test --impu sip:nobody@ims.alpha.test
check_eq "MAR unknown IMPU: exp 5001" "5001 true" "$(result)"

# Resync (TS 33.102 6.3.5): the UE's SQN is far ahead; AUTS made from alice's keys
cx mar "${alice[@]}" --resync-sqn 0000fff00000 --verify
check_eq "MAR resync with a valid AUTS: 2001" "2001 false" "$(result)"
check_eq "next vector's SQN is above SQN_MS" true \
	"$(ans '(.items[0].verify.sqn | ascii_downcase) > "0000fff00000"')"
cx mar "${alice[@]}" --resync-sqn 0000fff00000 --forge-auts
check_eq "MAR resync with a forged AUTS: 4001" "4001 false" "$(result)"

# SAR and LIR (TS 29.228 6.1.2, 6.1.4)
cx lir --impu sip:alice@ims.alpha.test
check_eq "LIR never registered: exp 2003 with capabilities" "2003 true 2" \
	"$(result) $(ans '.server_capabilities.server_names | length')"
cx sar "${alice[@]}" --type registration --server-name sip:scscf2.ims.alpha.test:5060
check_eq "SAR REGISTRATION: 2001" "2001 false" "$(result)"
check "SAR User-Data holds the implicit set" sh -c \
	"jq -r .user_data '$scratch/ans' | grep -q '<Identity>tel:+15550001</Identity>'"
check_eq "HSS REST shows the assignment" "sip:scscf2.ims.alpha.test:5060 registered" \
	"$(curl -s $api/subscribers/alice@ims.alpha.test | jq -r '"\(.serving.scscf) \(.serving.state)"')"
cx uar "${alice[@]}"
check_eq "UAR now: exp 2002 with the Server-Name" "2002 true sip:scscf2.ims.alpha.test:5060" \
	"$(result) $(ans .server_name)"
cx lir --impu tel:+15550001
check_eq "LIR of the tel URI: 2001 with the Server-Name" "2001 false sip:scscf2.ims.alpha.test:5060" \
	"$(result) $(ans .server_name)"
cx lir --impu sip:nobody@ims.alpha.test
check_eq "LIR unknown: exp 5001" "5001 true" "$(result)"
cx sar "${alice[@]}" --type user_deregistration --server-name sip:scscf2.ims.alpha.test:5060
check_eq "SAR USER_DEREGISTRATION: 2001" "2001 false" "$(result)"
check_eq "HSS REST shows not registered" "null not_registered" \
	"$(curl -s $api/subscribers/alice@ims.alpha.test | jq -r '"\(.serving.scscf) \(.serving.state)"')"
cx sar --impi carol@ims.alpha.test --impu sip:alice@ims.alpha.test --type registration
check_eq "SAR identities of two users: exp 5002" "5002 true" "$(result)"

# Bad input: a request missing a mandatory AVP gets 5005 with Failed-AVP; HSS lives on
cx mar "${alice[@]}" --omit-avp Public-Identity
check_eq "MAR without Public-Identity: 5005 MISSING_AVP" "5005 false" "$(result)"
check_eq "Failed-AVP names Public-Identity (601)" 601 "$(ans .failed_avp)"
check "HSS still running" alive "$hss"
# Raw garbage and a Diameter header announcing an absurd length on the Cx port
garbage() { printf "$1" >/dev/tcp/127.0.9.10/3868; sleep 0.2; }
garbage 'GET / HTTP/1.0\r\n\r\n' 2>/dev/null
garbage '\x01\xff\xff\xff\x80\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01' 2>/dev/null
head -c 3000 /dev/urandom >/dev/tcp/127.0.9.10/3868 2>/dev/null
check "HSS survives garbage on the Cx port" alive "$hss"
cx mar "${alice[@]}"
check_eq "and still answers MAR" "2001 false" "$(result)"

# Restart: the next SQN is above every SQN issued before (TS 33.102 Annex C, durable)
cx mar "${alice[@]}" --verify
before=$(ans '.items[0].verify.sqn')
stop_node "$hss"
start_node "$topo" "$hss" || { finish; exit 1; }
cx mar "${alice[@]}" --verify
after=$(ans '.items[0].verify.sqn')
check "SQN after restart ($after) above SQN before ($before)" test "$((16#$after))" -gt "$((16#$before))"
check "SQN above the first issued ($first_sqn)" test "$((16#$after))" -gt "$((16#$first_sqn))"
check_eq "metrics count MAR answers by result" 1 \
	"$(curl -s $api/metrics | grep -c '^hss_cx_answers_total{command="MAR",result="2001"}')"
finish
