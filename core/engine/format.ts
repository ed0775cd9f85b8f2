import { z } from 'zod';
import { CcsError } from '../common/errors';

/**
 * On-remote formats (docs/DESIGN.md "Remote layout"). Everything read from the remote is
 * untrusted and goes through these schemas; a mismatch is OBJECT_CORRUPT naming the object.
 */
export const FORMAT_VERSION = 2;
export const APP_VERSION = '0.1.0';

const hex = (len: number) => z.string().regex(new RegExp(`^[0-9a-f]{${len}}$`));
export const DeviceIdSchema = hex(16);
export const ChunkIdSchema = hex(64);
export const PackIdSchema = hex(32);

/** One version of one item, as a device published it. */
export const VersionRecordSchema = z.object({
  /** `<device>-<counter>`: unique across the vault. */
  id: z.string().regex(/^[0-9a-f]{16}-\d{1,15}$/),
  path: z.string().min(1).max(4096),
  /** Causal history of this item (core/common/causalContext.ts): contiguous prefix per device… */
  vv: z.record(DeviceIdSchema, z.number().int().nonnegative()),
  /** …plus versions seen beyond a prefix, as "device:n". */
  dots: z.array(z.string().regex(/^[0-9a-f]{16}:\d{1,9}$/)).max(10000).optional(),
  /** This version's own dot: the device's n-th version of this item (always inside vv/dots). */
  dot: z.number().int().positive(),
  /** Hybrid logical clock of the edit (see core/common/hlc.ts), "wall.counter". */
  hlc: z.string().regex(/^\d{1,15}\.\d{1,9}$/),
  device: DeviceIdSchema,
  deleted: z.boolean(),
  size: z.number().int().nonnegative(),
  mode: z.number().int(),
  mtimeMs: z.number(),
  /** Keyed hash of the chunk list; equal content ⇒ equal contentId. Empty for deletions. */
  contentId: z.string().regex(/^([0-9a-f]{64})?$/),
  chunks: z.array(ChunkIdSchema),
  /** The path this content moved from, when a delete and a create of the same content were seen as one rename. */
  renamedFrom: z.string().min(1).max(4096).optional(),
  /** Set on a version this device produced by merging concurrent heads (text or JSON merge). */
  mergedFrom: z.array(z.string().max(64)).max(64).optional(),
  /** Same-key concurrent edits a JSON merge settled by rule; the user may want to review them. */
  review: z
    .array(z.object({ key: z.string().max(1024), values: z.array(z.unknown()).max(16), devices: z.array(z.string().max(64)).max(16) }))
    .max(1000)
    .optional(),
});
export type VersionRecord = z.infer<typeof VersionRecordSchema>;

export const ChunkRefSchema = z.object({
  id: ChunkIdSchema,
  /** Offset and length of the stored (possibly compressed) chunk inside the pack plaintext. */
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  rawLength: z.number().int().nonnegative(),
  codec: z.number().int().nonnegative(),
});
export type ChunkRef = z.infer<typeof ChunkRefSchema>;

export const PackRefSchema = z.object({
  id: PackIdSchema,
  /** Ciphertext size on the remote, so truncation is caught before decryption. */
  size: z.number().int().positive(),
  chunks: z.array(ChunkRefSchema),
});
export type PackRef = z.infer<typeof PackRefSchema>;

/** One append-only metadata entry written by one device: log/<device>/<seq>. */
export const LogEntrySchema = z.object({
  format: z.literal(FORMAT_VERSION),
  device: DeviceIdSchema,
  deviceName: z.string().max(200),
  seq: z.number().int().positive(),
  hlc: z.string().regex(/^\d{1,15}\.\d{1,9}$/),
  createdAt: z.string(),
  packs: z.array(PackRefSchema),
  versions: z.array(VersionRecordSchema),
  /** Ed25519 signature of the writing device over the rest of the entry (core/engine/logStore.ts). */
  sig: z.string().max(128),
});
export type LogEntry = z.infer<typeof LogEntrySchema>;
export type UnsignedLogEntry = Omit<LogEntry, 'sig'>;

/** head/<device>: the newest log sequence number that device has completed. */
export const HeadSchema = z.object({
  device: DeviceIdSchema,
  deviceName: z.string().max(200),
  seq: z.number().int().nonnegative(),
  updatedAt: z.string(),
  sig: z.string().max(128),
});
export type Head = z.infer<typeof HeadSchema>;
export type UnsignedHead = Omit<Head, 'sig'>;

export function parseUntrusted<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new CcsError('OBJECT_CORRUPT', `${what} is malformed${where}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new CcsError('OBJECT_CORRUPT', `${what} is not valid JSON`);
  }
}

/** Object names on the remote. Nothing here is derived from a path, a file name or content. */
export const names = {
  manifest: 'config',
  passwordSlot: 'keys/password',
  recoverySlot: 'keys/recovery',
  epochs: 'keys/epochs',
  pack: (id: string) => `data/${id.slice(0, 2)}/${id}`,
  log: (device: string, seq: number) => `log/${device}/${seq.toString().padStart(10, '0')}`,
  logPrefix: (device: string) => `log/${device}/`,
  head: (device: string) => `head/${device}`,
  headPrefix: 'head/',
  epochPrefix: 'keys/epoch/',
  epoch: (n: number) => `keys/epoch/${n.toString().padStart(6, '0')}`,
  /** Grants are named by epoch and a prefix of its check value, so two racing rotations never overwrite each other's grants. */
  grant: (n: number, check: string, slot: string) => `keys/grant/${n.toString().padStart(6, '0')}-${check.slice(0, 16)}/${slot}`,
  devicePrefix: 'devices/',
  device: (id: string) => `devices/${id}`,
};
