/**
 * @module redact
 * The one place credentials are taken out of text before anyone sees it: error messages (hence the CLI, logs and the
 * service's job errors), `explain`, connection descriptions. It knows the shapes credentials travel in — a URL's
 * user info (`postgres://user:secret@host`), URL query parameters named like secrets (`?password=`, `sslpassword`,
 * `token`, `api_key`, `secret`, `signature` …) and libpq `key=value` connection strings — and replaces each value
 * with `***`, leaving the rest readable.
 */

/** Names of parameters whose values are secrets (query parameters, `key=value` DSN settings). */
const SECRET_NAME = String.raw`(?:[A-Za-z0-9_.-]*(?:pass(?:word|wd)|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|signature)[A-Za-z0-9_.-]*|pass|auth|sig|key)`;

// scheme://user:password@ — the password part, up to the @ (no whitespace, slash or @ inside).
const USERINFO = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/:@]*:)([^\s/@]+)(@)/g;
// ?name=value or &name=value in URLs.
const QUERY = new RegExp(String.raw`([?&;]${SECRET_NAME}=)([^&#;\s'"]+)`, 'gi');
// libpq / ODBC style: name=value or name='quoted value', separated by spaces or semicolons.
const DSN = new RegExp(String.raw`((?:^|[\s;])${SECRET_NAME}\s*=\s*)('[^']*'|"[^"]*"|[^\s;'"]+)`, 'gi');

/** `text` with every credential it carries replaced by `***`. */
export function redactSecrets(text: string): string {
  if (!text) return text;
  return text.replace(USERINFO, '$1***$3').replace(QUERY, '$1***').replace(DSN, '$1***');
}
