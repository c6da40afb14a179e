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
  /** The creator's description from the header ('' when none). */
  description: string | null;
  /** The thumbnail's type when the header has one (see `thumbnailUrl`). */
  thumbnail_type: string | null;
  /** The creator's clear preview's type (`image/…`, `video/…`, `audio/…`; see `previewUrl`). */
  preview_type: string | null;
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
  /** The latest timed access: the one `expires_at` ends. */
  timed_kind: 'rental' | 'subscription' | null;
  playable: boolean;
  playable_until: number | null;
}

export interface Library {
  account: string;
  items: LibraryItem[];
  as_of_block: number | null;
  as_of_time: number | null;
}

/** An open listing (the maker sells) or offer (the maker buys, payment escrowed). */
export interface Order {
  order_id: number;
  maker: string;
  amount: number;
  remaining: number;
  /** Per unit, base units. */
  unit_price: string;
  block_number: number;
}

export type Collection = 'shares' | 'access';

export interface OrderBook {
  content_id: string;
  collection: Collection;
  /** Cheapest first. */
  listings: Order[];
  /** Highest first. */
  offers: Order[];
  as_of_block: number | null;
}

export interface Trade {
  block_number: number;
  block_time: number;
  log_index: number;
  tx_hash: string;
  listing_id: number | null;
  offer_id: number | null;
  collection: Collection;
  seller: string;
  buyer: string;
  amount: number;
  price: string;
  unit_price: string;
  royalty: string;
}

export interface TradesPage {
  items: Trade[];
  next_cursor: string | null;
  as_of_block: number | null;
}

export interface PriceBucket {
  start: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: number;
  value: string;
  trades: number;
}

export interface PriceHistory {
  interval: number;
  /** Oldest first. */
  buckets: PriceBucket[];
  as_of_block: number | null;
}

export interface YieldBucket {
  start: number;
  /** What one royalty share earned in the bucket, base units. */
  per_share: string;
  /** What one share had earned in all at the bucket's end. */
  cumulative_per_share: string;
  revenue: string;
  distributions: number;
}

export interface YieldHistory {
  interval: number;
  revenue_per_share: string;
  /** Oldest first. */
  buckets: YieldBucket[];
  as_of_block: number | null;
}

export interface EarningItem {
  content_id: string;
  title: string | null;
  payment_token: string;
  shares: number;
  /** Equal to the chain's `claimable` at `as_of_block`, base units. */
  claimable: string;
  claimed: string;
}

export interface Earnings {
  account: string;
  items: EarningItem[];
  as_of_block: number | null;
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
  /**
   * What this server accepts as uploads: null on a public market that accepts none (uploads go
   * to the creator's own PC2); absent from servers that predate it (limit unknown).
   */
  uploads?: { max_bytes: number } | null;
}

/** Sign-In with Ethereum: a fresh single-use nonce for the message. */
export interface SiweNonce {
  nonce: string;
  expires_at: number;
  /** The domain the message must name. */
  domain: string;
  chain_id: number;
}

export interface Session {
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  /** The signed-in account, checksummed. */
  address: string;
  expires_at: number;
}

export interface UploadAccepted {
  upload_id: string;
  status_url: string;
}

/** The unsigned `ContentRegistry.register` transaction the creator's wallet signs. */
export interface UnsignedTransaction {
  from: string;
  to: string;
  data: string;
  /** Hex wei. */
  value: string;
  chainId: number;
}

export interface UploadResult {
  content_id: string;
  cid: string;
  key_commitment: string;
  /** `media` or `data`. */
  kind: string;
  mime_type: string;
  duration_ms: number;
  input_bytes: number;
  output_bytes: number;
  transaction: UnsignedTransaction;
}

export type UploadState = 'queued' | 'received' | 'packaging' | 'pinning' | 'ready' | 'failed';

export interface UploadStatus {
  upload_id: string;
  state: UploadState;
  /** 0 to 100. */
  percent: number;
  result: UploadResult | null;
  error: string | null;
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

/** The API's error from a failed response's status and body (`{ "error": { code, message } }`). */
export function apiError(status: number, body: string): ApiError {
  type Body = { error?: { code?: string; message?: string } } | null;
  let parsed: Body;
  try {
    parsed = JSON.parse(body) as Body;
  } catch {
    parsed = null;
  }
  return new ApiError(status, parsed?.error?.code ?? 'http', parsed?.error?.message ?? `HTTP ${status}`);
}

/** Headers carrying a session's bearer token (none without one). */
export function bearer(token: string | null): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function request<T>(
  path: string,
  init: { method?: 'GET' | 'POST'; body?: unknown; token?: string | null; signal?: AbortSignal } = {},
): Promise<T> {
  let r: Response;
  try {
    r = await fetch(path, {
      method: init.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...bearer(init.token ?? null),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The market server cannot be reached.');
  }
  if (!r.ok) throw apiError(r.status, await r.text().catch(() => ''));
  return (await r.json()) as T;
}

const get = <T>(path: string, signal?: AbortSignal): Promise<T> => request<T>(path, { signal });

export interface CatalogueQuery {
  q?: string;
  kind?: string;
  /** `buy`, `rent` or `subscribe`. */
  access?: string;
  /** 0x address; the zero address is the chain's native token. */
  payment_token?: string;
  /** Bounds of the perpetual price, decimal base units. */
  min_price?: string;
  max_price?: string;
  /** Only this creator's contents. */
  creator?: string;
  cursor?: string;
}

export function catalogue(query: CatalogueQuery, signal?: AbortSignal): Promise<CataloguePage> {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) p.set(k, v);
  return get(`/v1/contents?${p}`, signal);
}

/** Where a content's thumbnail is served (when its `thumbnail_type` is set). */
export const thumbnailUrl = (id: string): string => `/v1/contents/${encodeURIComponent(id)}/thumbnail`;

/** Where a content's clear preview is served (when its `preview_type` is set). */
export const previewUrl = (id: string): string => `/v1/contents/${encodeURIComponent(id)}/preview`;

export const content = (id: string, signal?: AbortSignal): Promise<ContentDetail> =>
  get(`/v1/contents/${encodeURIComponent(id)}`, signal);

export const library = (account: string, signal?: AbortSignal): Promise<Library> =>
  get(`/v1/accounts/${encodeURIComponent(account)}/library`, signal);

export const config = (): Promise<PublicConfig> => get('/v1/config');

export const siweNonce = (): Promise<SiweNonce> => request('/v1/auth/nonce', { method: 'POST' });

export const siweVerify = (message: string, signature: string): Promise<Session> =>
  request('/v1/auth/verify', { method: 'POST', body: { message, signature } });

export const session = (token: string): Promise<Omit<Session, 'token'>> => request('/v1/auth/session', { token });

export const uploadStatus = (token: string, id: string, signal?: AbortSignal): Promise<UploadStatus> =>
  request(`/v1/uploads/${encodeURIComponent(id)}`, { token, signal });

const contentPath = (id: string, what: string) => `/v1/contents/${encodeURIComponent(id)}/${what}`;

export const orderBook = (id: string, signal?: AbortSignal): Promise<OrderBook> =>
  get(`${contentPath(id, 'orderbook')}?collection=shares`, signal);

export const trades = (id: string, signal?: AbortSignal): Promise<TradesPage> =>
  get(`${contentPath(id, 'trades')}?collection=shares&limit=20`, signal);

export const priceHistory = (id: string, signal?: AbortSignal): Promise<PriceHistory> =>
  get(`${contentPath(id, 'price-history')}?collection=shares&interval=60`, signal);

export const yieldHistory = (id: string, signal?: AbortSignal): Promise<YieldHistory> =>
  get(`${contentPath(id, 'yield-history')}?interval=60`, signal);

export const earnings = (account: string, signal?: AbortSignal): Promise<Earnings> =>
  get(`/v1/accounts/${encodeURIComponent(account)}/earnings`, signal);

/** One royalty claim paid to an account. */
export interface Claim {
  block_number: number;
  block_time: number;
  log_index: number;
  tx_hash: string;
  content_id: string;
  /** The payment token (the zero address: the native token). */
  token: string;
  amount: string;
}

export interface ClaimsPage {
  items: Claim[];
  next_cursor: string | null;
  as_of_block: number | null;
}

/** An account's claims, newest first (the page after `cursor` when given). */
export function claims(account: string, cursor?: string, signal?: AbortSignal): Promise<ClaimsPage> {
  const p = new URLSearchParams(cursor ? { cursor } : {});
  return get(`/v1/accounts/${encodeURIComponent(account)}/claims?${p}`, signal);
}

/**
 * Reads `read` until the index has caught up with `block` (a transaction's block), once a
 * second for at most `seconds`; null when it has not by then.
 */
export async function untilIndexed<T extends { as_of_block: number | null }>(
  block: bigint,
  read: () => Promise<T>,
  seconds = 60,
): Promise<T | null> {
  for (let i = 0; i < seconds; i++) {
    const r = await read().catch(() => null);
    if (r && r.as_of_block !== null && BigInt(r.as_of_block) >= block) return r;
    await new Promise((ok) => setTimeout(ok, 1000));
  }
  return null;
}
