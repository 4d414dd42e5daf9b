/** A webhook request as a Lambda handler or an HTTP server hands it over: raw body, as received. */
export interface HttpRequest {
  headers: Record<string, string | undefined>;
  body: string | undefined;
  isBase64Encoded?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}
