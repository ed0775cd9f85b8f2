import { describe, expect, it } from 'vitest';
import { hrefSegments, parseMultistatus } from './multistatus';

describe('parseMultistatus', () => {
  it('reads what Apache mod_dav sends (DAV: under two prefixes)', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:ns0="DAV:">
<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/">
<D:href>/dav/store/</D:href>
<D:propstat><D:prop><lp1:resourcetype><D:collection/></lp1:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
<D:propstat><D:prop><D:getcontentlength/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>
</D:response>
<D:response xmlns:lp1="DAV:">
<D:href>/dav/store/config</D:href>
<D:propstat><D:prop><lp1:resourcetype/><lp1:getcontentlength>1234</lp1:getcontentlength></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
</D:response>
</D:multistatus>`;
    expect(parseMultistatus(xml)).toEqual([
      { href: '/dav/store/', isCollection: true, size: undefined, locks: [] },
      { href: '/dav/store/config', isCollection: false, size: 1234, locks: [] },
    ]);
  });

  it('handles a default namespace, other prefixes, absolute and encoded hrefs, CDATA and entities', () => {
    const xml = `\uFEFF<?xml version="1.0"?>
<!-- a comment <with> angle brackets -->
<multistatus xmlns="DAV:" xmlns:x="http://example.com/ns">
  <response>
    <href>https://dav.example.com/remote.php/dav/files/al%20ice/ccjk/</href>
    <propstat>
      <prop><resourcetype><collection/></resourcetype><x:quota>5</x:quota></prop>
      <status>HTTP/1.1 200 OK</status>
    </propstat>
  </response>
  <response>
    <href><![CDATA[/remote.php/dav/files/al%20ice/ccjk/a&b]]></href>
    <propstat><prop><getcontentlength> 7 </getcontentlength><resourcetype/></prop><status>HTTP/1.1 200 OK</status></propstat>
  </response>
  <response>
    <href>/remote.php/dav/files/al%20ice/ccjk/q&amp;r&#x2e;s&#46;t</href>
    <propstat><prop><getcontentlength>0</getcontentlength></prop><status>HTTP/1.1 200 OK</status></propstat>
  </response>
</multistatus>`;
    expect(parseMultistatus(xml)).toEqual([
      { href: 'https://dav.example.com/remote.php/dav/files/al%20ice/ccjk/', isCollection: true, size: undefined, locks: [] },
      { href: '/remote.php/dav/files/al%20ice/ccjk/a&b', isCollection: false, size: 7, locks: [] },
      { href: '/remote.php/dav/files/al%20ice/ccjk/q&r.s.t', isCollection: false, size: 0, locks: [] },
    ]);
  });

  it('resolves a prefix declared on the root and re-declared below, and ignores look-alikes in other namespaces', () => {
    const xml = `<a:multistatus xmlns:a="DAV:" xmlns:b="urn:other">
  <a:response><a:href>x</a:href>
    <a:propstat xmlns:a="DAV:"><a:prop>
      <b:getcontentlength>999</b:getcontentlength>
      <z:getcontentlength xmlns:z="DAV:">12</z:getcontentlength>
      <a:resourcetype><b:collection/></a:resourcetype>
    </a:prop><a:status>HTTP/1.1 200 OK</a:status></a:propstat>
  </a:response>
</a:multistatus>`;
    expect(parseMultistatus(xml)).toEqual([{ href: 'x', isCollection: false, size: 12, locks: [] }]);
  });

  it('skips responses with an error status or without one readable property', () => {
    const xml = `<d:multistatus xmlns:d="DAV:">
  <d:response><d:href>/a/gone</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
  <d:response><d:href>/a/odd</d:href>
    <d:propstat><d:prop><d:getcontentlength>5</d:getcontentlength></d:prop><d:status>HTTP/1.1 403 Forbidden</d:status></d:propstat>
  </d:response>
  <d:response><d:href>/a/ok</d:href><d:status>HTTP/1.1 200 OK</d:status></d:response>
</d:multistatus>`;
    expect(parseMultistatus(xml)).toEqual([{ href: '/a/ok', isCollection: false, size: undefined, locks: [] }]);
  });

  it('reads lock owners and tokens from lockdiscovery', () => {
    const xml = `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/log/1</D:href><D:propstat><D:prop>
<D:lockdiscovery><D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:exclusive/></D:lockscope>
<ns0:owner xmlns:ns0="DAV:">ccsync-abc</ns0:owner><D:timeout>Second-60</D:timeout>
<D:locktoken><D:href>opaquelocktoken:1e761e27-78e2</D:href></D:locktoken></D:activelock></D:lockdiscovery>
</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`;
    expect(parseMultistatus(xml)[0]!.locks).toEqual([{ owner: 'ccsync-abc', token: 'opaquelocktoken:1e761e27-78e2' }]);
  });

  it('does not expand a DOCTYPE’s entities', () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE m [<!ENTITY big "xxxxxxxx">]>
<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a&amp;big;</D:href><D:status>HTTP/1.1 200 OK</D:status></D:response></D:multistatus>`;
    expect(parseMultistatus(xml)).toEqual([{ href: '/a&big;', isCollection: false, size: undefined, locks: [] }]);
  });

  it.each([
    ['an HTML error page', '<html><body><h1>Oops</h1></body></html>'],
    ['an unclosed element', '<D:multistatus xmlns:D="DAV:"><D:response>'],
    ['mismatched tags', '<D:multistatus xmlns:D="DAV:"></D:response>'],
    ['garbage', 'not xml at all < really'],
    ['empty', ''],
  ])('rejects %s', (_label, xml) => {
    expect(() => parseMultistatus(xml)).toThrow();
  });
});

describe('hrefSegments', () => {
  const request = new URL('http://h:8080/dav/my%20store/data/');

  it('decodes absolute paths, absolute URLs and relative hrefs alike', () => {
    expect(hrefSegments('/dav/my%20store/data/ab', request)).toEqual(['dav', 'my store', 'data', 'ab']);
    expect(hrefSegments('http://h:8080/dav/my%20store/data/ab/', request)).toEqual(['dav', 'my store', 'data', 'ab']);
    expect(hrefSegments('ab', request)).toEqual(['dav', 'my store', 'data', 'ab']);
    expect(hrefSegments('/dav/my store/data/%61b', request)).toEqual(['dav', 'my store', 'data', 'ab']);
  });

  it('gives undefined for an href it cannot decode', () => {
    expect(hrefSegments('/dav/%E0%A4%A', request)).toBeUndefined();
  });
});
