/**
 * The chat-neutral message and input model. Adapters (Slack, Telegram, console) render messages
 * and turn platform payloads into inputs; they know nothing about validators.
 */

export type Platform = 'slack' | 'telegram' | 'console';

export type Severity = 'info' | 'ok' | 'warning' | 'critical';

export interface ChatButton {
  /** Opaque id of a stored interaction; at most 64 bytes (Telegram's callback_data limit). */
  id: string;
  label: string;
  style?: 'primary' | 'danger';
}

/** A link shown with a message: an explorer page of a transaction, proposal, validator or account. */
export interface ChatLink {
  url: string;
  label: string;
}

export interface ChatField {
  label: string;
  value: string;
}

export interface ChatMessage {
  /** One line that says what this is about. */
  title: string;
  severity?: Severity;
  /** Body text. Plain text; `code` spans and line breaks are the only markup. */
  text?: string;
  fields?: ChatField[];
  /** A preformatted block (tables, status lines), shown in monospace. */
  preformatted?: string;
  buttons?: ChatButton[];
  /** Small print under the message (who did what, when, links). */
  context?: string;
  /** Links shown under the message, in order (explorer pages of what it is about). */
  links?: ChatLink[];
}

/** Where a message goes: a Slack channel id, a Telegram chat id, or the console. */
export interface ChatDestination {
  platform: Platform;
  chat: string;
}

/** A posted message, so that it can be updated in place later. */
export interface MessageRef extends ChatDestination {
  messageId: string;
}

export interface ChatUser {
  /** Platform user id (Slack `U…`, Telegram numeric id, console user name). */
  id: string;
  name?: string;
}

export type ChatInput =
  | { kind: 'command'; platform: Platform; chat: string; user: ChatUser; text: string }
  | {
      kind: 'button';
      platform: Platform;
      chat: string;
      user: ChatUser;
      buttonId: string;
      message?: MessageRef;
    };

/** What a transport can do for the commander. */
export interface ChatTransport {
  readonly platform: Platform;
  post(chat: string, message: ChatMessage): Promise<MessageRef>;
  update(ref: MessageRef, message: ChatMessage): Promise<void>;
}

/** One answer to an input, as a handler (the commander's chatops) gives it to a transport adapter. */
export interface ChatReply {
  message: ChatMessage;
  /** Update this posted message in place instead of posting a new one. */
  replace?: MessageRef;
  /** Only the requester needs to see it (Slack: an ephemeral response; elsewhere an ordinary message). */
  private?: boolean;
  /** Told where a new message was posted, so that later replies about the same subject can update it. */
  onPosted?: (ref: MessageRef) => Promise<void>;
}

/**
 * What an adapter calls for every verified, deduplicated input. It must be quick (record the intent,
 * answer): Slack allows 3 s for the whole request; slow work goes on elsewhere and reports through a
 * ChatTransport later.
 */
export type InputHandler = (input: ChatInput) => Promise<ChatReply[] | undefined>;
