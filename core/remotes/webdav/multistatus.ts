import { CcsError } from '../../common/errors';
import type { DavResponse } from './davHttp';

/**
 * Just enough XML to read a WebDAV 207 Multi-Status reply (RFC 4918 §13), without a dependency.
 * Servers differ in the details that matter here: any namespace prefix for DAV: (Apache uses both
 * `D:` and `lp1:` in one reply), a default namespace, hrefs that are absolute URLs or paths,
 * percent-encoding, CDATA, and properties reported under a non-200 propstat (which are absent).
 * Entities other than the five predefined ones and character references are never expanded.
 */

export interface DavEntry {
  /** The href exactly as sent (still percent-encoded, possibly relative). */
  href: string;
  isCollection: boolean;
  /** getcontentlength, when the server reported it under a 2xx propstat. */
  size: number | undefined;
  /** Active locks from lockdiscovery, when asked for: the owner's text and the lock token. */
  locks: Array<{ owner: string; token: string }>;
}

interface XmlElement {
  ns: string | undefined;
  local: string;
  children: XmlElement[];
  text: string;
}

const DAV = 'DAV:';

/** parseMultistatus for a server's answer: an unreadable one is the server's fault. */
export function readMultistatus(res: DavResponse, what: string): DavEntry[] {
  try {
    return parseMultistatus(res.body.toString('utf8'));
  } catch (e) {
    throw new CcsError('REMOTE_UNREACHABLE', `${what}: the server sent an unreadable PROPFIND answer (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/** Decoded path segments of an href (absolute URL, absolute path or relative), or undefined. */
export function hrefSegments(href: string, requestUrl: URL): string[] | undefined {
  try {
    return pathSegments(new URL(href, requestUrl));
  } catch {
    return undefined;
  }
}

export function pathSegments(url: URL): string[] {
  return url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
}

export function sameSegments(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** Entries of a multistatus body whose own status (if any) is 2xx. */
export function parseMultistatus(xml: string): DavEntry[] {
  const root = parseXml(xml);
  if (!isDav(root, 'multistatus')) throw new Error(`not a DAV:multistatus document (root element ${root.local})`);
  const out: DavEntry[] = [];
  for (const response of davChildren(root, 'response')) {
    const href = davChildren(response, 'href')[0]?.text.trim();
    if (href === undefined || href === '') continue;
    const status = davChildren(response, 'status')[0];
    if (status !== undefined && !isSuccess(status.text)) continue;
    let isCollection = false;
    let size: number | undefined;
    let sawProps = false;
    const locks: DavEntry['locks'] = [];
    for (const propstat of davChildren(response, 'propstat')) {
      const st = davChildren(propstat, 'status')[0];
      if (st !== undefined && !isSuccess(st.text)) continue;
      for (const prop of davChildren(propstat, 'prop')) {
        sawProps = true;
        for (const rt of davChildren(prop, 'resourcetype')) {
          if (davChildren(rt, 'collection').length > 0) isCollection = true;
        }
        const len = davChildren(prop, 'getcontentlength')[0]?.text.trim();
        if (len !== undefined && /^\d+$/.test(len) && Number.isSafeInteger(Number(len))) size = Number(len);
        for (const active of davChildren(prop, 'lockdiscovery').flatMap((d) => davChildren(d, 'activelock'))) {
          const owner = davChildren(active, 'owner')[0];
          const token = davChildren(active, 'locktoken').flatMap((t) => davChildren(t, 'href'))[0]?.text.trim();
          if (token) locks.push({ owner: owner === undefined ? '' : deepText(owner).trim(), token });
        }
      }
    }
    if (!sawProps && status === undefined) continue;
    out.push({ href, isCollection, size, locks });
  }
  return out;
}

function isSuccess(statusLine: string): boolean {
  return /^\s*HTTP\/[\d.]+\s+2\d\d\b/i.test(statusLine);
}

// Elements in no namespace are accepted too: a few servers forget the xmlns declaration.
function isDav(el: XmlElement, local: string): boolean {
  return el.local === local && (el.ns === DAV || el.ns === undefined);
}

function deepText(el: XmlElement): string {
  return el.text + el.children.map(deepText).join('');
}

function davChildren(el: XmlElement, local: string): XmlElement[] {
  return el.children.filter((c) => isDav(c, local));
}

const NAME = '[A-Za-z_][\\w.\\-]*(?::[A-Za-z_][\\w.\\-]*)?';
const TOKEN_RE = new RegExp(
  [
    '<\\?[\\s\\S]*?\\?>', // declaration, processing instruction
    '<!--[\\s\\S]*?-->',
    '<!\\[CDATA\\[([\\s\\S]*?)\\]\\]>',
    '<!DOCTYPE(?:[^<>\\[]|\\[[\\s\\S]*?\\])*>',
    `<(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"]*"|'[^']*'))*)\\s*(/?)>`,
    `</(${NAME})\\s*>`,
    '([^<]+)',
  ].join('|'),
  'gy',
);
const ATTR_RE = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'g');

interface OpenElement {
  el: XmlElement;
  qname: string;
  scope: Map<string, string>;
}

function parseXml(xml: string): XmlElement {
  const rootHolder: XmlElement = { ns: undefined, local: '#document', children: [], text: '' };
  const stack: OpenElement[] = [{ el: rootHolder, qname: '', scope: new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]) }];
  TOKEN_RE.lastIndex = 0;
  const src = xml.replace(/^\uFEFF/, '');
  while (TOKEN_RE.lastIndex < src.length) {
    const at = TOKEN_RE.lastIndex;
    const m = TOKEN_RE.exec(src);
    if (m === null) throw new Error(`malformed XML at offset ${at}: ${JSON.stringify(src.slice(at, at + 40))}`);
    const top = stack[stack.length - 1]!;
    const [, cdata, openName, attrs, selfClose, closeName, text] = m;
    if (cdata !== undefined) {
      top.el.text += cdata;
    } else if (text !== undefined) {
      top.el.text += decodeEntities(text);
    } else if (openName !== undefined) {
      const scope = new Map(top.scope);
      const plainAttrs: Array<[string, string]> = [];
      for (const a of (attrs ?? '').matchAll(ATTR_RE)) {
        const key = a[1]!;
        const value = decodeEntities(a[2] ?? a[3] ?? '');
        if (key === 'xmlns') scope.set('', value);
        else if (key.startsWith('xmlns:')) scope.set(key.slice(6), value);
        else plainAttrs.push([key, value]);
      }
      const colon = openName.indexOf(':');
      const prefix = colon < 0 ? '' : openName.slice(0, colon);
      const local = colon < 0 ? openName : openName.slice(colon + 1);
      const ns = scope.get(prefix) || undefined;
      const el: XmlElement = { ns, local, children: [], text: '' };
      top.el.children.push(el);
      if (selfClose !== '/') stack.push({ el, qname: openName, scope });
    } else if (closeName !== undefined) {
      if (stack.length < 2 || top.qname !== closeName) {
        throw new Error(`malformed XML: </${closeName}> does not close <${top.qname}> at offset ${at}`);
      }
      stack.pop();
    }
  }
  if (stack.length !== 1) throw new Error(`malformed XML: <${stack[stack.length - 1]!.qname}> is never closed`);
  const root = rootHolder.children[0];
  if (root === undefined || rootHolder.children.length !== 1) throw new Error('malformed XML: expected one root element');
  return root;
}

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(?:#x([0-9a-f]+)|#(\d+)|(amp|lt|gt|quot|apos));/gi, (all, hex?: string, dec?: string, named?: string) => {
    if (hex !== undefined || dec !== undefined) {
      const cp = hex !== undefined ? parseInt(hex, 16) : Number(dec);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
    }
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[named!.toLowerCase() as 'amp'];
  });
}
