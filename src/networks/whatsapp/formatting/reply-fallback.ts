// Rich-reply fallbacks in a plain body: "> <@alice:example.org> quoted text\n> more\n\nreply".
// Only a leading quote that names a sender this way is a fallback; a message that simply starts with a quote
// keeps it.
const FALLBACK_START = /^> (?:\* )?<[@!][^>\s]*>/;

export function stripReplyFallback(body: string): string {
  if (!FALLBACK_START.test(body)) return body;
  const lines = body.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith(">")) i++;
  if (lines[i] === "") i++;
  return lines.slice(i).join("\n");
}
