import { createHash } from 'node:crypto';

/**
 * The one stylesheet of the customer-facing pages, served from `GET /authenticate/assets/site.css`
 * so the pages' Content-Security-Policy can forbid every inline style and script. The version in
 * its URL is a hash of its text: a changed stylesheet is a new URL, so it may be cached for long.
 */
export const siteCss = `
:root {
  --ink: #1b1f24; --muted: #4a535d; --line: #dde2e8; --page: #f3f5f8; --card: #ffffff;
  --brand: #0f4c81; --action: #0b5cad; --action-hover: #084a8c; --focus: #ffbf47;
  --ok: #1e7b34; --ok-bg: #edf7ef; --warn: #8a5300; --warn-bg: #fff6e5; --bad: #b3261e; --bad-bg: #fdeeee;
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--page); color: var(--ink);
  font: 16px/1.55 "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--action); }
a:focus-visible, .button:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 1rem; top: 1rem; background: var(--card); padding: .5rem 1rem; z-index: 1; }
.topbar { background: var(--card); border-bottom: 1px solid var(--line); }
.topbar-inner { max-width: 44rem; margin: 0 auto; padding: .85rem 1.25rem; display: flex; align-items: center; gap: .75rem; }
.mark {
  width: 2.25rem; height: 2.25rem; border-radius: .5rem; background: var(--brand); color: #fff;
  display: inline-flex; align-items: center; justify-content: center; font-weight: 700; letter-spacing: .02em;
}
.brand { font-weight: 600; font-size: 1.05rem; }
.page { max-width: 44rem; margin: 0 auto; padding: 1.25rem 1rem 2.5rem; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: .9rem;
  box-shadow: 0 1px 2px rgba(16, 24, 40, .05), 0 8px 24px rgba(16, 24, 40, .06); padding: 1.5rem 1.25rem;
}
h1 { font-size: 1.55rem; line-height: 1.25; margin: 0 0 .75rem; }
h2 { font-size: 1.05rem; margin: 1.75rem 0 .6rem; }
p { margin: 0 0 1rem; }
.lead { font-size: 1.08rem; color: var(--muted); }
.steps { list-style: none; counter-reset: step; margin: 0; padding: 0; }
.steps li { counter-increment: step; position: relative; padding: 0 0 .85rem 2.6rem; min-height: 1.9rem; }
.steps li::before {
  content: counter(step); position: absolute; left: 0; top: 0; width: 1.9rem; height: 1.9rem; border-radius: 50%;
  background: #e7eef7; color: var(--brand); font-weight: 700; display: flex; align-items: center; justify-content: center;
}
.checks { list-style: none; margin: 0; padding: 0; }
.checks li { position: relative; padding: .15rem 0 .55rem 1.9rem; }
.checks svg { position: absolute; left: 0; top: .3rem; width: 1.2rem; height: 1.2rem; color: var(--ok); }
.checks .new { margin-left: .4rem; padding: 0 .35rem; border-radius: .25rem; font-size: .8rem; background: var(--ok); color: #fff; }
.roles { margin: 0 0 .5rem; padding-left: 1.25rem; }
.note { border-left: 4px solid var(--ok); background: var(--ok-bg); border-radius: .4rem; padding: .9rem 1rem; margin: 1.5rem 0; }
.note p:last-child { margin-bottom: 0; }
.note strong { display: block; margin-bottom: .25rem; }
.facts { display: grid; grid-template-columns: 1fr; gap: .15rem 1rem; margin: 1.5rem 0; padding: 1rem; background: var(--page); border-radius: .5rem; }
.facts dt { color: var(--muted); font-size: .9rem; }
.facts dd { margin: 0 0 .5rem; overflow-wrap: anywhere; font-weight: 600; }
.actions { margin-top: 1.5rem; }
.button {
  display: block; width: 100%; border: 0; border-radius: .55rem; background: var(--action); color: #fff;
  font: inherit; font-weight: 600; font-size: 1.05rem; padding: .85rem 1.4rem; cursor: pointer; text-align: center; text-decoration: none;
}
.button:hover { background: var(--action-hover); }
.hint { font-size: .9rem; color: var(--muted); margin-top: .75rem; }
.status { width: 3.25rem; height: 3.25rem; border-radius: 50%; display: flex; align-items: center; justify-content: center; margin-bottom: 1rem; }
.status svg { width: 1.8rem; height: 1.8rem; }
.status-ok { background: var(--ok-bg); color: var(--ok); }
.status-warn { background: var(--warn-bg); color: var(--warn); }
.status-bad { background: var(--bad-bg); color: var(--bad); }
.error-id { font-size: .9rem; color: var(--muted); }
.error-id code { font-size: .9rem; background: var(--page); padding: .1rem .35rem; border-radius: .25rem; overflow-wrap: anywhere; }
.footer { max-width: 44rem; margin: 0 auto; padding: 0 1.25rem 2rem; color: var(--muted); font-size: .85rem; }
@media (min-width: 40rem) {
  .page { padding: 2.5rem 1.25rem 3rem; }
  .card { padding: 2.25rem 2.5rem; }
  h1 { font-size: 1.9rem; }
  .facts { grid-template-columns: max-content 1fr; }
  .facts dd { margin-bottom: 0; }
  .button { display: inline-block; width: auto; min-width: 16rem; }
}
@media (prefers-reduced-motion: no-preference) { .button { transition: background-color .15s ease; } }
`.trim();

export const siteCssVersion = createHash('sha256').update(siteCss).digest('hex').slice(0, 12);
