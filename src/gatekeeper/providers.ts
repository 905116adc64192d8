// Enlisted providers: who may connect, with which Ed25519 key, speaking for which Matrix domains.
import type { Db } from "./db.js";
import { HttpError, invalid } from "./http-error.js";

export interface Provider {
  id: string;
  publicKey: string; // raw 32-byte Ed25519 public key, base64url
  domains: string[];
  createdAt: number;
}

const PROVIDER_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// A DNS name with an optional port, as Matrix server names are.
const DOMAIN = /^(?=.{1,255}$)[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)*(?::\d{1,5})?$/;

export class ProviderRegistry {
  constructor(private readonly db: Db) {}

  add(input: { id: string; publicKey: string; domains: string[] }): Provider {
    const id = input.id.trim();
    if (!PROVIDER_ID.test(id)) throw invalid(`provider id ${JSON.stringify(input.id)} must be 1-64 of a-z 0-9 . _ -, starting with a letter or digit`);
    const key = Buffer.from(input.publicKey, "base64url");
    if (key.length !== 32 || key.toString("base64url") !== input.publicKey) {
      throw invalid("public key must be a raw 32-byte Ed25519 public key in unpadded base64url");
    }
    if (input.domains.length === 0) throw invalid("a provider needs at least one Matrix domain");
    const domains = input.domains.map((d) => d.trim().toLowerCase());
    for (const d of domains) if (!DOMAIN.test(d)) throw invalid(`${JSON.stringify(d)} is not a valid Matrix domain`);
    const createdAt = Date.now();
    this.db.transaction(() => {
      if (this.get(id)) throw new HttpError(409, "CONFLICT", `provider ${id} is already enlisted`);
      for (const d of domains) {
        const owner = this.providerIdForDomain(d);
        if (owner) throw new HttpError(409, "CONFLICT", `domain ${d} is already served by provider ${owner}`);
      }
      this.db.prepare("INSERT INTO providers (id, public_key, created_at) VALUES (?, ?, ?)").run(id, input.publicKey, createdAt);
      const insert = this.db.prepare("INSERT INTO provider_domains (domain, provider_id) VALUES (?, ?)");
      for (const d of new Set(domains)) insert.run(d, id);
    })();
    return { id, publicKey: input.publicKey, domains: [...new Set(domains)], createdAt };
  }

  get(id: string): Provider | undefined {
    const row = this.db.prepare("SELECT id, public_key, created_at FROM providers WHERE id = ?").get(id) as
      | { id: string; public_key: string; created_at: number }
      | undefined;
    if (!row) return undefined;
    const domains = (this.db.prepare("SELECT domain FROM provider_domains WHERE provider_id = ? ORDER BY domain").all(id) as { domain: string }[]).map((r) => r.domain);
    return { id: row.id, publicKey: row.public_key, domains, createdAt: row.created_at };
  }

  list(): Provider[] {
    const ids = this.db.prepare("SELECT id FROM providers ORDER BY id").all() as { id: string }[];
    return ids.map((r) => this.get(r.id)!);
  }

  providerIdForDomain(domain: string): string | undefined {
    const row = this.db.prepare("SELECT provider_id FROM provider_domains WHERE domain = ?").get(domain.toLowerCase()) as { provider_id: string } | undefined;
    return row?.provider_id;
  }
}
