/**
 * Nexmark queries in DuckDB SQL over the raw events (plans/nexmark/events.yaml): the oracle the engine is tested
 * against (test/nexmark) and the batch baseline of the Nexmark benchmark. Times are epoch milliseconds; windows are
 * [start, end) as in Flink.
 */
const T = (col: string) => `epoch_ms(${col})`;

export const ORACLE: Record<string, { sql: string; columns: string }> = {
  q0: { columns: 'auction, bidder, price, epoch_ms(dateTime) AS t, extra', sql: 'SELECT auction, bidder, price, epoch_ms(dateTime) AS t, extra FROM ev.bid' },
  q1: {
    columns: 'auction, bidder, round(price, 6) AS price, epoch_ms(dateTime) AS t, extra',
    sql: 'SELECT auction, bidder, round(0.908 * price::DOUBLE, 6) AS price, epoch_ms(dateTime) AS t, extra FROM ev.bid',
  },
  q2: { columns: 'auction, price', sql: 'SELECT auction, price FROM ev.bid WHERE auction % 123 = 0' },
  q5: {
    columns: 'auction, num, epoch_ms(window_start) AS ws, epoch_ms(window_end) AS we',
    sql: `WITH w AS (
            SELECT auction, ${T('dateTime')} - (${T('dateTime')} % 2000) - k * 2000 AS ws FROM ev.bid, range(0, 5) r(k)),
          c AS (SELECT auction, ws, count(*) AS num FROM w GROUP BY ALL),
          m AS (SELECT ws, max(num) AS maxn FROM c GROUP BY ws)
          SELECT c.auction, c.num, c.ws AS ws, c.ws + 10000 AS we FROM c JOIN m USING (ws) WHERE c.num >= m.maxn`,
  },
  q7: {
    columns: 'auction, price, bidder, epoch_ms(dateTime) AS t, extra, epoch_ms(window_start) AS ws, epoch_ms(window_end) AS we',
    sql: `WITH b AS (SELECT *, ${T('dateTime')} - (${T('dateTime')} % 10000) AS ws FROM ev.bid),
          m AS (SELECT ws, max(price) AS maxp FROM b GROUP BY ws)
          SELECT b.auction, b.price, b.bidder, ${T('b.dateTime')} AS t, b.extra, b.ws, b.ws + 10000 AS we FROM b JOIN m ON b.ws = m.ws AND b.price = m.maxp`,
  },
  q8: {
    columns: 'id, name, epoch_ms(starttime) AS ws',
    sql: `WITH p AS (SELECT id, name, ${T('dateTime')} - (${T('dateTime')} % 10000) AS ws FROM ev.person),
          a AS (SELECT DISTINCT seller, ${T('dateTime')} - (${T('dateTime')} % 10000) AS ws FROM ev.auction)
          SELECT p.id, p.name, p.ws FROM p JOIN a ON p.id = a.seller AND p.ws = a.ws`,
  },
  q11: {
    columns: 'bidder, bid_count, epoch_ms(window_start) AS ws, epoch_ms(window_end) AS we',
    sql: `WITH o AS (
            SELECT bidder, ${T('dateTime')} AS t,
                   CASE WHEN ${T('dateTime')} - lag(${T('dateTime')}) OVER (PARTITION BY bidder ORDER BY ${T('dateTime')}) <= 10000 THEN 0 ELSE 1 END AS new_session
            FROM ev.bid),
          s AS (SELECT *, sum(new_session) OVER (PARTITION BY bidder ORDER BY t ROWS UNBOUNDED PRECEDING) AS sid FROM o)
          SELECT bidder, count(*) AS bid_count, min(t) AS ws, max(t) + 10000 AS we FROM s GROUP BY bidder, sid`,
  },
};
