//! Random inputs for the core's own tests, without a dependency: a deterministic xorshift generator,
//! and how many cases a randomized test runs (`FUZZ_RUNS`, which `npm run fuzz` raises; `FUZZ_SEED`
//! picks another sequence).

pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded from `FUZZ_SEED` when set, else from `default_seed` (so runs repeat).
    pub(crate) fn seeded(default_seed: u64) -> Self {
        let seed = std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(default_seed);
        Rng(seed.max(1)) // xorshift stays at zero from zero
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Cases a randomized test runs: `FUZZ_RUNS` when set, else `default` (what `npm test` affords).
pub(crate) fn fuzz_runs(default: usize) -> usize {
    std::env::var("FUZZ_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
