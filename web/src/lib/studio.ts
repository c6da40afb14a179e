// The creator studio's rules, checked before anything is sent: the royalty split (percentages in
// 0.01 % steps summing to exactly 100 %, as 10,000 shares), the terms (amounts in whole tokens
// with the token's decimals, sent as base-unit decimal strings; the registry's own rules), and the
// upload itself (streamed with XMLHttpRequest for its upload progress, then followed by polling).
import { isAddress, parseUnits } from 'viem';
import { apiError, bearer, ApiError, type UploadAccepted } from './api';
import { percent } from './format';

/** Royalty shares of a content: 10,000 = 100 %. */
export const TOTAL_SHARES = 10_000;

export interface SplitRow {
  address: string;
  /** Percent as typed, e.g. "70" or "33.33". */
  percent: string;
}

export interface SplitEntry {
  holder: string;
  shares: number;
}

/** A percentage from 0 to 100 in 0.01 % steps as shares out of 10,000, or null when it is not one. */
export function percentToShares(text: string): number | null {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) return null;
  const shares = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return shares <= TOTAL_SHARES ? shares : null;
}

/** The split as the `split` field wants it, or the problems that keep it from being sent. */
export function checkSplit(rows: SplitRow[]): { entries: SplitEntry[]; problems: string[] } {
  const problems: string[] = [];
  const entries: SplitEntry[] = [];
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    const n = i + 1;
    const address = row.address.trim();
    if (!isAddress(address, { strict: false }) || /^0x0{40}$/i.test(address)) {
      problems.push(`Holder ${n}: enter an account address (0x followed by 40 hex digits).`);
    } else if (!isAddress(address)) {
      problems.push(`Holder ${n}: the address's capital letters do not match its checksum; check it for typos.`);
    } else if (seen.has(address.toLowerCase())) {
      problems.push(`Holder ${n}: this address is already in the split; give each holder one row.`);
    }
    seen.add(address.toLowerCase());
    const shares = percentToShares(row.percent);
    if (shares === null || shares === 0) problems.push(`Holder ${n}: enter a percentage above 0 and at most 100, in steps of 0.01.`);
    else entries.push({ holder: address, shares });
  });
  if (rows.length === 0) problems.push('Add at least one royalty holder.');
  const sum = entries.reduce((a, e) => a + e.shares, 0);
  if (entries.length === rows.length && rows.length > 0 && sum !== TOTAL_SHARES) {
    problems.push(`The split sums to ${percent(sum)}; it must be exactly 100.00 %.`);
  }
  return { entries, problems };
}

/**
 * An amount typed in whole tokens (up to `decimals` decimals) as base units; '' is 0. Throws a
 * message fit to show.
 */
export function parseTokens(text: string, decimals: number, what: string, symbol: string): bigint {
  const t = text.trim();
  if (t === '') return 0n;
  const re = new RegExp(`^(\\d+(\\.\\d{0,${decimals}})?|\\.\\d{1,${decimals}})$`);
  if (!re.test(t)) {
    throw new Error(
      decimals === 0
        ? `${what}: enter a whole number of ${symbol}.`
        : `${what}: enter an amount of ${symbol} with at most ${decimals} decimals, such as 0.5.`,
    );
  }
  return parseUnits(t.startsWith('.') ? `0${t}` : t.replace(/\.$/, ''), decimals);
}

export const PERIOD_UNITS = { hours: 3600, days: 86_400 } as const;
export type PeriodUnit = keyof typeof PERIOD_UNITS;

/** A period typed as a whole number of `unit`, in seconds ('' is 0). */
export function parsePeriod(text: string, unit: PeriodUnit, what: string): number {
  const t = text.trim();
  if (t === '') return 0;
  const n = /^\d+$/.test(t) ? Number(t) * PERIOD_UNITS[unit] : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n >= 2 ** 32) throw new Error(`${what}: enter a whole number of ${unit} above 0.`);
  return n;
}

export interface TermsText {
  price: string;
  rentPrice: string;
  rentPeriod: string;
  rentUnit: PeriodUnit;
  subscriptionPrice: string;
  subscriptionPeriod: string;
  subscriptionUnit: PeriodUnit;
  maxEditions: string;
  resaleRoyalty: string;
}

/** The upload form's terms fields (base units and seconds, as decimal strings). */
export interface TermsFields {
  price: string;
  rent_price: string;
  rent_period: string;
  subscription_price: string;
  subscription_period: string;
  max_editions: string;
  resale_royalty_bps: string;
}

/** Checks the terms as the registry will (market-api's `TermsInput::to_terms`). */
export function checkTerms(t: TermsText, decimals: number, symbol: string): TermsFields {
  const price = parseTokens(t.price, decimals, 'Price', symbol);
  const rentPrice = parseTokens(t.rentPrice, decimals, 'Rent price', symbol);
  const rentPeriod = parsePeriod(t.rentPeriod, t.rentUnit, 'Rental period');
  const subscriptionPrice = parseTokens(t.subscriptionPrice, decimals, 'Subscription price', symbol);
  const subscriptionPeriod = parsePeriod(t.subscriptionPeriod, t.subscriptionUnit, 'Subscription period');
  const editionsText = t.maxEditions.trim();
  const maxEditions = editionsText === '' ? 0 : /^\d+$/.test(editionsText) ? Number(editionsText) : NaN;
  if (!Number.isSafeInteger(maxEditions) || maxEditions >= 2 ** 32) {
    throw new Error('Editions: enter a whole number, or leave it empty for no limit.');
  }
  const royalty = t.resaleRoyalty.trim() === '' ? 0 : percentToShares(t.resaleRoyalty);
  if (royalty === null || royalty > 5000) throw new Error('Resale royalty: enter a percentage from 0 to 50, in steps of 0.01.');
  if ((rentPrice > 0n) !== (rentPeriod > 0)) throw new Error('Rental: give both a rent price and a rental period, or neither.');
  if ((subscriptionPrice > 0n) !== (subscriptionPeriod > 0)) {
    throw new Error('Subscription: give both a subscription price and a period, or neither.');
  }
  if (maxEditions > 0 && price === 0n) throw new Error('Editions: a limit on editions needs a price.');
  if (price === 0n && rentPrice === 0n && subscriptionPrice === 0n) {
    throw new Error('Terms: give a price, a rent price or a subscription price, or nobody can get access.');
  }
  const max = 2n ** 128n;
  if (price >= max || rentPrice >= max || subscriptionPrice >= max) throw new Error('Terms: an amount is too large.');
  return {
    price: String(price),
    rent_price: String(rentPrice),
    rent_period: String(rentPeriod),
    subscription_price: String(subscriptionPrice),
    subscription_period: String(subscriptionPeriod),
    max_editions: String(maxEditions),
    resale_royalty_bps: String(royalty),
  };
}

/** Media is packaged as a stream (transcoded, cut into segments); anything else as data. */
/** What the server keeps of a creator's picture: PNG, JPEG or WebP, at most 1 MiB. */
export const PICTURE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
export const PICTURE_MAX_BYTES = 1024 * 1024;
/** What the server keeps of a clear preview: a picture, a clip or a sound, at most 8 MiB. */
export const PREVIEW_TYPES = [...PICTURE_TYPES, 'video/mp4', 'video/webm', 'audio/mpeg', 'audio/ogg', 'audio/wav'];
export const PREVIEW_MAX_BYTES = 8 * 1024 * 1024;
/** The server's limit on a description, in UTF-8 bytes. */
export const DESCRIPTION_MAX_BYTES = 4096;

export function isMedia(file: File): boolean {
  return file.type.startsWith('video/') || file.type.startsWith('audio/');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** What to tell a creator about an upload the server refused, by the API's error code. */
export function uploadRefusal(e: unknown): string {
  if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e);
  const lead: Record<string, string> = {
    forbidden: 'This server takes uploads from its owner only',
    payload_too_large: 'The file is larger than this server accepts',
    rate_limited: 'Too many requests: wait a moment and try again',
    quota_exceeded: 'Your upload quota on this server is used up',
    bad_request: 'The server refused the upload',
    unauthorized: 'Your session has ended: sign in again',
    unavailable: 'The server cannot take uploads right now',
  };
  return `${lead[e.code] ?? 'The upload failed'}: ${e.message}`;
}

/**
 * Sends `fields` then `file` as multipart to `POST /v1/uploads`, reporting bytes sent. Resolves
 * with the accepted upload; rejects with the server's `ApiError`.
 */
export function sendUpload(
  token: string,
  fields: Record<string, string>,
  file: File,
  onBytes: (sent: number, total: number) => void,
  signal?: AbortSignal,
  extras: { picture?: File | null; preview?: File | null } = {},
): Promise<UploadAccepted> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (extras.picture) form.append('thumbnail', extras.picture, extras.picture.name);
  if (extras.preview) form.append('preview', extras.preview, extras.preview.name);
  form.append('file', file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/uploads');
    for (const [k, v] of Object.entries(bearer(token))) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => onBytes(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status === 202) {
        try {
          resolve(JSON.parse(xhr.responseText) as UploadAccepted);
        } catch {
          reject(new ApiError(xhr.status, 'http', 'The server answered the upload with something unreadable.'));
        }
      } else {
        reject(apiError(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () =>
      reject(new ApiError(0, 'network', 'The connection to the server broke off before it answered the upload.'));
    xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(form);
  });
}
