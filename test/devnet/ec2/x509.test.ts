import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { integer, selfSignedCertificate } from '../../../devnet/ec2/x509.js';

describe('the emulation’s certificates', () => {
  it('encodes integers as DER wants them: minimal, and positive', () => {
    const hex = (b: Buffer) => b.toString('hex');
    expect(hex(integer(Buffer.from([0x00, 0x00, 0x12, 0x34])))).toBe('02021234');
    expect(hex(integer(Buffer.from([0x00, 0x92])))).toBe('02020092');
    expect(hex(integer(Buffer.from([0x92, 0x01])))).toBe('0203009201');
    expect(hex(integer(Buffer.from([0x00])))).toBe('020100');
  });

  it('makes certificates OpenSSL reads, whatever serial number it draws', () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (let i = 0; i < 300; i++) {
      const pem = selfSignedCertificate(keys, { organization: 'Amazon', commonName: 'ec2' });
      expect(new X509Certificate(pem).publicKey.asymmetricKeyType).toBe('rsa');
    }
  });
});
