// The example rule set (examples/outpatient.sanad) written as DuckDB SQL with
// window functions and joins, following LANGUAGE.md to the letter, run on
// the same generated CSV as Sanad. Checks that DuckDB's verdicts (status,
// deduction, primary rule) equal Sanad's before reporting the times.
//
// usage: node duckdb_peer.mjs DATA_DIR SANAD_VERDICTS_CSV THREADS
// DATA_DIR holds claims.csv, mri.csv, tariff.csv, ptp.csv (`sanad gen --format csv`).
// Prints one JSON object: {lines, load_s, evaluate_s, mismatches, ...}.

import { DuckDBInstance } from '@duckdb/node-api';
import { openSync, readSync, closeSync } from 'node:fs';

const [dir, sanadVerdicts, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg || 2);
const q = (s) => `'${s.replaceAll("'", "''")}'`;

const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const con = await instance.connect();
const run = (sql) => con.run(sql);
const one = async (sql) => (await con.runAndReadAll(sql)).getRows()[0];
const now = () => Number(process.hrtime.bigint()) / 1e9;

// `sanad gen --shape month-end` adds a zone column (Persian text) the rules do not read.
const head = Buffer.alloc(4096);
const fd = openSync(dir + '/claims.csv', 'r');
readSync(fd, head, 0, head.length, 0);
closeSync(fd);
const zoneColumn = head.toString('utf8').split('\n')[0].split(',').includes('zone') ? ", zone: 'VARCHAR'" : '';

// ---- load (timed separately) ----
let t = now();
await run(`SET preserve_insertion_order = true`);
await run(`CREATE TABLE claims AS
  SELECT *, row_number() OVER () AS pos FROM read_csv(${q(dir + '/claims.csv')}, header = true, nullstr = '',
    columns = {claim_id: 'VARCHAR', insured_id: 'VARCHAR', fund: 'VARCHAR', age: 'BIGINT', sex: 'VARCHAR',
               provider_id: 'VARCHAR', provider_sector: 'VARCHAR', provider_specialty: 'VARCHAR',
               service_code: 'VARCHAR', service_date: 'DATE', quantity: 'BIGINT', amount: 'BIGINT',
               diagnosis: 'VARCHAR', referral: 'BOOLEAN'${zoneColumn}})`);
await run(`CREATE TABLE mri AS SELECT * FROM read_csv(${q(dir + '/mri.csv')}, header = false, columns = {code: 'VARCHAR'})`);
await run(`CREATE TABLE tariff AS SELECT * FROM read_csv(${q(dir + '/tariff.csv')}, header = false, columns = {code: 'VARCHAR', price: 'BIGINT'})`);
await run(`CREATE TABLE ptp AS SELECT * FROM read_csv(${q(dir + '/ptp.csv')}, header = false, columns = {a: 'VARCHAR', b: 'VARCHAR'})`);
const loadS = now() - t;

// The Jalali calendar (ICU's Persian calendar, through Intl) for every day in the data.
const { lo, hi } = await one(`SELECT min(service_date)::VARCHAR AS lo, max(service_date)::VARCHAR AS hi FROM claims`)
  .then((r) => ({ lo: r[0], hi: r[1] }));
const fmt = new Intl.DateTimeFormat('en-US-u-ca-persian-nu-latn', { timeZone: 'UTC', year: 'numeric', month: 'numeric' });
const rows = [];
for (let d = new Date(lo + 'T00:00:00Z'); d <= new Date(hi + 'T00:00:00Z'); d.setUTCDate(d.getUTCDate() + 1)) {
  const parts = Object.fromEntries(fmt.formatToParts(d).map((p) => [p.type, p.value]));
  rows.push(`(DATE '${d.toISOString().slice(0, 10)}', ${parseInt(parts.year, 10)}, ${parseInt(parts.month, 10)})`);
}
await run(`CREATE TABLE jalali(d DATE, jy INTEGER, jm INTEGER)`);
for (let i = 0; i < rows.length; i += 1000) await run(`INSERT INTO jalali VALUES ${rows.slice(i, i + 1000).join(',')}`);

// ---- evaluate (timed) ----
t = now();
await run(`CREATE TABLE verdicts AS
WITH base AS (
  SELECT c.*, j.jy, j.jm,
         coalesce(quantity, 1) AS qty, coalesce(referral, false) AS ref,
         row_number() OVER (PARTITION BY claim_id ORDER BY pos) AS line_no,
         -- adjudication order: (service_date, seq); seq defaults to the input position
         row_number() OVER (ORDER BY service_date, pos) AS ord,
         service_code IN ('970000', '970005') AS is_gp,
         service_code IN ('970010', '970015', '970020') AS is_spec,
         service_code IN ('901905', '901910', '901915') AS is_inj,
         service_code IN (SELECT code FROM mri) AS is_mri,
         t.price AS tariff_price
  FROM claims c JOIN jalali j ON j.d = c.service_date LEFT JOIN tariff t ON t.code = c.service_code
),
-- stage 1: eligibility; a rejected line is invisible to stage 2
s1 AS (
  SELECT *, coalesce(fund = 'rural' AND provider_sector = 'private' AND NOT ref, false) AS h_missing_referral,
            coalesce(service_code = '970020' AND age >= 18, false) AS h_age_restricted
  FROM base
),
vis AS (SELECT * FROM s1 WHERE NOT h_missing_referral AND NOT h_age_restricted),
gp_cap AS (   -- limit count per provider_id per day <= 40
  SELECT pos, row_number() OVER (PARTITION BY provider_id, service_date ORDER BY ord) AS r
  FROM vis WHERE is_gp AND provider_specialty = 'GP' AND provider_id IS NOT NULL
),
monthly AS (  -- limit count per insured_id per (Jalali) month <= 6
  SELECT pos, row_number() OVER (PARTITION BY insured_id, jy, jm ORDER BY ord) AS r
  FROM vis WHERE (is_gp OR is_spec) AND insured_id IS NOT NULL
),
private_year AS (  -- limit count per insured_id per (Jalali) year <= private_visits_per_year[fund]
  SELECT pos, row_number() OVER (PARTITION BY insured_id, jy ORDER BY ord) AS r,
         CASE fund WHEN 'iranian' THEN 4 WHEN 'rural' THEN 0 WHEN 'civil_servants' THEN 12 WHEN 'other' THEN 6 END AS cap
  FROM vis WHERE provider_sector = 'private' AND (is_gp OR is_spec) AND insured_id IS NOT NULL
),
mri_rep AS (  -- repeat per insured_id within 30 days
  SELECT pos, service_date - lag(service_date) OVER (PARTITION BY insured_id ORDER BY ord) AS gap
  FROM vis WHERE is_mri AND insured_id IS NOT NULL
),
inj AS (      -- conflict with service_code in gp_visits per insured_id, provider_id same day
  SELECT pos, is_inj, service_date,
         max(CASE WHEN is_gp THEN service_date END) OVER (PARTITION BY insured_id, provider_id ORDER BY ord
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS last_gp_date
  FROM vis WHERE insured_id IS NOT NULL AND provider_id IS NOT NULL
),
unb AS (      -- conflict pairs ptp per insured_id, provider_id same day
  SELECT DISTINCT i.pos
  FROM vis i JOIN vis j ON j.insured_id = i.insured_id AND j.provider_id = i.provider_id
                        AND j.service_date = i.service_date AND j.ord < i.ord
             JOIN ptp p ON p.a = j.service_code AND p.b = i.service_code
),
drug AS (     -- limit sum(quantity) per claim_id, service_code <= 3, deduct excess
  SELECT pos, qty AS v, sum(qty) OVER (PARTITION BY claim_id, service_code ORDER BY ord) AS total
  FROM vis WHERE claim_id IS NOT NULL AND service_code IS NOT NULL
),
ceiling AS (  -- limit sum(amount) per insured_id per (Jalali) year <= 500_000_000, deduct excess
  SELECT pos, amount AS v, sum(amount) OVER (PARTITION BY insured_id, jy ORDER BY ord) AS total
  FROM vis WHERE insured_id IS NOT NULL
),
hits AS (     -- (pos, rule index in declaration order, reject?, deduction)
  SELECT pos, 0 AS rule, true AS rej, amount AS d FROM s1 WHERE h_missing_referral
  UNION ALL SELECT pos, 1, true, amount FROM s1 WHERE h_age_restricted
  UNION ALL SELECT g.pos, 2, true, b.amount FROM gp_cap g JOIN base b USING (pos) WHERE g.r > 40
  UNION ALL SELECT m.pos, 3, false, 0 FROM monthly m WHERE m.r > 6
  UNION ALL SELECT p.pos, 4, true, b.amount FROM private_year p JOIN base b USING (pos) WHERE p.cap IS NOT NULL AND p.r > p.cap
  UNION ALL SELECT m.pos, 5, true, b.amount FROM mri_rep m JOIN base b USING (pos) WHERE m.gap < 30
  UNION ALL SELECT i.pos, 6, true, b.amount * 50 // 100 FROM inj i JOIN base b USING (pos)
            WHERE i.is_inj AND i.last_gp_date = i.service_date
  UNION ALL SELECT u.pos, 7, true, b.amount FROM unb u JOIN base b USING (pos)
  UNION ALL SELECT pos, 8, false, greatest(0, least(amount, amount - tariff_price * qty)) FROM vis
            WHERE amount > tariff_price * qty
  UNION ALL SELECT d.pos, 9, true,
            CASE WHEN d.v <= 0 THEN 0 ELSE (b.amount::HUGEINT * greatest(0, least(d.v, d.total - greatest(3, d.total - d.v))) // d.v)::BIGINT END
            FROM drug d JOIN base b USING (pos) WHERE d.total > 3
  UNION ALL SELECT c.pos, 10, true,
            CASE WHEN c.v <= 0 THEN 0 ELSE (c.v::HUGEINT * greatest(0, least(c.v, c.total - greatest(500000000, c.total - c.v))) // c.v)::BIGINT END
            FROM ceiling c WHERE c.total > 500000000
),
per_line AS (
  SELECT pos, bool_or(rej) AS any_reject, max(d) AS max_d,
         arg_max(rule, d::HUGEINT * 64 - rule) AS primary_rule
  FROM hits GROUP BY pos
)
SELECT b.pos, b.claim_id, b.line_no,
       CASE WHEN l.pos IS NULL THEN 'accepted' WHEN l.any_reject THEN 'rejected' ELSE 'warned' END AS status,
       CASE WHEN l.pos IS NULL THEN 0 ELSE least(l.max_d, b.amount) END AS deduction,
       l.primary_rule
FROM base b LEFT JOIN per_line l USING (pos)
ORDER BY b.pos`);
const evaluateS = now() - t;

// ---- compare with Sanad (not timed) ----
const names = ['missing_referral', 'age_restricted', 'gp_daily_cap', 'insured_monthly_visits', 'private_sector_by_fund',
  'mri_repeat', 'injection_after_visit', 'unbundling', 'over_tariff', 'drug_quantity', 'annual_ceiling'];
// Every column as text (Sanad's verdict files grow columns at the end); the compared ones cast.
await run(`CREATE TABLE sanad AS SELECT claim_id, line_no::BIGINT AS line_no, status, deduction::BIGINT AS deduction,
    primary_rule, row_number() OVER () AS pos
  FROM read_csv(${q(sanadVerdicts)}, header = true, nullstr = '', all_varchar = true)`);
const names_sql = `[${names.map(q).join(',')}]`;
const cmp = await one(`SELECT count(*) AS lines,
    count(*) FILTER (WHERE s.pos IS NULL OR v.claim_id <> s.claim_id OR v.line_no <> s.line_no OR v.status <> s.status
                     OR v.deduction <> s.deduction
                     OR coalesce(${names_sql}[v.primary_rule + 1], '') <> coalesce(s.primary_rule, '')) AS mismatches,
    count(*) FILTER (WHERE v.status <> 'accepted') AS flagged,
    sum(v.deduction)::VARCHAR AS deduction
  FROM verdicts v LEFT JOIN sanad s USING (pos)`);
const example = await con.runAndReadAll(`SELECT v.claim_id, v.line_no, v.status, v.deduction, v.primary_rule,
    s.status, s.deduction, s.primary_rule FROM verdicts v LEFT JOIN sanad s USING (pos)
  WHERE s.pos IS NULL OR v.status <> s.status OR v.deduction <> s.deduction
     OR coalesce(${names_sql}[v.primary_rule + 1], '') <> coalesce(s.primary_rule, '') LIMIT 5`);
console.log(JSON.stringify({
  engine: 'duckdb', version: (await one('SELECT version()'))[0], threads,
  lines: Number(cmp[0]), flagged: Number(cmp[2]), total_deduction: cmp[3], mismatches: Number(cmp[1]),
  first_mismatches: example.getRows().map((r) => r.map((x) => (typeof x === 'bigint' ? Number(x) : x))),
  load_s: loadS, evaluate_s: evaluateS,
}));
