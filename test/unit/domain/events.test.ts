import { decodeSeedEvent, encodeSeedEvent, MalformedEventError, seedEventId, type SeedActivatedEvent, type SeedGeneratedEvent } from '../../../domain/events';

const seedId = '6f1c1c5e-7f36-4b43-9b8e-0d7f1f0a2b11';
const generated: SeedGeneratedEvent = {
  type: 'SeedGenerated',
  eventId: `SeedGenerated:${seedId}`,
  seedId,
  keyring: 'patients',
  version: 2,
  kcv: 'a1b2c3',
  occurredAt: '2025-01-02T03:04:05.678Z',
  workflowId: 'seed-patients-v2',
  hsmLabel: `seed:patients:v2:${seedId}`,
};
const activated: SeedActivatedEvent = {
  type: 'SeedActivated',
  eventId: `SeedActivated:${seedId}`,
  seedId,
  keyring: 'patients',
  version: 2,
  kcv: 'a1b2c3',
  occurredAt: '2025-01-02T03:04:06.000Z',
  deactivated: [{ seedId: '0b8a7c3e-1111-4222-8333-444455556666', version: 1 }],
};

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

describe('seed event encoding', () => {
  it.each([
    ['SeedGenerated', generated],
    ['SeedActivated', activated],
  ])('round-trips a %s event unchanged', (_type, event) => {
    expect(decodeSeedEvent(encodeSeedEvent(event))).toEqual(event);
  });

  it('encodes as UTF-8 JSON that other consumers can read', () => {
    expect(JSON.parse(encodeSeedEvent(generated).toString('utf8'))).toEqual(generated);
  });

  it('refuses to encode an event that breaks its schema', () => {
    expect(() => encodeSeedEvent({ ...generated, kcv: 'XYZ' })).toThrow();
  });

  it('derives a deterministic event id from type and seed id', () => {
    expect(seedEventId('SeedGenerated', seedId)).toBe(`SeedGenerated:${seedId}`);
    expect(seedEventId('SeedActivated', seedId)).not.toBe(seedEventId('SeedGenerated', seedId));
  });
});

describe('seed event decoding rejects malformed payloads with MalformedEventError', () => {
  it.each([
    ['non-JSON bytes', Buffer.from('not json {', 'utf8')],
    ['an empty payload', Buffer.alloc(0)],
    ['a JSON array', json([generated])],
    ['JSON null', json(null)],
    ['an unknown event type', json({ ...generated, type: 'SeedExploded' })],
    ['an unknown top-level field', json({ ...generated, secret: 'deadbeef' })],
    ['an unknown field in a deactivated entry', json({ ...activated, deactivated: [{ seedId, version: 1, kcv: 'a1b2c3' }] })],
    ['a SeedGenerated field on a SeedActivated event', json({ ...activated, hsmLabel: 'x' })],
    ['an upper-case KCV', json({ ...generated, kcv: 'A1B2C3' })],
    ['a KCV of the wrong length', json({ ...generated, kcv: 'a1b2c3d4' })],
    ['a non-hex KCV', json({ ...generated, kcv: 'zzzzzz' })],
    ['a seed id that is not a UUID', json({ ...generated, seedId: 'seed-1' })],
    ['version 0', json({ ...generated, version: 0 })],
    ['a fractional version', json({ ...generated, version: 1.5 })],
    ['a version sent as a string', json({ ...generated, version: '2' })],
    ['a timestamp that is not ISO-8601', json({ ...generated, occurredAt: 'yesterday' })],
    ['a missing workflow id', json({ ...generated, workflowId: undefined })],
  ])('%s', (_why, payload) => {
    expect(() => decodeSeedEvent(payload)).toThrow(MalformedEventError);
  });

  it('names the error so the consumer can route it to the dead-letter topic', () => {
    let caught: unknown;
    try {
      decodeSeedEvent(json({ ...generated, kcv: 'nope' }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MalformedEventError);
    expect((caught as Error).name).toBe('MalformedEventError');
    expect((caught as Error).message).toMatch(/schema/);
  });
});
