/* Milenage, the example 3GPP authentication and key generation functions f1, f1*,
 * f2, f3, f4, f5 and f5* (TS 35.206 4.1) over AES-128, with the standard constants
 * c1..c5 and r1..r5 (TS 35.206 4.1). Checked against TS 35.208 4.3 test sets 1-6.
 * All calls are reentrant and thread safe (the HSS runs them on freeDiameter threads):
 * each call uses its own OpenSSL cipher context. Byte arrays are big-endian as in the
 * specification (bit 0 = most significant bit of byte 0). */
#ifndef IMS_MILENAGE_H
#define IMS_MILENAGE_H

#include <stdint.h>

/* OPc = OP xor E[OP]_K (TS 35.206 4.1). Returns 0 or a negative errno (-EIO when
 * OpenSSL fails, -ENOMEM). */
int milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]);

/* f1 and f1* (TS 35.206 4.1): mac_a = MAC-A = f1_K(SQN, RAND, AMF) and
 * mac_s = MAC-S = f1*_K(SQN, RAND, AMF). Either output may be NULL.
 * Returns 0 or a negative errno. */
int milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                const uint8_t sqn[6], const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8]);

/* f2 (RES), f3 (CK), f4 (IK), f5 (AK) and f5* (AK*) of RAND (TS 35.206 4.1). Any
 * output may be NULL; only the AES blocks needed for the requested outputs are run.
 * Returns 0 or a negative errno. */
int milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                   uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6],
                   uint8_t ak_star[6]);

#endif
