/**
 * Queue URLs across the SQS proxy. The SQS client sends each request to the host
 * of its `QueueUrl` unless an endpoint is set in code (`useQueueUrlAsEndpoint`,
 * on by default; `AWS_ENDPOINT_URL_SQS` does not count as set in code), so a
 * function reaches the proxy only if the queue URLs it holds name the proxy's
 * port. The runtime hands functions such URLs; the proxy swaps the port for the
 * engine's before forwarding (fauxqs matches `QueueUrl` exactly) and back in the
 * answers (`QueueUrl` of CreateQueue/GetQueueUrl, `QueueUrls` of ListQueues and
 * ListDeadLetterSourceQueues), so a URL a function learns stays behind the proxy.
 * Only those fields change: message bodies and attributes pass untouched.
 */

/** A URL with its port replaced when it is `from`; anything else unchanged. */
function swapPort(value: unknown, from: string, to: string): unknown {
  if (typeof value !== 'string') return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  if (url.port !== from) return value;
  url.port = to;
  return url.toString();
}

/**
 * The JSON body with its `QueueUrl` and `QueueUrls` naming port `from` rewritten to port `to`;
 * undefined when nothing changes (the caller then forwards the original bytes).
 */
export function swapQueueUrlPorts(body: string, from: number, to: number): string | undefined {
  if (!body.includes('QueueUrl')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const object = parsed as Record<string, unknown>;
  const [source, target] = [String(from), String(to)];
  let changed = false;
  const queueUrl = swapPort(object.QueueUrl, source, target);
  if (queueUrl !== object.QueueUrl) {
    object.QueueUrl = queueUrl;
    changed = true;
  }
  if (Array.isArray(object.QueueUrls)) {
    const urls = object.QueueUrls.map((url) => swapPort(url, source, target));
    if (urls.some((url, i) => url !== (object.QueueUrls as unknown[])[i])) {
      object.QueueUrls = urls;
      changed = true;
    }
  }
  return changed ? JSON.stringify(object) : undefined;
}

/** The queue URL a caller of the proxy on `proxyPort` should use, for a URL the engine returned. */
export function queueUrlBehindProxy(engineQueueUrl: string, proxyPort: number): string {
  const url = new URL(engineQueueUrl);
  url.port = String(proxyPort);
  return url.toString();
}
