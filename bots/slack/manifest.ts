import type { webApi } from '@slack/bolt';

/** Slack's app manifest, as its own Web API client types it (apps.manifest.create). */
export type SlackManifest = webApi.AppsManifestCreateArguments['manifest'];

export interface ManifestOptions {
  /** The app's name in Slack (at most 35 characters). */
  name: string;
  /** One line about the app (at most 140 characters). */
  description: string;
  /** The slash command the listeners answer, with its description and usage hint. */
  command: { name: string; description: string; usageHint: string };
  /**
   * Where Slack sends the slash command and button clicks: the route served as `POST /slack/events`
   * (https). Absent: Socket Mode, where the app connects out and needs no public URL.
   */
  requestUrl?: string;
}

/**
 * An app manifest with what the bot uses and nothing more: the slash command, interactivity for
 * buttons, and the bot scopes to answer it (`commands`) and to post and edit its messages
 * (`chat:write`). No `chat:write.public`: the bot posts only in channels it was invited to. It
 * subscribes to no events, so the manifest has no event subscriptions.
 */
export function slackManifest(o: ManifestOptions): SlackManifest {
  const url = o.requestUrl ? { url: o.requestUrl } : {};
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: { name: o.name, description: o.description, background_color: '#1d3557' },
    features: {
      bot_user: { display_name: o.name.toLowerCase().replace(/[^a-z0-9._-]/g, '-'), always_online: true },
      slash_commands: [
        {
          command: o.command.name,
          description: o.command.description,
          usage_hint: o.command.usageHint,
          should_escape: false,
          ...url,
        },
      ],
    },
    oauth_config: { scopes: { bot: ['chat:write', 'commands'] } },
    settings: {
      interactivity: { is_enabled: true, ...(o.requestUrl ? { request_url: o.requestUrl } : {}) },
      org_deploy_enabled: false,
      socket_mode_enabled: !o.requestUrl,
      token_rotation_enabled: false,
    },
  };
}
