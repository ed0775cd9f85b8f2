import { describe, expect, it } from 'vitest';
import { createSenderPolicy } from './senderPolicy';

const fileUrl = 'file:///opt/CCJK%20Cloud%20Sync/resources/app.asar/out/renderer/index.html';

describe('sender policy', () => {
  it('accepts exactly our built index.html, with any query or hash', () => {
    const allowed = createSenderPolicy({ fileUrl });
    expect(allowed(fileUrl)).toBe(true);
    expect(allowed(`${fileUrl}#/items`)).toBe(true);
    expect(allowed(`${fileUrl}?x=1`)).toBe(true);
  });

  it('rejects other files, other schemes and garbage', () => {
    const allowed = createSenderPolicy({ fileUrl });
    for (const url of [
      'file:///tmp/evil/index.html',
      'file:///opt/CCJK%20Cloud%20Sync/resources/app.asar/out/renderer/other.html',
      'file://remote-host/opt/CCJK%20Cloud%20Sync/resources/app.asar/out/renderer/index.html',
      'https://example.com/',
      'http://localhost:5173/',
      'about:blank',
      'data:text/html,hi',
      '',
      'not a url',
      undefined,
    ]) {
      expect(allowed(url), String(url)).toBe(false);
    }
  });

  it('accepts the dev server origin only when a dev URL is given', () => {
    const allowed = createSenderPolicy({ fileUrl, devUrl: 'http://localhost:5173' });
    expect(allowed('http://localhost:5173/')).toBe(true);
    expect(allowed('http://localhost:5173/index.html#x')).toBe(true);
    expect(allowed('http://localhost:5174/')).toBe(false);
    expect(allowed('http://127.0.0.1:5173/')).toBe(false);
    expect(allowed('https://localhost:5173/')).toBe(false);
  });
});
