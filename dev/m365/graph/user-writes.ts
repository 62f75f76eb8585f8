import { changesOf, userWritten } from '../directory';
import type { DirectoryUser } from '../state';
import { hasPermission } from './auth';
import { graphErrors, graphHeaders, sendGraph, sendGraphError } from './errors';
import type { GraphRequest, GraphRoute } from './types';
import { userEntity } from './users';

/**
 * Writes to users as Microsoft documents them: `PATCH /users/{id}` (204, no body) and
 * `POST /users/{id}/assignLicense` (200 with the user). Both change the directory the way the portal
 * does, so the next delta query returns the user. Delegated `User.ReadWrite.All` (or
 * `Directory.ReadWrite.All`) is needed; without it Graph answers 403 Authorization_RequestDenied.
 */

const writeDelegated = ['User.ReadWrite.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'];
const writeApplication = ['User.ReadWrite.All', 'Directory.ReadWrite.All'];

/** The user properties this simulator lets a PATCH change (a slice of the documented updatable set). */
const patchable = [
  'department',
  'usageLocation',
  'jobTitle',
  'officeLocation',
  'mobilePhone',
  'businessPhones',
  'displayName',
  'givenName',
  'surname',
  'preferredLanguage',
  'accountEnabled',
] as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function bad(r: GraphRequest, message: string, code = 'Request_BadRequest'): void {
  sendGraphError(r.ex, 400, code, message, r.ctx.state.now());
}

function writable(r: GraphRequest): DirectoryUser | undefined {
  const now = r.ctx.state.now();
  if (!hasPermission(r.principal, writeDelegated, writeApplication)) {
    sendGraphError(r.ex, 403, 'Authorization_RequestDenied', graphErrors.insufficientPrivileges, now);
    return undefined;
  }
  const id = (r.params[0] ?? '').toLowerCase();
  const user = r.principal.tenant.users.find((u) => u.id === id || u.userPrincipalName.toLowerCase() === id);
  if (!user) sendGraphError(r.ex, 404, 'Request_ResourceNotFound', graphErrors.notFound(id), now);
  return user;
}

function patchUser(r: GraphRequest): void {
  const body = r.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return bad(r, 'Empty Payload. JSON content expected.', 'BadRequest');
  const input = body as Record<string, unknown>;
  for (const name of Object.keys(input)) {
    if (!(patchable as readonly string[]).includes(name))
      return bad(r, `Property '${name}' does not exist on type 'microsoft.graph.user'.`, 'BadRequest');
  }
  if ('usageLocation' in input) {
    const v = input.usageLocation;
    if (v !== null && (typeof v !== 'string' || !/^[A-Z]{2}$/.test(v)))
      return bad(r, "Invalid value specified for property 'usageLocation' of resource 'User'.");
  }
  if ('department' in input) {
    const v = input.department;
    if (v !== null && (typeof v !== 'string' || v.length > 64))
      return bad(r, "Invalid value specified for property 'department' of resource 'User'.");
  }
  const user = writable(r);
  if (!user) return;
  Object.assign(user, input);
  userWritten(r.ctx.state, r.principal.tenant, user.id);
  r.ex.res.writeHead(204, graphHeaders(r.ex));
  r.ex.res.end();
}

function assignLicense(r: GraphRequest): void {
  const body = (r.body ?? {}) as { addLicenses?: unknown; removeLicenses?: unknown };
  if (!Array.isArray(body.addLicenses) || !Array.isArray(body.removeLicenses))
    return bad(
      r,
      'Invalid request: addLicenses and removeLicenses are required (may be empty).',
      'BadRequest',
    );
  const add = body.addLicenses as { skuId?: unknown; disabledPlans?: unknown }[];
  const remove = body.removeLicenses as unknown[];
  for (const a of add) {
    if (typeof a?.skuId !== 'string' || !GUID.test(a.skuId))
      return bad(r, `Invalid value specified for property 'skuId' of resource 'AssignedLicense'.`);
  }
  for (const id of remove) {
    if (typeof id !== 'string' || !GUID.test(id))
      return bad(r, `Invalid value specified for property 'removeLicenses'.`);
  }
  const user = writable(r);
  if (!user) return;
  const tenant = r.principal.tenant;
  const c = changesOf(tenant);
  const held = c.licenses[user.id] ?? [];
  for (const a of add) {
    const sku = c.subscribedSkus.find((s) => s.skuId === String(a.skuId).toLowerCase());
    if (!sku) return bad(r, `License ${String(a.skuId)} does not correspond to a valid company License.`);
  }
  if (add.length > 0 && !user.usageLocation)
    return bad(r, 'License assignment cannot be done for user with invalid usage location.');
  for (const a of add) {
    const skuId = String(a.skuId).toLowerCase();
    if (held.some((l) => l.skuId === skuId)) continue;
    const consumed = Object.entries(c.licenses).filter(
      ([id, l]) => l.some((x) => x.skuId === skuId) && tenant.users.some((u) => u.id === id),
    ).length;
    const sku = c.subscribedSkus.find((s) => s.skuId === skuId);
    if (sku && consumed >= sku.enabledUnits)
      return bad(r, `Subscription with SKU ${skuId} does not have any available licenses.`);
  }
  for (const id of remove) {
    if (!held.some((l) => l.skuId === String(id).toLowerCase()))
      return bad(r, `User does not have a corresponding license ${String(id)}.`);
  }
  const next = held.filter((l) => !remove.some((id) => String(id).toLowerCase() === l.skuId));
  for (const a of add) {
    const skuId = String(a.skuId).toLowerCase();
    const disabledPlans = Array.isArray(a.disabledPlans) ? a.disabledPlans.map(String) : [];
    const i = next.findIndex((l) => l.skuId === skuId);
    if (i >= 0) next[i] = { skuId, disabledPlans };
    else next.push({ skuId, disabledPlans });
  }
  c.licenses[user.id] = next;
  userWritten(r.ctx.state, tenant, user.id);
  sendGraph(r.ex, 200, {
    '@odata.context': `${r.base}/$metadata#users/$entity`,
    ...userEntity(user, c),
  });
}

export const userWriteRoutes: GraphRoute[] = [
  { method: 'PATCH', pattern: /^\/users\/([^/]+)$/, handler: patchUser },
  { method: 'POST', pattern: /^\/users\/([^/]+)\/assignLicense$/, handler: assignLicense },
];
