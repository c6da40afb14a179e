import { formatUnits } from 'viem';
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
