import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../dev/email/eml';
import { seedIds } from '../../dev/m365/seed';
import { api, startWorld, type World } from '../integration/onboarding/world';

/**
 * A customer's admin in real headless Chromium: the link from the invitation e-mail, our page,
 * Microsoft's (simulated) account picker and consent page, and back to our thank-you page. Each
 * page is saved to test-results/screenshots/ for a person to look at.
 */
const shots = path.resolve(__dirname, '..', '..', 'test-results', 'screenshots');
mkdirSync(shots, { recursive: true });

const chromiumArgs = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-gpu',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** The invitation link, read from the .eml the e-mail simulator wrote. */
async function inviteFromOutbox(world: World, customer: Record<string, string>): Promise<string> {
  const created = await api(world, 'POST', '/api/customers', customer);
  expect(created.status).toBe(201);
  expect((await api(world, 'POST', `/api/customers/${customer.id}/invitations`)).status).toBe(201);
  // Found by the customer id the default template puts in the text (the display name may hold anything).
  const mail = readOutbox(world.stack.outboxDir).find((m) => m.text?.includes(`(${customer.id})`));
  const link = /https?:\/\/\S+\/authenticate\/[A-Za-z0-9_-]{43}/.exec(mail?.text ?? '')?.[0];
  if (!link) throw new Error('no invitation link in the outbox');
  return link;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

/**
 * The onboarding walk in Chromium against one protocol of the app's public address (one stack per
 * test file: the managed identity token cache is per process).
 */
export function onboardingInChromium(protocol: 'https' | 'http'): void {
  describe(`onboarding in Chromium (${protocol}://localhost)`, () => {
    let world: World;
    let browser: Browser;

    beforeAll(async () => {
      world = await startWorld({}, { protocol });
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: chromiumArgs,
      });
    });

    afterAll(async () => {
      await browser?.close();
      await world?.stop();
    });

    it('invitation → Start → pick account → Accept → thank you', async () => {
      const id = `e2e-${protocol}`;
      const link = await inviteFromOutbox(world, {
        id,
        name: 'Contoso <Pharma> & Co',
        adminEmail: 'patti@contoso.com',
        tenantId: seedIds.contoso.tenantId,
      });
      const context = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 1280, height: 900 },
      });
      const page = await context.newPage();
      const cspViolations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
      });

      const invitation = await page.goto(link);
      expect(invitation?.status()).toBe(200);
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
        'Connect Contoso <Pharma> & Co to Switchboard Demo Provider',
      );
      // The stylesheet applied (the card has its border radius), so the CSP let it through.
      const radius = await page.evaluate<string>(
        "getComputedStyle(document.querySelector('.card')).borderTopLeftRadius",
      );
      expect(radius).not.toBe('0px');
      if (protocol === 'https') await shot(page, '1-invitation-desktop');

      const referers: (string | undefined)[] = [];
      page.on('request', (r) => {
        if (r.url().startsWith(world.stack.m365.url)) referers.push(r.headers().referer);
      });
      await page.getByRole('button', { name: 'Start authentication' }).click();
      await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
      if (protocol === 'https') await shot(page, '2-microsoft-pick-account');
      // The invitation link never reaches Microsoft.
      expect(referers.every((r) => r === undefined)).toBe(true);

      await page.getByRole('button', { name: 'patti@contoso.com' }).click();
      await page.getByRole('heading', { name: 'Permissions requested' }).waitFor();
      await page.getByLabel('Consent on behalf of your organization').check();
      if (protocol === 'https') await shot(page, '3-microsoft-consent');
      await page.getByRole('button', { name: 'Accept' }).click();

      await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/authenticate/OAuth2Callback');
      await expect(page.locator('body').textContent()).resolves.toContain('You may close this window');
      if (protocol === 'https') await shot(page, '4-thank-you');
      expect(cspViolations).toEqual([]);

      const customer = await world.services.customers.get(id);
      expect(customer).toMatchObject({ consentState: 'consented', tenantId: seedIds.contoso.tenantId });
      expect(await world.services.secrets.get(customer.tokenSecretName ?? '')).toBeTruthy();
      await context.close();
    });

    it('a cancelled consent explains that nothing changed and leads back to the invitation', async () => {
      const id = `e2e-cancel-${protocol}`;
      const link = await inviteFromOutbox(world, {
        id,
        name: 'Northwind Traders',
        adminEmail: 'nestor@northwindtraders.com',
        tenantId: seedIds.northwind.tenantId,
      });
      const context = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 1280, height: 900 },
      });
      const page = await context.newPage();
      await page.goto(link);
      await page.getByRole('button', { name: 'Start authentication' }).click();
      await page.getByRole('button', { name: 'nestor@northwindtraders.com' }).click();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByRole('heading', { name: 'Nothing was changed' }).waitFor();
      if (protocol === 'https') await shot(page, '5-cancelled');
      await page.getByRole('link', { name: 'Start again' }).click();
      await page.getByRole('button', { name: 'Start authentication' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(new URL(link).pathname);
      expect((await world.services.customers.get(id)).consentState).toBe('invited');
      await context.close();
    });

    it('shows the invitation well on a phone', async () => {
      const id = `e2e-phone-${protocol}`;
      const link = await inviteFromOutbox(world, {
        id,
        name: 'Fabrikam Telecom Services',
        adminEmail: 'isaiah@fabrikam.com',
      });
      const context = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      });
      const page = await context.newPage();
      await page.goto(link);
      const button = page.getByRole('button', { name: 'Start authentication' });
      await button.waitFor();
      // Nothing wider than the screen, and the button spans the card.
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      expect((await button.boundingBox())?.width ?? 0).toBeGreaterThan(300);
      if (protocol === 'https') await shot(page, '1-invitation-phone');
      await context.close();
    });
  });
}
