import { describe, expect, it } from 'vitest';
import { originMatcher } from './http.js';

describe('originMatcher', () => {
  it('matches exactly, * for any, and host:* for that scheme and host on any port only', () => {
    const allowed = originMatcher(['https://app.kommune.no', 'http://localhost:*']);
    expect(['https://app.kommune.no', 'http://localhost:5173', 'http://localhost:3000'].map(allowed)).toEqual([true, true, true]);
    expect(
      [
        'https://app.kommune.no:8443',
        'http://localhost',
        'https://localhost:5173',
        'http://localhost.evil.example:5173',
        'http://localhost:5173.evil.example',
        'http://localhost:5173/x',
      ].map(allowed),
    ).toEqual([false, false, false, false, false, false]);
    expect(originMatcher(['*'])('https://anything.example')).toBe(true);
    expect(originMatcher([])('http://localhost:5173')).toBe(false);
  });
});
