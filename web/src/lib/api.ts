// The market API, same-origin (`ddrm serve` serves this app beside it). Types mirror the
// schemas of /openapi.json that these pages read; amounts are decimal strings in base units.

export interface Terms {
  price: string;
  rent_price: string;
  rent_period: number;
  subscription_price: string;
  subscription_period: number;
  max_editions: number;
  resale_royalty_bps: number;
}

export interface ContentSummary {
  content_id: string;
  creator: string;
  payment_token: string;
  cid: string;
  title: string | null;
  creator_name: string | null;
  kind: string | null;
  mime_type: string | null;
  registered_block: number;
  registered_time: number;
  terms: Terms;
  revenue_total: string;
  sales: number;
  editions_sold: number;
}

export interface CataloguePage {
  items: ContentSummary[];
  next_cursor: string | null;
  as_of_block: number | null;
}

export interface CapTableEntry {
  account: string;
  shares: number;
}

export interface ContentDetail {
  content: ContentSummary;
  cap_table: CapTableEntry[];
  revenue_per_share: string;
  as_of_block: number | null;
}

export interface LibraryItem {
  content_id: string;
  title: string | null;
  access_tokens: number;
  expires_at: number | null;
  playable: boolean;
  playable_until: number | null;
}

export interface Library {
  account: string;
  items: LibraryItem[];
  as_of_block: number | null;
  as_of_time: number | null;
}

export interface PublicConfig {
  chain_id: number;
  rpc_url: string | null;
  native_symbol: string;
  deployment_block: number;
  contracts: {
    content_registry: string;
    access: string;
    royalty_shares: string;
    market: string;
    capsule_registry: string;
    licence_network_registry: string;
    test_token: string | null;
  };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  let r: Response;
  try {
    r = await fetch(path, { headers: { accept: 'application/json' }, signal });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The market server cannot be reached.');
  }
  if (!r.ok) {
    const body = (await r.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    throw new ApiError(r.status, body?.error?.code ?? 'http', body?.error?.message ?? `HTTP ${r.status}`);
  }
  return (await r.json()) as T;
}

export interface CatalogueQuery {
  q?: string;
  kind?: string;
  cursor?: string;
}

export function catalogue(query: CatalogueQuery, signal?: AbortSignal): Promise<CataloguePage> {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) p.set(k, v);
  return get(`/v1/contents?${p}`, signal);
}

export const content = (id: string, signal?: AbortSignal): Promise<ContentDetail> =>
  get(`/v1/contents/${encodeURIComponent(id)}`, signal);

export const library = (account: string, signal?: AbortSignal): Promise<Library> =>
  get(`/v1/accounts/${encodeURIComponent(account)}/library`, signal);

export const config = (): Promise<PublicConfig> => get('/v1/config');
