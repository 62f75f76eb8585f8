import { describe, expect, it } from 'vitest';
// Aliased: Prettier reformats templates tagged `h`, which would change the strings under test.
import { escapeHtml, html as h, trusted } from '../../../../shared/pages/html';

describe('h``', () => {
  it('escapes every interpolated value', () => {
    const name = `<script>alert("x")</script> & 'co'`;
    expect(h`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</p>',
    );
  });

  it('nests without escaping twice, joins lists and drops empty values', () => {
    const items = ['a<b', 'c'].map((x) => h`<li>${x}</li>`);
    expect(h`<ul>${items}</ul>${undefined}${null}${false}${0}`.value).toBe(
      '<ul><li>a&lt;b</li><li>c</li></ul>0',
    );
    expect(h`${trusted('<br>')}`.value).toBe('<br>');
  });

  it('escapes the five characters that matter in text and quoted attributes', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});
