export interface MatrixResponse {
  status: number;
  /** The parsed JSON body ({} when the body is empty). */
  body: Record<string, unknown>;
}

export interface MatrixRequestOptions {
  token?: string;
  body?: unknown;
  query?: Record<string, string>;
}

/**
 * One client-server API call without any client library, so a test sees exactly what Synapse answers
 * (status and errcode included). Non-2xx answers are returned, not thrown; transport failures throw.
 */
export async function matrixRequest(
  baseUrl: string,
  method: "GET" | "POST" | "PUT" | "DELETE",
  apiPath: string,
  opts: MatrixRequestOptions = {},
): Promise<MatrixResponse> {
  const url = new URL(apiPath, baseUrl);
  for (const [key, value] of Object.entries(opts.query ?? {})) url.searchParams.set(key, value);
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers["authorization"] = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url, {
    method,
    headers,
    body: opts.body === undefined ? null : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  if (text !== "") {
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(`${method} ${url.pathname} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
    }
  }
  return { status: res.status, body };
}
