import type { ChatInput, ChatMessage, ChatReply, ChatTransport } from './model.js';

/**
 * Sends a handler's replies to an input: updates in place where asked, private replies through the
 * platform's private channel when it has one, everything else as new messages in the input's chat.
 */
export async function deliverReplies(
  input: ChatInput,
  replies: ChatReply[] | undefined,
  transport: ChatTransport,
  replyPrivately?: (message: ChatMessage) => Promise<void>,
): Promise<void> {
  for (const reply of replies ?? []) {
    if (reply.replace) {
      await transport.update(reply.replace, reply.message);
    } else if (reply.private && replyPrivately) {
      await replyPrivately(reply.message);
    } else {
      const ref = await transport.post(input.chat, reply.message);
      await reply.onPosted?.(ref);
    }
  }
}

/** Waits for `work` at most `budgetMs`, so an adapter can answer its platform in time; work goes on. */
export async function withinBudget(work: Promise<unknown>, budgetMs: number): Promise<'done' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), budgetMs);
  });
  try {
    return await Promise.race([work.then(() => 'done' as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
