import type { HttpRequest } from '@azure/functions';

/**
 * Who made an admin API call, for the audit log. Behind App Service authentication the platform
 * sets the signed-in principal's name; with only a function key we know it is an operator.
 */
export function operatorOf(request: HttpRequest): string {
  const principal = request.headers.get('x-ms-client-principal-name')?.trim();
  return principal ? `operator:${principal.slice(0, 200)}` : 'operator';
}
