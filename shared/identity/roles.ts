/**
 * Microsoft Entra directory roles by template id (the same id in every tenant), from Microsoft's
 * permissions reference (test/fixtures/microsoft/directory-role-template-ids.json; a unit test keeps the
 * two in agreement). Names are what the admin sees on our pages.
 */
export const directoryRoles = {
  'Global Administrator': '62e90394-69f5-4237-9190-012177145e10',
  'Global Reader': 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  'Application Administrator': '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
  'Cloud Application Administrator': '158c047a-c907-4556-b7ef-446551a6b5f7',
  'Privileged Role Administrator': 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  'User Administrator': 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  'Teams Administrator': '69091246-20e8-4a56-aa4d-066075b2a7a8',
  'Teams Communications Administrator': 'baf37b3a-610e-45da-9e62-d9d1e5e8914b',
  'Teams Communications Support Engineer': 'f70938a0-fc10-4177-9e90-2178f8765737',
  'Teams Communications Support Specialist': 'fcf91098-03e3-41a9-b5ba-6f0ec8188a12',
  'Teams Telephony Administrator': 'aa38014f-0993-46e9-9b45-30501a20909d',
  'Teams Devices Administrator': '3d762c5a-1b6c-493f-843e-55a3b42923d4',
  'Teams Reader': '1076ac91-f3d9-41a7-a339-dcdf5f480acc',
  'Skype for Business Administrator': '75941009-915a-4869-abe7-691bff18279e',
  'Exchange Administrator': '29232cdf-9323-42fd-ade2-1d097af3e4de',
  'License Administrator': '4d6ac14f-3453-41d0-bef9-a3e0c569773a',
  'Groups Administrator': 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
  'Directory Readers': '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
} as const;

export const GLOBAL_ADMINISTRATOR = directoryRoles['Global Administrator'];
export const TEAMS_COMMUNICATIONS_ADMINISTRATOR = directoryRoles['Teams Communications Administrator'];

/** Roles that may approve delegated Graph permissions for a whole organization (Microsoft's rule). */
export const tenantWideConsentRoles: readonly string[] = [
  directoryRoles['Global Administrator'],
  directoryRoles['Privileged Role Administrator'],
  directoryRoles['Cloud Application Administrator'],
  directoryRoles['Application Administrator'],
];

const namesById = new Map<string, string>(Object.entries(directoryRoles).map(([name, id]) => [id, name]));

/** The role's name, or its id when it is not one we know by name. */
export function roleName(templateId: string): string {
  return namesById.get(templateId.toLowerCase()) ?? templateId;
}
