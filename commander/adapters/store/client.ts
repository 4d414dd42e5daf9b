import { DynamoDBClient, DynamoDBDocumentClient } from './sdk.js';

/** The one method of the document client the store uses, so a counting wrapper can stand in. */
export interface DocSender {
  // biome-ignore lint/suspicious/noExplicitAny: mirrors the SDK's generic command signature
  send(command: any): Promise<any>;
}

/** A conditional write lost to another writer: the optimistic locking working, not a store fault. */
export function isConditionFailure(error: unknown): boolean {
  return (error as Error)?.name === 'ConditionalCheckFailedException';
}

/**
 * Counts every store round trip (tests and the bench assert the cost of a report with it) and the
 * ones that failed other than by a lost condition (the commander's metrics report those).
 */
export class CountingSender implements DocSender {
  calls = 0;
  errors = 0;
  readonly byCommand = new Map<string, number>();
  constructor(private readonly inner: DocSender) {}

  // biome-ignore lint/suspicious/noExplicitAny: see DocSender
  send(command: any): Promise<any> {
    this.calls += 1;
    const name = String(command?.constructor?.name ?? 'unknown');
    this.byCommand.set(name, (this.byCommand.get(name) ?? 0) + 1);
    return this.inner.send(command).catch((error: unknown) => {
      if (!isConditionFailure(error)) this.errors += 1;
      throw error;
    });
  }

  reset(): void {
    this.calls = 0;
    this.errors = 0;
    this.byCommand.clear();
  }
}

export interface DynamoConnection {
  /** Endpoint of a local engine (dynalite) or a DynamoDB-compatible service; AWS default when absent. */
  endpoint?: string;
  region?: string;
}

export function createDynamoClient(connection: DynamoConnection = {}): DynamoDBClient {
  const local = connection.endpoint !== undefined;
  return new DynamoDBClient({
    region: connection.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(local
      ? {
          endpoint: connection.endpoint,
          // dynalite checks neither; the SDK still insists on having some.
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          maxAttempts: 2,
        }
      : {}),
  });
}

export function createDocClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
