/**
 * Heuristics for "no seed material here". Nothing can be exported from the HSM
 * to compare against, so the scan looks for anything shaped like a 256-bit
 * secret (64 hex digits, or 43-44 base64 characters, or 32 raw bytes) and for
 * field names that have no business in a seed payload.
 */
const HEX_32 = /(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])/;
const B64_32 = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{42,43}[AEIMQUYcgkosw048](={0,1})(?![A-Za-z0-9+/=_-])/;
const SECRET_NAMES = /^(value|seed|secret|key(material|bytes)?|material|raw|plaintext|ck[a_]?value)$/i;

export interface Finding {
  where: string;
  path: string;
  reason: string;
}

export function scanValue(where: string, value: unknown, path = '$', findings: Finding[] = []): Finding[] {
  if (typeof value === 'string') {
    if (HEX_32.test(value)) findings.push({ where, path, reason: 'string contains 64 hex digits (a 32-byte value)' });
    else if (B64_32.test(value) && !/^[0-9a-f-]{36}$/.test(value)) findings.push({ where, path, reason: 'string looks like 32 bytes of base64' });
  } else if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    if (value.length === 32) findings.push({ where, path, reason: '32 raw bytes' });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => scanValue(where, v, `${path}[${i}]`, findings));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_NAMES.test(k)) findings.push({ where, path: `${path}.${k}`, reason: `field named "${k}"` });
      scanValue(where, v, `${path}.${k}`, findings);
    }
  }
  return findings;
}

/** Decodes a Temporal payload's data (JSON in this project) for scanning. */
export function decodePayloadData(data: Uint8Array | string | null | undefined): unknown {
  if (data === null || data === undefined) return null;
  const text = typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from(data).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Collects every Temporal payload inside a history event tree. */
export function collectPayloads(node: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) node.forEach((n) => collectPayloads(n, out));
  else if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    if ('data' in obj && 'metadata' in obj) out.push(decodePayloadData(obj.data as Uint8Array));
    else for (const v of Object.values(obj)) collectPayloads(v, out);
  }
  return out;
}
