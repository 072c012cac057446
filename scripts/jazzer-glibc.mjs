#!/usr/bin/env node
// Makes the Linux x64 libFuzzer addon shipped in @jazzer.js/fuzzer load on glibc < 2.38 (Debian 12 has 2.36).
//
// The prebuilt addon was linked against glibc 2.38, whose headers redirect strtol/strtoul to the C23 variants
// __isoc23_strtol/__isoc23_strtoul (they differ only in also accepting a "0b" prefix). Those two are the only
// symbols it needs from 2.38, and libFuzzer uses them only to read its own numeric flags. This script rewrites the
// two dynamic symbol references to the classic strtol/strtoul (the old names are suffixes of the new ones in the
// string table, so only offsets change) and marks the now unused GLIBC_2.38 version requirement weak. Nothing is
// downloaded; the original file is kept beside it as .orig. It does nothing when the addon already loads.
//
// Usage: node scripts/jazzer-glibc.mjs [path/to/fuzzer-linux-x64.node]
import { readFileSync, writeFileSync, existsSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);

export function addonPath() {
  return join(
    root,
    'node_modules',
    '@jazzer.js',
    'fuzzer',
    'prebuilds',
    `fuzzer-${process.platform}-${process.arch}.node`,
  );
}

function loads(file) {
  try {
    require(file);
    return { ok: true };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

function cstr(buf, off) {
  let end = off;
  while (buf[end] !== 0) end++;
  return buf.toString('latin1', off, end);
}

/** Rewrites the ELF image in place; returns the names of the symbols it changed. */
export function patchElf(buf) {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1)
    throw new Error('not a 64-bit little-endian ELF file');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    sections.push({
      type: buf.readUInt32LE(h + 4),
      offset: Number(buf.readBigUInt64LE(h + 0x18)),
      size: Number(buf.readBigUInt64LE(h + 0x20)),
      link: buf.readUInt32LE(h + 0x28),
      info: buf.readUInt32LE(h + 0x2c),
    });
  }
  const dynsym = sections.find((s) => s.type === 11);
  const versym = sections.find((s) => s.type === 0x6fffffff);
  const verneed = sections.find((s) => s.type === 0x6ffffffe);
  if (!dynsym || !versym || !verneed) throw new Error('no dynamic symbol version tables');
  const dynstr = sections[dynsym.link].offset;
  const verstr = sections[verneed.link].offset;

  // Version requirements: index -> { name, aux offset }.
  const versions = new Map();
  let vn = verneed.offset;
  for (let n = 0; n < verneed.info; n++) {
    const file = cstr(buf, verstr + buf.readUInt32LE(vn + 4));
    let aux = vn + buf.readUInt32LE(vn + 8);
    for (let a = 0; a < buf.readUInt16LE(vn + 2); a++) {
      versions.set(buf.readUInt16LE(aux + 6), {
        file,
        name: cstr(buf, verstr + buf.readUInt32LE(aux + 8)),
        aux,
      });
      const next = buf.readUInt32LE(aux + 12);
      if (next === 0) break;
      aux += next;
    }
    const next = buf.readUInt32LE(vn + 12);
    if (next === 0) break;
    vn += next;
  }
  const find = (file, name) => [...versions.entries()].find(([, v]) => v.file === file && v.name === name);
  const v238 = find('libc.so.6', 'GLIBC_2.38');
  const v225 = find('libc.so.6', 'GLIBC_2.2.5');
  const vcxx = find('libstdc++.so.6', 'GLIBCXX_3.4.32');

  const changed = [];
  const prefix = '__isoc23_';
  const count = dynsym.size / 24;
  for (let i = 0; i < count; i++) {
    const e = dynsym.offset + i * 24;
    const nameOff = buf.readUInt32LE(e);
    const name = cstr(buf, dynstr + nameOff);
    const ver = buf.readUInt16LE(versym.offset + i * 2) & 0x7fff;
    if (v238 && ver === v238[0]) {
      if (!v225) throw new Error('no GLIBC_2.2.5 requirement to reuse');
      if (
        !name.startsWith(prefix) ||
        !['strtol', 'strtoul', 'strtoll', 'strtoull'].includes(name.slice(prefix.length))
      ) {
        throw new Error(`symbol ${name} needs GLIBC_2.38 and has no older equivalent`);
      }
      buf.writeUInt32LE(nameOff + prefix.length, e);
      buf.writeUInt16LE(v225[0], versym.offset + i * 2);
      changed.push(name);
    } else if (vcxx && ver === vcxx[0]) {
      // GCC 13's <iostream> only names this symbol (no call, no relocation) to pull in a newer libstdc++; GCC 12's
      // libstdc++ initialises the standard streams itself.
      if (name !== '_ZSt21ios_base_library_initv') throw new Error(`symbol ${name} needs GLIBCXX_3.4.32`);
      changed.push(name);
    }
  }
  // The requirements left unused are made weak: a weak version requirement does not stop loading when it is absent.
  for (const v of [v238, vcxx]) if (v) buf.writeUInt16LE(buf.readUInt16LE(v[1].aux + 4) | 0x2, v[1].aux + 4);
  return changed;
}

export function ensureLoadable(file = addonPath()) {
  if (!existsSync(file)) return { ok: false, message: `${file} is missing: run npm ci` };
  const first = loads(file);
  if (first.ok || !/GLIBC_2\.38|GLIBCXX_3\.4\.32/.test(first.message)) return first;
  // A process cannot unload a failed dlopen cleanly, so the check after patching runs in a child process.
  const buf = readFileSync(file);
  const changed = patchElf(buf);
  if (!existsSync(`${file}.orig`)) copyFileSync(file, `${file}.orig`);
  writeFileSync(file, buf);
  return { ok: true, patched: changed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = ensureLoadable(process.argv[2] ?? addonPath());
  if (!r.ok) {
    process.stderr.write(`error: ${r.message}\n`);
    process.exit(1);
  }
  if (r.patched) process.stdout.write(`patched ${r.patched.join(', ')} to their glibc 2.2.5 names\n`);
}
