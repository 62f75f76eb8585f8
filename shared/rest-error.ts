/**
 * The Azure SDKs each throw their own copy of RestError; this reads any of them by shape, so a
 * service can tell "not found" from "the dependency is down" without importing each SDK's class.
 */
export interface RestErrorInfo {
  statusCode: number | undefined;
  code: string | undefined;
}

export function restErrorInfo(e: unknown): RestErrorInfo | undefined {
  if (typeof e !== 'object' || e === null || (e as { name?: unknown }).name !== 'RestError') return undefined;
  const { statusCode, code } = e as { statusCode?: unknown; code?: unknown };
  return {
    statusCode: typeof statusCode === 'number' ? statusCode : undefined,
    code: typeof code === 'string' ? code : undefined,
  };
}

/** A short description safe to log and to show an operator: status and code, never a body. */
export function describeRestError(e: unknown): string {
  const info = restErrorInfo(e);
  if (info)
    return info.statusCode
      ? `HTTP ${info.statusCode} ${info.code ?? ''}`.trim()
      : (info.code ?? 'unreachable');
  return 'unreachable';
}
