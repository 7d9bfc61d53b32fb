/* Unit tests of the test UE's calls: SDP parsing and writing, offer/answer (codec
 * intersection, 488 cases, the direction rules of RFC 3264 6.1, hold and resume),
 * dialog route sets (RFC 3261 12.1.1 in order, 12.1.2 reversed, 12.2.1.1 loose and
 * strict routing), dialog matching, message builders; then two UEs on one loop calling
 * each other over loopback (basic call, hold/resume, 100rel, offerless INVITE, CANCEL,
 * 488, glare and 491, MESSAGE, INFO), and a raw UDP peer checking retransmissions:
 * the 2xx until its ACK, absorbed INVITE copies, re-ACK of a repeated 2xx, a second
 * fork's 2xx, the Route of a BYE, 481 and CSeq ordering. */
#include "unit.h"

#include "log.h"
#include "loop.h"
#include "sip_msg.h"
#include "topo.h"
#include "ue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- SDP ---- */

static const char offer_text[] = "v=0\r\n"
                                 "o=bob 2890844527 2890844527 IN IP4 127.0.6.100\r\n"
                                 "s=-\r\n"
                                 "c=IN IP4 127.0.6.100\r\n"
                                 "t=0 0\r\n"
                                 "a=sendonly\r\n"
                                 "m=audio 49170 RTP/AVP 8 0 97 101\r\n"
                                 "a=rtpmap:97 AMR/8000\r\n"
                                 "a=rtpmap:101 telephone-event/8000\r\n"
                                 "a=fmtp:101 0-15\r\n"
                                 "a=ptime:30\r\n"
                                 "m=video 51372 RTP/AVP 31\r\n"
                                 "c=IN IP4 127.0.6.101\r\n"
                                 "a=recvonly\r\n";

static void codecs_of(const char *const *names, unsigned n, struct ue_codec *out)
{
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_FATAL(ue_sdp_codec(names[i], &out[i]) == 0);
}

static void test_sdp_parse(void)
{
	struct ue_sdp s;
	const struct ue_sdp_media *m;

	CU_ASSERT_EQUAL_FATAL(ue_sdp_parse(offer_text, strlen(offer_text), &s), 0);
	CU_ASSERT_STRING_EQUAL(s.user, "bob");
	CU_ASSERT_EQUAL(s.sess_id, 2890844527u);
	CU_ASSERT_EQUAL(s.version, 2890844527u);
	CU_ASSERT_EQUAL_FATAL(s.n_media, 2);
	m = &s.media[0];
	CU_ASSERT_STRING_EQUAL(m->type, "audio");
	CU_ASSERT_EQUAL(m->port, 49170);
	CU_ASSERT_EQUAL_FATAL(m->n_codecs, 4);
	/* Static types without rtpmap are named from RFC 3551. */
	CU_ASSERT_STRING_EQUAL(m->codecs[0].name, "PCMA");
	CU_ASSERT_STRING_EQUAL(m->codecs[1].name, "PCMU");
	CU_ASSERT_STRING_EQUAL(m->codecs[2].name, "AMR");
	CU_ASSERT_EQUAL(m->codecs[3].pt, 101);
	CU_ASSERT_STRING_EQUAL(m->codecs[3].fmtp, "0-15");
	CU_ASSERT_EQUAL(m->ptime, 30);
	/* The session attribute applies where the media has none (RFC 4566 6). */
	CU_ASSERT_EQUAL(m->dir, UE_DIR_SENDONLY);
	CU_ASSERT_STRING_EQUAL(m->addr, "127.0.6.100");
	CU_ASSERT_EQUAL(s.media[1].dir, UE_DIR_RECVONLY);
	CU_ASSERT_STRING_EQUAL(s.media[1].addr, "127.0.6.101");
	CU_ASSERT_STRING_EQUAL(s.media[1].fmts, "31");
	CU_ASSERT_PTR_EQUAL(ue_sdp_audio(&s), &s.media[0]);

	/* LF line ends, a dynamic type without rtpmap, RFC 2543 hold (c=0.0.0.0). */
	static const char lf[] = "v=0\no=- 1 2 IN IP4 0.0.0.0\ns=x\nc=IN IP4 0.0.0.0\nt=0 0\n"
	                         "m=audio 1000 RTP/AVP 96 0\n";
	CU_ASSERT_EQUAL_FATAL(ue_sdp_parse(lf, strlen(lf), &s), 0);
	CU_ASSERT_STRING_EQUAL(s.media[0].codecs[0].name, "");
	CU_ASSERT_EQUAL(s.media[0].dir, UE_DIR_SENDONLY);
}

static void test_sdp_parse_errors(void)
{
	static const struct {
		const char *text;
		int ret;
	} cases[] = {
	    {"", -EBADMSG},
	    {"o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n", -EBADMSG},
	    {"v=1\r\n", -EBADMSG},
	    {"v=0\r\nnonsense\r\n", -EBADMSG},
	    {"v=0\r\nm=audio x RTP/AVP 0\r\n", -EBADMSG},
	    {"v=0\r\nm=audio 70000 RTP/AVP 0\r\n", -EBADMSG},
	    {"v=0\r\nm=audio 1 RTP/AVP 200\r\n", -EBADMSG},
	    {"v=0\r\nm=audio 1 RTP/AVP\r\n", -EBADMSG},
	    {"v=0\r\nm=audio 1 RTP/AVP 96\r\na=rtpmap:96 AMR\r\n", -EBADMSG},
	    {"v=0\r\nc=IN ATM x\r\n", -EBADMSG},
	    {"v=0\r\no=- x 1 IN IP4 1.2.3.4\r\n", -EBADMSG},
	    {"v=0\r\nm=audio 1 RTP/AVP 0\r\nm=audio 2 RTP/AVP 0\r\nm=audio 3 RTP/AVP 0\r\n"
	     "m=audio 4 RTP/AVP 0\r\nm=audio 5 RTP/AVP 0\r\n",
	     -EMSGSIZE},
	    {"v=0\r\na=x\001y\r\n", -EBADMSG},
	};
	struct ue_sdp s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = ue_sdp_parse(cases[i].text, strlen(cases[i].text), &s);

		if (ret != cases[i].ret)
			fprintf(stderr, "\n  case %zu -> %d\n", i, ret);
		CU_ASSERT_EQUAL(ret, cases[i].ret);
	}
}

static const struct ue_sdp_origin origin = {"alice", 3000, 1, "127.0.7.100", 40000};

static void test_sdp_offer_roundtrip(void)
{
	static const char *const names[] = {"PCMU", "AMR-WB", "telephone-event"};
	struct ue_codec codecs[3];
	struct ue_sdp offer, back;
	char text[UE_SDP_MAX];
	ssize_t n;

	codecs_of(names, 3, codecs);
	CU_ASSERT_EQUAL(ue_sdp_offer(&origin, codecs, 0, UE_DIR_SENDRECV, &offer), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(ue_sdp_offer(&origin, codecs, 3, UE_DIR_SENDONLY, &offer), 0);
	n = ue_sdp_write(&offer, text, sizeof(text));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "m=audio 40000 RTP/AVP 0 97 101\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "a=rtpmap:97 AMR-WB/16000\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "a=fmtp:101 0-16\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "c=IN IP4 127.0.7.100\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "a=sendonly\r\n"));
	CU_ASSERT_EQUAL_FATAL(ue_sdp_parse(text, (size_t)n, &back), 0);
	CU_ASSERT_EQUAL(back.n_media, 1);
	CU_ASSERT_EQUAL(back.media[0].n_codecs, 3);
	CU_ASSERT_TRUE(ue_sdp_codec_same(&back.media[0].codecs[1], &codecs[1]));
	CU_ASSERT_EQUAL(back.media[0].dir, UE_DIR_SENDONLY);
	CU_ASSERT_EQUAL(back.version, 1);
	CU_ASSERT_EQUAL(ue_sdp_write(&offer, text, 40), -ENOSPC);
}

static void test_sdp_answer_intersection(void)
{
	static const char *const mine[] = {"PCMU", "telephone-event", "G722"};
	struct ue_codec local[3];
	struct ue_sdp offer, answer;
	char text[UE_SDP_MAX];

	codecs_of(mine, 3, local);
	CU_ASSERT_EQUAL_FATAL(ue_sdp_parse(offer_text, strlen(offer_text), &offer), 0);
	CU_ASSERT_EQUAL_FATAL(ue_sdp_answer(&offer, &origin, local, 3, UE_DIR_SENDRECV, &answer),
	                      0);
	/* RFC 3264 6: as many m-lines; offer order and payload types kept (6.1). */
	CU_ASSERT_EQUAL_FATAL(answer.n_media, 2);
	CU_ASSERT_EQUAL_FATAL(answer.media[0].n_codecs, 2);
	CU_ASSERT_EQUAL(answer.media[0].codecs[0].pt, 0);
	CU_ASSERT_EQUAL(answer.media[0].codecs[1].pt, 101);
	CU_ASSERT_STRING_EQUAL(answer.media[0].codecs[1].fmtp, "0-15");
	CU_ASSERT_EQUAL(answer.media[0].port, 40000);
	CU_ASSERT_EQUAL(answer.media[0].ptime, 30);
	/* The video stream is refused with port 0 and its format echoed. */
	CU_ASSERT_EQUAL(answer.media[1].port, 0);
	CU_ASSERT_FATAL(ue_sdp_write(&answer, text, sizeof(text)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "m=video 0 RTP/AVP 31\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "m=audio 40000 RTP/AVP 0 101\r\n"));
	CU_ASSERT_EQUAL(ue_sdp_check_answer(&offer, &answer), 0);
}

static void test_sdp_no_common_codec(void)
{
	static const char *const g722[] = {"G722", "telephone-event"};
	static const char only_dtmf[] =
	    "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\n"
	    "t=0 0\r\nm=audio 1 RTP/AVP 101\r\n"
	    "a=rtpmap:101 telephone-event/8000\r\n";
	static const char no_audio[] =
	    "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\n"
	    "t=0 0\r\nm=video 1 RTP/AVP 31\r\nm=audio 0 RTP/AVP 0\r\n";
	struct ue_codec local[2];
	struct ue_sdp offer, answer;

	codecs_of(g722, 2, local);
	CU_ASSERT_EQUAL_FATAL(ue_sdp_parse(offer_text, strlen(offer_text), &offer), 0);
	/* Only telephone-event in common is no session: 488. */
	CU_ASSERT_EQUAL(ue_sdp_answer(&offer, &origin, local, 2, UE_DIR_SENDRECV, &answer),
	                -ENOTSUP);
	CU_ASSERT_EQUAL_FATAL(ue_sdp_parse(only_dtmf, strlen(only_dtmf), &offer), 0);
	CU_ASSERT_EQUAL(ue_sdp_answer(&offer, &origin, local, 2, UE_DIR_SENDRECV, &answer),
	                -ENOTSUP);
	CU_ASSERT_EQUAL_FATAL(ue_sdp_parse(no_audio, strlen(no_audio), &offer), 0);
	CU_ASSERT_EQUAL(ue_sdp_answer(&offer, &origin, local, 2, UE_DIR_SENDRECV, &answer),
	                -ENOTSUP);
}

static void test_sdp_directions(void)
{
	/* RFC 3264 6.1: [offered][wanted] -> answered. */
	static const enum ue_dir expect[4][4] = {
	    [UE_DIR_SENDRECV] = {[UE_DIR_SENDRECV] = UE_DIR_SENDRECV,
	                         [UE_DIR_SENDONLY] = UE_DIR_SENDONLY,
	                         [UE_DIR_RECVONLY] = UE_DIR_RECVONLY,
	                         [UE_DIR_INACTIVE] = UE_DIR_INACTIVE},
	    [UE_DIR_SENDONLY] = {[UE_DIR_SENDRECV] = UE_DIR_RECVONLY,
	                         [UE_DIR_SENDONLY] = UE_DIR_INACTIVE,
	                         [UE_DIR_RECVONLY] = UE_DIR_RECVONLY,
	                         [UE_DIR_INACTIVE] = UE_DIR_INACTIVE},
	    [UE_DIR_RECVONLY] = {[UE_DIR_SENDRECV] = UE_DIR_SENDONLY,
	                         [UE_DIR_SENDONLY] = UE_DIR_SENDONLY,
	                         [UE_DIR_RECVONLY] = UE_DIR_INACTIVE,
	                         [UE_DIR_INACTIVE] = UE_DIR_INACTIVE},
	    [UE_DIR_INACTIVE] = {UE_DIR_INACTIVE, UE_DIR_INACTIVE, UE_DIR_INACTIVE,
	                         UE_DIR_INACTIVE},
	};
	struct ue_codec pcmu;
	struct ue_sdp offer, answer;
	struct ue_codec got[UE_SDP_CODECS_MAX];
	enum ue_dir dir;
	unsigned n;

	CU_ASSERT_FATAL(ue_sdp_codec("pcmu", &pcmu) == 0);
	for (int o = 0; o < 4; o++) {
		for (int w = 0; w < 4; w++) {
			CU_ASSERT_FATAL(ue_sdp_offer(&origin, &pcmu, 1, (enum ue_dir)o, &offer) ==
			                0);
			CU_ASSERT_FATAL(
			    ue_sdp_answer(&offer, &origin, &pcmu, 1, (enum ue_dir)w, &answer) == 0);
			CU_ASSERT_EQUAL(answer.media[0].dir, expect[o][w]);
			/* The answerer's own view equals what it answered; the offerer's is
			 * that mirrored and limited by its offer. */
			CU_ASSERT_EQUAL(ue_sdp_negotiated(&answer, &offer, got, &n, &dir), 0);
			CU_ASSERT_EQUAL(dir, expect[o][w]);
			CU_ASSERT_EQUAL(ue_sdp_negotiated(&offer, &answer, got, &n, &dir), 0);
			CU_ASSERT_EQUAL(dir, ue_sdp_dir_mirror(expect[o][w]));
		}
	}
	CU_ASSERT_STRING_EQUAL(ue_sdp_dir_name(UE_DIR_RECVONLY), "recvonly");
	CU_ASSERT_EQUAL(ue_sdp_dir_mirror(UE_DIR_SENDONLY), UE_DIR_RECVONLY);
	CU_ASSERT_EQUAL(ue_sdp_dir_mirror(UE_DIR_SENDRECV), UE_DIR_SENDRECV);
}

/* Hold and resume as two UAs would run them (RFC 3264 8.4). */
static void test_sdp_hold_resume(void)
{
	struct ue_codec pcmu;
	struct ue_sdp a_offer, b_answer, b_offer, a_answer;
	enum ue_dir a_dir, b_dir;

	CU_ASSERT_FATAL(ue_sdp_codec("PCMU", &pcmu) == 0);
	/* A holds: sendonly; B, wanting sendrecv, answers recvonly. */
	ue_sdp_offer(&origin, &pcmu, 1, UE_DIR_SENDONLY, &a_offer);
	ue_sdp_answer(&a_offer, &origin, &pcmu, 1, UE_DIR_SENDRECV, &b_answer);
	ue_sdp_negotiated(&a_offer, &b_answer, NULL, NULL, &a_dir);
	ue_sdp_negotiated(&b_answer, &a_offer, NULL, NULL, &b_dir);
	CU_ASSERT_EQUAL(a_dir, UE_DIR_SENDONLY);
	CU_ASSERT_EQUAL(b_dir, UE_DIR_RECVONLY);
	/* B holds too while held: it offers inactive; A (holding: wants sendonly) answers
	 * inactive. */
	ue_sdp_offer(&origin, &pcmu, 1, UE_DIR_INACTIVE, &b_offer);
	ue_sdp_answer(&b_offer, &origin, &pcmu, 1, UE_DIR_SENDONLY, &a_answer);
	CU_ASSERT_EQUAL(a_answer.media[0].dir, UE_DIR_INACTIVE);
	/* A resumes with sendrecv; B, still holding, answers sendonly: A only receives. */
	ue_sdp_offer(&origin, &pcmu, 1, UE_DIR_SENDRECV, &a_offer);
	ue_sdp_answer(&a_offer, &origin, &pcmu, 1, UE_DIR_SENDONLY, &b_answer);
	ue_sdp_negotiated(&a_offer, &b_answer, NULL, NULL, &a_dir);
	CU_ASSERT_EQUAL(b_answer.media[0].dir, UE_DIR_SENDONLY);
	CU_ASSERT_EQUAL(a_dir, UE_DIR_RECVONLY);
}

static void test_sdp_check_answer(void)
{
	static const char *const mine[] = {"PCMU", "PCMA"};
	static const char bad[] = "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\n"
	                          "t=0 0\r\nm=audio 2 RTP/AVP 9\r\n";
	static const char two[] = "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\n"
	                          "t=0 0\r\nm=audio 2 RTP/AVP 8\r\nm=video 0 RTP/AVP 31\r\n";
	static const char good[] = "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\n"
	                           "t=0 0\r\nm=audio 2 RTP/AVP 8\r\na=recvonly\r\n";
	struct ue_codec local[2], got[UE_SDP_CODECS_MAX];
	struct ue_sdp offer, answer;
	enum ue_dir dir;
	unsigned n;

	codecs_of(mine, 2, local);
	ue_sdp_offer(&origin, local, 2, UE_DIR_SENDRECV, &offer);
	CU_ASSERT_FATAL(ue_sdp_parse(bad, strlen(bad), &answer) == 0);
	CU_ASSERT_EQUAL(ue_sdp_check_answer(&offer, &answer), -EPROTO);
	CU_ASSERT_FATAL(ue_sdp_parse(two, strlen(two), &answer) == 0);
	CU_ASSERT_EQUAL(ue_sdp_check_answer(&offer, &answer), -EPROTO);
	CU_ASSERT_FATAL(ue_sdp_parse(good, strlen(good), &answer) == 0);
	CU_ASSERT_EQUAL(ue_sdp_check_answer(&offer, &answer), 0);
	CU_ASSERT_EQUAL(ue_sdp_negotiated(&offer, &answer, got, &n, &dir), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(got[0].name, "PCMA");
	CU_ASSERT_EQUAL(dir, UE_DIR_SENDONLY);
}

/* ---- dialogs ---- */

static struct sip_msg *parse(const char *text)
{
	struct sip_msg *m = NULL;
	char why[128] = "";

	if (sip_msg_parse(text, strlen(text), &m, why, sizeof(why)) < 0)
		fprintf(stderr, "\n  parse: %s\n", why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

static const char rr_lines[] = "Record-Route: <sip:pcscf.ims.beta.test:5060;lr>, "
                               "<sip:scscf.ims.beta.test:5060;lr>\r\n"
                               "Record-Route: <sip:scscf.ims.alpha.test:5060;lr>\r\n"
                               "Record-Route: <sip:pcscf.ims.alpha.test:5060;lr>\r\n";

static void test_dialog_uac(void)
{
	char text[2048];
	struct ue_dialog d = {0};
	struct sip_msg *m;

	snprintf(text, sizeof(text),
	         "SIP/2.0 200 OK\r\n"
	         "Via: SIP/2.0/UDP 127.0.7.100:5060;branch=z9hG4bKa\r\n"
	         "%s"
	         "From: <sip:alice@ims.alpha.test>;tag=a1\r\n"
	         "To: <sip:bob@ims.beta.test>;tag=b1\r\n"
	         "Call-ID: c1@127.0.7.100\r\n"
	         "CSeq: 1 INVITE\r\n"
	         "Contact: <sip:bob@127.0.6.100:5060;transport=udp>\r\n"
	         "Content-Length: 0\r\n\r\n",
	         rr_lines);
	m = parse(text);
	snprintf(d.remote_target, sizeof(d.remote_target), "sip:bob@ims.beta.test");
	CU_ASSERT_EQUAL_FATAL(ue_dialog_uac(&d, m), 0);
	/* RFC 3261 12.1.2: reversed, so our own P-CSCF comes first. */
	CU_ASSERT_EQUAL_FATAL(d.n_routes, 4);
	CU_ASSERT_STRING_EQUAL(d.routes[0], "<sip:pcscf.ims.alpha.test:5060;lr>");
	CU_ASSERT_STRING_EQUAL(d.routes[1], "<sip:scscf.ims.alpha.test:5060;lr>");
	CU_ASSERT_STRING_EQUAL(d.routes[2], "<sip:scscf.ims.beta.test:5060;lr>");
	CU_ASSERT_STRING_EQUAL(d.routes[3], "<sip:pcscf.ims.beta.test:5060;lr>");
	CU_ASSERT_STRING_EQUAL(d.remote_target, "sip:bob@127.0.6.100:5060;transport=udp");
	CU_ASSERT_STRING_EQUAL(d.remote_tag, "b1");
	sip_msg_free(m);

	/* No To tag: no dialog. */
	m = parse("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
	          "From: <sip:a@x>;tag=a1\r\nTo: <sip:b@y>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
	          "Content-Length: 0\r\n\r\n");
	CU_ASSERT_EQUAL(ue_dialog_uac(&d, m), -ENOENT);
	sip_msg_free(m);
}

static const char invite_fmt[] = "INVITE sip:bob@127.0.6.100:5060;transport=udp SIP/2.0\r\n"
                                 "Via: SIP/2.0/UDP 127.0.6.1:5060;branch=z9hG4bKp\r\n"
                                 "%s"
                                 "From: \"Alice\" <sip:alice@ims.alpha.test>;tag=a1\r\n"
                                 "To: <sip:bob@ims.beta.test>\r\n"
                                 "Call-ID: c1@127.0.7.100\r\n"
                                 "CSeq: 7 INVITE\r\n"
                                 "Contact: <sip:alice@127.0.7.100:5060;transport=udp>\r\n"
                                 "Content-Length: 0\r\n\r\n";

static void test_dialog_uas(void)
{
	char text[2048];
	struct ue_dialog d;
	struct ue_req r = {0};
	char hop[UE_URI_MAX];
	struct sip_msg *m;

	snprintf(text, sizeof(text), invite_fmt, rr_lines);
	m = parse(text);
	CU_ASSERT_EQUAL_FATAL(ue_dialog_uas(&d, m, "b1"), 0);
	/* 12.1.1: in order, so the callee's P-CSCF comes first. */
	CU_ASSERT_EQUAL_FATAL(d.n_routes, 4);
	CU_ASSERT_STRING_EQUAL(d.routes[0], "<sip:pcscf.ims.beta.test:5060;lr>");
	CU_ASSERT_STRING_EQUAL(d.routes[3], "<sip:pcscf.ims.alpha.test:5060;lr>");
	CU_ASSERT_STRING_EQUAL(d.remote_target, "sip:alice@127.0.7.100:5060;transport=udp");
	CU_ASSERT_STRING_EQUAL(d.remote_tag, "a1");
	CU_ASSERT_STRING_EQUAL(d.local_tag, "b1");
	CU_ASSERT_STRING_EQUAL(d.remote_uri, "<sip:alice@ims.alpha.test>");
	CU_ASSERT_STRING_EQUAL(d.local_uri, "<sip:bob@ims.beta.test>");
	CU_ASSERT_STRING_EQUAL(d.call_id, "c1@127.0.7.100");
	CU_ASSERT_TRUE(d.has_remote_cseq);
	CU_ASSERT_EQUAL(d.remote_cseq, 7);

	/* 12.2.1.1 loose routing: Request-URI = remote target, Route = route set. */
	ue_dialog_fill(&d, "BYE", 3, &r);
	CU_ASSERT_STRING_EQUAL(r.ruri, "sip:alice@127.0.7.100:5060;transport=udp");
	CU_ASSERT_EQUAL(r.n_routes, 4);
	CU_ASSERT_STRING_EQUAL(r.routes[0], "<sip:pcscf.ims.beta.test:5060;lr>");
	CU_ASSERT_STRING_EQUAL(r.to_tag, "a1");
	CU_ASSERT_STRING_EQUAL(r.from_tag, "b1");
	ue_dialog_next_hop(&r, hop, sizeof(hop));
	CU_ASSERT_STRING_EQUAL(hop, "sip:pcscf.ims.beta.test:5060;lr");
	sip_msg_free(m);

	/* Without a Contact the INVITE makes no dialog. */
	m = parse("INVITE sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
	          "From: <sip:a@x>;tag=a1\r\nTo: <sip:b@y>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
	          "Content-Length: 0\r\n\r\n");
	CU_ASSERT_EQUAL(ue_dialog_uas(&d, m, "b1"), -ENOENT);
	sip_msg_free(m);
	/* Without a From tag neither. */
	m = parse("INVITE sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
	          "From: <sip:a@x>\r\nTo: <sip:b@y>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
	          "Contact: <sip:a@h>\r\nContent-Length: 0\r\n\r\n");
	CU_ASSERT_EQUAL(ue_dialog_uas(&d, m, "b1"), -ENOENT);
	sip_msg_free(m);
}

static void test_dialog_strict_route(void)
{
	struct ue_dialog d = {0};
	struct ue_req r = {0};
	char hop[UE_URI_MAX];

	snprintf(d.remote_target, sizeof(d.remote_target), "sip:bob@127.0.6.100");
	snprintf(d.routes[0], UE_URI_MAX, "<sip:strict.example.test;maddr=127.0.0.9>");
	snprintf(d.routes[1], UE_URI_MAX, "<sip:p2.example.test;lr>");
	d.n_routes = 2;
	/* 12.2.1.1: a strict router takes the Request-URI; the remote target goes last. */
	ue_dialog_fill(&d, "INFO", 9, &r);
	CU_ASSERT_STRING_EQUAL(r.ruri, "sip:strict.example.test;maddr=127.0.0.9");
	CU_ASSERT_EQUAL_FATAL(r.n_routes, 2);
	CU_ASSERT_STRING_EQUAL(r.routes[0], "<sip:p2.example.test;lr>");
	CU_ASSERT_STRING_EQUAL(r.routes[1], "<sip:bob@127.0.6.100>");
	CU_ASSERT_EQUAL(r.cseq, 9);
	ue_dialog_next_hop(&r, hop, sizeof(hop));
	CU_ASSERT_STRING_EQUAL(hop, "sip:strict.example.test;maddr=127.0.0.9");
	/* No route set: straight to the remote target. */
	d.n_routes = 0;
	ue_dialog_fill(&d, "BYE", 10, &r);
	CU_ASSERT_EQUAL(r.n_routes, 0);
	ue_dialog_next_hop(&r, hop, sizeof(hop));
	CU_ASSERT_STRING_EQUAL(hop, "sip:bob@127.0.6.100");
}

static void test_dialog_match(void)
{
	static const char fmt[] = "BYE sip:bob@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
	                          "From: <sip:alice@x>;tag=%s\r\nTo: <sip:bob@y>;tag=%s\r\n"
	                          "Call-ID: %s\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
	static const struct {
		const char *from_tag, *to_tag, *call_id;
		bool match;
	} cases[] = {
	    {"a1", "b1", "c1", true},  {"a2", "b1", "c1", false}, {"a1", "b2", "c1", false},
	    {"a1", "b1", "c2", false}, {"b1", "a1", "c1", false},
	};
	struct ue_dialog d = {0};
	char text[512];

	snprintf(d.call_id, sizeof(d.call_id), "c1");
	snprintf(d.local_tag, sizeof(d.local_tag), "b1");
	snprintf(d.remote_tag, sizeof(d.remote_tag), "a1");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_msg *m;

		snprintf(text, sizeof(text), fmt, cases[i].from_tag, cases[i].to_tag,
		         cases[i].call_id);
		m = parse(text);
		CU_ASSERT_EQUAL(ue_dialog_matches(&d, m), cases[i].match);
		sip_msg_free(m);
	}
}

static void test_msg_builders(void)
{
	static const char body[] = "v=0\r\n";
	struct ue_req r = {0};
	struct sip_msg *m, *req;
	struct sip_addr a;
	char out[2048], method[16];
	uint32_t rseq, cseq;
	ssize_t n;

	r.method = "INVITE";
	r.ruri = "tel:+16660002";
	r.routes[0] = "<sip:pcscf.ims.alpha.test:5060;lr>";
	r.routes[1] = "<sip:orig@scscf.ims.alpha.test:5060;lr>";
	r.n_routes = 2;
	r.via_host = "127.0.7.100";
	r.via_port = 5060;
	r.branch = "z9hG4bKx";
	r.from = "<sip:alice@ims.alpha.test>";
	r.from_tag = "a1";
	r.to = "<tel:+16660002>";
	r.call_id = "c1";
	r.cseq = 1;
	r.contact = "sip:alice@127.0.7.100:5060";
	r.headers = "Require: 100rel\r\n";
	r.content_type = "application/sdp";
	r.body = body;
	r.body_len = strlen(body);
	n = ue_msg_request(&r, out, sizeof(out));
	CU_ASSERT_FATAL(n > 0);
	m = parse(out);
	CU_ASSERT_EQUAL(sip_msg_method(m), SIP_INVITE);
	CU_ASSERT_EQUAL(sip_msg_nameaddr(m, "Route", 1, &a), 0);
	CU_ASSERT_EQUAL(strncmp(a.uri.p, "sip:orig@scscf", 14), 0);
	CU_ASSERT_TRUE(ue_msg_has_option(m, "Require", "100REL"));
	CU_ASSERT_FALSE(ue_msg_has_option(m, "Supported", "100rel"));
	CU_ASSERT_EQUAL(ue_msg_sdp(m).len, strlen(body));
	CU_ASSERT_EQUAL(sip_msg_body(m).len, strlen(body));
	req = m;
	/* A response with a body replaces the empty one of sip_msg_build_response. */
	n = ue_msg_response(req, 183, NULL, "b1", "RSeq: 77\r\n", "application/sdp", body,
	                    strlen(body), out, sizeof(out));
	CU_ASSERT_FATAL(n > 0);
	m = parse(out);
	CU_ASSERT_EQUAL(sip_msg_status(m), 183);
	CU_ASSERT_EQUAL(ue_msg_uint(m, "RSeq", &rseq), 0);
	CU_ASSERT_EQUAL(rseq, 77);
	CU_ASSERT_EQUAL(ue_msg_sdp(m).len, strlen(body));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ";tag=b1"));
	sip_msg_free(m);
	sip_msg_free(req);
	/* CR/LF from outside never reaches a header. */
	r.to = "<tel:1>\r\nX: y";
	CU_ASSERT_EQUAL(ue_msg_request(&r, out, sizeof(out)), -EINVAL);

	m = parse("PRACK sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
	          "From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\n"
	          "CSeq: 2 PRACK\r\nRAck: 776656 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	CU_ASSERT_EQUAL(ue_msg_rack(m, &rseq, &cseq, method, sizeof(method)), 0);
	CU_ASSERT_EQUAL(rseq, 776656);
	CU_ASSERT_EQUAL(cseq, 1);
	CU_ASSERT_STRING_EQUAL(method, "INVITE");
	sip_msg_free(m);
	m = parse("PRACK sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
	          "From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\n"
	          "CSeq: 2 PRACK\r\nRAck: 77x 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	CU_ASSERT_EQUAL(ue_msg_rack(m, &rseq, &cseq, method, sizeof(method)), -EBADMSG);
	sip_msg_free(m);
}

/* ---- two UEs on one loop ---- */

static struct loop *lp;
static char pcscf_name[] = "pcscf", pcscf_fqdn[] = "pcscf.test.invalid";
static char loopback[] = "127.0.0.1";
static struct topo_node pcscf_node = {.role = TOPO_PCSCF,
                                      .name = pcscf_name,
                                      .fqdn = pcscf_fqdn,
                                      .address = loopback,
                                      .sip_port = 5060};

/* A UE built by hand around a node of its own on 127.0.0.1 and a free port. */
struct tue {
	struct ue ue;          /* the UE */
	struct topo_node node; /* its node */
	char name[16];         /* node name */
	char fqdn[64];         /* node FQDN */
};

static struct tue ta, tb;

static void stop_cb(struct loop *l, void *arg)
{
	loop_stop(l);
}

static void run_ms(unsigned ms)
{
	loop_timer_add(lp, ms, stop_cb, NULL);
	loop_run(lp);
}

static void tue_init(struct tue *t, const char *user)
{
	struct ue *ue = &t->ue;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", user);
	snprintf(t->fqdn, sizeof(t->fqdn), "%s.test.invalid", user);
	t->node = (struct topo_node){.role = TOPO_UE,
	                             .name = t->name,
	                             .fqdn = t->fqdn,
	                             .address = loopback,
	                             .auto_answer = true};
	ue->node = &t->node;
	ue->pcscf = &pcscf_node;
	ue->domain = "test.invalid";
	snprintf(ue->impi, sizeof(ue->impi), "%s@test.invalid", user);
	snprintf(ue->impu, sizeof(ue->impu), "sip:%s@test.invalid", user);
	snprintf(ue->user, sizeof(ue->user), "%s", user);
	ue->proto = SIP_PROTO_UDP;
	ue->loop = lp;
	ue->no_reg_check = true;
	CU_ASSERT_FATAL(ue_sip_init(ue) == 0);
	t->node.sip_port = sip_transport_port(ue->sip);
	CU_ASSERT_FATAL(ue_reg_init(ue, 0, 600) == 0);
	ue_call_defaults(ue);
}

static void tue_fini(struct tue *t)
{
	ue_sip_fini(&t->ue);
	ue_call_fini(&t->ue);
	ue_pager_fini(&t->ue);
	ue_reg_fini(&t->ue);
}

static void aim(struct ue *ue, uint16_t port)
{
	ue->outbound = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, "127.0.0.1", &ue->outbound.sin_addr);
}

/* Two UEs pointed at each other; a calls b. */
static void pair_up(void)
{
	/* The calls log every step at info level; keep the test output to warnings. */
	log_init("-", LOGL_WARN);
	lp = loop_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
	tue_init(&ta, "alice");
	tue_init(&tb, "bob");
	aim(&ta.ue, tb.node.sip_port);
	aim(&tb.ue, ta.node.sip_port);
}

static void pair_down(void)
{
	tue_fini(&ta);
	tue_fini(&tb);
	loop_free(lp);
	lp = NULL;
	log_init("-", LOGL_INFO);
}

/* Runs the loop in small steps until the call reaches state or ms pass. */
static bool wait_state(struct ue *ue, uint64_t id, enum ue_call_state state, unsigned ms)
{
	for (unsigned t = 0; t <= ms; t += 5) {
		struct ue_call *c = ue_call_by_id(ue, id);

		if (c && c->state == state)
			return true;
		run_ms(5);
	}
	return false;
}

static struct ue_call *place(const char *target, bool offer, bool rel100)
{
	struct ue_call_opts o = {.target = target, .offer = offer, .rel100 = rel100};
	struct ue_call *c = NULL;

	CU_ASSERT_EQUAL(ue_uac_place(&ta.ue, &o, &c), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

static enum ue_dir negotiated_dir(const struct ue_call *c)
{
	enum ue_dir dir = UE_DIR_INACTIVE;

	CU_ASSERT_EQUAL(ue_sdp_negotiated(&c->local, &c->remote, NULL, NULL, &dir), 0);
	return dir;
}

static void test_call_basic(void)
{
	struct ue_call *a, *b;
	unsigned n;
	struct ue_codec codecs[UE_SDP_CODECS_MAX];
	enum ue_dir dir;

	pair_up();
	a = place("sip:bob@test.invalid", true, false);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_CONFIRMED, 2000));
	b = ue_call_by_id(&tb.ue, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(wait_state(&tb.ue, 1, UE_CALL_CONFIRMED, 500));
	run_ms(20);
	/* The ACK came: the callee stopped retransmitting its 2xx. */
	CU_ASSERT_PTR_NULL(b->ok_msg);
	CU_ASSERT_STRING_EQUAL(a->dlg.remote_tag, b->dlg.local_tag);
	CU_ASSERT_STRING_EQUAL(a->dlg.call_id, b->dlg.call_id);
	CU_ASSERT_STRING_EQUAL(b->peer, "sip:alice@test.invalid");
	CU_ASSERT_EQUAL(ue_sdp_negotiated(&a->local, &a->remote, codecs, &n, &dir), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(codecs[0].name, "PCMU");
	CU_ASSERT_EQUAL(dir, UE_DIR_SENDRECV);
	CU_ASSERT_EQUAL(ta.ue.cstats.answered_out, 1);
	CU_ASSERT_EQUAL(tb.ue.cstats.answered_in, 1);
	/* INFO inside the dialog, then BYE from the callee. */
	CU_ASSERT_EQUAL(ue_mid_info(a, NULL, NULL), 0);
	run_ms(30);
	CU_ASSERT_EQUAL(ue_mid_bye(b), 0);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_TERMINATED, 1000));
	CU_ASSERT_TRUE(wait_state(&tb.ue, b->id, UE_CALL_TERMINATED, 1000));
	CU_ASSERT_STRING_EQUAL(a->end_reason, "bye");
	CU_ASSERT_FALSE(a->ended_local);
	CU_ASSERT_TRUE(b->ended_local);
	CU_ASSERT_EQUAL(tb.ue.cstats.byes_sent, 1);
	CU_ASSERT_EQUAL(ta.ue.cstats.byes_received, 1);
	/* The INFO was answered 200 (its log line says so). */
	{
		bool info_ok = false;

		for (unsigned i = 0; i < a->n_events; i++)
			info_ok |= strncmp(a->events[i].what, "200 INFO", 8) == 0;
		CU_ASSERT_TRUE(info_ok);
	}
	pair_down();
}

static void test_call_hold_resume(void)
{
	struct ue_call *a, *b;

	pair_up();
	a = place("sip:bob@test.invalid", true, false);
	CU_ASSERT_FATAL(wait_state(&ta.ue, a->id, UE_CALL_CONFIRMED, 2000));
	b = ue_call_by_id(&tb.ue, 1);
	run_ms(20);
	CU_ASSERT_EQUAL(ue_mid_hold(a, true), 0);
	CU_ASSERT_EQUAL(ue_mid_hold(a, true), -EBUSY);
	run_ms(50);
	CU_ASSERT_TRUE(a->local_hold);
	CU_ASSERT_EQUAL(negotiated_dir(a), UE_DIR_SENDONLY);
	CU_ASSERT_EQUAL(negotiated_dir(b), UE_DIR_RECVONLY);
	CU_ASSERT_TRUE(ue_call_remote_hold(b));
	/* Held by the peer, b holds too: inactive. */
	CU_ASSERT_EQUAL(ue_mid_hold(b, true), 0);
	run_ms(50);
	CU_ASSERT_EQUAL(ue_sdp_audio(&b->local)->dir, UE_DIR_INACTIVE);
	CU_ASSERT_EQUAL(negotiated_dir(a), UE_DIR_INACTIVE);
	/* a resumes: b still holds, so a only receives. */
	CU_ASSERT_EQUAL(ue_mid_hold(a, false), 0);
	run_ms(50);
	CU_ASSERT_FALSE(a->local_hold);
	CU_ASSERT_EQUAL(negotiated_dir(a), UE_DIR_RECVONLY);
	CU_ASSERT_EQUAL(ue_mid_hold(b, false), 0);
	run_ms(50);
	CU_ASSERT_EQUAL(negotiated_dir(a), UE_DIR_SENDRECV);
	CU_ASSERT_EQUAL(negotiated_dir(b), UE_DIR_SENDRECV);
	/* UPDATE narrows the codecs (RFC 3311). */
	CU_ASSERT_FATAL(ue_sdp_codec("PCMA", &b->codecs[0]) == 0);
	b->n_codecs = 1;
	CU_ASSERT_EQUAL(ue_mid_update(b), 0);
	run_ms(50);
	CU_ASSERT_EQUAL(ue_sdp_audio(&a->local)->n_codecs, 1);
	CU_ASSERT_STRING_EQUAL(ue_sdp_audio(&a->local)->codecs[0].name, "PCMA");
	CU_ASSERT_EQUAL(b->op_status, 200);
	/* Each new SDP of a carried the next version (RFC 3264 8). */
	CU_ASSERT_EQUAL(a->sdp_version, a->local.version);
	CU_ASSERT(a->sdp_version >= 4);
	CU_ASSERT_EQUAL(ta.ue.cstats.reinvites, 2);
	CU_ASSERT_EQUAL(tb.ue.cstats.updates, 1);
	pair_down();
}

static void test_call_100rel(void)
{
	struct ue_call *a, *b;

	pair_up();
	/* 100rel with an offer: reliable 183 with the answer, PRACK, reliable 180, PRACK. */
	a = place("sip:bob@test.invalid", true, true);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_CONFIRMED, 2000));
	b = ue_call_by_id(&tb.ue, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(a->rel100_used);
	CU_ASSERT_TRUE(a->invite_oa_done);
	/* Auto-answer at once: the 2xx waits for the first PRACK and may replace the 180. */
	CU_ASSERT(ta.ue.cstats.pracks >= 1 && ta.ue.cstats.pracks <= 2);
	CU_ASSERT_PTR_NULL(b->rel_msg);
	CU_ASSERT_EQUAL(negotiated_dir(a), UE_DIR_SENDRECV);
	/* No offer and 100rel: the 183 carries the offer, the PRACK the answer. */
	tb.ue.settings.auto_answer = false;
	a = place("sip:bob@test.invalid", false, true);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_EARLY, 2000));
	b = ue_call_by_id(&tb.ue, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(wait_state(&tb.ue, 2, UE_CALL_EARLY, 500));
	CU_ASSERT_EQUAL(a->oa, UE_OA_IDLE);
	CU_ASSERT_TRUE(a->has_local && a->has_remote);
	/* An UPDATE in the early dialog (RFC 3311 5.1). */
	run_ms(30);
	CU_ASSERT_EQUAL(ue_mid_update(a), 0);
	run_ms(50);
	CU_ASSERT_EQUAL(a->op_status, 200);
	CU_ASSERT_EQUAL(ue_uas_answer(b), 0);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_CONFIRMED, 1000));
	CU_ASSERT_EQUAL(negotiated_dir(b), UE_DIR_SENDRECV);
	pair_down();
}

static void test_call_no_offer(void)
{
	struct ue_call *a, *b;

	pair_up();
	a = place("tel:+15550002", false, false);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_CONFIRMED, 2000));
	b = ue_call_by_id(&tb.ue, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	run_ms(20);
	/* The offer came in the 2xx, the answer in the ACK. */
	CU_ASSERT_FALSE(b->offer_in_invite);
	CU_ASSERT_EQUAL(b->oa, UE_OA_IDLE);
	CU_ASSERT_TRUE(b->has_remote);
	CU_ASSERT_EQUAL(negotiated_dir(b), UE_DIR_SENDRECV);
	CU_ASSERT_STRING_EQUAL(a->dlg.remote_uri, "<tel:+15550002>");
	pair_down();
}

static void test_call_cancel_and_reject(void)
{
	struct ue_call *a, *b;

	pair_up();
	tb.ue.settings.auto_answer = false;
	a = place("sip:bob@test.invalid", true, false);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_RINGING, 2000));
	CU_ASSERT_EQUAL(ue_uac_cancel(a), 0);
	CU_ASSERT_EQUAL(ue_uac_cancel(a), -EALREADY);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_TERMINATED, 1000));
	b = ue_call_by_id(&tb.ue, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->state, UE_CALL_TERMINATED);
	CU_ASSERT_EQUAL(a->last_status, 487);
	CU_ASSERT_STRING_EQUAL(a->end_reason, "cancel");
	CU_ASSERT_STRING_EQUAL(b->end_reason, "cancel");
	/* A reject reaches the caller with its status. */
	a = place("sip:bob@test.invalid", true, false);
	CU_ASSERT_TRUE(wait_state(&tb.ue, 2, UE_CALL_RINGING, 2000));
	CU_ASSERT_EQUAL(ue_uas_reject(ue_call_by_id(&tb.ue, 2), 486), 0);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_TERMINATED, 1000));
	CU_ASSERT_EQUAL(a->last_status, 486);
	CU_ASSERT_EQUAL(ta.ue.cstats.failed[4], 2);
	/* No common codec: 488, with and without an offer in the INVITE. */
	tb.ue.settings.auto_answer = true;
	CU_ASSERT_FATAL(ue_sdp_codec("G722", &tb.ue.settings.codecs[0]) == 0);
	tb.ue.settings.n_codecs = 1;
	a = place("sip:bob@test.invalid", true, false);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_TERMINATED, 1000));
	CU_ASSERT_EQUAL(a->last_status, 488);
	a = place("sip:bob@test.invalid", false, false);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_TERMINATED, 1000));
	CU_ASSERT_STRING_EQUAL(a->end_reason, "no common codec");
	CU_ASSERT_TRUE(a->ended_local);
	b = ue_call_by_id(&tb.ue, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(wait_state(&tb.ue, 4, UE_CALL_TERMINATED, 1000));
	CU_ASSERT_STRING_EQUAL(b->end_reason, "bye");
	/* Auto-reject. */
	tb.ue.settings.auto_reject = 603;
	a = place("sip:bob@test.invalid", true, false);
	CU_ASSERT_TRUE(wait_state(&ta.ue, a->id, UE_CALL_TERMINATED, 1000));
	CU_ASSERT_EQUAL(a->last_status, 603);
	pair_down();
}

static void test_call_glare(void)
{
	struct ue_call *a, *b;

	pair_up();
	a = place("sip:bob@test.invalid", true, false);
	CU_ASSERT_FATAL(wait_state(&ta.ue, a->id, UE_CALL_CONFIRMED, 2000));
	b = ue_call_by_id(&tb.ue, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	/* The callee too must have its ACK, or its re-INVITE would not be a glare. */
	CU_ASSERT_FATAL(wait_state(&tb.ue, b->id, UE_CALL_CONFIRMED, 2000));
	run_ms(20);
	/* Both hold at once: each gets 491 (RFC 3261 14.2) and retries after its timer. */
	CU_ASSERT_EQUAL(ue_mid_hold(a, true), 0);
	CU_ASSERT_EQUAL(ue_mid_hold(b, true), 0);
	for (unsigned t = 0; t < 1000 && (a->op_status != 491 || b->op_status != 491); t += 10)
		run_ms(10);
	CU_ASSERT_EQUAL(a->op_status, 491);
	CU_ASSERT_EQUAL(b->op_status, 491);
	CU_ASSERT_NOT_EQUAL(a->t_retry, 0);
	for (unsigned t = 0; t < 4500 && !(a->local_hold && b->local_hold); t += 50)
		run_ms(50);
	CU_ASSERT_TRUE(a->local_hold);
	CU_ASSERT_TRUE(b->local_hold);
	run_ms(20);
	CU_ASSERT_EQUAL(negotiated_dir(a), UE_DIR_INACTIVE);
	CU_ASSERT_EQUAL(negotiated_dir(b), UE_DIR_INACTIVE);
	pair_down();
}

static void test_message(void)
{
	struct ue_page *pg = NULL;

	pair_up();
	CU_ASSERT_EQUAL(ue_pager_send(&ta.ue, "sip:bob@test.invalid", "hi bob", 6, NULL, &pg), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
	run_ms(50);
	CU_ASSERT_EQUAL(pg->status, 200);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tb.ue.pages);
	CU_ASSERT_FALSE(tb.ue.pages->out);
	CU_ASSERT_STRING_EQUAL(tb.ue.pages->text, "hi bob");
	CU_ASSERT_STRING_EQUAL(tb.ue.pages->peer, "sip:alice@test.invalid");
	CU_ASSERT_STRING_EQUAL(tb.ue.pages->content_type, "text/plain");
	CU_ASSERT_EQUAL(ue_pager_send(&ta.ue, "sip:bob@x", "x", UE_PAGER_TEXT_MAX + 1, NULL, &pg),
	                -EMSGSIZE);
	CU_ASSERT_EQUAL(ue_pager_send(&ta.ue, "bob", "x", 1, NULL, &pg), -EINVAL);
	ta.ue.no_reg_check = false;
	CU_ASSERT_EQUAL(ue_pager_send(&ta.ue, "sip:bob@x", "x", 1, NULL, &pg), -ENOTCONN);
	pair_down();
}

/* ---- a raw peer ---- */

/* A plain UDP socket playing the far end, so tests see every retransmission. */
struct raw {
	int fd;              /* socket */
	uint16_t port;       /* its port */
	char msgs[16][4096]; /* messages drained by raw_drain */
	unsigned n;          /* entries in msgs */
};

static struct raw raw;

static void raw_open(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	raw.fd = socket(AF_INET, SOCK_DGRAM, 0);
	CU_ASSERT_FATAL(raw.fd >= 0);
	CU_ASSERT_FATAL(bind(raw.fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(getsockname(raw.fd, (struct sockaddr *)&a, &len) == 0);
	raw.port = ntohs(a.sin_port);
}

/* Takes every datagram waiting. */
static unsigned raw_drain(void)
{
	raw.n = 0;
	for (;;) {
		char buf[4096];
		ssize_t n = recv(raw.fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

		if (n <= 0)
			break;
		buf[n] = '\0';
		if (raw.n < 16)
			memcpy(raw.msgs[raw.n++], buf, (size_t)n + 1);
	}
	return raw.n;
}

static unsigned raw_count(const char *start)
{
	unsigned k = 0;

	for (unsigned i = 0; i < raw.n; i++)
		k += strncmp(raw.msgs[i], start, strlen(start)) == 0;
	return k;
}

static const char *raw_find(const char *start)
{
	for (unsigned i = 0; i < raw.n; i++)
		if (strncmp(raw.msgs[i], start, strlen(start)) == 0)
			return raw.msgs[i];
	return NULL;
}

static void raw_send(uint16_t port, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void raw_send(uint16_t port, const char *fmt, ...)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	char buf[4096];
	va_list ap;
	int n;

	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(buf));
	CU_ASSERT(sendto(raw.fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) == n);
}

static const char raw_sdp[] = "v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                              "t=0 0\r\nm=audio 30000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

/* The callee retransmits its 2xx until the ACK (RFC 3261 13.3.1.4), absorbs INVITE
 * copies (17.2.1, RFC 6026), and answers in-dialog requests by the dialog rules. */
static void test_raw_uas_retransmissions(void)
{
	static const char invite[] =
	    "INVITE sip:bob@127.0.0.1:%u SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKraw1;rport\r\n"
	    "Record-Route: <sip:127.0.0.1:%u;lr>\r\n"
	    "From: <sip:raw@test.invalid>;tag=r1\r\nTo: <sip:bob@test.invalid>\r\n"
	    "Call-ID: rawcall1\r\nCSeq: 10 INVITE\r\nContact: <sip:raw@127.0.0.1:%u>\r\n"
	    "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s";
	char to_tag[64] = "";
	const char *ok, *t;
	struct ue_call *b;
	struct sip_msg *m;

	pair_up();
	raw_open();
	raw_send(tb.node.sip_port, invite, tb.node.sip_port, raw.port, raw.port, raw.port,
	         strlen(raw_sdp), raw_sdp);
	run_ms(50);
	CU_ASSERT_EQUAL(raw_drain(), 2);
	CU_ASSERT_EQUAL(raw_count("SIP/2.0 180"), 1);
	ok = raw_find("SIP/2.0 200");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
	/* 12.1.1: the 2xx echoes Record-Route and has our Contact. */
	CU_ASSERT_PTR_NOT_NULL(strstr(ok, "Record-Route: <sip:127.0.0.1:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ok, "Contact: <sip:bob@127.0.0.1:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ok, "m=audio"));
	m = parse(ok);
	CU_ASSERT_EQUAL(sip_msg_to_tag(m, to_tag, sizeof(to_tag)), 0);
	sip_msg_free(m);
	/* An INVITE copy in Accepted is absorbed. */
	raw_send(tb.node.sip_port, invite, tb.node.sip_port, raw.port, raw.port, raw.port,
	         strlen(raw_sdp), raw_sdp);
	run_ms(100);
	CU_ASSERT_EQUAL(raw_drain(), 0);
	CU_ASSERT_EQUAL(tb.ue.cstats.received, 1);
	/* No ACK: the 2xx comes again at T1 and 3*T1. */
	run_ms(1500);
	CU_ASSERT_EQUAL(raw_drain(), 2);
	CU_ASSERT_EQUAL(raw_count("SIP/2.0 200"), 2);
	raw_send(tb.node.sip_port,
	         "ACK sip:bob@127.0.0.1:%u SIP/2.0\r\n"
	         "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKraw2;rport\r\n"
	         "From: <sip:raw@test.invalid>;tag=r1\r\nTo: <sip:bob@test.invalid>;tag=%s\r\n"
	         "Call-ID: rawcall1\r\nCSeq: 10 ACK\r\nContent-Length: 0\r\n\r\n",
	         tb.node.sip_port, raw.port, to_tag);
	run_ms(2200);
	CU_ASSERT_EQUAL(raw_drain(), 0);
	b = ue_call_by_id(&tb.ue, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->state, UE_CALL_CONFIRMED);
	CU_ASSERT_PTR_NULL(b->ok_msg);
	CU_ASSERT_EQUAL(ue_sdp_audio(&b->local)->codecs[0].pt, 8);
	/* A request with a wrong tag has no dialog: 481 (12.2.2). */
	raw_send(tb.node.sip_port,
	         "INFO sip:bob@127.0.0.1 SIP/2.0\r\n"
	         "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKraw3;rport\r\n"
	         "From: <sip:raw@test.invalid>;tag=r9\r\nTo: <sip:bob@test.invalid>;tag=%s\r\n"
	         "Call-ID: rawcall1\r\nCSeq: 11 INFO\r\nContent-Length: 0\r\n\r\n",
	         raw.port, to_tag);
	/* A CSeq below the last one is out of order: 500. */
	raw_send(tb.node.sip_port,
	         "INFO sip:bob@127.0.0.1 SIP/2.0\r\n"
	         "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKraw4;rport\r\n"
	         "From: <sip:raw@test.invalid>;tag=r1\r\nTo: <sip:bob@test.invalid>;tag=%s\r\n"
	         "Call-ID: rawcall1\r\nCSeq: 9 INFO\r\nContent-Length: 0\r\n\r\n",
	         raw.port, to_tag);
	run_ms(50);
	CU_ASSERT_EQUAL(raw_drain(), 2);
	CU_ASSERT_EQUAL(raw_count("SIP/2.0 481"), 1);
	CU_ASSERT_EQUAL(raw_count("SIP/2.0 500"), 1);
	/* The callee's BYE follows the route set to the raw peer, Request-URI = Contact. */
	CU_ASSERT_EQUAL(ue_mid_bye(b), 0);
	run_ms(50);
	CU_ASSERT_EQUAL(raw_drain(), 1);
	t = raw_find("BYE sip:raw@127.0.0.1:");
	CU_ASSERT_PTR_NOT_NULL(t);
	CU_ASSERT_PTR_NOT_NULL(t ? strstr(t, "\r\nRoute: <sip:127.0.0.1:") : NULL);
	CU_ASSERT_PTR_NOT_NULL(t ? strstr(t, "CSeq: 1 BYE") : NULL);
	close(raw.fd);
	pair_down();
}

/* The caller re-ACKs a repeated 2xx, ACKs and BYEs a second fork's 2xx, and sends its
 * BYE along the reversed Record-Route (12.1.2). */
static void test_raw_uac_forks(void)
{
	static const char ok_fmt[] =
	    "SIP/2.0 200 OK\r\n%s"
	    "Record-Route: <sip:far.invalid;lr>, <sip:127.0.0.1:%u;lr>\r\n"
	    "%s"
	    "To: <sip:raw@test.invalid>;tag=%s\r\n"
	    "%s%sContact: <sip:raw@127.0.0.1:%u>\r\n"
	    "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s";
	char via[512], from[256], callid[256], cseq[64];
	const char *inv, *t;
	struct ue_call *a;
	struct sip_msg *m;
	size_t len;

	pair_up();
	raw_open();
	aim(&ta.ue, raw.port);
	a = place("sip:raw@test.invalid", true, false);
	run_ms(30);
	CU_ASSERT_EQUAL_FATAL(raw_drain(), 1);
	inv = raw_find("INVITE sip:raw@test.invalid");
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	/* TS 24.229 5.1.2A.1: the P-CSCF as first Route. */
	CU_ASSERT_PTR_NOT_NULL(strstr(inv, "Route: <sip:pcscf.test.invalid:5060;lr>\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(inv, "Supported: 100rel"));
	m = parse(inv);
	{
		const char *v = sip_msg_header(m, "Via", &len);

		snprintf(via, sizeof(via), "Via: %.*s\r\n", (int)len, v);
		v = sip_msg_header(m, "From", &len);
		snprintf(from, sizeof(from), "From: %.*s\r\n", (int)len, v);
		v = sip_msg_header(m, "Call-ID", &len);
		snprintf(callid, sizeof(callid), "Call-ID: %.*s\r\n", (int)len, v);
		v = sip_msg_header(m, "CSeq", &len);
		snprintf(cseq, sizeof(cseq), "CSeq: %.*s\r\n", (int)len, v);
	}
	sip_msg_free(m);
	raw_send(ta.node.sip_port, ok_fmt, via, raw.port, from, "f1", callid, cseq, raw.port,
	         strlen(raw_sdp), raw_sdp);
	run_ms(30);
	CU_ASSERT_EQUAL(a->state, UE_CALL_CONFIRMED);
	CU_ASSERT_EQUAL(raw_drain(), 1);
	CU_ASSERT_EQUAL(raw_count("ACK sip:raw@127.0.0.1:"), 1);
	/* 12.1.2: route set reversed. */
	CU_ASSERT_EQUAL_FATAL(a->dlg.n_routes, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(a->dlg.routes[0], "127.0.0.1"));
	CU_ASSERT_STRING_EQUAL(a->dlg.routes[1], "<sip:far.invalid;lr>");
	/* The same 2xx again: the same ACK again. */
	raw_send(ta.node.sip_port, ok_fmt, via, raw.port, from, "f1", callid, cseq, raw.port,
	         strlen(raw_sdp), raw_sdp);
	run_ms(30);
	CU_ASSERT_EQUAL(raw_drain(), 1);
	CU_ASSERT_EQUAL(raw_count("ACK sip:raw@127.0.0.1:"), 1);
	/* A 2xx from another fork: ACK, then BYE on that dialog. */
	raw_send(ta.node.sip_port, ok_fmt, via, raw.port, from, "f2", callid, cseq, raw.port,
	         strlen(raw_sdp), raw_sdp);
	run_ms(30);
	CU_ASSERT_EQUAL(raw_drain(), 2);
	CU_ASSERT_EQUAL(raw_count("ACK "), 1);
	t = raw_find("BYE ");
	CU_ASSERT_PTR_NOT_NULL(t);
	CU_ASSERT_PTR_NOT_NULL(t ? strstr(t, ";tag=f2") : NULL);
	CU_ASSERT_STRING_EQUAL(a->dlg.remote_tag, "f1");
	/* Our BYE: Route in reversed Record-Route order, Request-URI the Contact. */
	CU_ASSERT_EQUAL(ue_mid_bye(a), 0);
	run_ms(30);
	CU_ASSERT_EQUAL(raw_drain(), 1);
	t = raw_find("BYE sip:raw@127.0.0.1:");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	m = parse(t);
	{
		struct sip_addr r0, r1;

		CU_ASSERT_EQUAL(sip_msg_nameaddr(m, "Route", 0, &r0), 0);
		CU_ASSERT_EQUAL(sip_msg_nameaddr(m, "Route", 1, &r1), 0);
		CU_ASSERT_EQUAL(strncmp(r0.uri.p, "sip:127.0.0.1:", 14), 0);
		CU_ASSERT_EQUAL(strncmp(r1.uri.p, "sip:far.invalid;lr", 18), 0);
	}
	sip_msg_free(m);
	close(raw.fd);
	pair_down();
}

int test_ue_call_register(void)
{
	static CU_TestInfo tests[] = {
	    {"SDP parse", test_sdp_parse},
	    {"SDP parse errors", test_sdp_parse_errors},
	    {"SDP offer round trip", test_sdp_offer_roundtrip},
	    {"answer: codec intersection", test_sdp_answer_intersection},
	    {"answer: no common codec (488)", test_sdp_no_common_codec},
	    {"answer: directions (RFC 3264 6.1)", test_sdp_directions},
	    {"hold and resume directions", test_sdp_hold_resume},
	    {"answer checked against the offer", test_sdp_check_answer},
	    {"dialog as UAC: route set reversed", test_dialog_uac},
	    {"dialog as UAS: route set in order", test_dialog_uas},
	    {"strict router in the route set", test_dialog_strict_route},
	    {"dialog matching", test_dialog_match},
	    {"request and response builders", test_msg_builders},
	    {"call, INFO, BYE from the callee", test_call_basic},
	    {"hold, resume, UPDATE", test_call_hold_resume},
	    {"100rel with and without offer", test_call_100rel},
	    {"offer in 2xx, answer in ACK", test_call_no_offer},
	    {"CANCEL, reject, 488, auto-reject", test_call_cancel_and_reject},
	    {"glare: 491 and retry", test_call_glare},
	    {"MESSAGE", test_message},
	    {"raw peer: 2xx retransmission, 481, CSeq", test_raw_uas_retransmissions},
	    {"raw peer: re-ACK, second fork, BYE route", test_raw_uac_forks},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("ue_call", tests);
}
