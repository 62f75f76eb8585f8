import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleAzureSettings } from '../../../dev/sample-settings';
import { triggers } from '../../../functions';
import { ConfigError, loadConfig } from '../../../shared/config';
import { consentScopes, GRAPH_RESOURCE } from '../../../shared/identity/scopes';
import { at } from './bicep';
import {
  appSettings,
  checkAppRegistration,
  checkNoKeys,
  checkQueues,
  checkRoles,
  checkSettings,
  createdQueues,
  Infra,
  type App,
  type Sources,
} from './drift';

/**
 * infra/ against the app: every setting the config schema requires is set and none is unknown,
 * every queue a trigger listens on (and its poison queue) is created and covered by a role, every
 * role is the one named beside it and none is broad, no key or secret is in settings or outputs,
 * and the app registration asks for what the sign-in asks for. Each check is also run on a
 * modified copy of the Bicep, to show it fails when it should.
 *
 * What the app says about itself is derived from its modules, never listed here: other settings
 * and queues arrive in parallel, and these tests must follow them.
 */
const root = path.resolve(__dirname, '..', '..', '..');

function readInfra(): Sources {
  const walk = (dir: string): string[] =>
    readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? walk(path.posix.join(dir, e.name))
        : e.name.endsWith('.bicep')
          ? [path.posix.join(dir, e.name)]
          : [],
    );
  return Object.fromEntries(walk('infra').map((f) => [f, readFileSync(path.join(root, f), 'utf8')]));
}

/** Problems loadConfig reports for an environment (none if it loads). */
function configProblems(env: Record<string, unknown>): { setting: string; message: string }[] {
  try {
    loadConfig(env as Record<string, string>);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

/**
 * The config schema is not exported, so it is asked through loadConfig, its public face: a value
 * that is not a string is refused by every setting the schema declares (strings, URLs, numbers,
 * enums alike) and silently dropped if the schema does not declare it. So a setting given that
 * value is "known" exactly when loadConfig names it. And with every Bicep setting given a value,
 * the settings loadConfig still calls required, other than those, are the ones the Bicep leaves
 * out (including its rule that storage needs a connection string or both identity-based URIs).
 */
const NOT_A_STRING = { probe: true };

const redirect = loadConfig(sampleAzureSettings).portal;

const app: App = {
  knowsSetting: (name) => configProblems({ [name]: NOT_A_STRING }).some((p) => p.setting === name),
  missingSettings: (names) =>
    configProblems(Object.fromEntries(names.map((n) => [n, NOT_A_STRING])))
      .filter((p) => p.message.startsWith('is required') && !names.includes(p.setting))
      .map((p) => p.setting),
  queueTriggers: triggers.flatMap((t) =>
    t.kind === 'queue' ? [{ name: t.name, queueName: t.queueName }] : [],
  ),
  delegatedPermissions: consentScopes.map((s) =>
    s.startsWith(`${GRAPH_RESOURCE}/`) ? s.slice(GRAPH_RESOURCE.length + 1) : s,
  ),
  redirectPath: redirect.redirectUri.slice(redirect.publicBaseUrl.length),
};

const sources = readInfra();
const FUNCTION_APP = 'infra/app/function-app.bicep';
const RBAC = 'infra/app/rbac.bicep';
const MAIN = 'infra/main.bicep';

/** A copy of the Bicep with one file's text changed; fails the test if the change did not apply. */
function edit(file: string, change: (text: string) => string): Infra {
  const before = sources[file]!;
  const after = change(before);
  expect(after, `the edit of ${file} changed nothing`).not.toBe(before);
  return new Infra({ ...sources, [file]: after });
}
const withoutLine = (pattern: RegExp) => (text: string) =>
  text
    .split('\n')
    .filter((l) => !pattern.test(l))
    .join('\n');
/** Removes a top-level `resource <name> … = { … }` block. */
const withoutResource = (name: string) => (text: string) =>
  text.replace(new RegExp(`\\nresource ${name} [^]*?\\n}\\n`), '\n');

describe('the drift checks see the app', () => {
  it('derives the settings, queues and permissions from the app (a sanity check of the probes)', () => {
    expect(app.knowsSetting('KEY_VAULT_URL')).toBe(true);
    expect(app.knowsSetting('PROVIDER_NAME')).toBe(true); // any string is valid, still known
    expect(app.knowsSetting('NOT_A_SETTING_OF_THE_APP')).toBe(false);
    expect(app.missingSettings(Object.keys(sampleAzureSettings))).toEqual([]);
    expect(app.missingSettings([])).toEqual(expect.arrayContaining(['KEY_VAULT_URL', 'AzureWebJobsStorage']));
    expect(app.queueTriggers.length).toBeGreaterThan(0);
    expect(app.delegatedPermissions).toContain('offline_access');
    expect(app.redirectPath).toBe('/authenticate/OAuth2Callback');
  });

  it('reads every Bicep file in infra/', () => {
    const infra = new Infra(sources);
    expect(infra.files.map((f) => f.path)).toContain(MAIN);
    expect(infra.resources().length).toBeGreaterThan(20);
  });
});

describe('app settings', () => {
  it('infra/ sets every setting the app requires and none it does not know', () => {
    expect(checkSettings(new Infra(sources), app)).toEqual([]);
  });

  it('fails when a required setting is removed, for each one', () => {
    const set = [...appSettings(new Infra(sources)).keys()];
    const required = set.filter((name) => app.missingSettings(set.filter((n) => n !== name)).length > 0);
    expect(required).toEqual(expect.arrayContaining(['KEY_VAULT_URL', 'APP_CLIENT_ID', 'PUBLIC_BASE_URL']));
    for (const name of required) {
      const problems = checkSettings(edit(FUNCTION_APP, withoutLine(new RegExp(`^\\s*${name}:`))), app);
      expect(problems.join('\n')).toMatch(/the app requires it/);
    }
  });

  it('fails when a setting unknown to the app is added', () => {
    const infra = edit(FUNCTION_APP, (t) =>
      t.replace('var appSettings = {\n', "var appSettings = {\n  KEY_VALT_URL: 'https://typo.example'\n"),
    );
    expect(checkSettings(infra, app)).toEqual([
      'KEY_VALT_URL: set in infra/ but unknown to the app (shared/config) and to the Functions host',
    ]);
  });

  it('fails when a setting Flex Consumption refuses, or one that means a key, is added', () => {
    const infra = edit(FUNCTION_APP, (t) =>
      t.replace(
        'var appSettings = {\n',
        "var appSettings = {\n  FUNCTIONS_WORKER_RUNTIME: 'node'\n  EMAIL_ACCESS_KEY_SECRET_NAME: 'acs-key'\n",
      ),
    );
    const problems = checkSettings(infra, app).join('\n');
    expect(problems).toMatch(/FUNCTIONS_WORKER_RUNTIME: must not be set/);
    expect(problems).toMatch(/EMAIL_ACCESS_KEY_SECRET_NAME: must not be set/);
  });
});

describe('queues', () => {
  it('creates every queue a trigger listens on, and its poison queue, covered by a role', () => {
    const infra = new Infra(sources);
    expect(checkQueues(infra, app)).toEqual([]);
    for (const t of app.queueTriggers) {
      expect(createdQueues(infra)).toContain(t.queueName);
      expect(createdQueues(infra)).toContain(`${t.queueName}-poison`);
    }
  });

  it('fails when a queue, or its poison queue, is removed', () => {
    for (const t of app.queueTriggers) {
      for (const queue of [t.queueName, `${t.queueName}-poison`]) {
        const infra = edit(MAIN, withoutLine(new RegExp(`^\\s*'${queue}'$`)));
        expect(checkQueues(infra, app)).toEqual([
          `queue ${queue} (trigger ${t.name}) is not created in infra/`,
        ]);
      }
    }
  });

  it('fails when a trigger listens on a queue infra/ does not know (as when one is added to the app)', () => {
    const more: App = {
      ...app,
      queueTriggers: [...app.queueTriggers, { name: 'replicateTenant', queueName: 'replication-jobs' }],
    };
    expect(checkQueues(new Infra(sources), more)).toEqual([
      'queue replication-jobs (trigger replicateTenant) is not created in infra/',
      'queue replication-jobs-poison (trigger replicateTenant) is not created in infra/',
    ]);
  });

  it('fails when no role covers the queues', () => {
    const infra = edit(RBAC, withoutResource('queueData'));
    const problems = checkQueues(infra, app);
    expect(problems).toHaveLength(app.queueTriggers.length * 2);
    expect(problems[0]).toMatch(/is not covered by a role/);
    // A reader-only role is not enough: the host could not move failures to poison.
    const reader = edit(RBAC, (t) =>
      t.replace(
        "storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor",
        "storageQueueDataContributor: '19e7f393-937e-4f77-808e-94535e297925' // Storage Queue Data Reader",
      ),
    );
    expect(checkQueues(reader, app).join('\n')).toMatch(/is not covered by a role/);
  });
});

describe('roles', () => {
  it('names every assignment with guid() and grants exactly the role named beside each id, none broad', () => {
    expect(checkRoles(new Infra(sources))).toEqual([]);
  });

  it('fails when an id is broader than the role documented beside it', () => {
    const infra = edit(RBAC, (t) =>
      t.replace(
        "'974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor",
        "'b24988ac-6180-42a0-ab88-20f7382dd24c' // Storage Queue Data Contributor",
      ),
    );
    expect(checkRoles(infra)).toEqual([
      'infra/app/rbac.bicep queueData: b24988ac-6180-42a0-ab88-20f7382dd24c is Contributor, broader than the documented Storage Queue Data Contributor',
      "infra/app/rbac.bicep queueData: Contributor is too broad for the app's identity; use a data role or a custom role",
    ]);
  });

  it('fails when a broad role is assigned even if documented as such', () => {
    const infra = edit(RBAC, (t) =>
      t.replace(
        "'b86a8fe4-44ce-4948-aee5-eccb2c155cd7' // Key Vault Secrets Officer",
        "'00482a5a-887f-4fb3-b363-3b7fe8e74483' // Key Vault Administrator",
      ),
    );
    expect(checkRoles(infra)).toEqual([
      "infra/app/rbac.bicep vaultSecrets: Key Vault Administrator is too broad for the app's identity; use a data role or a custom role",
    ]);
  });

  it('fails when the name beside an id is missing, or the assignment is not named with guid()', () => {
    const undocumented = edit(RBAC, (t) => t.replace(' // Monitoring Metrics Publisher', ''));
    expect(checkRoles(undocumented)).toEqual([
      'infra/app/rbac.bicep telemetry: no role name beside the id 3913510d-42f4-4e42-8a64-420c390055eb',
    ]);
    const unnamed = edit(RBAC, (t) =>
      t.replace(
        'name: guid(insights.id, principalId, roles.monitoringMetricsPublisher)',
        "name: 'telemetry'",
      ),
    );
    expect(checkRoles(unnamed)).toEqual([
      'infra/app/rbac.bicep telemetry: name the assignment with guid(scope, principal, role)',
    ]);
  });

  it('fails when the custom e-mail role grows a wildcard', () => {
    const infra = edit(RBAC, (t) =>
      t.replace("'Microsoft.Communication/EmailServices/write'", "'Microsoft.Communication/*'"),
    );
    expect(checkRoles(infra).join('\n')).toMatch(/emailSend: the custom role grants a wildcard/);
  });
});

describe('no keys', () => {
  it('puts no key, secret or connection string with a key in app settings or outputs', () => {
    expect(checkNoKeys(new Infra(sources))).toEqual([]);
  });

  it('fails on a key in a setting or an output, or on key access turned back on', () => {
    const setting = edit(FUNCTION_APP, (t) =>
      t.replace(
        'var appSettings = {\n',
        "var appSettings = {\n  PROVIDER_NAME_KEY: 'AccountKey=${storage.listKeys().keys[0].value}'\n",
      ),
    );
    expect(checkNoKeys(setting)).toEqual(['app setting PROVIDER_NAME_KEY carries a key or secret']);
    const output = edit('infra/core/security/user-assigned-identity.bicep', (t) =>
      t.replace(
        'output id string',
        "output leak string = listKeys(identity.id, '2023-01-31').key\noutput id string",
      ),
    );
    expect(checkNoKeys(output)).toEqual([
      'infra/core/security/user-assigned-identity.bicep output leak carries a key or secret',
    ]);
    const sharedKey = edit('infra/core/storage/storage-account.bicep', (t) =>
      t.replace('allowSharedKeyAccess: false', 'allowSharedKeyAccess: true'),
    );
    expect(checkNoKeys(sharedKey)).toEqual(['the storage account must set allowSharedKeyAccess: false']);
    const localAuth = edit('infra/core/monitor/monitoring.bicep', (t) =>
      t.replace('DisableLocalAuth: true', 'DisableLocalAuth: false'),
    );
    expect(checkNoKeys(localAuth)).toEqual([
      'Application Insights must set DisableLocalAuth: true (Entra authentication only)',
    ]);
  });
});

describe('the app registration', () => {
  it("is multi-tenant, asks for the sign-in's scopes, redirects to the callback, trusts the managed identity", () => {
    expect(checkAppRegistration(new Infra(sources), app)).toEqual([]);
  });

  it('fails when a permission is dropped or the redirect URI moves', () => {
    const fewer = edit('infra/app/app-registration.bicep', withoutLine(/^\s*'Directory\.Read\.All'$/));
    expect(checkAppRegistration(fewer, app).join('\n')).toMatch(/delegated permissions differ/);
    const moved = edit(MAIN, (t) =>
      t.replace("'${baseUrl}/authenticate/OAuth2Callback'", "'${baseUrl}/callback'"),
    );
    expect(checkAppRegistration(moved, app).join('\n')).toMatch(
      /redirect URI must end with \/authenticate\/OAuth2Callback/,
    );
  });
});

describe('alerts', () => {
  it("alert on the structured events docs/deploy.md names as the capabilities' contract", () => {
    const alerts = sources['infra/app/alerts.bicep']!;
    const docs = readFileSync(path.join(root, 'docs', 'deploy.md'), 'utf8');
    for (const event of ['token_verification_failed', 'sbc_change_failed']) {
      expect(alerts).toContain(`tostring(entry.event) == "${event}"`);
      expect(docs).toContain(`\`${event}\``);
    }
    expect(alerts).toMatch(/MaxDequeueCount/);
  });
});

describe('the runtime', () => {
  it('runs Node 22 on Flex Consumption, the major the bundle targets and package.json allows', () => {
    const site = new Infra(sources).single('Microsoft.Web/sites');
    const runtime = at(site.body, 'properties.functionAppConfig.runtime');
    const name = at(runtime, 'name');
    const version = at(runtime, 'version');
    expect(name).toMatchObject({ kind: 'string', value: 'node' });
    expect(version).toMatchObject({ kind: 'string', value: '22' });
    const build = readFileSync(path.join(root, 'scripts', 'build.ts'), 'utf8');
    expect(build).toContain("target: 'node22'");
    const engines = (
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node;
    expect(engines).toMatch(/>=22/);
  });
});

describe('the reader', () => {
  it('refuses to guess when the settings take a shape it cannot follow', () => {
    const infra = edit(FUNCTION_APP, (t) =>
      t.replace('properties: appSettings', 'properties: union(appSettings, {})'),
    );
    expect(() => appSettings(infra)).toThrow(/cannot see the app settings/);
  });
});
