import { X509Certificate } from 'node:crypto';
import * as z from 'zod';

/** Where AWS publishes the certificates that verify instance identity documents, per region. */
export const AWS_IDENTITY_CERTIFICATES_URL =
  'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/regions-certs.html';

function certificateProblem(pem: string): string | null {
  try {
    const certificate = new X509Certificate(pem);
    return certificate.publicKey.asymmetricKeyType === 'rsa'
      ? null
      : 'this is not an RSA certificate: use the "RSA" certificate of the region (not DSA or RSA-2048)';
  } catch {
    return `not a PEM certificate: copy the fleet region's "RSA" certificate from ${AWS_IDENTITY_CERTIFICATES_URL}`;
  }
}

/**
 * How the commander checks an EC2 instance identity document (commander/identity/document.ts). The
 * region is the fleet's (the EC2 adapter's); documents of any other region are refused.
 */
export const Ec2IdentitySettings = z.strictObject({
  /** The AWS account the fleet's instances run in. */
  accountId: z.string().regex(/^\d{12}$/, 'use the 12-digit AWS account id of the fleet'),
  /**
   * PEM of AWS's "RSA" certificate for the fleet's region (it verifies the base64 `signature` of
   * the document); the self-hosted devnet uses the EC2 emulation's own (`identityCertificate`).
   */
  certificate: z.string().superRefine((pem, ctx) => {
    const problem = certificateProblem(pem);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  /**
   * A document proves a fresh launch only while its `pendingTime` (the instance's last start) is at
   * most this old: a document copied off an instance is worthless after it. Autoscaled sentries enroll
   * within minutes of booting; one enrolling later waits for a person (or a stop/start).
   */
  maxAgeMs: z
    .number()
    .int()
    .min(60_000, 'use at least 60000 (a minute)')
    .max(86_400_000, 'use at most 86400000 (a day): older documents prove little')
    .default(30 * 60_000),
});
export type Ec2IdentitySettings = z.infer<typeof Ec2IdentitySettings>;

export const IdentitySettings = z.strictObject({
  /** Absent: no identity document is checked, and no node is ever approved without a person. */
  ec2: Ec2IdentitySettings.optional(),
});
export type IdentitySettings = z.infer<typeof IdentitySettings>;
