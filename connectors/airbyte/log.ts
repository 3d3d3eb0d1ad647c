/**
 * Where connector LOG messages go: stderr, as `[node] LEVEL message` (stdout may be an Airbyte message stream).
 * DEBUG and TRACE levels are shown only with ABFLOW_LOG=debug.
 */
const QUIET = new Set(['DEBUG', 'TRACE']);

export function connectorLog(nodeId: string): (level: string, message: string) => void {
  const debug = process.env.ABFLOW_LOG === 'debug';
  return (level, message) => {
    if (debug || !QUIET.has(level)) process.stderr.write(`[${nodeId}] ${level} ${message}\n`);
  };
}
