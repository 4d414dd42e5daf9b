// EC2 Query API responses: the XML shapes @aws-sdk/client-ec2's ec2Query deserializer reads
// (lowercase-first element names, lists as <xSet><item>…</item></xSet>, errors under <Response><Errors>).

export const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** An XML element tree: a scalar leaf, a list rendered as `<item>` children, or nested fields. */
export type XmlValue =
  | string
  | number
  | boolean
  | Date
  | undefined
  | XmlValue[]
  | { [name: string]: XmlValue };

function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (ch) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[ch]};`,
  );
}

function renderValue(value: XmlValue): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => element('item', item)).join('');
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([name, child]) => element(name, child))
      .join('');
  }
  return escapeXml(String(value));
}

function element(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  return `<${name}>${renderValue(value)}</${name}>`;
}

/** `<ActionResponse xmlns=…><requestId/>…fields…</ActionResponse>` */
export function successXml(action: string, requestId: string, fields: Record<string, XmlValue>): string {
  const body = renderValue({ requestId, ...fields });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NAMESPACE}">${body}</${action}Response>`;
}

export function errorXml(code: string, message: string, requestId: string): string {
  const error = renderValue({ Errors: { Error: { Code: code, Message: message } }, RequestID: requestId });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response>${error}</Response>`;
}
