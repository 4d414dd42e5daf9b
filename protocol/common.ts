import * as z from 'zod';

/** Beam's own name for a node: lowercase letters, digits and dashes, like a hostname label. */
export const NodeId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use 1-63 lowercase letters, digits or dashes, starting alphanumeric');
export type NodeId = z.infer<typeof NodeId>;

export const ChainId = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,49}$/, 'use a Cosmos chain id such as cosmoshub-4');

export const Role = z.enum(['validator', 'sentry']);
export type Role = z.infer<typeof Role>;

/** A CometBFT node id: 40 lowercase hex characters. */
export const CometNodeId = z.string().regex(/^[0-9a-f]{40}$/, 'use the 40-hex-character CometBFT node id');

export const Coin = z.object({
  denom: z.string().min(1).max(128),
  amount: z.string().regex(/^\d+$/, 'use a non-negative integer amount in base units'),
});
export type Coin = z.infer<typeof Coin>;

/** Milliseconds since the Unix epoch. */
export const EpochMs = z.number().int().nonnegative();

export const VoteOption = z.enum(['yes', 'no', 'abstain', 'no_with_veto']);
export type VoteOption = z.infer<typeof VoteOption>;

/** Renders a zod error as one line per problem, each naming the field. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses with a schema and throws an Error whose message names each bad field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new Error(`invalid ${what}: ${describeZodError(result.error)}`);
  return result.data;
}
