/**
 * Reading one resource YAML file with a size cap: a file larger than the cap is refused before it is read or
 * parsed, with an error naming the file and the limit, so one oversized file cannot stall a router or the CLI.
 * The cap is 1 MiB per file (a site's resources are a few KiB); `CARAVAN_RESOURCE_FILE_MAX_BYTES` changes it
 * for the CLI and the router alike. It is not a Site setting because it guards the reading of the Site itself.
 */
import { open } from 'node:fs/promises';
import { ResourceError } from '../api/index.js';

export const DEFAULT_RESOURCE_FILE_MAX_BYTES = 1024 * 1024;

/** The cap in force: CARAVAN_RESOURCE_FILE_MAX_BYTES when it is a positive integer, else the default. */
export function resourceFileMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.CARAVAN_RESOURCE_FILE_MAX_BYTES);
  return Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_RESOURCE_FILE_MAX_BYTES;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** The ResourceError for an input of `size` bytes (or more) named `source`. */
export function tooLargeError(source: string, size: number | undefined, max: number): ResourceError {
  const what = size !== undefined ? `${size} bytes` : 'larger than that';
  return new ResourceError([
    {
      source,
      path: '',
      message:
        `file too large (${what}): resource files are limited to ${formatBytes(max)} each ` +
        `(CARAVAN_RESOURCE_FILE_MAX_BYTES); the file was not read`,
    },
  ]);
}

/** Throws tooLargeError when `text` is over the cap (stdin, where there is no size to look at first). */
export function checkResourceText(text: string, source: string, max = resourceFileMaxBytes()): string {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > max) throw tooLargeError(source, size, max);
  return text;
}

/**
 * Reads a resource file as UTF-8, at most `max` bytes: rejects with tooLargeError (INVALID_RESOURCE) when the file
 * is larger (also when it grows while being read), with the fs error otherwise.
 */
export async function readResourceFile(
  path: string,
  source: string,
  max = resourceFileMaxBytes(),
): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.size > max) throw tooLargeError(source, st.size, max);
    // read to the end, never keeping more than max + 1 bytes (the file may grow while it is read)
    const chunks: Buffer[] = [];
    let got = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, max + 1 - got));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, got);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      got += bytesRead;
      if (got > max) throw tooLargeError(source, undefined, max);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await fh.close();
  }
}
