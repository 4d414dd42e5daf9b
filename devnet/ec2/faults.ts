// EC2 error codes the emulation produces, with the HTTP status EC2 answers them with.

const STATUS_BY_CODE: Record<string, number> = {
  UnauthorizedOperation: 403,
  AuthFailure: 401,
  InternalError: 500,
  InternalFailure: 500,
  ServiceUnavailable: 503,
  Unavailable: 503,
  RequestLimitExceeded: 503,
};

export function statusForCode(code: string): number {
  return STATUS_BY_CODE[code] ?? 400;
}

/** An EC2 API error: rendered as EC2's error XML with the code's HTTP status. */
export class Ec2Fault extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'Ec2Fault';
    this.status = statusForCode(code);
  }
}
