import { formatUnits, parseUnits } from 'viem';
import type { ContentSummary } from './api';

export const NATIVE = '0x0000000000000000000000000000000000000000';

export function shortHex(hex: string): string {
  return hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : hex;
}

export function title(c: { title: string | null; content_id: string }): string {
  return c.title ?? `Untitled ${shortHex(c.content_id)}`;
}

/** An amount of the content's payment token: the native token in full, an ERC-20 in base units. */
export function amount(value: string, c: Pick<ContentSummary, 'payment_token'>, symbol: string): string {
  if (c.payment_token === NATIVE) return `${formatUnits(BigInt(value), 18)} ${symbol}`;
  return `${value} base units of token ${shortHex(c.payment_token)}`;
}

/** What `amount` counts in: the native token's symbol, or an ERC-20's base units. */
export function unitName(c: Pick<ContentSummary, 'payment_token'>, symbol: string): string {
  return c.payment_token === NATIVE ? symbol : 'base units';
}

/** An amount as a plain number in the units `amount` shows (for charts; loses precision). */
export function toNumber(value: string, c: Pick<ContentSummary, 'payment_token'>): number {
  return Number(c.payment_token === NATIVE ? formatUnits(BigInt(value), 18) : value);
}

/**
 * The inverse of `amount`: what a user typed, in the content's payment token, as base units.
 * The native token takes up to 18 decimals; an ERC-20 takes whole base units. Throws a message
 * fit to show when the text is not a positive amount.
 */
export function parseAmount(text: string, c: Pick<ContentSummary, 'payment_token'>, symbol: string): bigint {
  const t = text.trim();
  const native = c.payment_token === NATIVE;
  const ok = native ? /^\d+(\.\d{1,18})?$/.test(t) || /^\.\d{1,18}$/.test(t) : /^\d+$/.test(t);
  const value = ok ? (native ? parseUnits(t.startsWith('.') ? `0${t}` : t, 18) : BigInt(t)) : 0n;
  if (value <= 0n) {
    throw new Error(
      native ? `Enter a price in ${symbol} above 0, such as 0.01.` : 'Enter a price in whole base units above 0.',
    );
  }
  return value;
}

/** A whole number from 1 to `max`, or a message fit to show. */
export function parseCount(text: string, max: number, what: string): number {
  const t = text.trim();
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new Error(`Enter a whole number of ${what} from 1 to ${max}.`);
  return n;
}

const UNITS: [number, string][] = [
  [86400, 'day'],
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

export function duration(seconds: number): string {
  for (const [size, unit] of UNITS) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

export function date(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleString();
}

export function percent(shares: number): string {
  return `${(shares / 100).toFixed(2)} %`;
}
