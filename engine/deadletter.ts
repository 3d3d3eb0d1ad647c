/**
 * @module deadletter
 * The shape of dead letters: every component's `dead_letter` port carries this schema, so any sink can take them.
 */
import { schemaOf } from './types.js';

export const DEAD_LETTER_PORT = 'dead_letter';

export const DEAD_LETTER_SCHEMA = schemaOf({
  node: 'string',
  reason: 'string',
  source: 'string',
  position: 'int64',
  raw: 'string',
});

/** Column indexes of DEAD_LETTER_SCHEMA. */
export const DEAD_LETTER_COLUMNS = { node: 0, reason: 1, source: 2, position: 3, raw: 4 } as const;
