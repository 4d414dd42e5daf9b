/** Who may do what, from which chat: roles by platform user id, allow-listed chats. */
import { z } from 'zod';
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

export const AccessConfig = z.object({
  slack: PlatformAccess.default({ users: {}, chats: [] }),
  telegram: PlatformAccess.default({ users: {}, chats: [] }),
  console: PlatformAccess.default({ users: {}, chats: [] }),
});
export type AccessConfig = z.input<typeof AccessConfig>;

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
