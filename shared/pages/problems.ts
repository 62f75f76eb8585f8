import type { ConsentProblemReason } from '../onboarding/consent-outcomes';

/**
 * What the admin reads when something stops the connection: a title and plain sentences, with
 * `{provider}` and `{organization}` filled in by the page. One place for all wording.
 */
export interface ProblemText {
  title: string;
  paragraphs: string[];
  tone: 'warn' | 'bad';
}

export const problemTexts: Record<ConsentProblemReason, ProblemText> = {
  invitation_not_found: {
    title: 'We can’t find this invitation',
    paragraphs: [
      'The link may be incomplete. Please open it again from the e-mail, or ask {provider} to send a new invitation.',
    ],
    tone: 'bad',
  },
  invitation_gone: {
    title: 'This invitation can no longer be used',
    paragraphs: ['If you still need to connect your organization, ask {provider} to send a new invitation.'],
    tone: 'warn',
  },
  customer_closed: {
    title: 'This invitation is no longer valid',
    paragraphs: [
      'The service for this organization has ended. If you think this is a mistake, contact {provider}.',
    ],
    tone: 'warn',
  },
  state_unknown: {
    title: 'This sign-in can’t be completed',
    paragraphs: [
      'This page was already used, or it did not come from a sign-in we started. Nothing was changed.',
      'Please open your invitation link again and select “Start authentication”.',
    ],
    tone: 'warn',
  },
  state_expired: {
    title: 'The sign-in took too long',
    paragraphs: [
      'For your security, the sign-in must be finished within 10 minutes of starting it. Nothing was changed.',
      'Please start again.',
    ],
    tone: 'warn',
  },
  other_browser: {
    title: 'Please finish in the same browser',
    paragraphs: [
      'The sign-in was started in another browser or window. For your security, nothing was changed.',
      'Please start again here and finish the sign-in without switching browsers.',
    ],
    tone: 'warn',
  },
  cancelled: {
    title: 'Nothing was changed',
    paragraphs: [
      'You cancelled the sign-in or declined the permissions, so {provider} has no access to your organization.',
      'When you are ready, you can start again.',
    ],
    tone: 'warn',
  },
  consent_required: {
    title: 'An administrator needs to approve this first',
    paragraphs: [
      'Your account can’t approve these permissions for your organization.',
      'Please sign in with a Global Administrator account, or ask your Global Administrator to approve the app first.',
    ],
    tone: 'warn',
  },
  account_not_allowed: {
    title: 'This account can’t be used',
    paragraphs: [
      'Microsoft didn’t let this account sign in here. It may be disabled, belong to another organization, or not be allowed to use the app.',
      'Please start again and sign in with an administrator account of your organization.',
    ],
    tone: 'bad',
  },
  blocked: {
    title: 'Your organization’s sign-in rules stopped this',
    paragraphs: [
      'A Conditional Access policy or a multi-factor authentication requirement blocked the sign-in.',
      'Please complete the requirement, or ask your security administrator for help, then start again.',
    ],
    tone: 'warn',
  },
  signin_failed: {
    title: 'The sign-in didn’t complete',
    paragraphs: [
      'Microsoft didn’t give us an answer we could use. Nothing was changed.',
      'Please start again. If it keeps happening, contact {provider}.',
    ],
    tone: 'warn',
  },
  wrong_tenant: {
    title: 'This is a different organization',
    paragraphs: [
      'You signed in to {organization}, but this invitation is for another Microsoft 365 organization. Nothing was changed.',
      'Please start again and sign in with an administrator account of the organization the invitation is for.',
    ],
    tone: 'bad',
  },
  tenant_taken: {
    title: 'This organization is already connected',
    paragraphs: [
      '{organization} is already connected to {provider} under another customer account, so it can’t be connected again here. Nothing was changed.',
      'Please contact {provider}.',
    ],
    tone: 'bad',
  },
  not_admin: {
    title: 'This account isn’t an administrator',
    paragraphs: [
      'To connect your organization, please sign in with an account that holds one of these roles. Nothing was changed.',
    ],
    tone: 'warn',
  },
  guest: {
    title: 'Guest accounts can’t be used',
    paragraphs: [
      'You signed in with a guest account. Please start again and sign in with an account that belongs to your own organization. Nothing was changed.',
    ],
    tone: 'warn',
  },
  no_lasting_access: {
    title: 'Access was not fully granted',
    paragraphs: [
      'Microsoft signed you in but didn’t grant lasting access (“Maintain access to data you have given it access to”). Nothing was changed.',
      'Please start again and accept all the permissions.',
    ],
    tone: 'warn',
  },
  directory_refused: {
    title: 'We couldn’t check your account',
    paragraphs: [
      'Microsoft 365 didn’t let us read your account’s roles with the permissions granted. Nothing was changed.',
      'Please start again and accept all the permissions, or sign in as a Global Administrator.',
    ],
    tone: 'warn',
  },
};
