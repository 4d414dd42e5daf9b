/**
 * secp256k1 ECDSA verification of Cosmos signatures (64-byte r‖s over sha256(signBytes)) with
 * node:crypto (OpenSSL), about 50× faster than a pure-JS verifier; checkTx verifies every tx.
 */
import { createPublicKey, verify } from 'node:crypto';

/** DER SubjectPublicKeyInfo header for an id-ecPublicKey on secp256k1 with a 33-byte compressed point. */
const SPKI_COMPRESSED_SECP256K1 = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex');
/** Half the curve order: the SDK rejects high-S signatures (malleable). */
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

export function verifySecp256k1(
  signBytes: Uint8Array,
  signature: Uint8Array,
  compressedPubkey: Uint8Array,
): boolean {
  if (signature.length !== 64 || compressedPubkey.length !== 33) return false;
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`);
  if (s > HALF_ORDER) return false;
  try {
    const key = createPublicKey({
      key: Buffer.concat([SPKI_COMPRESSED_SECP256K1, compressedPubkey]),
      format: 'der',
      type: 'spki',
    });
    return verify('sha256', signBytes, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
