// What one bench run measures: the profile (quick or full) and the flags that narrow it.

/** Sizes and repetitions of each mode; the full profile is what bench/PERFORMANCE.md quotes. */
export const PROFILES = {
  // Under a minute on a quiet 2-core machine: only the rows the targets need, small sets.
  quick: {
    records: 3_000,
    values64k: 100,
    sharedValues64k: 200,
    values1m: 20,
    dups: 3_000,
    distinct: 500,
    sweepRecords: 20_000,
    concurrency: [10, 50],
    batchSize: [10, 5000],
    threads: [],
    rounds: 3,
    targetsOnly: true,
    sweepRounds: 1,
    bigRecords: 0,
    bigJsonRecords: 0,
    failingRecords: 20_000,
    startupItems: 0,
    growth: { small: 100_000, large: 1_000_000, batch: 50_000, gets: 100, statsSamples: 1, logRecords: 250_000, appendRecords: 5_000, resumeSamples: 2 },
  },
  full: {
    records: 100_000,
    values64k: 2_000,
    // Issue 17: 10k × 64 KB values into S3 (the 1 KB records into PostgreSQL are `records`).
    sharedValues64k: 10_000,
    values1m: 200,
    dups: 100_000,
    distinct: 1_000,
    sweepRecords: 100_000,
    concurrency: [1, 2, 4, 10, 20, 50],
    batchSize: [1, 10, 100, 500, 1000, 5000],
    threads: [1, 2, 4, 8],
    // The slow peers (cacache, naive) take minutes per round at 100k records: 3 rounds keep a
    // full run near a quarter of an hour; --rounds and --sweep-rounds ask for more.
    rounds: 3,
    targetsOnly: false,
    sweepRounds: 1,
    bigRecords: 2_000_000,
    // Issue 16: a 2 GB JSON array of 1 KB records, for its peak RSS.
    bigJsonRecords: 2_000_000,
    failingRecords: 1_000_000,
    startupItems: 1_000_000,
    // Issue 15: a 1 GB log (5M lines of 201 B) with 10 MB (50k lines) appended, 3 times.
    growth: { small: 1_000_000, large: 10_000_000, batch: 100_000, gets: 1_000, statsSamples: 3, logRecords: 5_000_000, appendRecords: 50_000, resumeSamples: 3 },
  },
};

const USAGE = `usage: npm run bench -- [--quick] [--rounds N] [--sweep-rounds N] [--only NAME,...]
                        [--no-sweep] [--no-startup] [--no-rss] [--no-growth] [--no-shared]
  --only growth: the growth phase alone (issue 15)
  --only shared: the shared store alone (issue 17: PostgreSQL and S3; needs the services' env)`;

export function parseOptions(argv) {
  const flags = { quick: false, rounds: null, sweepRounds: null, only: null, sweep: true, startup: true, rss: true, growth: true, shared: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') flags.quick = true;
    else if (arg === '--rounds') flags.rounds = positive(argv[++i], arg);
    else if (arg === '--sweep-rounds') flags.sweepRounds = positive(argv[++i], arg);
    else if (arg === '--only') flags.only = String(argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--no-sweep') flags.sweep = false;
    else if (arg === '--no-startup') flags.startup = false;
    else if (arg === '--no-rss') flags.rss = false;
    else if (arg === '--no-growth') flags.growth = false;
    else if (arg === '--no-shared') flags.shared = false;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown option ${arg}\n${USAGE}`);
      process.exit(2);
    }
  }
  const mode = flags.quick ? 'quick' : 'full';
  const profile = { ...PROFILES[mode] };
  if (flags.rounds) profile.rounds = flags.rounds;
  if (flags.sweepRounds) profile.sweepRounds = flags.sweepRounds;
  return { mode, profile, ...flags };
}

function positive(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${flag} needs a positive integer`);
    process.exit(2);
  }
  return n;
}
