/** The chat transports: Slack, Telegram and the console, and the chat-neutral model they share. */
export * from './console.js';
export * from './dedupe.js';
export * from './deliver.js';
export * from './http.js';
export * from './log.js';
export * from './model.js';
export * from './slack/app.js';
export * from './slack/blocks.js';
export * from './slack/transport.js';
export * from './slack/web-api.js';
export * from './telegram/bot.js';
export * from './telegram/bot-api.js';
export * from './telegram/html.js';
export * from './telegram/transport.js';
