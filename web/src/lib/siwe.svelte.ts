// Sign-In with Ethereum (EIP-4361) against this server: a single-use nonce from
// `POST /v1/auth/nonce`, the message built exactly as market-api/src/siwe.rs parses it, signed by
// the wallet (`personal_sign`), exchanged at `POST /v1/auth/verify` for a bearer session token.
// The token lives in memory and in this tab's sessionStorage (so a reload keeps the session);
// signing out forgets it.
import { getAddress } from 'viem';
import { ApiError, session as readSession, siweNonce, siweVerify, type Session } from './api';
import { codeOf, explain, wallet } from './wallet.svelte';

const STORAGE_KEY = 'ddrm.session';
/** How long a signed message stays valid for the server to accept it. */
const MESSAGE_TTL_SECS = 600;
const STATEMENT = 'Sign in to this ddrm server to upload and publish your contents.';

export interface SiweFields {
  /** host[:port] the page is served from, which the server must be configured with. */
  domain: string;
  address: string;
  statement: string;
  uri: string;
  chainId: number;
  nonce: string;
  issuedAt: Date;
  expirationTime: Date;
}

/** RFC 3339 UTC without fractions, as the server formats times. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The EIP-4361 text: preamble, checksummed address, statement, then the fields in spec order. */
export function siweMessage(f: SiweFields): string {
  return [
    `${f.domain} wants you to sign in with your Ethereum account:`,
    getAddress(f.address),
    '',
    f.statement,
    '',
    `URI: ${f.uri}`,
    'Version: 1',
    `Chain ID: ${f.chainId}`,
    `Nonce: ${f.nonce}`,
    `Issued At: ${rfc3339(f.issuedAt)}`,
    `Expiration Time: ${rfc3339(f.expirationTime)}`,
  ].join('\n');
}

function stored(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
    return s && typeof s.token === 'string' && s.expires_at * 1000 > Date.now() ? s : null;
  } catch {
    return null;
  }
}

class SignIn {
  current = $state<Session | null>(stored());
  busy = $state(false);
  error = $state<string | null>(null);

  /** The session's token when it belongs to the wallet's current account. */
  get token(): string | null {
    const s = this.current;
    if (!s || !wallet.account || s.address.toLowerCase() !== wallet.account.toLowerCase()) return null;
    return s.expires_at * 1000 > Date.now() ? s.token : null;
  }

  /** Asks the wallet to sign a fresh sign-in message for its account. */
  async signIn(): Promise<void> {
    const account = wallet.account;
    if (!account) {
      this.error = 'Connect your wallet first.';
      return;
    }
    this.busy = true;
    this.error = null;
    try {
      const nonce = await siweNonce();
      const domain = window.location.host;
      if (nonce.domain !== domain) {
        throw new Error(
          `This server signs in accounts for ${nonce.domain}, but this page is served from ${domain}: ` +
            `its operator must start ddrm serve with --domain ${domain}.`,
        );
      }
      const now = new Date();
      const message = siweMessage({
        domain,
        address: account,
        statement: STATEMENT,
        uri: window.location.origin,
        chainId: nonce.chain_id,
        nonce: nonce.nonce,
        issuedAt: now,
        expirationTime: new Date(now.getTime() + MESSAGE_TTL_SECS * 1000),
      });
      const signature = await wallet.signMessage(message);
      this.#keep(await siweVerify(message, signature));
    } catch (e) {
      this.error =
        codeOf(e) === 4001
          ? 'You rejected the sign-in request in your wallet; you are not signed in.'
          : e instanceof ApiError
            ? `Sign-in refused: ${e.message}`
            : explain(e);
    } finally {
      this.busy = false;
    }
  }

  /** Checks a kept session with the server; forgets it when the server no longer knows it. */
  async check(): Promise<void> {
    const s = this.current;
    if (!s) return;
    try {
      const live = await readSession(s.token);
      if (live.address.toLowerCase() !== s.address.toLowerCase()) this.signOut();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.signOut();
    }
  }

  /** Called when the server answers 401 to the session: it has expired or was forgotten. */
  expired(): void {
    this.signOut();
    this.error = 'Your session has ended: sign in again.';
  }

  signOut(): void {
    this.current = null;
    this.error = null;
    sessionStorage.removeItem(STORAGE_KEY);
  }

  #keep(s: Session): void {
    this.current = s;
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
  }
}

export const signIn = new SignIn();
