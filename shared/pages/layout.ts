import { html, type Html } from './html';
import { siteCssVersion } from './stylesheet';

/**
 * The frame of every customer-facing page: the provider's name at the top, one card, a short
 * footer. No script, no inline style: the stylesheet is a separate, same-origin file.
 */
export interface PageFrame {
  providerName: string;
  /** Path of the app under its public address ('' at the root), for the stylesheet and form URLs. */
  basePath: string;
}

export function stylesheetPath(basePath: string): string {
  return `${basePath}/authenticate/assets/site.css?v=${siteCssVersion}`;
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]![0], words[1]![0]] : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

export function renderPage(frame: PageFrame, title: string, body: Html): string {
  return html`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <meta name="referrer" content="no-referrer" />
        <title>${title} · ${frame.providerName}</title>
        <link rel="stylesheet" href="${stylesheetPath(frame.basePath)}" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="topbar">
          <div class="topbar-inner">
            <span class="mark" aria-hidden="true">${initials(frame.providerName)}</span
            ><span class="brand">${frame.providerName}</span>
          </div>
        </header>
        <main class="page" id="main">
          <div class="card">${body}</div>
        </main>
        <footer class="footer">
          <p>${frame.providerName} uses Microsoft’s own sign-in page. We never see or store your password.</p>
        </footer>
      </body>
    </html> `.value;
}
