import { formatExpiry } from '../onboarding/invitations';
import type { ConsentDone, ConsentProblem, InvitationPageModel } from '../onboarding/consent-outcomes';
import { html, type Html } from './html';
import { alertIcon, checkIcon, crossIcon } from './icons';
import { renderPage, type PageFrame } from './layout';
import { problemTexts } from './problems';

/**
 * The customer admin's pages: the invitation (what, who, why, then one button), the thank-you page,
 * the pages that explain a refusal in plain words, and the error page that shows only an id.
 */
export interface ConsentPageFrame extends PageFrame {
  /** Where the admin will sign in, e.g. `login.microsoftonline.com`. */
  signInHost: string;
}

export function invitationPage(frame: ConsentPageFrame, m: InvitationPageModel): string {
  const p = frame.providerName;
  const action = `${frame.basePath}/authenticate/${encodeURIComponent(m.token)}/start`;
  return renderPage(
    frame,
    `Connect ${m.customerName}`,
    html`<h1>Connect ${m.customerName} to ${p}</h1>
      <p class="lead">
        ${p} asks for access to your organization’s Microsoft 365, so it can set up and look after your Teams
        calling service.
      </p>
      <div class="note">
        <strong>We will never see your password.</strong>
        <p>
          You sign in on Microsoft’s own page, where multi-factor authentication works as usual. Microsoft
          then gives ${p} access to what is listed below, and nothing more. You can withdraw it at any time in
          the Microsoft Entra admin center, under Enterprise applications.
        </p>
      </div>
      <h2>What will happen</h2>
      <ol class="steps">
        <li>Select <strong>Start authentication</strong>. You go to Microsoft’s sign-in page.</li>
        <li>Sign in with your own administrator account of ${m.customerName}.</li>
        <li>
          Microsoft shows the permissions below. If you see “Consent on behalf of your organization”, tick it.
          Then select <strong>Accept</strong>.
        </li>
        <li>You come back here and see a confirmation. That’s all.</li>
      </ol>
      <h2>Who should sign in</h2>
      <p>Someone who holds one of these Microsoft 365 admin roles:</p>
      <ul class="roles">
        ${m.acceptedRoles.map((r) => html`<li>${r}</li>`)}
      </ul>
      <p class="hint">
        Guest accounts can’t be used. The first time, only a Global Administrator can approve the app for the
        whole organization.
      </p>
      <h2>What ${p} will be able to do</h2>
      ${
        m.newPermissions.length > 0
          ? html`<p>
              ${p} now needs more than your organization agreed to before: the permissions marked
              <strong>New</strong> are why you are asked again.
            </p>`
          : ''
      }
      <ul class="checks">
        ${m.permissions.map((x) =>
          m.newPermissions.includes(x.scope)
            ? html`<li>${checkIcon}${x.description} <strong class="new">New</strong></li>`
            : html`<li>${checkIcon}${x.description}</li>`,
        )}
      </ul>
      <dl class="facts">
        <dt>Organization</dt>
        <dd>${m.customerName}</dd>
        <dt>Invitation sent to</dt>
        <dd>${m.sentTo}</dd>
        <dt>Link valid until</dt>
        <dd>${formatExpiry(m.expiresAt)}</dd>
      </dl>
      <form class="actions" method="post" action="${action}">
        <button class="button" type="submit">Start authentication</button>
        <p class="hint">You will sign in at ${frame.signInHost}. Please finish within 10 minutes.</p>
      </form>`,
  );
}

export function thanksPage(frame: PageFrame, m: ConsentDone): string {
  const p = frame.providerName;
  return renderPage(
    frame,
    'Thank you',
    html`<div class="status status-ok">${checkIcon}</div>
      <h1>Thank you!</h1>
      <p class="lead">${m.customerName} is now connected to ${p}. You may close this window.</p>
      <p>${p} will contact you when the service is ready for operation.</p>
      <dl class="facts">
        <dt>Microsoft 365 organization</dt>
        <dd>${m.organizationName}</dd>
        <dt>Approved by</dt>
        <dd>${m.consentedBy}</dd>
        <dt>Date</dt>
        <dd>${formatExpiry(m.consentedAt)}</dd>
      </dl>
      <p class="hint">
        You can withdraw this access at any time in the Microsoft Entra admin center, under Enterprise
        applications. The service stops when you do.
      </p>`,
  );
}

export function problemPage(frame: PageFrame, problem: ConsentProblem): string {
  const text = problemTexts[problem.reason];
  const fill = (s: string) =>
    s
      .replaceAll('{provider}', frame.providerName)
      .replaceAll('{organization}', problem.organizationName ?? 'another Microsoft 365 organization');
  const roles: Html | undefined = problem.acceptedRoles?.length
    ? html`<ul class="roles">
        ${problem.acceptedRoles.map((r) => html`<li>${r}</li>`)}
      </ul>`
    : undefined;
  return renderPage(
    frame,
    text.title,
    html`<div class="status status-${text.tone}">${text.tone === 'bad' ? crossIcon : alertIcon}</div>
      <h1>${text.title}</h1>
      ${problem.message ? html`<p class="lead">${problem.message}</p>` : ''}
      ${text.paragraphs.map((s) => html`<p>${fill(s)}</p>`)} ${roles}
      ${problem.retryPath ? html`<p class="actions"><a class="button" href="${frame.basePath}${problem.retryPath}">Start again</a></p>` : ''}`,
  );
}

/** 5xx: no detail at all, only an id that finds the log line. */
export function errorPage(frame: PageFrame, errorId: string, unavailable: boolean): string {
  return renderPage(
    frame,
    'Something went wrong',
    html`<div class="status status-bad">${alertIcon}</div>
      <h1>${unavailable ? 'A service we rely on isn’t answering' : 'Something went wrong on our side'}</h1>
      <p class="lead">Nothing was changed. Please try again in a few minutes.</p>
      <p class="error-id">
        If it keeps happening, contact ${frame.providerName} and quote this error id: <code>${errorId}</code>
      </p>`,
  );
}
