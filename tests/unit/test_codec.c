/* Codecs: hex both ways (case, odd length, bad digits, exact-length variant, buffer
 * sizes) and base64 (RFC 4648 section 10 vectors, true decoded length with padding,
 * rejection of what EVP_DecodeBlock would let through, no write past the output). */
#include "codec.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

static void test_hex_encode(void)
{
	static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[CODEC_HEX_SIZE(sizeof(in))];
	char small[12];

	CU_ASSERT_EQUAL(codec_hex_encode(in, sizeof(in), out, sizeof(out)), 12);
	CU_ASSERT_STRING_EQUAL(out, "00017f80abff");
	CU_ASSERT_EQUAL(codec_hex_encode(in, sizeof(in), small, sizeof(small)), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(small, "");
	CU_ASSERT_EQUAL(codec_hex_encode(in, 0, out, 1), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void test_hex_decode_len(void)
{
	uint8_t out[8];

	memset(out, 0xee, sizeof(out));
	CU_ASSERT_EQUAL(codec_hex_decode_len("00aBcDeF19", 10, out, sizeof(out)), 5);
	CU_ASSERT_EQUAL(out[0], 0x00);
	CU_ASSERT_EQUAL(out[1], 0xab);
	CU_ASSERT_EQUAL(out[2], 0xcd);
	CU_ASSERT_EQUAL(out[3], 0xef);
	CU_ASSERT_EQUAL(out[4], 0x19);
	CU_ASSERT_EQUAL(out[5], 0xee);
	/* Length-bounded: bytes after hexlen are not looked at. */
	CU_ASSERT_EQUAL(codec_hex_decode_len("ff01zz", 4, out, sizeof(out)), 2);
	CU_ASSERT_EQUAL(out[0], 0xff);
	CU_ASSERT_EQUAL(out[1], 0x01);
	CU_ASSERT_EQUAL(codec_hex_decode_len("abc", 3, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode_len("0g", 2, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode_len("g0", 2, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode_len(" 0", 2, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode_len("0x12", 4, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode_len("000102030405060708", 18, out, sizeof(out)), -ENOSPC);
	CU_ASSERT_EQUAL(codec_hex_decode_len("", 0, out, sizeof(out)), 0);
}

static void test_hex_decode_exact(void)
{
	static const uint8_t k[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
	                              0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
	uint8_t out[16];

	CU_ASSERT_EQUAL(codec_hex_decode("465b5ce8b199b49faa5f0a2ee238a6bc", out, 16), 0);
	CU_ASSERT_EQUAL(memcmp(out, k, 16), 0);
	CU_ASSERT_EQUAL(codec_hex_decode("465B5CE8B199B49FAA5F0A2EE238A6BC", out, 16), 0);
	CU_ASSERT_EQUAL(memcmp(out, k, 16), 0);
	/* One digit short, one digit long, one byte long, one byte short. */
	CU_ASSERT_EQUAL(codec_hex_decode("465b5ce8b199b49faa5f0a2ee238a6b", out, 16), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode("465b5ce8b199b49faa5f0a2ee238a6bc0", out, 16), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode("465b5ce8b199b49faa5f0a2ee238a6bc00", out, 16), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode("465b5ce8b199b49faa5f0a2ee238a6", out, 16), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode("465b5ce8b199b49faa5f0a2ee238a6bx", out, 16), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode("", out, 16), -EINVAL);
	CU_ASSERT_EQUAL(codec_hex_decode("", out, 0), 0);
	CU_ASSERT_EQUAL(codec_hex_decode("b9b9", out, 2), 0);
	CU_ASSERT_EQUAL(out[0], 0xb9);
	CU_ASSERT_EQUAL(out[1], 0xb9);
}

/* RFC 4648 section 10 test vectors, both ways. */
static void test_b64_rfc4648(void)
{
	static const struct {
		const char *plain; /* input */
		const char *b64;   /* expected encoding */
	} v[] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t plen = strlen(v[i].plain), blen = strlen(v[i].b64);
		char enc[16];
		uint8_t dec[8];

		CU_ASSERT_EQUAL(
		    codec_b64_encode((const uint8_t *)v[i].plain, plen, enc, sizeof(enc)),
		    (ssize_t)blen);
		CU_ASSERT_STRING_EQUAL(enc, v[i].b64);
		CU_ASSERT_EQUAL(codec_b64_decode(v[i].b64, blen, dec, sizeof(dec)), (ssize_t)plen);
		CU_ASSERT_EQUAL(memcmp(dec, v[i].plain, plen), 0);
	}
}

/* The AKA nonce of TS 35.208 set 1: base64(RAND || AUTN), 32 bytes. */
static void test_b64_nonce(void)
{
	static const char nonce[] = "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=";
	uint8_t raw[32], want[32];
	char enc[CODEC_B64_SIZE(32)];

	CU_ASSERT_EQUAL_FATAL(codec_hex_decode("23553cbe9637a89d218ae64dae47bf35"
	                                       "55f328b43577b9b94a9ffac354dfafb3",
	                                       want, 32),
	                      0);
	CU_ASSERT_EQUAL(codec_b64_decode(nonce, strlen(nonce), raw, sizeof(raw)), 32);
	CU_ASSERT_EQUAL(memcmp(raw, want, 32), 0);
	CU_ASSERT_EQUAL(codec_b64_encode(want, 32, enc, sizeof(enc)), 44);
	CU_ASSERT_STRING_EQUAL(enc, nonce);
}

/* Every byte value survives a round trip, for every length 0..70. */
static void test_b64_roundtrip(void)
{
	uint8_t in[70], out[70];
	char enc[CODEC_B64_SIZE(70)];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	in[0] = 0x00;
	in[1] = 0xff;
	for (size_t len = 0; len <= sizeof(in); len++) {
		ssize_t n = codec_b64_encode(in, len, enc, sizeof(enc));

		CU_ASSERT_EQUAL(n, (ssize_t)(4 * ((len + 2) / 3)));
		CU_ASSERT_EQUAL(codec_b64_decode(enc, (size_t)n, out, sizeof(out)), (ssize_t)len);
		CU_ASSERT_EQUAL(memcmp(in, out, len), 0);
	}
}

static void test_b64_invalid(void)
{
	static const char *bad[] = {
	    "Zg=",      /* not a multiple of 4 */
	    "Zg",       /* unpadded */
	    "Z===",     /* three pads */
	    "====",     /* only pads */
	    "Zg=A",     /* pad in the middle of a quad */
	    "Zg==Zg==", /* pad before the last quad */
	    "Zm9v\n",   /* trailing newline (EVP_DecodeBlock strips it) */
	    " Zm9v",    /* leading space (EVP_DecodeBlock strips it) */
	    "Zm 9",     /* inner space */
	    "Zm9-",     /* base64url alphabet */
	    "Zm9_",     /* base64url alphabet */
	    "Zm9\x80",  /* 8-bit byte */
	};
	uint8_t out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(codec_b64_decode(bad[i], strlen(bad[i]), out, sizeof(out)),
		                -EINVAL);
	/* A NUL inside the counted length is not in the alphabet either. */
	CU_ASSERT_EQUAL(codec_b64_decode("Zm\0v", 4, out, sizeof(out)), -EINVAL);
}

static void test_b64_sizes(void)
{
	uint8_t out[8];
	char enc[9];

	/* "fooba" needs exactly 5 bytes: the padded last quad must not write a 6th. */
	memset(out, 0xee, sizeof(out));
	CU_ASSERT_EQUAL(codec_b64_decode("Zm9vYmE=", 8, out, 5), 5);
	CU_ASSERT_EQUAL(memcmp(out, "fooba", 5), 0);
	CU_ASSERT_EQUAL(out[5], 0xee);
	CU_ASSERT_EQUAL(codec_b64_decode("Zm9vYmE=", 8, out, 4), -ENOSPC);
	memset(out, 0xee, sizeof(out));
	CU_ASSERT_EQUAL(codec_b64_decode("Zg==", 4, out, 1), 1);
	CU_ASSERT_EQUAL(out[0], 'f');
	CU_ASSERT_EQUAL(out[1], 0xee);
	CU_ASSERT_EQUAL(codec_b64_decode("Zg==", 4, out, 0), -ENOSPC);
	/* Encoding "foobar" needs 8 characters plus the NUL. */
	CU_ASSERT_EQUAL(codec_b64_encode((const uint8_t *)"foobar", 6, enc, 9), 8);
	CU_ASSERT_EQUAL(codec_b64_encode((const uint8_t *)"foobar", 6, enc, 8), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(enc, "");
}

int test_codec_register(void)
{
	static CU_TestInfo tests[] = {
	    {"hex encode", test_hex_encode},
	    {"hex decode with length", test_hex_decode_len},
	    {"hex decode exact size", test_hex_decode_exact},
	    {"base64 RFC 4648 vectors", test_b64_rfc4648},
	    {"base64 AKA nonce", test_b64_nonce},
	    {"base64 round trip", test_b64_roundtrip},
	    {"base64 invalid input", test_b64_invalid},
	    {"base64 buffer sizes", test_b64_sizes},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("codec", tests);
}
