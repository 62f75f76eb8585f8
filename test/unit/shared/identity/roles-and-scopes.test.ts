import { describe, expect, it } from 'vitest';
import { directoryRoles, GLOBAL_ADMINISTRATOR, roleName } from '../../../../shared/identity/roles';
import { consentScopes, graphPermissions } from '../../../../shared/identity/scopes';
import { loadConfig } from '../../../../shared/config';
import { refdata } from './refdata';

describe('directory roles', () => {
  it('agree with Microsoft’s role template ids', () => {
    expect(directoryRoles).toEqual(refdata('directory-role-template-ids.json'));
  });

  it('name a role by template id, and show an unknown id as it is', () => {
    expect(roleName(GLOBAL_ADMINISTRATOR)).toBe('Global Administrator');
    expect(roleName('BAF37B3A-610E-45DA-9E62-D9D1E5E8914B')).toBe('Teams Communications Administrator');
    expect(roleName('00000000-0000-0000-0000-000000000001')).toBe('00000000-0000-0000-0000-000000000001');
  });
});

describe('requested scopes', () => {
  it('sign in, keep access, read users, groups, the directory and Teams voice configurations, and write back user edits and Teams numbers', () => {
    expect(consentScopes).toEqual([
      'openid',
      'profile',
      'offline_access',
      'https://graph.microsoft.com/User.Read.All',
      'https://graph.microsoft.com/Group.Read.All',
      'https://graph.microsoft.com/Directory.Read.All',
      'https://graph.microsoft.com/TeamsUserConfiguration.Read.All',
      'https://graph.microsoft.com/User.ReadWrite.All',
      'https://graph.microsoft.com/TeamsTelephoneNumber.ReadWrite.All',
    ]);
    for (const p of graphPermissions) expect(p.description.length).toBeGreaterThan(10);
  });
});

describe('consent settings', () => {
  const base = {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    KEY_VAULT_URL: 'https://vault.example',
    EMAIL_ENDPOINT: 'https://mail.example',
    EMAIL_SENDER_ADDRESS: 'noreply@provider.example',
    APP_CLIENT_ID: 'e3847379-07c7-4147-b0df-4307274a9d9e',
    PUBLIC_BASE_URL: 'https://switchboard.example',
  };

  it('accept Global and Teams Communications Administrators and let Microsoft show the account picker by default', () => {
    expect(loadConfig(base).consent).toEqual({
      adminRoleIds: ['62e90394-69f5-4237-9190-012177145e10', 'baf37b3a-610e-45da-9e62-d9d1e5e8914b'],
      prompt: 'select_account',
    });
  });

  it('take a comma-separated list of role ids, and refuse anything else', () => {
    const config = loadConfig({
      ...base,
      CONSENT_ADMIN_ROLE_IDS: ' 62E90394-69F5-4237-9190-012177145E10 , ',
      CONSENT_PROMPT: 'consent',
    });
    expect(config.consent).toEqual({
      adminRoleIds: ['62e90394-69f5-4237-9190-012177145e10'],
      prompt: 'consent',
    });
    expect(() => loadConfig({ ...base, CONSENT_ADMIN_ROLE_IDS: 'Global Administrator' })).toThrow(
      /CONSENT_ADMIN_ROLE_IDS/,
    );
    expect(() => loadConfig({ ...base, CONSENT_PROMPT: 'none' })).toThrow(/CONSENT_PROMPT/);
  });
});
