//! An in-memory Hamming index over 256-bit hashes: multi-index hashing (Norouzi, Punjani and Fleet,
//! "Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012).
//!
//! The hash is cut into 16 chunks of 16 bits. Two hashes within distance `r` agree to within
//! `r / 16` bits on at least one chunk (pigeonhole: 16 chunks each `r/16 + 1` apart would add up to
//! more than `r`). So a radius query probes, in each chunk's table, the chunk values within `r / 16`
//! bits of the query's (1 + 16 values at PDQ's radius 31), and checks the full distance of what it
//! finds. Each table is a compact posting array indexed by a 65,536-entry offset array.
//!
//! Memory: the hash (32 bytes) and payload (4) are stored once; table 0 needs no postings because the
//! entries themselves are kept sorted by chunk 0, and tables 1..16 hold one `u32` slot each (60 bytes):
//! 96 bytes per entry, plus 4 MiB of offsets shared by all entries.
//!
//! Adds go to an unindexed tail that queries scan linearly; once the tail outgrows an eighth of the
//! indexed part the tables are rebuilt (a counting sort per chunk, linear time). Removals set a tombstone
//! bit and are compacted away at the next rebuild.

use super::error::ImageError;
use super::pdq::PdqHash;

const CHUNKS: usize = 16;
const BUCKETS: usize = 1 << 16;
/// The tail is rebuilt into the tables when it exceeds max(MIN_TAIL, indexed / 8).
const MIN_TAIL: usize = 4096;
/// Beyond a chunk radius of 2 the probe count (C(16,3) = 560 per chunk and up) makes a scan cheaper.
const MAX_CHUNK_RADIUS: u32 = 2;
const MAGIC: &[u8; 8] = b"SEALMIH1";

/// A hit of a radius query: the payload stored with the hash, and its distance to the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexHit {
    /// Distance in bits.
    pub distance: u32,
    /// What the caller stored with the hash (a work id, or a region slot).
    pub payload: u32,
}

/// A multi-index hash table over [`PdqHash`]es, each stored with a `u32` payload.
#[derive(Debug, Clone, Default)]
pub struct HammingIndex {
    hashes: Vec<PdqHash>,
    payloads: Vec<u32>,
    /// One bit per slot: set when the entry has been removed.
    dead: Vec<u64>,
    dead_count: usize,
    /// Slots `0..indexed` are covered by the tables; the rest is the tail.
    indexed: usize,
    /// `CHUNKS` arrays of `BUCKETS + 1` offsets (empty until the first build).
    offsets: Vec<u32>,
    /// Postings of chunks 1..16, `indexed` slots each, back to back.
    postings: Vec<u32>,
}

impl HammingIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.hashes.len() - self.dead_count
    }

    /// True when no live entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held, for the memory report.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 32
            + self.payloads.capacity() * 4
            + self.dead.capacity() * 8
            + self.offsets.capacity() * 4
            + self.postings.capacity() * 4
    }

    /// Adds `hash` with `payload`. Duplicates are allowed (and both returned by queries).
    pub fn add(&mut self, hash: PdqHash, payload: u32) {
        let slot = self.hashes.len();
        self.hashes.push(hash);
        self.payloads.push(payload);
        if slot / 64 >= self.dead.len() {
            self.dead.push(0);
        }
        if self.hashes.len() - self.indexed > MIN_TAIL.max(self.indexed / 8) {
            self.rebuild();
        }
    }

    /// Removes one entry equal to (`hash`, `payload`). Returns whether one was found.
    pub fn remove(&mut self, hash: &PdqHash, payload: u32) -> bool {
        let mut found = None;
        self.for_each_within(hash, 0, |slot, _| {
            if found.is_none() && self.payloads[slot] == payload {
                found = Some(slot);
            }
        });
        match found {
            Some(slot) => {
                self.kill(slot);
                true
            }
            None => false,
        }
    }

    /// Removes every entry whose payload satisfies `doomed` (a linear pass). Returns how many.
    pub fn remove_where(&mut self, mut doomed: impl FnMut(u32) -> bool) -> usize {
        let mut removed = 0;
        for slot in 0..self.hashes.len() {
            if !self.is_dead(slot) && doomed(self.payloads[slot]) {
                self.kill(slot);
                removed += 1;
            }
        }
        removed
    }

    fn kill(&mut self, slot: usize) {
        self.dead[slot / 64] |= 1 << (slot % 64);
        self.dead_count += 1;
    }

    #[inline]
    fn is_dead(&self, slot: usize) -> bool {
        (self.dead[slot / 64] >> (slot % 64)) & 1 == 1
    }

    /// Rebuilds the tables over all live entries (also compacts removed ones away). Called by `add`
    /// as needed; call it after a bulk load to make the first queries fast.
    pub fn rebuild(&mut self) {
        if self.len() < MIN_TAIL {
            self.compact_small();
            return;
        }
        // Gather live entries, sorted by chunk 0 with a counting sort (stable, linear).
        let mut counts = vec![0u32; BUCKETS + 1];
        for slot in 0..self.hashes.len() {
            if !self.is_dead(slot) {
                counts[self.hashes[slot].chunk16(0) as usize + 1] += 1;
            }
        }
        for b in 0..BUCKETS {
            counts[b + 1] += counts[b];
        }
        let live = self.len();
        let mut offsets = Vec::with_capacity(CHUNKS * (BUCKETS + 1));
        offsets.extend_from_slice(&counts);
        let mut hashes = vec![PdqHash::default(); live];
        let mut payloads = vec![0u32; live];
        let mut cursor = counts;
        for slot in 0..self.hashes.len() {
            if !self.is_dead(slot) {
                let b = self.hashes[slot].chunk16(0) as usize;
                let at = cursor[b] as usize;
                cursor[b] += 1;
                hashes[at] = self.hashes[slot];
                payloads[at] = self.payloads[slot];
            }
        }
        let mut postings = vec![0u32; live * (CHUNKS - 1)];
        for c in 1..CHUNKS {
            let mut counts = vec![0u32; BUCKETS + 1];
            for h in &hashes {
                counts[h.chunk16(c) as usize + 1] += 1;
            }
            for b in 0..BUCKETS {
                counts[b + 1] += counts[b];
            }
            offsets.extend_from_slice(&counts);
            let table = &mut postings[(c - 1) * live..c * live];
            let mut cursor = counts;
            for (slot, h) in hashes.iter().enumerate() {
                let b = h.chunk16(c) as usize;
                table[cursor[b] as usize] = slot as u32;
                cursor[b] += 1;
            }
        }
        self.hashes = hashes;
        self.payloads = payloads;
        self.dead = vec![0; live.div_ceil(64).max(1)];
        self.dead_count = 0;
        self.indexed = live;
        self.offsets = offsets;
        self.postings = postings;
    }

    /// Drops removed entries of a small index, which is scanned rather than tabled.
    fn compact_small(&mut self) {
        let mut keep = 0;
        for slot in 0..self.hashes.len() {
            if !self.is_dead(slot) {
                self.hashes[keep] = self.hashes[slot];
                self.payloads[keep] = self.payloads[slot];
                keep += 1;
            }
        }
        self.hashes.truncate(keep);
        self.payloads.truncate(keep);
        self.hashes.shrink_to_fit();
        self.payloads.shrink_to_fit();
        self.dead = vec![0; keep.div_ceil(64).max(1)];
        self.dead_count = 0;
        self.indexed = 0;
        self.offsets = Vec::new();
        self.postings = Vec::new();
    }

    /// Calls `visit` with every live slot within `radius` of `query` and its distance, each once.
    fn for_each_within(&self, query: &PdqHash, radius: u32, mut visit: impl FnMut(usize, u32)) {
        let chunk_radius = radius / CHUNKS as u32;
        if chunk_radius > MAX_CHUNK_RADIUS || self.offsets.is_empty() {
            for slot in 0..self.hashes.len() {
                let distance = self.hashes[slot].distance(query);
                if distance <= radius && !self.is_dead(slot) {
                    visit(slot, distance);
                }
            }
            return;
        }
        let query_chunks: [u16; CHUNKS] = std::array::from_fn(|c| query.chunk16(c));
        for c in 0..CHUNKS {
            let offsets = &self.offsets[c * (BUCKETS + 1)..(c + 1) * (BUCKETS + 1)];
            let postings = if c == 0 { &[][..] } else { &self.postings[(c - 1) * self.indexed..c * self.indexed] };
            let mut check = |slot: usize| {
                // The full distance first: almost every candidate fails it, and it needs only the
                // hash, which the remaining checks would load anyway.
                let hash = &self.hashes[slot];
                let distance = hash.distance(query);
                if distance > radius || self.is_dead(slot) {
                    return;
                }
                // Report once: only from the first chunk within the chunk radius.
                if (0..c).all(|e| (hash.chunk16(e) ^ query_chunks[e]).count_ones() > chunk_radius) {
                    visit(slot, distance);
                }
            };
            let mut probe = |value: u16| {
                let (lo, hi) = (offsets[value as usize] as usize, offsets[value as usize + 1] as usize);
                if c == 0 {
                    // Table 0 is the entry array itself, sorted by chunk 0.
                    (lo..hi).for_each(&mut check);
                } else {
                    postings[lo..hi].iter().for_each(|&slot| check(slot as usize));
                }
            };
            let q = query_chunks[c];
            probe(q);
            if chunk_radius >= 1 {
                for b in 0..16 {
                    probe(q ^ (1 << b));
                }
            }
            if chunk_radius >= 2 {
                for b1 in 0..16 {
                    for b2 in b1 + 1..16 {
                        probe(q ^ (1 << b1) ^ (1 << b2));
                    }
                }
            }
        }
        for slot in self.indexed..self.hashes.len() {
            let distance = self.hashes[slot].distance(query);
            if distance <= radius && !self.is_dead(slot) {
                visit(slot, distance);
            }
        }
    }

    /// Every live entry within `radius` bits of `query`, appended to `out` (unsorted).
    pub fn query_into(&self, query: &PdqHash, radius: u32, out: &mut Vec<IndexHit>) {
        self.for_each_within(query, radius, |slot, distance| {
            out.push(IndexHit { distance, payload: self.payloads[slot] });
        });
    }

    /// Every live entry within `radius` bits of `query`, nearest first.
    pub fn query(&self, query: &PdqHash, radius: u32) -> Vec<IndexHit> {
        let mut out = Vec::new();
        self.query_into(query, radius, &mut out);
        out.sort_unstable();
        out
    }

    /// The same answer as [`HammingIndex::query`] by scanning every entry: the baseline for benches
    /// and the oracle for tests.
    pub fn brute_force(&self, query: &PdqHash, radius: u32) -> Vec<IndexHit> {
        let mut out: Vec<IndexHit> = (0..self.hashes.len())
            .filter(|&slot| !self.is_dead(slot))
            .filter_map(|slot| {
                let distance = self.hashes[slot].distance(query);
                (distance <= radius).then_some(IndexHit { distance, payload: self.payloads[slot] })
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Serializes the live entries: magic, count (u64 LE), then per entry 32 hash bytes and a 4-byte
    /// payload, little-endian. Tables are not stored; [`HammingIndex::from_bytes`] rebuilds them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.len() * 36);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        for slot in 0..self.hashes.len() {
            if self.is_dead(slot) {
                continue;
            }
            for word in self.hashes[slot].0 {
                out.extend_from_slice(&word.to_le_bytes());
            }
            out.extend_from_slice(&self.payloads[slot].to_le_bytes());
        }
        out
    }

    /// Reads [`HammingIndex::to_bytes`]'s form and builds the tables.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ImageError> {
        let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or(ImageError::BadIndex("missing magic"))?;
        let (count, rest) = rest.split_first_chunk::<8>().ok_or(ImageError::BadIndex("missing count"))?;
        let count = usize::try_from(u64::from_le_bytes(*count)).map_err(|_| ImageError::BadIndex("count too large"))?;
        if count.checked_mul(36) != Some(rest.len()) {
            return Err(ImageError::BadIndex("length does not match the entry count"));
        }
        let mut index = HammingIndex::new();
        index.hashes.reserve_exact(count);
        index.payloads.reserve_exact(count);
        for entry in rest.chunks_exact(36) {
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&entry[i * 8..i * 8 + 8]);
                u64::from_le_bytes(b)
            };
            index.hashes.push(PdqHash([word(0), word(1), word(2), word(3)]));
            index.payloads.push(u32::from_le_bytes([entry[32], entry[33], entry[34], entry[35]]));
        }
        index.dead = vec![0; count.div_ceil(64).max(1)];
        index.rebuild();
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (SplitMix64), so tests need no dependency.
    fn rng(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn flip_bits(h: PdqHash, n: usize, seed: &mut u64) -> PdqHash {
        let mut out = h;
        let mut flipped = 0;
        while flipped < n {
            let k = (rng(seed) % 256) as usize;
            if out.bit(k) == h.bit(k) {
                out.0[k / 64] ^= 1 << (k % 64);
                flipped += 1;
            }
        }
        out
    }

    #[test]
    fn radius_queries_agree_with_brute_force() {
        let mut seed = 7;
        let mut index = HammingIndex::new();
        let mut bases = Vec::new();
        for i in 0..20_000u32 {
            let h = PdqHash(std::array::from_fn(|_| rng(&mut seed)));
            index.add(h, i);
            if i % 1000 == 0 {
                bases.push(h);
            }
        }
        for (i, base) in bases.iter().enumerate() {
            index.add(flip_bits(*base, 20 + i, &mut seed), 1_000_000 + i as u32);
        }
        for radius in [0, 10, 31, 40, 60] {
            for base in &bases {
                let q = flip_bits(*base, 5, &mut seed);
                assert_eq!(index.query(&q, radius), index.brute_force(&q, radius), "radius {radius}");
            }
        }
    }

    #[test]
    fn remove_and_serialization_round_trip() {
        let mut seed = 11;
        let mut index = HammingIndex::new();
        let hashes: Vec<PdqHash> = (0..10_000).map(|_| PdqHash(std::array::from_fn(|_| rng(&mut seed)))).collect();
        for (i, h) in hashes.iter().enumerate() {
            index.add(*h, i as u32);
        }
        assert!(index.remove(&hashes[5], 5));
        assert!(!index.remove(&hashes[5], 5));
        assert_eq!(index.remove_where(|p| p == 9), 1);
        assert!(index.query(&hashes[5], 31).is_empty());
        assert_eq!(index.query(&hashes[6], 31), vec![IndexHit { distance: 0, payload: 6 }]);
        let copy = HammingIndex::from_bytes(&index.to_bytes()).expect("round trip");
        assert_eq!(copy.len(), 9_998);
        for i in [0usize, 6, 9_999] {
            assert_eq!(copy.query(&hashes[i], 31), index.query(&hashes[i], 31));
        }
        assert!(HammingIndex::from_bytes(b"SEALMIH1\x01\0\0\0\0\0\0\0").is_err());
        assert!(HammingIndex::from_bytes(b"junk").is_err());
    }
}
