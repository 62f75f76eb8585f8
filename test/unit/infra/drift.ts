import path from 'node:path';
import {
  at,
  declared,
  isIdentifier,
  property,
  readBicep,
  resources,
  type BicepFile,
  type Resource,
  type Value,
} from './bicep';

/**
 * The drift checks between infra/ and the app. Each takes the Bicep as text (path → content, so a
 * test can hand it a modified copy) and what the app says about itself, and returns the problems
 * it finds, in words an operator can act on. An empty list means "in step".
 */
export type Sources = Record<string, string>;

/** What the app says about itself; derived by the caller from its modules, never listed by hand. */
export interface App {
  /** Whether the config schema reads this setting. */
  knowsSetting(name: string): boolean;
  /** The settings the config schema requires that are missing when exactly these names are set. */
  missingSettings(names: string[]): string[];
  /** Queue triggers: function name and unprefixed queue name. */
  queueTriggers: { name: string; queueName: string }[];
  /** The delegated permissions the sign-in asks for, as Microsoft Graph names them. */
  delegatedPermissions: string[];
  /** The redirect URI's path below PUBLIC_BASE_URL. */
  redirectPath: string;
}

/**
 * Settings the Functions host reads (not the app's config schema): identity-based storage for the
 * host (docs: "Connecting to host storage with an identity") and Application Insights with Entra
 * authentication. Anything else the Bicep sets must be known to the app.
 */
export const HOST_SETTINGS = new Set([
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__blobServiceUri',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
]);

/**
 * Settings that must not be set in Azure: Flex Consumption refuses the runtime ones (it takes the
 * runtime from functionAppConfig), and the others mean a key: a storage connection string, the
 * raw instrumentation key, or the Communication Services access key instead of the identity.
 */
export const FORBIDDEN_SETTINGS: Record<string, string> = {
  FUNCTIONS_WORKER_RUNTIME: 'Flex Consumption takes the runtime from functionAppConfig.runtime',
  FUNCTIONS_EXTENSION_VERSION: 'Flex Consumption does not accept it',
  WEBSITE_NODE_DEFAULT_VERSION: 'Flex Consumption takes the runtime from functionAppConfig.runtime',
  AzureWebJobsStorage: 'a storage connection string holds an account key; use the identity-based settings',
  APPINSIGHTS_INSTRUMENTATIONKEY: 'instrumentation key auth; use APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  EMAIL_ACCESS_KEY_SECRET_NAME: 'Communication Services by access key; the identity sends instead',
  STORAGE_NAME_PREFIX: 'queues are created unprefixed in infra/; a prefix would make the triggers miss them',
};

/**
 * Azure built-in roles by id (Microsoft's "Azure built-in roles" list). These ids are Azure's and
 * never change; the test owns this table so that a name beside an id can be checked.
 */
export const BUILT_IN_ROLES: Record<string, string> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  'acdd72a7-3385-48ef-bd42-f606fba81ae7': 'Reader',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'f58310d9-a9f6-439a-9e8d-f62e7b41a168': 'Role Based Access Control Administrator',
  '17d1049b-9a84-46fb-8f53-869881c3d3ab': 'Storage Account Contributor',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1': 'Storage Blob Data Reader',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '19e7f393-937e-4f77-808e-94535e297925': 'Storage Queue Data Reader',
  '8a0f0c08-91a1-4084-bc3d-661d67233fed': 'Storage Queue Data Message Processor',
  'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a': 'Storage Queue Data Message Sender',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '76199698-9eea-4c19-bc75-cec21354c6b6': 'Storage Table Data Reader',
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': 'Key Vault Administrator',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
};

/**
 * Roles that reach beyond data: they manage the resource, its keys or its access. Never for the
 * app's identity, whatever the comment beside them says.
 */
export const BROAD_ROLES = new Set([
  'Owner',
  'Contributor',
  'User Access Administrator',
  'Role Based Access Control Administrator',
  'Storage Account Contributor',
  'Key Vault Administrator',
]);

/** Roles that let a queue trigger take and delete messages and the host move a failure to poison. */
const QUEUE_ROLE_SETS = [
  ['Storage Queue Data Contributor'],
  ['Storage Queue Data Message Processor', 'Storage Queue Data Message Sender'],
];

export class Infra {
  readonly files: BicepFile[];
  constructor(readonly sources: Sources) {
    this.files = Object.entries(sources).map(([p, text]) => readBicep(p, text));
  }

  resources(type?: string): Resource[] {
    return this.files.flatMap(resources).filter((r) => !type || r.type === type);
  }

  /** The only resource of a type the deployment creates (not `existing`). */
  single(type: string): Resource {
    const found = this.resources(type).filter((r) => !r.declaration.existing);
    if (found.length !== 1) throw new Error(`expected one ${type} in infra/, found ${found.length}`);
    return found[0]!;
  }

  /**
   * Follows a value to literal strings: a literal, an array of them, or an identifier naming a
   * `var`, or a `param` whose value the modules calling this file pass.
   */
  strings(file: BicepFile, v: Value | undefined): string[] {
    if (!v) throw new Error(`${file.path}: nothing to read`);
    if (v.kind === 'string') return [v.value];
    if (v.kind === 'array') return v.items.flatMap((i) => this.strings(file, i));
    if (isIdentifier(v)) {
      const variable = declared(file, 'var', v.text);
      if (variable) return this.strings(file, variable.value);
      if (declared(file, 'param', v.text)) {
        const passed = this.callers(file).map(({ caller, params }) =>
          this.strings(caller, property(params, v.text)?.value),
        );
        if (passed.length === 0) throw new Error(`${file.path}: no module passes param ${v.text}`);
        return [...new Set(passed.flat())];
      }
    }
    throw new Error(
      `${file.path}:${v.line}: the drift reader cannot follow "${v.kind === 'expr' ? v.text : v.kind}" to literal strings`,
    );
  }

  /** The `module` declarations that deploy a file, with their params object. */
  callers(file: BicepFile): { caller: BicepFile; params: Value | undefined }[] {
    return this.files.flatMap((caller) =>
      caller.declarations
        .filter(
          (d) =>
            d.keyword === 'module' &&
            d.type &&
            path.posix.join(path.posix.dirname(caller.path), d.type) === path.posix.normalize(file.path),
        )
        .map((d) => ({ caller, params: at(d.value && unwrapBody(d.value), 'params') })),
    );
  }
}

function unwrapBody(v: Value): Value {
  while (v.kind === 'if' || v.kind === 'for') v = v.body;
  return v;
}

// --- The app settings ---------------------------------------------------------------------------

/**
 * The function app's settings as the Bicep declares them: name → value. They are the properties
 * of its `Microsoft.Web/sites/config` resource named `appsettings` (or, failing that, its
 * `siteConfig.appSettings` list of `{ name, value }`), followed through `var`s.
 */
export function appSettings(infra: Infra): Map<string, Value> {
  const site = infra.single('Microsoft.Web/sites');
  const config = infra
    .resources('Microsoft.Web/sites/config')
    .find(
      (r) =>
        at(r.body, 'name')?.kind === 'string' &&
        (at(r.body, 'name') as { value: string }).value === 'appsettings',
    );
  const file = config?.file ?? site.file;
  let v = config ? at(config.body, 'properties') : at(site.body, 'properties.siteConfig.appSettings');
  const seen = new Map<string, Value>();
  for (let hops = 0; hops < 5 && v; hops++) {
    if (isIdentifier(v)) {
      v = declared(file, 'var', v.text)?.value;
    } else if (v.kind === 'object') {
      for (const p of v.properties) seen.set(p.key, p.value);
      return seen;
    } else if (v.kind === 'array') {
      for (const item of v.items) {
        const name = property(item, 'name')?.value;
        if (name?.kind !== 'string')
          throw new Error(`${file.path}:${item.line}: an app setting without a literal name`);
        seen.set(name.value, property(item, 'value')?.value ?? item);
      }
      return seen;
    } else break;
  }
  throw new Error(
    `${file.path}: the drift reader cannot see the app settings; keep them an object literal (var appSettings = {…})`,
  );
}

export function checkSettings(infra: Infra, app: App): string[] {
  const settings = [...appSettings(infra).keys()];
  const problems: string[] = [];
  for (const missing of app.missingSettings(settings)) {
    problems.push(`${missing}: the app requires it (shared/config) but infra/ does not set it`);
  }
  for (const name of settings) {
    if (FORBIDDEN_SETTINGS[name])
      problems.push(`${name}: must not be set in Azure (${FORBIDDEN_SETTINGS[name]})`);
    else if (!HOST_SETTINGS.has(name) && !app.knowsSetting(name)) {
      problems.push(
        `${name}: set in infra/ but unknown to the app (shared/config) and to the Functions host`,
      );
    }
  }
  return problems;
}

// --- Queues -------------------------------------------------------------------------------------

/** Queue names the Bicep creates. */
export function createdQueues(infra: Infra): Set<string> {
  const names = new Set<string>();
  for (const q of infra.resources('Microsoft.Storage/storageAccounts/queueServices/queues')) {
    const name = property(q.body, 'name')?.value;
    if (q.loop && isIdentifier(name) && name.text === q.loop.variable) {
      for (const n of infra.strings(q.file, q.loop.source)) names.add(n);
    } else {
      for (const n of infra.strings(q.file, name)) names.add(n);
    }
  }
  return names;
}

export function checkQueues(infra: Infra, app: App): string[] {
  const problems: string[] = [];
  const created = createdQueues(infra);
  const grants = roleAssignments(infra);
  // A role on the account (or its queue service) covers every queue in it; infra/ has one account.
  infra.single('Microsoft.Storage/storageAccounts');
  const onQueues = grants
    .filter((g) => /^Microsoft\.Storage\/storageAccounts(\/queueServices)?$/.test(g.scopeType ?? ''))
    .map((g) => g.actualRole);
  const covered = QUEUE_ROLE_SETS.some((set) => set.every((role) => onQueues.includes(role)));
  for (const t of app.queueTriggers) {
    for (const queue of [t.queueName, `${t.queueName}-poison`]) {
      if (!created.has(queue)) problems.push(`queue ${queue} (trigger ${t.name}) is not created in infra/`);
      if (!covered) {
        problems.push(
          `queue ${queue} (trigger ${t.name}) is not covered by a role on the storage account that lets the trigger take messages and the host move failures to poison (${QUEUE_ROLE_SETS.map((s) => s.join(' + ')).join(', or ')})`,
        );
      }
    }
  }
  return problems;
}

// --- Roles --------------------------------------------------------------------------------------

export interface Grant {
  file: string;
  name: string;
  /** guid(…) text of the assignment's name. */
  assignmentName: string;
  scopeType: string | undefined;
  roleId: string | undefined;
  /** The name written beside the id in the Bicep. */
  documentedRole: string | undefined;
  /** Azure's name for the id (BUILT_IN_ROLES), or the custom role's name. */
  actualRole: string | undefined;
  custom?: { actions: string[]; dataActions: string[]; assignableScopes: string };
}

export function roleAssignments(infra: Infra): Grant[] {
  return infra.resources('Microsoft.Authorization/roleAssignments').map((r) => {
    const file = r.file;
    const nameValue = property(r.body, 'name')?.value;
    const scope = property(r.body, 'scope')?.value;
    const scopeType = isIdentifier(scope)
      ? resources(file).find((x) => x.declaration.name === scope.text)?.type
      : undefined;
    const roleRef = at(r.body, 'properties.roleDefinitionId');
    const text = roleRef?.kind === 'expr' ? roleRef.text : '';
    const grant: Grant = {
      file: file.path,
      name: r.declaration.name,
      assignmentName: nameValue?.kind === 'expr' ? nameValue.text : JSON.stringify(nameValue),
      scopeType,
      roleId: undefined,
      documentedRole: undefined,
      actualRole: undefined,
    };
    // Built-in: `…roleDefinitions', roles.<key>)` with `var roles = { <key>: '<id>' // <Role name> }`.
    const builtIn = /\broles\.(\w+)\)?$/.exec(text);
    if (builtIn) {
      const entry = property(declared(file, 'var', 'roles')?.value, builtIn[1]!);
      if (entry?.value.kind === 'string') {
        grant.roleId = entry.value.value;
        grant.documentedRole = entry.comment;
        grant.actualRole = BUILT_IN_ROLES[entry.value.value];
      }
    }
    // Custom: `roleDefinitionId: <roleDefinitions resource>.id`.
    const custom = /^(\w+)\.id$/.exec(text);
    if (custom) {
      const def = resources(file).find(
        (x) => x.declaration.name === custom[1] && x.type === 'Microsoft.Authorization/roleDefinitions',
      );
      if (def) {
        const roleName = at(def.body, 'properties.roleName');
        const permissions = at(def.body, 'properties.permissions');
        const list = (key: string) =>
          permissions?.kind === 'array'
            ? permissions.items.flatMap((p) => infra.strings(file, at(p, key)))
            : [];
        grant.roleId = `${custom[1]}.id`;
        grant.actualRole = roleName?.kind === 'string' ? roleName.value : undefined;
        grant.documentedRole = r.declaration.commentsAbove.join(' ');
        grant.custom = {
          actions: list('actions'),
          dataActions: list('dataActions'),
          assignableScopes: JSON.stringify(at(def.body, 'properties.assignableScopes')),
        };
      }
    }
    return grant;
  });
}

export function checkRoles(infra: Infra): string[] {
  const problems: string[] = [];
  const grants = roleAssignments(infra);
  if (grants.length === 0) problems.push('infra/ assigns no roles');
  for (const g of grants) {
    const where = `${g.file} ${g.name}`;
    if (!g.assignmentName.startsWith('guid('))
      problems.push(`${where}: name the assignment with guid(scope, principal, role)`);
    if (!g.roleId) {
      problems.push(`${where}: the role must come from the documented roles map or a custom role definition`);
      continue;
    }
    if (g.custom) {
      const all = [...g.custom.actions, ...g.custom.dataActions];
      if (all.some((a) => a.includes('*')))
        problems.push(`${where}: the custom role grants a wildcard (${all.join(', ')})`);
      if (!g.actualRole || !g.documentedRole?.includes(g.actualRole.replace(/ \(.*$/, ''))) {
        problems.push(
          `${where}: name the custom role ("${g.actualRole}") in the comment above the assignment`,
        );
      }
      continue;
    }
    if (!g.documentedRole) {
      problems.push(`${where}: no role name beside the id ${g.roleId}`);
    } else if (!g.actualRole) {
      problems.push(
        `${where}: ${g.roleId} (documented as ${g.documentedRole}) is not a built-in role the check knows`,
      );
    } else if (g.actualRole !== g.documentedRole) {
      problems.push(
        `${where}: ${g.roleId} is ${g.actualRole}${BROAD_ROLES.has(g.actualRole) ? ', broader than' : ', not'} the documented ${g.documentedRole}`,
      );
    }
    if (g.actualRole && BROAD_ROLES.has(g.actualRole)) {
      problems.push(
        `${where}: ${g.actualRole} is too broad for the app's identity; use a data role or a custom role`,
      );
    }
  }
  return problems;
}

// --- No keys ------------------------------------------------------------------------------------

/** Expressions that produce a key, a secret or a connection string with a key. */
const KEY_PATTERNS = [
  /\blist\w*\(/, // listKeys(), listConnectionStrings(), listSecrets(), listAccountSas(), …
  /\.list\w+\(/,
  /getSecret\(/,
  /primaryKey|secondaryKey|primaryConnectionString|AccountKey=|SharedAccessKey|accesskey=/i,
];

export function checkNoKeys(infra: Infra): string[] {
  const problems: string[] = [];
  const show = (v: Value): string => JSON.stringify(v);
  for (const [name, value] of appSettings(infra)) {
    if (KEY_PATTERNS.some((p) => p.test(show(value))))
      problems.push(`app setting ${name} carries a key or secret`);
  }
  for (const f of infra.files) {
    for (const d of f.declarations.filter((x) => x.keyword === 'output')) {
      if (d.value && KEY_PATTERNS.some((p) => p.test(show(d.value!)))) {
        problems.push(`${f.path} output ${d.name} carries a key or secret`);
      }
      if (d.decorators.some((x) => x.startsWith('@secure')))
        problems.push(`${f.path} output ${d.name} is a secret`);
    }
  }
  const literal = (r: Resource, p: string) => {
    const v = at(r.body, p);
    return v?.kind === 'expr' ? v.text : v?.kind === 'string' ? `'${v.value}'` : undefined;
  };
  const storage = infra.single('Microsoft.Storage/storageAccounts');
  if (literal(storage, 'properties.allowSharedKeyAccess') !== 'false') {
    problems.push('the storage account must set allowSharedKeyAccess: false');
  }
  const insights = infra.single('Microsoft.Insights/components');
  if (literal(insights, 'properties.DisableLocalAuth') !== 'true') {
    problems.push('Application Insights must set DisableLocalAuth: true (Entra authentication only)');
  }
  const vault = infra.single('Microsoft.KeyVault/vaults');
  if (literal(vault, 'properties.enableRbacAuthorization') !== 'true') {
    problems.push('Key Vault must set enableRbacAuthorization: true');
  }
  const settings = appSettings(infra);
  const credential = settings.get('APP_CREDENTIAL');
  if (credential?.kind !== 'string' || credential.value !== 'managed-identity') {
    problems.push('APP_CREDENTIAL must be managed-identity: no client secret or certificate in Azure');
  }
  return problems;
}

// --- The app registration -----------------------------------------------------------------------

export function checkAppRegistration(infra: Infra, app: App): string[] {
  const problems: string[] = [];
  const registration = infra.single('Microsoft.Graph/applications');
  const file = registration.file;
  const audience = at(registration.body, 'signInAudience');
  if (audience?.kind !== 'string' || audience.value !== 'AzureADMultipleOrgs') {
    problems.push('the app registration must be multi-tenant (signInAudience: AzureADMultipleOrgs)');
  }
  const access = at(registration.body, 'requiredResourceAccess');
  const graphAccess = access?.kind === 'array' ? access.items[0] : undefined;
  const loop = at(graphAccess, 'resourceAccess');
  const declaredPermissions = loop?.kind === 'for' ? infra.strings(file, loop.source) : [];
  const want = [...app.delegatedPermissions].sort();
  const have = [...declaredPermissions].sort();
  if (JSON.stringify(want) !== JSON.stringify(have)) {
    problems.push(
      `delegated permissions differ from the sign-in's scopes (shared/identity/scopes.ts): infra/ has [${have.join(', ')}], the app asks for [${want.join(', ')}]`,
    );
  }
  // The redirect URI: followed through the module's param to main.bicep's var.
  const redirect = at(registration.body, 'web.redirectUris');
  let uris: string[] = [];
  try {
    uris = infra.strings(file, redirect?.kind === 'array' ? redirect.items[0] : redirect);
  } catch (e) {
    problems.push(`redirect URI: ${(e as Error).message}`);
  }
  if (!uris.some((u) => u.endsWith(app.redirectPath))) {
    problems.push(`the redirect URI must end with ${app.redirectPath} (found ${uris.join(', ') || 'none'})`);
  }
  const fic = infra.resources('Microsoft.Graph/applications/federatedIdentityCredentials');
  const audiences = fic.flatMap((f) => infra.strings(f.file, at(f.body, 'audiences')));
  if (!audiences.includes('api://AzureADTokenExchange')) {
    problems.push(
      'the managed identity must be a federated credential (audience api://AzureADTokenExchange)',
    );
  }
  return problems;
}
