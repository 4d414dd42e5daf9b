// A self-signed X.509 certificate for an RSA key, written with node:crypto and a few lines of DER:
// the emulation's stand-in for AWS's published instance identity certificate. Node can sign and
// parse certificates but not build one, and this is all the ASN.1 a certificate needs, so the
// devnet needs neither an openssl binary nor a certificate library.
import { type KeyObject, randomBytes, sign } from 'node:crypto';

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >> 8, n & 0xff]
          : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}

const sequence = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));

/**
 * A DER INTEGER of unsigned big-endian bytes (a random serial number): minimal, as OpenSSL insists
 * (no leading zero byte it does not need), and a zero byte before a set high bit so it stays positive.
 */
export function integer(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return der(0x02, minimal[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
function time(at: Date): Buffer {
  const iso = at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return at.getUTCFullYear() < 2050
    ? der(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : der(0x18, Buffer.from(`${iso}Z`));
}

const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), der(0x05, Buffer.alloc(0)));

function name(organization: string, commonName: string): Buffer {
  const attribute = (type: string, value: string) =>
    set(sequence(oid(type), der(0x0c, Buffer.from(value, 'utf8'))));
  return sequence(attribute('2.5.4.10', organization), attribute('2.5.4.3', commonName));
}

/** PEM of a self-signed v3 certificate (sha256WithRSAEncryption) for the key pair, valid from now for `days`. */
export function selfSignedCertificate(
  keys: { publicKey: KeyObject; privateKey: KeyObject },
  subject: { organization: string; commonName: string },
  days = 3650,
): string {
  const now = new Date();
  const subjectName = name(subject.organization, subject.commonName);
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))),
    integer(randomBytes(12)),
    SHA256_WITH_RSA,
    subjectName,
    sequence(time(new Date(now.getTime() - 60_000)), time(new Date(now.getTime() + days * 86_400_000))),
    subjectName,
    keys.publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, keys.privateKey);
  const certificate = sequence(tbs, SHA256_WITH_RSA, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
