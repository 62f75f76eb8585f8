import { randomUUID } from 'node:crypto';
import type { DirectoryTenant } from '../state';
import { voiceOf } from '../directory-voice';
import { hasPermission } from './auth';
import { graphErrors, graphHeaders, sendGraph, sendGraphError } from './errors';
import { collectionContext } from './odata';
import type { GraphRequest, GraphRoute } from './types';

/**
 * Teams telephone number management (Graph v1.0): `POST …/numberAssignments/assignNumber` answers 202
 * with a Location of a long-running operation; `GET …/operations/{id}` (also `operations('{id}')`)
 * reports notStarted → running → succeeded / failed, one step per look (at it or at its number); `GET …/numberAssignments` lists
 * the tenant's numbers (shown with `+`). A number held by another user makes the operation fail.
 * Permissions: TeamsTelephoneNumber.ReadWrite.All to write, .Read.All or .ReadWrite.All to read.
 */

export interface NumberAssignment {
  id: string;
  telephoneNumber: string;
  assignmentTargetId: string | null;
  assignmentCategory: string;
  numberType: string;
  activationState: 'activated' | 'assignmentPending' | 'assignmentFailed';
  assignmentStatus: 'unassigned' | 'userAssigned';
}

interface Operation {
  id: string;
  createdDateTime: string;
  /** Looks so far: each GET moves the operation one step on. */
  looks: number;
  number: string;
  userId: string;
  outcome: 'succeeded' | 'failed';
}

interface Telephony {
  numbers: NumberAssignment[];
  operations: Operation[];
  /** POSTs to assignNumber answered (tests count effects with it). */
  assignRequests: number;
  /** Tests: Microsoft's background work is stuck, operations stay `running`. */
  stalled?: boolean;
}

export function telephonyOf(tenant: DirectoryTenant): Telephony {
  const t = tenant as DirectoryTenant & { telephony?: Telephony };
  t.telephony ??= { numbers: [], operations: [], assignRequests: 0 };
  return t.telephony;
}

const write = ['TeamsTelephoneNumber.ReadWrite.All'];
const read = ['TeamsTelephoneNumber.Read.All', 'TeamsTelephoneNumber.ReadWrite.All'];
const root = '/admin/teams/telephoneNumberManagement';

const normalise = (n: string) => `+${n.replace(/^\+/, '')}`;

function denied(r: GraphRequest): void {
  sendGraphError(r.ex, 403, 'Forbidden', graphErrors.insufficientPrivileges, r.ctx.state.now());
}

function assignNumber(r: GraphRequest): void {
  const now = r.ctx.state.now();
  if (!hasPermission(r.principal, write, write)) return denied(r);
  const b = (r.body ?? {}) as Record<string, unknown>;
  const number = typeof b.telephoneNumber === 'string' ? b.telephoneNumber : '';
  const target = typeof b.assignmentTargetId === 'string' ? b.assignmentTargetId.toLowerCase() : '';
  if (!/^\+?[1-9]\d{6,14}(;ext=\d{1,10})?$/.test(number) || !target)
    return sendGraphError(
      r.ex,
      400,
      'BadRequest',
      'telephoneNumber and assignmentTargetId are required.',
      now,
    );
  if (
    b.numberType !== 'directRouting' &&
    b.numberType !== 'callingPlan' &&
    b.numberType !== 'operatorConnect'
  )
    return sendGraphError(r.ex, 400, 'BadRequest', "Invalid value for 'numberType'.", now);
  const tenant = r.principal.tenant;
  const tel = telephonyOf(tenant);
  tel.assignRequests++;
  const full = normalise(number);
  const user = tenant.users.find((u) => u.id === target);
  const other = tel.numbers.find(
    (n) =>
      n.telephoneNumber === full && n.assignmentTargetId !== target && n.assignmentStatus !== 'unassigned',
  );
  const outcome = user && !other ? 'succeeded' : 'failed';
  if (outcome === 'succeeded') {
    const existing = tel.numbers.find((n) => n.telephoneNumber === full);
    const entry: NumberAssignment = {
      id: Buffer.from(`${tenant.id}|${full}`).toString('base64url'),
      telephoneNumber: full,
      assignmentTargetId: target,
      assignmentCategory: typeof b.assignmentCategory === 'string' ? b.assignmentCategory : 'primary',
      numberType: String(b.numberType),
      activationState: 'assignmentPending',
      assignmentStatus: 'userAssigned',
    };
    if (existing) Object.assign(existing, entry);
    else tel.numbers.push(entry);
  }
  const op: Operation = {
    id: Buffer.from(`Assignment|${randomUUID()}`).toString('base64url'),
    createdDateTime: new Date(now).toISOString().replace(/\.\d+Z$/, 'Z'),
    looks: 0,
    number: full,
    userId: target,
    outcome,
  };
  tel.operations.push(op);
  r.ex.res.writeHead(202, {
    ...graphHeaders(r.ex),
    Location: `${r.base}${root}/operations('${op.id}')`,
    'Content-Length': '0',
  });
  r.ex.res.end();
}

/**
 * An operation moves one step each time someone looks at it (its own GET, or its number in the list):
 * work Microsoft does in the background, made deterministic for tests.
 */
function step(tenant: DirectoryTenant, op: Operation, now: number): string {
  const tel = telephonyOf(tenant);
  op.looks++;
  const status = op.looks === 1 ? 'notStarted' : op.looks === 2 || tel.stalled ? 'running' : op.outcome;
  const entry = tel.numbers.find(
    (n) => n.telephoneNumber === op.number && n.assignmentTargetId === op.userId,
  );
  if (status === 'succeeded' && entry && entry.activationState !== 'activated') {
    entry.activationState = 'activated';
    // The user's Teams configuration (userConfigurations) now shows the number.
    const voice = voiceOf(tenant);
    const v = (voice[op.userId] ??= {
      telephoneNumbers: [],
      policies: {},
      isEnterpriseVoiceEnabled: false,
      modifiedDateTime: new Date(now).toISOString(),
    });
    const category = entry.assignmentCategory === 'primary' ? 'primary' : 'alternate';
    v.telephoneNumbers = [
      ...v.telephoneNumbers.filter(
        (n) =>
          n.telephoneNumber !== entry.telephoneNumber &&
          (category !== 'primary' || n.assignmentCategory !== 'primary'),
      ),
      { telephoneNumber: entry.telephoneNumber, assignmentCategory: category },
    ];
    v.modifiedDateTime = new Date(now).toISOString();
  }
  return status;
}

function getOperation(r: GraphRequest): void {
  if (!hasPermission(r.principal, read, read)) return denied(r);
  const id = r.params[0] ?? '';
  const tel = telephonyOf(r.principal.tenant);
  const op = tel.operations.find((o) => o.id === id);
  if (!op) return sendGraphError(r.ex, 404, 'NotFound', graphErrors.notFound(id), r.ctx.state.now());
  const status = step(r.principal.tenant, op, r.ctx.state.now());
  const entry = tel.numbers.find(
    (n) => n.telephoneNumber === op.number && n.assignmentTargetId === op.userId,
  );
  const location = entry
    ? `${r.base}${root}/numberAssignments/${entry.id}`
    : `${r.base}${root}/numberAssignments`;
  sendGraph(r.ex, 200, {
    value: {
      '@odata.type': '#microsoft.graph.teamsAdministration.telephoneNumberLongRunningOperation',
      id: op.id,
      createdDateTime: op.createdDateTime,
      status,
      numbers:
        status === 'succeeded' || status === 'failed'
          ? [
              {
                resourceLocation: location,
                status,
                ...(status === 'failed'
                  ? { statusMessage: 'The telephone number is already assigned to another user.' }
                  : {}),
              },
            ]
          : [],
    },
  });
}

function listAssignments(r: GraphRequest): void {
  if (!hasPermission(r.principal, read, read)) return denied(r);
  const tel = telephonyOf(r.principal.tenant);
  // $filter=telephoneNumber eq '…' (or assignmentTargetId eq '…'): the two filters the product uses.
  const filter = r.query.get('$filter') ?? '';
  const m = /^\s*(telephoneNumber|assignmentTargetId)\s+eq\s+'([^']*)'\s*$/.exec(filter);
  if (filter && !m)
    return sendGraphError(r.ex, 400, 'BadRequest', `Invalid filter clause: ${filter}`, r.ctx.state.now());
  const value = tel.numbers.filter((n) =>
    !m
      ? true
      : m[1] === 'telephoneNumber'
        ? n.telephoneNumber === normalise(m[2] ?? '')
        : n.assignmentTargetId === (m[2] ?? '').toLowerCase(),
  );
  for (const n of value.filter((x) => x.activationState === 'assignmentPending')) {
    const op = [...tel.operations]
      .reverse()
      .find((o) => o.number === n.telephoneNumber && o.userId === n.assignmentTargetId);
    if (op) step(r.principal.tenant, op, r.ctx.state.now());
  }
  sendGraph(r.ex, 200, {
    '@odata.context': collectionContext(r.base, 'admin/teams/telephoneNumberManagement/numberAssignments'),
    value: value.map((n) => ({ ...n })),
  });
}

export const telephonyRoutes: GraphRoute[] = [
  {
    method: 'POST',
    pattern: /^\/admin\/teams\/telephoneNumberManagement\/numberAssignments\/assignNumber$/,
    handler: assignNumber,
  },
  {
    method: 'GET',
    pattern: /^\/admin\/teams\/telephoneNumberManagement\/numberAssignments$/,
    handler: listAssignments,
  },
  {
    method: 'GET',
    pattern: /^\/admin\/teams\/telephoneNumberManagement\/operations(?:\('([^']+)'\)|\/([^/]+))$/,
    handler: (r) => getOperation({ ...r, params: [r.params[0] ?? r.params[1] ?? ''] }),
  },
];
