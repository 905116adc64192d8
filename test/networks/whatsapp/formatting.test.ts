// Table tests for Matrix HTML <-> WhatsApp markup. Each row states the exact expected output.
import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { matrixToWhatsApp, whatsAppToMatrix } from "../../../src/networks/whatsapp/formatting/index.js";

const HTML = "org.matrix.custom.html";
const fromHtml = (formatted_body: string, body = "fallback body"): string => matrixToWhatsApp({ body, format: HTML, formatted_body });

// [description, formatted_body, expected WhatsApp text]
const MATRIX_TO_WHATSAPP: readonly (readonly [string, string, string])[] = [
  ["b", "<b>bold</b> text", "*bold* text"],
  ["strong", "a <strong>bold</strong> word", "a *bold* word"],
  ["i and em", "<i>one</i> and <em>two</em>", "_one_ and _two_"],
  ["s, del, strike", "<s>a</s> <del>b</del> <strike>c</strike>", "~a~ ~b~ ~c~"],
  ["nested styles keep their order", "<b><i>both</i></b> <i><b>both</b></i>", "*_both_* _*both*_"],
  ["the same style nested adds no second marker", "<b>a <strong>b</strong> c</b>", "*a b c*"],
  ["three styles", "<del><b><em>all</em></b></del>", "~*_all_*~"],
  ["partly nested", "<b>bold <i>and italic</i> and bold</b>", "*bold _and italic_ and bold*"],
  ["adjacent spans stay separate", "<b>a</b><b>b</b>", "*a**b*"],
  ["inline code", "run <code>ls -la</code> now", "run `ls -la` now"],
  ["markers inside code are not formatting", "<code>a*b*_c_</code>", "`a*b*_c_`"],
  ["code with a backtick that cannot close it", "x <code>a`b</code> y", "x `a`b` y"],
  ["code with a backtick that could close it uses triple backticks", "x <code>a` b</code> y", "x ```a` b``` y"],
  ["code with edge spaces uses triple backticks", "x <code> a </code> y", "x ``` a ``` y"],
  ["code inside a word uses triple backticks", "foo<code>bar</code>", "foo```bar```"],
  ["bold code", "<b><code>x</code></b>", "*`x`*"],
  ["pre without code", "<pre>line</pre>", "```line```"],
  ["pre with code and CommonMark's final newline", '<pre><code class="language-js">const a = 1;\n</code></pre>\n', "```const a = 1;```"],
  ["multi-line pre keeps its lines and markers", "<pre><code>a *b*\n  c\n</code></pre>", "```a *b*\n  c```"],
  ["pre with blank edge lines keeps them", "<pre><code>\nx\n\n</code></pre>", "```\n\nx\n\n```"],
  ["text around a pre", "<p>before</p><pre><code>x\n</code></pre><p>after</p>", "before\n\n```x```\n\nafter"],
  ["blockquote", "<blockquote>quoted</blockquote>reply", "> quoted\nreply"],
  ["blockquote with paragraphs and formatting", "<blockquote>\n<p>one <em>x</em></p>\n<p>two</p>\n</blockquote>\n<p>after</p>", "> one _x_\n>\n> two\n\nafter"],
  ["nested blockquote", "<blockquote>a<blockquote>b</blockquote></blockquote>", "> a\n> > b"],
  ["bullet list", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n", "- one\n- two"],
  ["ordered list with start", '<ol start="9"><li>nine</li><li>ten</li></ol>', "9. nine\n10. ten"],
  ["nested lists", "<ul><li>a<ul><li>b<ol><li>c</li></ol></li></ul></li><li>d</li></ul>", "- a\n  - b\n    1. c\n- d"],
  ["list item with two paragraphs", "<ol><li><p>first</p><p>second</p></li></ol>", "1. first\n   \n   second"],
  ["stray nested list directly in ul joins the item before", "<ul><li>a</li><ul><li>b</li></ul></ul>", "- a\n  - b"],
  ["link with its own text", '<a href="https://example.org/page">the page</a>', "the page (https://example.org/page)"],
  ["link whose text is the URL", '<a href="https://example.org/">https://example.org/</a>', "https://example.org/"],
  ["link whose text is the URL without scheme", '<a href="https://www.example.org">www.example.org</a>', "www.example.org"],
  ["mailto link", '<a href="mailto:a@example.org">a@example.org</a>', "a@example.org"],
  ["bold link text", '<b><a href="https://x.org">site</a></b>', "*site (https://x.org)*"],
  ["javascript: link keeps only its text", '<a href="javascript:alert(1)">click</a>', "click"],
  ["data: link keeps only its text", '<a href="data:text/html,x">data</a>', "data"],
  ["link without href", "<a>anchor</a>", "anchor"],
  ["user mention", '<a href="https://matrix.to/#/@alice:example.org">Alice</a>: hi', "@Alice: hi"],
  ["encoded mention", '<a href="https://matrix.to/#/%40bob%3Aexample.org">Bob B</a>', "@Bob B"],
  ["mention with @ in its text", '<a href="https://matrix.to/#/@carol:example.org">@carol</a>', "@carol"],
  ["matrix: URI mention", '<a href="matrix:u/dave:example.org">Dave</a>', "@Dave"],
  ["room permalink is an ordinary link", '<a href="https://matrix.to/#/#room:example.org">room</a>', "room (https://matrix.to/#/#room:example.org)"],
  ["reply fallback removed", "<mx-reply><blockquote><a href=\"https://matrix.to/#/@a:b\">a</a> old</blockquote></mx-reply>new", "new"],
  ["br", "one<br>two<br/>three", "one\ntwo\nthree"],
  ["paragraphs are separated by a blank line", "<p>one</p>\n<p>two</p>\n", "one\n\ntwo"],
  ["headings become bold lines", "<h1>Title</h1>\n<p>text</p><h3>Sub <i>it</i></h3>", "*Title*\n\ntext\n\n*Sub _it_*"],
  ["unknown tags keep their text", '<span data-mx-color="#f00">red</span> <font color="x">f</font> <u>u</u> x<sup>2</sup>', "red f u x2"],
  ["div and table structure", "<div>a</div><div>b</div><table><tr><td>c</td><td>d</td></tr></table>", "a\nb\nc d"],
  ["entities are decoded", "&amp; &lt;tag&gt; &quot;q&quot; &#x1F600; caf&eacute;", '& <tag> "q" 😀 café'],
  ["script, style and comments dropped", "<script>alert(1)</script><style>p{}</style><!-- c -->ok", "ok"],
  ["formatting inside a word is dropped, text kept", "foo<b>bar</b>baz", "foobarbaz"],
  ["edge whitespace moves outside markers", "<b>a </b>b <i> c</i>", "*a* b  _c_"],
  ["whitespace-only styled text has no markers", "a<b> </b>b", "a b"],
  ["a style across a line break is closed per line", "<b>one<br>two</b>", "*one*\n*two*"],
  ["emoji and non-Latin text", "<b>Привет</b> 😀 <i>日本語</i> <del>مرحبا</del>", "*Привет* 😀 _日本語_ ~مرحبا~"],
  ["markers next to emoji", "😀<b>x</b>😀", "😀*x*😀"],
  ["image alt text", '<img src="mxc://x/y" alt=":party:"> yay', ":party: yay"],
  ["horizontal rule", "a<hr>b", "a\n---\nb"],
  ["source line breaks are spaces", "<p>one\ntwo\n  three</p>", "one two three"],
  ["a span of nothing but its own marker is not written", "a <b>*</b> b", "a * b"],
  ["literal markers are left as they are", "<p>*not bold* 2 * 3 snake_case</p>", "*not bold* 2 * 3 snake_case"],
];

describe("formatting: Matrix HTML -> WhatsApp", () => {
  for (const [what, html, expected] of MATRIX_TO_WHATSAPP) {
    it(what, () => assert.equal(fromHtml(html), expected));
  }

  it("uses body when there is no HTML", () => {
    assert.equal(matrixToWhatsApp({ body: "*plain* body" }), "*plain* body");
    assert.equal(matrixToWhatsApp({ body: "b", format: "text/markdown", formatted_body: "<b>x</b>" }), "b");
  });

  it("uses body when formatted_body renders to nothing", () => {
    assert.equal(fromHtml("", "body"), "body");
    assert.equal(fromHtml("<mx-reply>quoted</mx-reply>", "> <@a:b> quoted\n\nanswer"), "answer");
  });

  it("removes a reply fallback from a plain body, but not an ordinary quote", () => {
    assert.equal(matrixToWhatsApp({ body: "> <@alice:example.org> hi\n> there\n\nhello" }), "hello");
    assert.equal(matrixToWhatsApp({ body: "> * <@alice:example.org> waves\n\nhello" }), "hello");
    assert.equal(matrixToWhatsApp({ body: "> a real quote\n\nreply" }), "> a real quote\n\nreply");
  });

  it("handles empty input", () => {
    assert.equal(matrixToWhatsApp({ body: "" }), "");
    assert.equal(fromHtml("<p></p>", ""), "");
  });

  it("rejects content without a string body", () => {
    assert.throws(() => matrixToWhatsApp({} as never), /content\.body must be a string/);
    assert.throws(() => matrixToWhatsApp(null as never), /content must be an object/);
  });
});

// [description, WhatsApp text, expected formatted_body (undefined = plain, no format)]
const WHATSAPP_TO_MATRIX: readonly (readonly [string, string, string | undefined])[] = [
  ["plain text stays plain", "just text, 2 * 3", undefined],
  ["bold", "*bold*", "<strong>bold</strong>"],
  ["italic", "an _italic_ word", "an <em>italic</em> word"],
  ["strike", "~gone~", "<del>gone</del>"],
  ["nested", "*_both_* _*both*_", "<strong><em>both</em></strong> <em><strong>both</strong></em>"],
  ["partly nested", "*bold _and italic_ bold*", "<strong>bold <em>and italic</em> bold</strong>"],
  ["two spans", "*a* and *b*", "<strong>a</strong> and <strong>b</strong>"],
  ["space after the opener", "a * not bold*", undefined],
  ["a star and a space at line start is a list item", "* not bold*", '<ul data-wa-bullet="*"><li>not bold*</li></ul>'],
  ["space before the closer", "*not bold *", undefined],
  ["inside a word", "a*b*c and x_y_", undefined],
  ["snake_case", "snake_case_name", undefined],
  ["punctuation is a boundary", "(*bold*), *bold*.", "(<strong>bold</strong>), <strong>bold</strong>."],
  ["no formatting across lines", "*one\ntwo*", undefined],
  ["markers alone", "** __ ~~ ``", undefined],
  ["rows of one marker are dividers", "*****\n_______\n~~~", undefined],
  ["a closer needs a boundary after it", "_a_b", undefined],
  ["inline code", "run `ls -la`", "run <code>ls -la</code>"],
  ["no formatting inside code", "`a *b* _c_`", "<code>a *b* _c_</code>"],
  ["bold around code with a marker inside", "*a `b*` c*", "<strong>a <code>b*</code> c</strong>"],
  ["triple backticks inline", "say ```x y``` now", "say <code>x y</code> now"],
  ["fenced block on one line", "```mono```", "<pre><code>mono\n</code></pre>"],
  ["fenced block over lines", "```\nline1\n  *line2*\n```", "<pre><code>line1\n  *line2*\n</code></pre>"],
  ["fenced block between text", "before\n```x\ny```\nafter", "before<br><pre><code>x\ny\n</code></pre>after"],
  ["fenced block with blank edge lines", "```\n\nx\n\n```", "<pre><code>\nx\n\n</code></pre>"],
  ["unclosed fence is text", "```not closed\n*b*", "```not closed<br><strong>b</strong>"],
  ["quote", "> quoted", "<blockquote>quoted</blockquote>"],
  ["quote lines and text", "> a\n> *b*\nreply", "<blockquote>a<br><strong>b</strong></blockquote>reply"],
  ["nested quote", "> a\n> > b", "<blockquote>a<br><blockquote>b</blockquote></blockquote>"],
  [">text is not a quote", ">not quoted *b*", "&gt;not quoted <strong>b</strong>"],
  ["blank line before a block", "text\n\n> q", "text<br><br><blockquote>q</blockquote>"],
  ["dash list", "- one\n- *two*", "<ul><li>one</li><li><strong>two</strong></li></ul>"],
  ["star list", "* one\n* two", '<ul data-wa-bullet="*"><li>one</li><li>two</li></ul>'],
  ["numbered list", "1. one\n2. two", "<ol><li>one</li><li>two</li></ol>"],
  ["numbered list with start", "3. three\n4. four", '<ol start="3"><li>three</li><li>four</li></ol>'],
  ["numbering that skips starts a new list", "1. a\n3. b", '<ol><li>a</li></ol><ol start="3"><li>b</li></ol>'],
  ["nested list by indentation", "- a\n  - b\n- c", "<ul><li>a<br><ul><li>b</li></ul></li><li>c</li></ul>"],
  ["leading zero is not a number", "01. a", undefined],
  ["quote inside a list", "- > q", "<ul><li><blockquote>q</blockquote></li></ul>"],
  ["code block inside a quote", "> ```code```", "<blockquote><pre><code>code\n</code></pre></blockquote>"],
  ["URL", "see https://example.org/a_b_c.", 'see <a href="https://example.org/a_b_c">https://example.org/a_b_c</a>.'],
  ["www URL", "www.example.org", '<a href="https://www.example.org">www.example.org</a>'],
  ["URL with balanced parentheses", "(https://en.wikipedia.org/wiki/A_(b))", '(<a href="https://en.wikipedia.org/wiki/A_(b)">https://en.wikipedia.org/wiki/A_(b)</a>)'],
  ["bold URL", "*https://x.org*", '<strong><a href="https://x.org">https://x.org</a></strong>'],
  ["javascript: is not a link", "javascript:alert(1)", undefined],
  ["HTML in the text is escaped", "<script>alert(1)</script> *b*", "&lt;script&gt;alert(1)&lt;/script&gt; <strong>b</strong>"],
  ["quotes and ampersands are escaped", '*"q" & <i>*', "<strong>&quot;q&quot; &amp; &lt;i&gt;</strong>"],
  ["emoji and Cyrillic", "😀 *привет* 🎉", "😀 <strong>привет</strong> 🎉"],
  ["CJK inside a run of letters", "中文*粗体*中文", undefined],
  ["CJK with spaces", "中文 *粗体* 中文", "中文 <strong>粗体</strong> 中文"],
  ["CRLF line endings", "*a*\r\n*b*", "<strong>a</strong><br><strong>b</strong>"],
];

describe("formatting: WhatsApp -> Matrix HTML", () => {
  for (const [what, text, expected] of WHATSAPP_TO_MATRIX) {
    it(what, () => {
      const out = whatsAppToMatrix(text);
      assert.equal(out.body, text);
      if (expected === undefined) assert.deepEqual(out, { body: text });
      else assert.deepEqual(out, { body: text, format: HTML, formatted_body: expected });
    });
  }

  it("handles empty input", () => assert.deepEqual(whatsAppToMatrix(""), { body: "" }));

  it("rejects a non-string", () => assert.throws(() => whatsAppToMatrix(42 as never), /text must be a string/));
});

describe("formatting: round trips over the tables", () => {
  // WhatsApp texts that are not in canonical form are normalised on the way back; everything else is exact.
  const NORMALISED: Readonly<Record<string, string>> = {
    "say ```x y``` now": "say `x y` now",
    "```\nline1\n  *line2*\n```": "```line1\n  *line2*```",
    "*a*\r\n*b*": "*a*\n*b*",
  };
  for (const [, text, html] of WHATSAPP_TO_MATRIX) {
    if (html === undefined) continue;
    it(`WhatsApp -> Matrix -> WhatsApp: ${JSON.stringify(text)}`, () => {
      assert.equal(matrixToWhatsApp(whatsAppToMatrix(text)), NORMALISED[text] ?? text);
    });
  }

  for (const [what, html] of MATRIX_TO_WHATSAPP) {
    it(`Matrix -> WhatsApp -> Matrix -> WhatsApp is stable: ${what}`, () => {
      const once = fromHtml(html);
      assert.equal(matrixToWhatsApp(whatsAppToMatrix(once)), once);
    });
  }
});
