import { formatUnits, parseUnits } from 'viem';
import type { ContentSummary } from './api';
import { tokenInfo } from './tokens.svelte';

export const NATIVE = '0x0000000000000000000000000000000000000000';

export function shortHex(hex: string): string {
  return hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : hex;
}

export function title(c: { title: string | null; content_id: string }): string {
  return c.title ?? `Untitled ${shortHex(c.content_id)}`;
}

type Priced = Pick<ContentSummary, 'payment_token'>;

/** How amounts of the content's payment token are shown: the native token and a known ERC-20 in
 *  whole tokens (with its decimals), an ERC-20 not (yet) known in base units. */
function unitOf(c: Priced, symbol: string): { decimals: number; name: string } | null {
  if (c.payment_token === NATIVE) return { decimals: 18, name: symbol };
  const info = tokenInfo(c.payment_token);
  return info ? { decimals: info.decimals, name: info.symbol } : null;
}

/** An amount of the content's payment token, in whole tokens when their decimals are known. */
export function amount(value: string, c: Priced, symbol: string): string {
  const unit = unitOf(c, symbol);
  if (unit) return `${formatUnits(BigInt(value), unit.decimals)} ${unit.name}`;
  return `${value} base units of token ${shortHex(c.payment_token)}`;
}

/** An amount as `parseAmount` reads it back: `amount` without its unit. */
export function amountInput(value: string, c: Priced, symbol: string): string {
  const unit = unitOf(c, symbol);
  return unit ? formatUnits(BigInt(value), unit.decimals) : value;
}

/** What `amount` counts in: a token's symbol, or an unknown ERC-20's base units. */
export function unitName(c: Priced, symbol: string): string {
  return unitOf(c, symbol)?.name ?? 'base units';
}

/** An amount as a plain number in the units `amount` shows (for charts; loses precision). */
export function toNumber(value: string, c: Priced, symbol: string): number {
  const unit = unitOf(c, symbol);
  return Number(unit ? formatUnits(BigInt(value), unit.decimals) : value);
}

/**
 * The inverse of `amount`: what a user typed, in the units `amount` shows, as base units (up
 * to the token's decimals; whole base units for an ERC-20 not known). Throws a message fit to
 * show when the text is not a positive amount.
 */
export function parseAmount(text: string, c: Priced, symbol: string): bigint {
  const t = text.trim();
  const unit = unitOf(c, symbol);
  const decimals = unit?.decimals ?? 0;
  const fraction = decimals > 0 ? `(\\.\\d{1,${decimals}})?` : '';
  const ok = new RegExp(`^\\d+${fraction}$`).test(t) || (decimals > 0 && new RegExp(`^\\.\\d{1,${decimals}}$`).test(t));
  const value = ok ? parseUnits(t.startsWith('.') ? `0${t}` : t, decimals) : 0n;
  if (value <= 0n) {
    throw new Error(
      unit
        ? `Enter a price in ${unit.name} above 0${decimals > 0 ? ', such as 0.01' : ''}.`
        : 'Enter a price in whole base units above 0.',
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
