/**
 * ChatOps: turns chat inputs (commands, button presses) into commander calls and chat replies, with
 * permissions, confirmations for dangerous actions, act-once buttons and an audit entry for everything.
 */
import { randomBytes } from 'node:crypto';
import type { ChatInput, ChatMessage, ChatReply, ChatTransport, MessageRef } from '../../bots/model.js';
import { Access, type AccessConfig, atLeast } from './access.js';
import { COMMANDS, type Command, formatCommand, parseCommand } from './commands.js';
import type { Actor, AuditLog, FleetOps, InteractionStore, OperationResult, SubjectRefs } from './ports.js';
import * as render from './render.js';

const DEFAULT_CONFIRM_TTL_MS = 5 * 60_000;
const VOTE_CHOICES = { y: 'yes', n: 'no', a: 'abstain', v: 'no_with_veto' } as const;

export interface ChatOpsOptions {
  fleet: FleetOps;
  interactions: InteractionStore;
  audit: AuditLog;
  subjects: SubjectRefs;
  access: AccessConfig;
  /** How long a [Confirm] button stays valid. */
  confirmTtlMs?: number;
  now?: () => number;
  /** Short random ids for stored interactions (8 base64url characters by default). */
  newId?: () => string;
  /** Where a failure's details go; chat gets only a reference to them. */
  log?: { error(obj: object, msg: string): void };
}

/** A command's outcome: the replies, and one line for the audit log. */
interface Outcome {
  replies: ChatReply[];
  summary: string;
}

function actorOf(input: ChatInput): Actor {
  return {
    platform: input.platform,
    userId: input.user.id,
    ...(input.user.name ? { name: input.user.name } : {}),
  };
}

function who(actor: Actor): string {
  return actor.name ? `${actor.name} (${actor.userId})` : actor.userId;
}

const privately = (message: ChatMessage): ChatReply => ({ message, private: true });

/**
 * Where a private reply reaches the requester alone: Slack (ephemeral), the console (a terminal), a
 * Telegram chat with the bot (its id is the user's). In a Telegram group it would be an ordinary message.
 */
const privateChannel = (input: ChatInput) => input.platform !== 'telegram' || input.chat === input.user.id;

export class ChatOps {
  private readonly access: Access;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly confirmTtlMs: number;

  constructor(private readonly options: ChatOpsOptions) {
    this.access = new Access(options.access);
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? (() => randomBytes(6).toString('base64url'));
    this.confirmTtlMs = options.confirmTtlMs ?? DEFAULT_CONFIRM_TTL_MS;
  }

  /** The adapters' InputHandler: answers one input. Never throws for bad input; it answers instead. */
  readonly handle = async (input: ChatInput): Promise<ChatReply[]> => {
    const action = input.kind === 'command' ? `command ${input.text}` : `button ${input.buttonId}`;
    const refusal = this.access.refusal(input);
    if (refusal) return this.refuse(input, action, refusal);
    try {
      return input.kind === 'command' ? await this.command(input, action) : await this.button(input, action);
    } catch (error) {
      // An internal error's text can name ARNs, tables or AWS's own words: it goes to the log under a
      // reference; the chat and the chat audit (which `audit` shows in chat) get the reference only.
      const ref = randomBytes(4).toString('hex');
      this.options.log?.error(
        {
          ref,
          action,
          err: error instanceof Error ? error.message : String(error),
          stack: (error as Error)?.stack,
        },
        'chat input failed',
      );
      await this.audit(input, action, false, `failed: internal error, ref ${ref}`);
      return [
        privately({
          title: 'Something went wrong',
          severity: 'critical',
          text: `Beam could not do this. The commander's log has the details under ref ${ref}.`,
        }),
      ];
    }
  };

  /**
   * Posts a message about a subject, or updates the one already posted in that chat: how the commander
   * reports an operation's progress, an alert's changes or a proposal's vote.
   */
  async publish(
    transport: ChatTransport,
    chat: string,
    subject: string,
    message: ChatMessage,
  ): Promise<MessageRef> {
    const ref = await this.options.subjects.get(subject, transport.platform, chat);
    if (ref) {
      await transport.update(ref, message);
      return ref;
    }
    const posted = await transport.post(chat, message);
    await this.options.subjects.set(subject, posted);
    return posted;
  }

  private async command(input: ChatInput & { kind: 'command' }, action: string): Promise<ChatReply[]> {
    const parsed = parseCommand(input.text);
    if (!parsed.ok) {
      await this.audit(input, action, false, parsed.error);
      return [privately(render.errorMessage(parsed.error, parsed.usage))];
    }
    const { command } = parsed;
    const actor = actorOf(input);
    const denied = this.permission(input, command);
    if (denied) return this.refuse(input, action, denied);
    if (COMMANDS[command.name].dangerous(command)) return this.askConfirmation(input, action, command, actor);
    const outcome = await this.run(command, input, actor);
    await this.audit(input, action, true, outcome.summary);
    return outcome.replies;
  }

  private async button(input: ChatInput & { kind: 'button' }, action: string): Promise<ChatReply[]> {
    const separator = input.buttonId.lastIndexOf(':');
    const id = input.buttonId.slice(0, separator);
    const choice = input.buttonId.slice(separator + 1);
    const { interactions } = this.options;
    const interaction = separator > 0 ? await interactions.load(id, this.now()) : undefined;
    const line = interaction?.choices[choice];
    if (!interaction || line === undefined) {
      return this.refuse(input, action, 'this button has expired or was already used');
    }
    if (interaction.chat !== input.chat) {
      return this.refuse(input, action, `this button belongs to chat ${interaction.chat}`);
    }
    const actor = actorOf(input);
    const owner = interaction.restrictedTo;
    const isOwner = owner?.platform === actor.platform && owner.userId === actor.userId;
    if (owner && !isOwner && this.access.roleOf(input.platform, actor.userId) !== 'admin') {
      return this.refuse(input, action, `only ${who(owner)} or an admin can answer this`);
    }
    const parsed = line ? parseCommand(line) : undefined;
    if (parsed && !parsed.ok) throw new Error(`stored command "${line}" no longer parses: ${parsed.error}`);
    const command = parsed?.command;
    const denied = command && this.permission(input, command);
    if (denied) return this.refuse(input, action, denied);
    // A dangerous command behind a button the commander offered (an alert's [Unjail]) is asked like a
    // typed one: the press asks, only a [Confirm] acts. The offering message keeps its buttons, so a
    // cancelled question can be asked again; a confirmation is the only interaction owned by a person.
    if (command && !owner && COMMANDS[command.name].dangerous(command))
      return this.askConfirmation(input, `${action} (${line})`, command, actor);
    if (interaction.actOnce && !(await interactions.consume(id, this.now()))) {
      return this.refuse(input, action, 'this button has expired or was already used');
    }
    if (!command) {
      await this.audit(input, `${action} (cancel)`, true, 'cancelled');
      const message: ChatMessage = { title: 'Cancelled', text: `Cancelled by ${who(actor)}.` };
      return [input.message ? { message, replace: input.message } : { message }];
    }
    const outcome = await this.run(command, input, actor);
    await this.audit(input, `${action} (${line})`, true, outcome.summary);
    // A confirmation's answer takes the place of the question, buttons and all.
    const first = outcome.replies[0];
    if (interaction.actOnce && input.message && first && !first.private && !first.replace) {
      const { onPosted, ...rest } = first;
      await onPosted?.(input.message);
      return [{ ...rest, replace: input.message }, ...outcome.replies.slice(1)];
    }
    return outcome.replies;
  }

  /** Why this person may not run this command, or undefined. */
  private permission(input: ChatInput, command: Command): string | undefined {
    const needed = COMMANDS[command.name].role(command);
    const role = this.access.roleOf(input.platform, input.user.id);
    return atLeast(role, needed)
      ? undefined
      : `\`${command.name}\` needs the ${needed} role; you are ${role ?? 'unknown'}`;
  }

  private async askConfirmation(
    input: ChatInput,
    action: string,
    command: Command,
    actor: Actor,
  ): Promise<ChatReply[]> {
    const now = this.now();
    const line = formatCommand(command);
    const id = this.newId();
    const expiresAt = now + this.confirmTtlMs;
    await this.options.interactions.save({
      id,
      choices: { ok: line, no: '' },
      actOnce: true,
      restrictedTo: actor,
      chat: input.chat,
      createdAt: now,
      expiresAt,
    });
    await this.audit(input, action, true, `confirmation ${id} requested`);
    const buttons = [
      { id: `${id}:ok`, label: 'Confirm', style: 'danger' as const },
      { id: `${id}:no`, label: 'Cancel' },
    ];
    return [
      await this.aboutSubject(
        input,
        `confirm:${id}`,
        render.confirmationMessage(line, who(actor), buttons, expiresAt),
      ),
    ];
  }

  private async run(command: Command, input: ChatInput, actor: Actor): Promise<Outcome> {
    const { fleet } = this.options;
    const show = (message: ChatMessage, summary = 'shown'): Outcome => ({ replies: [{ message }], summary });
    const operation = async (what: string, result: Promise<OperationResult>): Promise<Outcome> => {
      const done = await result;
      const message = render.operationMessage(what, done, who(actor));
      const reply = done.operationId
        ? await this.aboutSubject(input, `operation:${done.operationId}`, message)
        : { message };
      return { replies: [reply], summary: `${done.accepted ? 'accepted' : 'refused'}: ${done.summary}` };
    };
    const missing = (name: string) => ({
      replies: [privately(render.errorMessage(`no node named "${name}"; \`nodes\` lists them`))],
      summary: `no node ${name}`,
    });
    switch (command.name) {
      case 'status': {
        if (command.pin === 'unpin') return operation('Status unpin', fleet.unpinStatus({ by: actor }));
        const status = await fleet.fleetStatus();
        if (command.pin !== 'pin') return show(render.statusMessage(status));
        // The answer is the pinned message itself: once posted, the commander edits it in place.
        const { subject, pinnedBy } = await fleet.pinStatus({ status, by: actor });
        const message = render.statusMessage(status, pinnedBy);
        return {
          replies: [{ message, onPosted: (ref) => this.options.subjects.set(subject, ref) }],
          summary: 'status pinned',
        };
      }
      case 'nodes':
        return show(render.nodesMessage(await fleet.listNodes()));
      case 'node': {
        const node = await fleet.node(command.node);
        return node ? show(render.nodeMessage(node, this.now())) : missing(command.node);
      }
      case 'config': {
        const config = await fleet.nodeConfig(command.node);
        return config ? show(render.configMessage(config)) : missing(command.node);
      }
      case 'proposals':
        return this.proposals(input);
      case 'vote':
        return operation(
          `Vote ${command.option} on proposal ${command.proposalId}`,
          fleet.recordVote({
            proposalId: command.proposalId,
            option: command.option,
            ...(command.memo ? { memo: command.memo } : {}),
            by: actor,
          }),
        );
      case 'failover':
        return operation(
          command.to ? `Failover to ${command.to}` : 'Failover',
          fleet.requestFailover({ ...(command.to ? { to: command.to } : {}), by: actor }),
        );
      case 'switchover':
        return operation('Switchover', fleet.switchover({ by: actor }));
      case 'confirm-failover':
      case 'decline-failover': {
        const confirm = command.name === 'confirm-failover';
        return operation(
          `${confirm ? 'Failover confirmed' : 'Failover declined'} (${command.opId})`,
          fleet.answerFailover({ opId: command.opId, confirm, by: actor }),
        );
      }
      case 'hold':
        return operation(
          `Auto-vote hold on proposal ${command.proposalId}`,
          fleet.holdAutoVote({ proposalId: command.proposalId, by: actor }),
        );
      case 'rotate-ip':
        return operation(
          `IP rotation of ${command.sentry}`,
          fleet.rotateIp({ sentry: command.sentry, by: actor }),
        );
      case 'replace':
        return operation(
          `Replacement of ${command.sentry}`,
          fleet.replaceSentry({ sentry: command.sentry, by: actor }),
        );
      case 'restart':
        return operation(`Restart of ${command.node}`, fleet.restart({ node: command.node, by: actor }));
      case 'maintenance':
        return operation(
          command.span === null ? `End of maintenance of ${command.node}` : `Maintenance of ${command.node}`,
          fleet.maintenance({
            node: command.node,
            durationMs: command.span,
            ...(command.reason ? { reason: command.reason } : {}),
            by: actor,
          }),
        );
      case 'unjail':
        return operation(`Unjail of ${command.target}`, fleet.unjail({ target: command.target, by: actor }));
      case 'approve':
      case 'reject': {
        const approve = command.name === 'approve';
        return operation(
          `${approve ? 'Approval' : 'Rejection'} of ${command.node}`,
          fleet.decideNode({ node: command.node, approve, by: actor }),
        );
      }
      case 'remove':
        return operation(`Removal of ${command.node}`, fleet.removeNode({ node: command.node, by: actor }));
      case 'upgrade':
        return operation(
          `Pilot upgrade to ${command.version}`,
          fleet.upgradePilots({ version: command.version, by: actor }),
        );
      case 'token': {
        if (!privateChannel(input)) {
          return {
            replies: [
              privately(
                render.refusalMessage(
                  'a new token would show in this group: run `token rotate` in a private chat with the bot (add its id to access.telegram.chats), in Slack or in the console',
                ),
              ),
            ],
            summary: 'refused: not a private chat',
          };
        }
        const { token } = await fleet.rotateEnrollmentToken({ by: actor });
        // The audit summary, like every log line, never carries the token.
        return { replies: [privately(render.tokenMessage(token))], summary: 'enrollment token rotated' };
      }
      case 'bond':
        return command.now
          ? operation('Bond', fleet.bond({ by: actor }))
          : show(render.bondPreviewMessage(await fleet.bondPreview()));
      case 'policy':
        return command.key !== undefined
          ? operation(
              `Policy ${command.key}`,
              fleet.setPolicy({ key: command.key, value: command.value ?? '', by: actor }),
            )
          : show(render.policyMessage(await fleet.policy()));
      case 'mute':
        return operation(
          `Mute ${command.target}`,
          fleet.mute({ target: command.target, until: this.now() + command.duration, by: actor }),
        );
      case 'ack':
        return operation(`Ack ${command.alert}`, fleet.ack({ alert: command.alert, by: actor }));
      case 'audit':
        return show(render.auditMessage(await this.options.audit.list(command.limit)));
      case 'help':
        return show(render.helpMessage(command.topic));
    }
  }

  /** One message per proposal with vote buttons; listing again updates those messages in place. */
  private async proposals(input: ChatInput): Promise<Outcome> {
    const proposals = await this.options.fleet.proposals();
    if (proposals.length === 0)
      return { replies: [{ message: { title: 'No proposals in voting period' } }], summary: 'none' };
    const now = this.now();
    const replies: ChatReply[] = [];
    for (const proposal of proposals) {
      const id = this.newId();
      const choices = Object.fromEntries(
        Object.entries(VOTE_CHOICES).map(([key, option]) => [key, `vote ${proposal.id} ${option}`]),
      );
      await this.options.interactions.save({
        id,
        choices,
        actOnce: false,
        chat: input.chat,
        createdAt: now,
        expiresAt: Math.max(proposal.votingEnd, now + this.confirmTtlMs),
      });
      const buttons = Object.entries(VOTE_CHOICES).map(([key, option]) => ({
        id: `${id}:${key}`,
        label: option === 'no_with_veto' ? 'No with veto' : option[0]!.toUpperCase() + option.slice(1),
      }));
      replies.push(
        await this.aboutSubject(input, `proposal:${proposal.id}`, render.proposalMessage(proposal, buttons)),
      );
    }
    return { replies, summary: `${proposals.length} proposals` };
  }

  /** A reply that updates the subject's earlier message in this chat, or posts one and remembers it. */
  private async aboutSubject(input: ChatInput, subject: string, message: ChatMessage): Promise<ChatReply> {
    const { subjects } = this.options;
    const ref = await subjects.get(subject, input.platform, input.chat);
    return ref ? { message, replace: ref } : { message, onPosted: (posted) => subjects.set(subject, posted) };
  }

  private async refuse(input: ChatInput, action: string, reason: string): Promise<ChatReply[]> {
    await this.audit(input, action, false, reason);
    return [privately(render.refusalMessage(reason))];
  }

  private async audit(input: ChatInput, action: string, allowed: boolean, reason: string): Promise<void> {
    await this.options.audit.record({
      at: this.now(),
      platform: input.platform,
      chat: input.chat,
      userId: input.user.id,
      action,
      allowed,
      reason,
    });
  }
}
