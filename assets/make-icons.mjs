#!/usr/bin/env node
/**
 * Draws the app and tray icons and writes them as PNG with nothing but node:zlib.
 *   node assets/make-icons.mjs
 * Shapes are tested per sample (4×4 supersampling for anti-aliasing), so the output is the same on
 * every machine. Outputs: icon.png (512²), tray.png, tray-syncing.png, tray-error.png (32²).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- PNG encoding

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** rgba: Uint8Array of size*size*4, straight (not premultiplied) alpha. */
function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------- shapes (in "design units")

const inCircle = (x, y, cx, cy, r) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;

function inRoundRect(x, y, x0, y0, x1, y1, r) {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return inCircle(x, y, cx, cy, r);
}

/** A cloud in a 100-unit frame: x 2…98, y 4…62. */
function inCloud(x, y) {
  return (
    inCircle(x, y, 22, 42, 20) ||
    inCircle(x, y, 50, 32, 28) ||
    inCircle(x, y, 78, 42, 20) ||
    inRoundRect(x, y, 13, 40, 87, 62, 11)
  );
}
const CLOUD = { x0: 2, x1: 98, y0: 4, y1: 62 };

function inTriangle(x, y, [ax, ay], [bx, by], [cx, cy]) {
  const d1 = (x - bx) * (ay - by) - (ax - bx) * (y - by);
  const d2 = (x - cx) * (by - cy) - (bx - cx) * (y - cy);
  const d3 = (x - ax) * (cy - ay) - (cx - ax) * (y - ay);
  const neg = d1 < 0 || d2 < 0 || d3 < 0;
  const pos = d1 > 0 || d2 > 0 || d3 > 0;
  return !(neg && pos);
}

/** Two clockwise arcs with arrowheads: the usual "sync" glyph, centred on (cx, cy). */
function inSyncArrows(x, y, cx, cy, ro, ri) {
  const r = Math.hypot(x - cx, y - cy);
  let a = (Math.atan2(y - cy, x - cx) * 180) / Math.PI; // y grows downwards: angles run clockwise
  if (a < 0) a += 360;
  const arcs = [
    [195, 330],
    [15, 150],
  ];
  if (r >= ri && r <= ro && arcs.some(([a0, a1]) => a >= a0 && a <= a1)) return true;
  const rm = (ro + ri) / 2;
  const w = ro - ri;
  return arcs.some(([, a1]) => {
    const t = (a1 * Math.PI) / 180;
    const [nx, ny] = [Math.cos(t), Math.sin(t)];
    const [tx, ty] = [-ny, nx]; // direction of travel
    const [px, py] = [cx + rm * nx, cy + rm * ny];
    return inTriangle(
      x,
      y,
      [px + nx * w * 1.15, py + ny * w * 1.15],
      [px - nx * w * 1.15, py - ny * w * 1.15],
      [px + tx * w * 1.3, py + ty * w * 1.3],
    );
  });
}

function inExclamation(x, y, cx, top, bottom, width) {
  return inRoundRect(x, y, cx - width / 2, top, cx + width / 2, bottom - width * 1.9, width / 2) || inCircle(x, y, cx, bottom - width / 2, width * 0.62);
}

// ---------------------------------------------------------------- rendering

const hex = (h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);

/** paint(x, y) → [r, g, b, a] or null, with x, y in pixels; averaged over 4×4 samples. */
function render(size, paint) {
  const out = new Uint8Array(size * size * 4);
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const c = paint(px + (sx + 0.5) / n, py + (sy + 0.5) / n);
          if (!c) continue;
          r += c[0] * c[3];
          g += c[1] * c[3];
          b += c[2] * c[3];
          a += c[3];
        }
      }
      const i = (py * size + px) * 4;
      if (a > 0) {
        out[i] = Math.round(r / a);
        out[i + 1] = Math.round(g / a);
        out[i + 2] = Math.round(b / a);
      }
      out[i + 3] = Math.round((a / (n * n)) * 255);
    }
  }
  return out;
}

/** Maps the cloud's 100-unit frame onto a square of `size` px, `fill` of its width. */
function frameFor(size, fill, dy = 0) {
  const s = (size * fill) / (CLOUD.x1 - CLOUD.x0);
  const ox = size / 2 - ((CLOUD.x0 + CLOUD.x1) / 2) * s;
  const oy = size / 2 - ((CLOUD.y0 + CLOUD.y1) / 2) * s + dy * size;
  return (x, y) => [(x - ox) / s, (y - oy) / s];
}

const INDIGO_TOP = hex('#6d6afe');
const INDIGO_BOTTOM = hex('#3b35c9');
const WHITE = [255, 255, 255];

function appIcon(size) {
  const toFrame = frameFor(size, 0.64, 0.01);
  const pad = size * 0.06;
  const radius = size * 0.2;
  return render(size, (x, y) => {
    if (!inRoundRect(x, y, pad, pad, size - pad, size - pad, radius)) return null;
    const bg = mix(INDIGO_TOP, INDIGO_BOTTOM, (y - pad) / (size - 2 * pad));
    const [fx, fy] = toFrame(x, y);
    // Soft drop shadow: the cloud shifted down, darker background.
    if (!inCloud(fx, fy) && inCloud(fx, fy - 2.2)) return [...mix(bg, [20, 16, 80], 0.35), 1];
    if (!inCloud(fx, fy)) return [...bg, 1];
    if (inSyncArrows(fx, fy, 50, 38, 18, 11.5)) return [...mix(INDIGO_TOP, INDIGO_BOTTOM, 0.45), 1];
    return [...WHITE, 1];
  });
}

function trayIcon(size, colour, glyph) {
  const toFrame = frameFor(size, 0.94);
  const fill = hex(colour);
  return render(size, (x, y) => {
    const [fx, fy] = toFrame(x, y);
    if (!inCloud(fx, fy)) return null;
    if (glyph === 'sync' && inSyncArrows(fx, fy, 50, 38, 19, 11)) return [...WHITE, 1];
    if (glyph === 'error' && inExclamation(fx, fy, 50, 14, 56, 9)) return [...WHITE, 1];
    return [...fill, 1];
  });
}

const outputs = [
  ['icon.png', 512, appIcon(512)],
  ['tray.png', 32, trayIcon(32, '#4f46e5', null)],
  ['tray-syncing.png', 32, trayIcon(32, '#0284c7', 'sync')],
  ['tray-error.png', 32, trayIcon(32, '#dc2626', 'error')],
];
for (const [name, size, rgba] of outputs) {
  writeFileSync(join(here, name), encodePng(size, rgba));
  console.log(`wrote assets/${name} (${size}×${size})`);
}
