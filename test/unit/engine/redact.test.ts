/** Credentials are taken out of every message by one function (issue "hardening", item 5). */
import { describe, expect, it } from 'vitest';
import { AbflowError } from '../../../engine/errors.js';
import { redactSecrets } from '../../../engine/redact.js';

describe('redactSecrets', () => {
  it('redacts URL user info, secret-named query parameters and libpq key=value settings', () => {
    expect(redactSecrets('postgres://app:s3cr3t@db:5432/x?sslmode=require&password=p4ss&sslpassword=k3y')).toBe(
      'postgres://app:***@db:5432/x?sslmode=require&password=***&sslpassword=***',
    );
    expect(redactSecrets('cannot reach https://hooks.example/x?api_key=AKIA123&user=bob&token=t0k')).toBe(
      'cannot reach https://hooks.example/x?api_key=***&user=bob&token=***',
    );
    expect(redactSecrets("host=db user=app password='a b c' dbname=x")).toBe('host=db user=app password=*** dbname=x');
    expect(redactSecrets('Server=db;Uid=app;Pwd=hunter2;')).toBe('Server=db;Uid=app;Pwd=***;');
    expect(redactSecrets('redis://:onlypass@127.0.0.1:6379/0')).toBe('redis://:***@127.0.0.1:6379/0');
  });

  it('leaves text without credentials alone', () => {
    for (const s of [
      'postgres://app@db:5432/x?sslmode=require',
      'designer=Ann, author = Bo',
      'exit (signal SIGTERM)',
      'amount = 5 is outside [0, 1]',
      'http://example.com/a:b/c',
    ])
      expect(redactSecrets(s)).toBe(s);
  });

  it('every AbflowError message and hint goes out redacted', () => {
    const e = new AbflowError('source_io', 'cannot connect to postgres://u:pw@h/db?password=x', { hint: 'check password=x' });
    expect(e.format()).not.toMatch(/pw@|password=x/);
  });
});
