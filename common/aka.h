/* UMTS AKA on top of Milenage (TS 33.102 6.3): authentication vectors and SQN
 * management for the HSS, AUTN verification, SQN freshness and AUTS for the UE, and
 * AUTS verification (resynchronisation, TS 33.102 6.3.5) for the HSS.
 * SQN (48 bits) is kept in a uint64_t and structured as in TS 33.102 Annex C.1.2:
 * SQN = SEQ (43 bits) || IND (5 bits). All calls are thread safe. */
#ifndef IMS_AKA_H
#define IMS_AKA_H

#include <stdbool.h>
#include <stdint.h>

#define AKA_IND_BITS  5                             /* Annex C.1.2: IND length */
#define AKA_IND_COUNT (1u << AKA_IND_BITS)          /* a: SEQ_MS array size, 32 */
#define AKA_SQN_MAX   ((UINT64_C(1) << 48) - 1)     /* largest 48-bit SQN */
#define AKA_SEQ_MAX   (AKA_SQN_MAX >> AKA_IND_BITS) /* largest SEQ, 2^43 - 1 */
#define AKA_SQN_DELTA (UINT64_C(1) << 28)           /* Annex C.2.1: delta */
#define AKA_AUTS_LEN  14                            /* TS 33.102 6.3.3 */

/* SEQ part of an SQN. */
uint64_t aka_sqn_seq(uint64_t sqn);
/* IND part of an SQN (0..31). */
unsigned aka_sqn_ind(uint64_t sqn);

/* The SQN for the next vector after sqn (TS 33.102 Annex C.1.1, C.3.2): SEQ + 1 and
 * IND + 1 modulo 32. Returns 0 and sets *next; -EINVAL when sqn has more than 48
 * bits; -ERANGE when SEQ is already AKA_SEQ_MAX: the HE must never reissue an SQN
 * (Annex C.3), so the HSS refuses to make vectors instead of wrapping.
 * *next is left untouched on error. */
int aka_sqn_next(uint64_t sqn, uint64_t *next);

/* SQN <-> 6 bytes big-endian (the AUTN/AUTS encoding). to_bytes keeps the low 48 bits. */
void aka_sqn_to_bytes(uint64_t sqn, uint8_t out[6]);
uint64_t aka_sqn_from_bytes(const uint8_t in[6]);

/* One authentication vector (TS 33.102 6.3.2), what the HSS returns in a MAA. */
struct aka_vector {
	uint8_t rand[16]; /* RAND */
	uint8_t autn[16]; /* AUTN = SQN xor AK || AMF || MAC-A */
	uint8_t xres[8];  /* XRES = f2 */
	uint8_t ck[16];   /* CK = f3 */
	uint8_t ik[16];   /* IK = f4 */
	uint64_t sqn;     /* SQN the vector was made with */
};

/* Builds a vector (TS 33.102 6.3.2 figure 7) for sqn (at most 48 bits) and amf.
 * rand NULL draws a fresh RAND with RAND_bytes. Returns 0, -EINVAL for an SQN beyond
 * 48 bits, -EIO when the RNG or the cipher fails. */
int aka_vector_make(const uint8_t k[16], const uint8_t opc[16], const uint8_t amf[2], uint64_t sqn,
                    const uint8_t rand[16], struct aka_vector *out);

/* UE side (TS 33.102 6.3.3): recovers SQN = (SQN xor AK) xor f5(RAND) from AUTN and
 * checks MAC-A = f1(SQN || RAND || AMF) in constant time. On success returns 0 and
 * fills *sqn, res (f2), ck and ik (each may be NULL). Returns -EBADMSG when MAC-A is
 * wrong (the outputs are then zeroed), or -EIO. SQN freshness is a separate check:
 * aka_sqn_ms_accept(). */
int aka_autn_check(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                   const uint8_t autn[16], uint64_t *sqn, uint8_t res[8], uint8_t ck[16],
                   uint8_t ik[16]);

/* UE side (TS 33.102 6.3.3): AUTS = (SQN_MS xor f5*(RAND)) || MAC-S with
 * MAC-S = f1*(SQN_MS || RAND || AMF*), AMF* = 0x0000 (the dummy value, so AMF need not
 * travel in clear). Returns 0, -EINVAL for an SQN beyond 48 bits, or -EIO. */
int aka_auts_make(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                  uint64_t sqn_ms, uint8_t auts[AKA_AUTS_LEN]);

/* HSS side (TS 33.102 6.3.5): recovers SQN_MS from AUTS and checks MAC-S in constant
 * time. rand is the RAND of the challenge the UE answered. Returns 0 and sets
 * *sqn_ms, -EBADMSG when MAC-S is wrong (*sqn_ms untouched), or -EIO. */
int aka_auts_verify(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                    const uint8_t auts[AKA_AUTS_LEN], uint64_t *sqn_ms);

/* The USIM's record of accepted sequence numbers (TS 33.102 Annex C.2): SEQ_MS(i) is
 * the highest SEQ accepted with IND = i. Zero-initialise for a fresh USIM. */
struct aka_sqn_ms {
	uint64_t seq[AKA_IND_COUNT]; /* SEQ_MS(i), indexed by IND */
};

/* Annex C.2.1/C.2.2: accepts sqn when SEQ > SEQ_MS(IND) and SEQ is at most
 * AKA_SQN_DELTA ahead of the highest SEQ_MS (wrap-around protection); records it on
 * acceptance. The optional age limit L of C.2.2 is not applied. Returns true when
 * accepted; false means the UE must resynchronise (send AUTS). */
bool aka_sqn_ms_accept(struct aka_sqn_ms *ms, uint64_t sqn);

/* SQN_MS for AUTS: the highest SEQ_MS(i), with its index as IND (the lowest index on a
 * tie). The HSS restarts from it, so its next vector is accepted. */
uint64_t aka_sqn_ms_highest(const struct aka_sqn_ms *ms);

#endif
