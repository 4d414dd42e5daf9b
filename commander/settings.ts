import { z } from 'zod';
import { Role } from '../protocol/index.js';
import { AccessSettings } from './chatops/access.js';
import { AlertPolicy } from './domain/alerts.js';
import { FailoverSettings } from './failover/settings.js';
import { GovernanceSettings } from './governance/settings.js';
import { HealthThresholds } from './domain/health.js';
import { ChatRoute } from './notify/notifier.js';
import { SentrySettings } from './sentry/settings.js';

/** What every commander runs with, in Lambda or self-hosted; built from env vars or a config file. */
export const CommanderSettings = z.strictObject({
  tableName: z.string().regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'use 3-255 characters of [a-zA-Z0-9_.-]'),
  /** Endpoint of dynalite or another DynamoDB-compatible service; AWS when absent. */
  dynamodbEndpoint: z.url().optional(),
  enrollmentToken: z.string().min(16, 'use at least 16 characters (e.g. `openssl rand -hex 32`)').max(256),
  reportIntervalMs: z.number().int().min(500).max(300_000).default(5000),
  /** How long a pending pilot waits between enrollment polls. */
  enrollRetryMs: z.number().int().min(100).max(300_000).default(10_000),
  autoApprove: z
    .strictObject({
      roles: z.array(Role).default([]),
      requireInstanceId: z.boolean().default(true),
    })
    .prefault({}),
  thresholds: HealthThresholds.prefault({}),
  alerts: AlertPolicy.prefault({}),
  chat: z.array(ChatRoute).default([]),
  /**
   * Validator failover (docs/failover.md): lease, detection and mode; defaults when absent. Beam
   * checks these timings against the commander's `reportIntervalMs` (set both when shortening them).
   */
  failover: FailoverSettings.optional(),
  /** Sentry defence (commander/sentry): flood thresholds, cooldowns, minimum healthy sentries, replacement. */
  sentry: SentrySettings.prefault({}),
  /** Chat roles by Slack / Telegram user id, allow-listed chats, button lifetimes (chatops/access.ts). */
  access: AccessSettings.prefault({}),
  /** Proposal alerts, votes, auto-vote and auto-bond (docs/governance.md); `chains.<id>` overrides per chain. */
  governance: GovernanceSettings.prefault({}),
});
export type CommanderSettings = z.infer<typeof CommanderSettings>;
export type CommanderSettingsInput = z.input<typeof CommanderSettings>;
