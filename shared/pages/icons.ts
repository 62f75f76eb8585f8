import { trusted } from './html';

/** Inline SVG icons (part of the page, so the CSP needs no image source for them). */
export const checkIcon = trusted(
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round" d="M5 12.5l4.5 4.5L19 7.5"/></svg>',
);

export const alertIcon = trusted(
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" d="M12 7v6.5M12 17.2v.1"/></svg>',
);

export const crossIcon = trusted(
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" d="M7 7l10 10M17 7L7 17"/></svg>',
);
