import { open } from 'node:fs/promises';

/** One entry of a tar file, with its name and link target as raw bytes. */
export interface TarEntry {
  name: Buffer;
  type: string;
  size: number;
  linkname: Buffer | null;
}

const TYPES: Record<string, string> = {
  '0': 'file',
  '\0': 'file',
  '1': 'link',
  '2': 'symlink',
  '5': 'directory',
  '6': 'fifo',
};

function field(block: Buffer, start: number, length: number): Buffer {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return Buffer.from(end === -1 ? raw : raw.subarray(0, end));
}

function size(block: Buffer): number {
  if (((block[124] as number) & 0x80) !== 0) {
    let value = 0;
    for (let index = 125; index < 136; index++) value = value * 256 + (block[index] as number);
    return value;
  }
  const text = field(block, 124, 12).toString().trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function paxRecords(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let rest = data;
  while (rest.length > 0) {
    const space = rest.indexOf(0x20);
    const length = Number.parseInt(rest.subarray(0, space).toString(), 10);
    if (!length) break;
    const record = rest.subarray(space + 1, length - 1);
    const equals = record.indexOf(0x3d);
    records.set(record.subarray(0, equals).toString(), Buffer.from(record.subarray(equals + 1)));
    rest = rest.subarray(length);
  }
  return records;
}

/**
 * Lists a tar file by reading its headers only (content is skipped by seeking), so a test can compare
 * names byte for byte, PAX and GNU long names included, whatever the size of the archive.
 */
export async function listTar(file: string): Promise<TarEntry[]> {
  const handle = await open(file, 'r');
  const entries: TarEntry[] = [];
  try {
    let position = 0;
    let pax: Map<string, Buffer> | null = null;
    let longName: Buffer | null = null;
    let longLink: Buffer | null = null;
    const block = Buffer.alloc(512);
    const readData = async (bytes: number) => {
      const data = Buffer.alloc(bytes);
      await handle.read(data, 0, bytes, position);
      return data;
    };
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, 512, position);
      if (bytesRead < 512 || block.every((byte) => byte === 0)) break;
      position += 512;
      const bytes = size(block);
      const typeflag = String.fromCharCode(block[156] as number);
      const padded = Math.ceil(bytes / 512) * 512;
      if (typeflag === 'x') {
        pax = paxRecords(await readData(bytes));
      } else if (typeflag === 'L') {
        longName = field(await readData(bytes), 0, bytes);
      } else if (typeflag === 'K') {
        longLink = field(await readData(bytes), 0, bytes);
      } else if (typeflag !== 'g') {
        const prefix = field(block, 345, 155);
        let name = field(block, 0, 100);
        if (prefix.length > 0 && block.subarray(257, 263).toString() === 'ustar\0') {
          name = Buffer.concat([prefix, Buffer.from('/'), name]);
        }
        const linkname = field(block, 157, 100);
        entries.push({
          name: pax?.get('path') ?? longName ?? name,
          type: TYPES[typeflag] ?? `type ${typeflag}`,
          size: Number(pax?.get('size')?.toString() ?? bytes),
          linkname: pax?.get('linkpath') ?? longLink ?? (linkname.length > 0 ? linkname : null),
        });
        pax = null;
        longName = null;
        longLink = null;
      }
      position += padded;
    }
  } finally {
    await handle.close();
  }
  return entries;
}

/** A comparable line per entry: type, name (trailing '/' and './' dropped, non-UTF-8 bytes as \xNN), size, target. */
export function describeEntries(entries: TarEntry[], rename: (name: string) => string = (name) => name): string[] {
  const show = (bytes: Buffer) =>
    [...bytes]
      .map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16)}`))
      .join('');
  return entries
    .map((entry) => {
      const name = rename(show(entry.name).replace(/^\.\//, '').replace(/\/$/, ''));
      const size = entry.type === 'file' ? ` ${entry.size}` : '';
      const link = entry.linkname ? ` -> ${show(entry.linkname)}` : '';
      return `${entry.type} ${name}${size}${link}`;
    })
    .sort();
}
