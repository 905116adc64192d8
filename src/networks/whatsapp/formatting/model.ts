// The shape of a WhatsApp text once parsed: what whatsAppToMatrix renders as HTML.

/** Inline styles WhatsApp can express, with the marker character each one uses. */
export type Style = "bold" | "italic" | "strike";
export type Marker = "*" | "_" | "~";

export const STYLE_OF: Readonly<Record<Marker, Style>> = { "*": "bold", _: "italic", "~": "strike" };

export type Inline =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "style"; readonly style: Style; readonly children: readonly Inline[] }
  | { readonly kind: "code"; readonly text: string }
  | { readonly kind: "link"; readonly href: string; readonly text: string };

export type Bullet = "-" | "*";
export type ListShape = { readonly ordered: false; readonly bullet: Bullet } | { readonly ordered: true; readonly start: number };

/** A document is a sequence of blocks joined by single newlines; a blank line is an empty "line" block. */
export type Block =
  | { readonly kind: "line"; readonly content: readonly Inline[] }
  | { readonly kind: "code"; readonly text: string }
  | { readonly kind: "quote"; readonly blocks: readonly Block[] }
  | { readonly kind: "list"; readonly shape: ListShape; readonly items: readonly (readonly Block[])[] };
