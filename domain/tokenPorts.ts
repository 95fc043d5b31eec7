/**
 * What the HTTP API and the dataset jobs need from the token service. Values
 * cross this boundary only in memory: they are never logged, never put in
 * Temporal payloads or events, and never echoed in error messages.
 */
export type TokenModeName = 'deterministic' | 'random';

export interface ItemError {
  code: string;
  message: string;
}

export interface TokenizeItem {
  reference: string;
  field: string;
  value: string;
}
export type TokenizeOutcome = { reference: string; token: string } | { reference: string; error: ItemError };

export interface DetokenizeItem {
  reference: string;
  token: string;
}
export type DetokenizeOutcome = { reference: string; value: string; field: string } | { reference: string; error: ItemError };

export interface VerifyOutcome {
  valid: boolean;
  keyring: string | null;
  version: number | null;
  /** Seed state of the issuing version, or 'erased' / 'unknown'. */
  state: string;
}

export interface TokenService {
  setMode(keyring: string, mode: TokenModeName): Promise<{ keyring: string; mode: TokenModeName }>;
  /** One bad item never fails the others; the whole batch is written atomically or not at all. */
  tokenize(keyring: string, items: TokenizeItem[]): Promise<TokenizeOutcome[]>;
  detokenize(keyring: string, items: DetokenizeItem[]): Promise<DetokenizeOutcome[]>;
  verify(token: string): Promise<VerifyOutcome>;
  /** Right to erasure: removes the sealed value and fingerprint; false if no such token. */
  erase(keyring: string, token: string): Promise<boolean>;
}
