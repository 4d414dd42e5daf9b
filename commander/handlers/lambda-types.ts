/** The parts of API Gateway HTTP API (payload format 2.0) events Beam uses; @types/aws-lambda is not installed. */
export interface HttpEventV2 {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  /** Lowercased names; repeated headers joined with commas. */
  headers: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded: boolean;
  requestContext: {
    http: { method: string; path: string; sourceIp: string };
    requestId: string;
    timeEpoch: number;
  };
}

export interface HttpResultV2 {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

/** An EventBridge scheduled event, as far as the tick reads it. */
export interface ScheduledEvent {
  'detail-type'?: string;
  time?: string;
}
