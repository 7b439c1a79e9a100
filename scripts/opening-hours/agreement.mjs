// Agreement of relais with the reference implementation (opening_hours.js) on real values.
//
//   cd scripts/opening-hours && npm ci && node agreement.mjs [path/to/relais] [values file]
//
// Every value of ../../../shared/data/opening-hours/real_values_sample_opening_hours_rs.txt (real
// OpenStreetMap values, Paris) is evaluated by both over two fortnights (Easter 2021, which the values
// name, and Christmas 2026), in Europe/Paris time with French public holidays and Paris's position for
// sun events. A value agrees when both read it and give the same intervals (open or unknown), or both
// refuse it. Prints the figure, then each difference with what each side said.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

process.env.TZ = 'Europe/Paris';
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const OpeningHours = require('opening_hours');

const relais = process.argv[2] ?? join(here, '../../target/debug/relais');
const valuesFile = process.argv[3] ?? join(here, '../../../shared/data/opening-hours/real_values_sample_opening_hours_rs.txt');
const values = readFileSync(valuesFile, 'utf8').split('\n').filter((v) => v.trim() !== '');
const windows = [
  ['2021-04-01 00:00', '2021-04-15 00:00'],
  ['2026-12-21 00:00', '2027-01-04 00:00'],
];
// opening_hours.js takes the position as Nominatim gives it: strings.
const place = { lat: '48.8566', lon: '2.3522', address: { country_code: 'fr', state: 'Île-de-France' } };

const pad = (n) => String(n).padStart(2, '0');
const local = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
const date = (text) => new Date(text.replace(' ', 'T'));

// Touching intervals of the same state are one: opening_hours.js sometimes splits them at midnight.
function merged(intervals) {
  const out = [];
  for (const [a, b, unknown] of intervals) {
    const last = out[out.length - 1];
    if (last && last[1] === a && last[2] === unknown) last[1] = b;
    else out.push([a, b, unknown]);
  }
  return out.map(([a, b, unknown]) => `${a}→${b}${unknown ? ' unknown' : ''}`);
}

function reference(value, [from, to]) {
  try {
    const oh = new OpeningHours(value, place, { mode: 0, warnings_severity: 4 });
    return { intervals: merged(oh.getOpenIntervals(date(from), date(to)).map(([a, b, unknown]) => [local(a), local(b), !!unknown])) };
  } catch (error) {
    return { error: String(error).split('\n')[0] };
  }
}

function ours(window) {
  const file = join(mkdtempSync(join(tmpdir(), 'relais-hours-')), 'values.txt');
  writeFileSync(file, values.join('\n') + '\n');
  const args = ['hours', 'eval', '--values', file, '--from', window[0], '--to', window[1], '--tz', 'Europe/Paris',
    '--country', 'FR', '--lat', String(place.lat), '--lon', String(place.lon)];
  return execFileSync(relais, args, { encoding: 'utf8', maxBuffer: 1 << 28 }).trim().split('\n').map((line) => {
    const result = JSON.parse(line);
    if (result.error) return { error: result.error };
    return { intervals: merged(result.intervals.map((i) => [i.from, i.to, i.unknown])), warnings: result.warnings };
  });
}

/// The first interval where the two lists part.
function firstDifference(theirs, mine) {
  const n = theirs.findIndex((interval, i) => interval !== mine[i]);
  const at = n < 0 ? theirs.length : n;
  return `intervals differ: reference ${theirs[at] ?? '(none)'}, relais ${mine[at] ?? '(none)'}`;
}

const relaisByWindow = windows.map(ours);
let agree = 0;
let referenceRefuses = 0;
const differences = [];
const tolerated = [];
values.forEach((value, n) => {
  let same = true;
  let detail = '';
  windows.forEach((window, w) => {
    const theirs = reference(value, window);
    const mine = relaisByWindow[w][n];
    if (mine.warnings?.length && w === 0) tolerated.push(value);
    const bothRefuse = theirs.error && mine.error;
    const sameIntervals = !theirs.error && !mine.error && JSON.stringify(theirs.intervals) === JSON.stringify(mine.intervals);
    if (!bothRefuse && !sameIntervals && same) {
      same = false;
      detail = theirs.error ? `reference refuses (${theirs.error.slice(0, 90)})`
        : mine.error ? `relais refuses (${mine.error.slice(0, 120)})`
        : firstDifference(theirs.intervals, mine.intervals);
    }
  });
  if (same) agree += 1;
  else differences.push(`${JSON.stringify(value)}: ${detail}`);
  if (detail.startsWith('reference refuses')) referenceRefuses += 1;
});
const read = values.length - referenceRefuses;
console.log(`opening_hours agreement with opening_hours.js ${require('opening_hours/package.json').version} on ${values.length} real values: ${agree} agree (${(100 * agree / values.length).toFixed(1)} %), ${differences.length} differ; of the ${read} the reference reads, ${agree} agree (${(100 * agree / read).toFixed(1)} %); ${tolerated.length} read with tolerance`);
for (const line of differences) console.log(`- ${line}`);
