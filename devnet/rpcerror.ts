/** A JSON-RPC 2.0 error as CometBFT reports it: code, message, and the detail in `data`. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: string,
  ) {
    super(message);
  }
}

export const invalidParams = (data: string) => new RpcError(-32602, 'Invalid params', data);
export const internalError = (data: string) => new RpcError(-32603, 'Internal error', data);
