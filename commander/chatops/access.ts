/** Who may do what, from which chat: roles by platform user id, allow-listed chats. */
import * as z from 'zod';
import type { ChatInput, Platform } from '../../bots/model.js';
import type { AccessRole } from './ports.js';

const AccessRoleSchema = z.enum(['viewer', 'operator', 'admin']);

const PlatformAccess = z.object({
  /** Platform user id → role. Users not listed get `defaultRole`, or nothing. */
  users: z.record(z.string().min(1), AccessRoleSchema).default({}),
  /** Channel / chat ids where Beam answers. The console's chat is `console`. */
  chats: z.array(z.string().min(1)).default([]),
  defaultRole: AccessRoleSchema.optional(),
});

const SlackAccess = PlatformAccess.extend({
  /**
   * The workspace Beam serves (`T…`: the team id, e.g. from `auth.test`). Slack requests from any
   * other workspace the app is installed in are refused; Slack is off until it is set.
   */
  teamId: z
    .string()
    .regex(/^T[A-Z0-9]+$/, 'use the workspace id (T…), as `auth.test` answers it (team_id)')
    .optional(),
  /** With Enterprise Grid: the org (`E…`) the workspace belongs to; requests must come from it too. */
  enterpriseId: z
    .string()
    .regex(/^E[A-Z0-9]+$/, 'use the Enterprise Grid org id (E…), as `auth.test` answers it (enterprise_id)')
    .optional(),
});

export const AccessConfig = z.object({
  slack: SlackAccess.default({ users: {}, chats: [] }),
  telegram: PlatformAccess.default({ users: {}, chats: [] }),
  console: PlatformAccess.default({ users: {}, chats: [] }),
});
export type AccessConfig = z.input<typeof AccessConfig>;

/**
 * The commander's `access` setting: who may do what from which chat, and how long buttons stay valid.
 * Slack user ids look like `U0123ABCD`, Telegram user ids are numbers (as strings), and chats are
 * Slack channel ids (`C…`) or Telegram chat ids (negative for groups).
 */
export const AccessSettings = AccessConfig.extend({
  /** How long the buttons on a commander message (a failover question, an alert) stay valid. */
  actionTtlMs: z
    .number()
    .int()
    .min(60_000, 'use at least 60000 (one minute)')
    .max(30 * 86_400_000, 'use at most 30 days')
    .default(24 * 3_600_000),
  /** How long a [Confirm] button for a dangerous command stays valid. */
  confirmTtlMs: z
    .number()
    .int()
    .min(10_000, 'use at least 10000 (ten seconds)')
    .max(86_400_000, 'use at most one day')
    .default(5 * 60_000),
});
export type AccessSettings = z.output<typeof AccessSettings>;

const RANK: Record<AccessRole, number> = { viewer: 0, operator: 1, admin: 2 };

export function atLeast(role: AccessRole | undefined, needed: AccessRole): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}

export class Access {
  private readonly config: z.output<typeof AccessConfig>;

  constructor(config: AccessConfig) {
    this.config = AccessConfig.parse(config);
  }

  roleOf(platform: Platform, userId: string): AccessRole | undefined {
    const access = this.config[platform];
    return access.users[userId] ?? access.defaultRole;
  }

  /** Why this input may not be handled at all (chat not allow-listed, unknown user), or undefined. */
  refusal(input: ChatInput): string | undefined {
    const access = this.config[input.platform];
    if (!access.chats.includes(input.chat))
      return `chat ${input.chat} is not allow-listed for ${input.platform}`;
    if (!this.roleOf(input.platform, input.user.id))
      return `user ${input.user.id} has no role on ${input.platform}`;
    return undefined;
  }
}
