//! The inverted index of registered works: fingerprint key → postings.
//!
//! Layout, chosen for memory (the budget is 4 KiB per registered 1,000-word work) and for queries that
//! stay fast from 10k to 1M works:
//! - a **base** array of 16-byte postings sorted by key, with a directory from the key's top bits to the
//!   first posting of that bucket, so a lookup is two loads and a short scan;
//! - a **delta** hash map that takes new works cheaply and is merged into the base when it reaches a
//!   quarter of it (amortised O(1) per posting);
//! - removal marks the work dead; dead postings are filtered at query time and dropped by compaction once
//!   they are a quarter of the index.
//!
//! Keys are the top 32 bits of a k-gram hash. At 200 million postings a random key finds an unrelated
//! posting about 5% of the time; such stray anchors never form the chains that verification demands.

use super::fingerprint::{grams, simhash, winnow, FingerprintConfig};
use super::tokens::tokenize;
use super::TextError;
use crate::bytes::{ByteReader, Malformed};
use std::collections::HashMap;
use xxhash_rust::xxh3::xxh3_64;

/// The caller's identifier for a registered work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkId(pub u64);

/// One selected fingerprint of one work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Posting {
    /// Top 32 bits of the k-gram hash.
    pub key: u32,
    /// The work's slot in [`TextIndex::works`].
    pub slot: u32,
    /// Index of the k-gram's first token in the work.
    pub token: u32,
    /// Character offset of the k-gram in the work (low 24 bits) and its length in characters (high 8 bits),
    /// both saturating, so that hits can point into the work's text without the index storing it.
    pub span: u32,
}

impl Posting {
    pub(crate) fn char_start(&self) -> u32 {
        self.span & 0x00ff_ffff
    }
    pub(crate) fn char_end(&self) -> u32 {
        self.char_start() + (self.span >> 24)
    }
}

/// What the index keeps about each work besides its postings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkMeta {
    pub id: WorkId,
    /// Tokens in the work's text (the denominator of work coverage).
    pub tokens: u32,
    /// Fingerprints selected for the work.
    pub fingerprints: u32,
    /// SimHash over all of the work's k-grams.
    pub simhash: u64,
    pub alive: bool,
}

/// What registering a work produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    /// Tokens in the work's text.
    pub tokens: u32,
    /// Fingerprints the index keeps for it.
    pub fingerprints: u32,
    /// The work's SimHash.
    pub simhash: u64,
}

/// Registered works, searchable by fingerprint. See the module documentation for the layout.
#[derive(Debug, Clone)]
pub struct TextIndex {
    config: FingerprintConfig,
    pub(crate) works: Vec<WorkMeta>,
    slots: HashMap<WorkId, u32>,
    base: Vec<Posting>,
    directory: Vec<u32>,
    directory_shift: u32,
    delta: HashMap<u32, Vec<Posting>>,
    delta_len: usize,
    dead_postings: usize,
}

/// Postings kept in the delta before it is merged, whatever the base's size.
const MIN_DELTA: usize = 1 << 16;
const MAGIC: &[u8; 8] = b"SEALTXT\0";
const FORMAT_VERSION: u32 = 1;

impl Default for TextIndex {
    fn default() -> Self {
        Self::new(FingerprintConfig::default())
    }
}

impl TextIndex {
    /// An empty index that fingerprints with `config`.
    pub fn new(config: FingerprintConfig) -> Self {
        let config = FingerprintConfig { k: config.k.clamp(1, 64), window: config.window.clamp(1, 1024) };
        let mut index = Self {
            config,
            works: Vec::new(),
            slots: HashMap::new(),
            base: Vec::new(),
            directory: Vec::new(),
            directory_shift: 32,
            delta: HashMap::new(),
            delta_len: 0,
            dead_postings: 0,
        };
        index.set_base(Vec::new());
        index
    }

    /// The fingerprinting parameters; queries are cut the same way.
    pub fn config(&self) -> FingerprintConfig {
        self.config
    }

    /// Number of registered (live) works.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no work is registered.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether `id` is registered.
    pub fn contains(&self, id: WorkId) -> bool {
        self.slots.contains_key(&id)
    }

    /// The registered (live) ids, in no particular order: what a caller compares against its own records
    /// to find works it must add or remove.
    pub fn ids(&self) -> impl Iterator<Item = WorkId> + '_ {
        self.slots.keys().copied()
    }

    /// Registers the text of a work (already extracted: see [`super::extract`]). Registering an id again
    /// replaces the earlier text. Text without a single letter, digit or CJK character is refused.
    pub fn add(&mut self, id: WorkId, text: &str) -> Result<Registered, TextError> {
        let tokens = tokenize(text);
        if tokens.is_empty() {
            return Err(TextError::NoText);
        }
        let token_count = u32::try_from(tokens.len()).map_err(|_| TextError::TooLong)?;
        self.remove(id);
        let slot = u32::try_from(self.works.len()).map_err(|_| TextError::TooLong)?;
        let all = grams(&tokens, self.config.k);
        let selected = winnow(&all, self.config.window);
        let last_token = tokens.len() - 1;
        for gram in &selected {
            let first = &tokens[gram.token as usize];
            let last = &tokens[(gram.token as usize + self.config.k as usize - 1).min(last_token)];
            let start = first.start.min(0x00ff_ffff);
            let len = (last.end - first.start).min(0xff);
            let posting = Posting { key: (gram.hash >> 32) as u32, slot, token: gram.token, span: start | len << 24 };
            self.delta.entry(posting.key).or_default().push(posting);
        }
        self.delta_len += selected.len();
        let registered = Registered {
            tokens: token_count,
            fingerprints: selected.len() as u32,
            simhash: simhash(all.iter().map(|g| g.hash)),
        };
        self.works.push(WorkMeta {
            id,
            tokens: registered.tokens,
            fingerprints: registered.fingerprints,
            simhash: registered.simhash,
            alive: true,
        });
        self.slots.insert(id, slot);
        if self.delta_len >= MIN_DELTA.max(self.base.len() / 4) {
            self.merge();
        }
        Ok(registered)
    }

    /// Unregisters a work. Returns whether it was registered.
    pub fn remove(&mut self, id: WorkId) -> bool {
        let Some(slot) = self.slots.remove(&id) else {
            return false;
        };
        let meta = &mut self.works[slot as usize];
        meta.alive = false;
        self.dead_postings += meta.fingerprints as usize;
        if self.dead_postings > 1024 && self.dead_postings * 4 > self.base.len() + self.delta_len {
            self.compact();
        }
        true
    }

    /// Merges the delta into the base and drops dead works, renumbering slots densely. Queries are correct
    /// without it; call it before measuring memory or serializing a final snapshot.
    pub fn compact(&mut self) {
        let mut renumber = vec![u32::MAX; self.works.len()];
        let mut works = Vec::with_capacity(self.slots.len());
        for (old, meta) in self.works.iter().enumerate() {
            if meta.alive {
                renumber[old] = works.len() as u32;
                works.push(*meta);
            }
        }
        let mut postings = std::mem::take(&mut self.base);
        postings.extend(self.delta.drain().flat_map(|(_, list)| list));
        postings.retain_mut(|p| {
            p.slot = renumber[p.slot as usize];
            p.slot != u32::MAX
        });
        self.slots = works.iter().enumerate().map(|(slot, meta)| (meta.id, slot as u32)).collect();
        self.works = works;
        self.dead_postings = 0;
        self.delta_len = 0;
        self.set_base(postings);
    }

    fn merge(&mut self) {
        let mut postings = std::mem::take(&mut self.base);
        postings.extend(self.delta.drain().flat_map(|(_, list)| list));
        self.delta_len = 0;
        self.set_base(postings);
    }

    /// Sorts the postings and rebuilds the directory: one bucket per four postings on average.
    fn set_base(&mut self, mut postings: Vec<Posting>) {
        postings.sort_unstable_by_key(|p| (p.key, p.slot, p.token));
        let bits = (usize::BITS - (postings.len() / 4).max(2).leading_zeros()).clamp(1, 28);
        let shift = 32 - bits;
        let mut directory = vec![0u32; (1usize << bits) + 1];
        let mut at = 0usize;
        for (bucket, entry) in directory.iter_mut().enumerate() {
            while at < postings.len() && ((postings[at].key >> shift) as usize) < bucket {
                at += 1;
            }
            *entry = at as u32;
        }
        postings.shrink_to_fit();
        self.base = postings;
        self.directory = directory;
        self.directory_shift = shift;
    }

    /// Calls `visit` with every live posting under `key`, unless there are more than `limit` postings
    /// (a stock phrase shared by many works says nothing about any one of them). Returns whether it visited.
    pub(crate) fn postings(&self, key: u32, limit: usize, mut visit: impl FnMut(&Posting)) -> bool {
        let bucket = (key >> self.directory_shift) as usize;
        let (from, to) = (self.directory[bucket] as usize, self.directory[bucket + 1] as usize);
        let in_bucket = &self.base[from..to];
        let first = in_bucket.partition_point(|p| p.key < key);
        let run = in_bucket[first..].iter().take_while(|p| p.key == key).count();
        let fresh = match self.delta_len {
            0 => &[][..],
            _ => self.delta.get(&key).map_or(&[][..], Vec::as_slice),
        };
        if run + fresh.len() > limit || run + fresh.len() == 0 {
            return false;
        }
        for posting in in_bucket[first..first + run].iter().chain(fresh) {
            if self.works[posting.slot as usize].alive {
                visit(posting);
            }
        }
        true
    }

    /// Heap bytes held by the index (postings, directory, work table and id map), for capacity planning.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let delta: usize = self.delta.values().map(|v| v.capacity() * size_of::<Posting>() + 48).sum();
        self.base.capacity() * size_of::<Posting>()
            + self.directory.capacity() * 4
            + self.works.capacity() * size_of::<WorkMeta>()
            + self.slots.capacity() * (size_of::<(WorkId, u32)>() + 1)
            + delta
    }

    /// Serializes the live works and their postings. The format is versioned and checksummed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut copy = self.clone();
        copy.compact();
        let mut out = Vec::with_capacity(32 + copy.works.len() * 24 + copy.base.len() * 16);
        out.extend_from_slice(MAGIC);
        for value in [FORMAT_VERSION, copy.config.k, copy.config.window] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&(copy.works.len() as u64).to_le_bytes());
        for meta in &copy.works {
            out.extend_from_slice(&meta.id.0.to_le_bytes());
            out.extend_from_slice(&meta.tokens.to_le_bytes());
            out.extend_from_slice(&meta.fingerprints.to_le_bytes());
            out.extend_from_slice(&meta.simhash.to_le_bytes());
        }
        out.extend_from_slice(&(copy.base.len() as u64).to_le_bytes());
        for p in &copy.base {
            for value in [p.key, p.slot, p.token, p.span] {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        let checksum = xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Reads an index written by [`TextIndex::to_bytes`]. Any truncation, corruption or inconsistency
    /// gives [`TextError::CorruptIndex`]; nothing panics on hostile bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TextError> {
        let corrupt = TextError::CorruptIndex;
        if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(corrupt("not a text index"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if xxh3_64(body) != u64::from_le_bytes(sum.try_into().map_err(|_| corrupt("checksum"))?) {
            return Err(corrupt("checksum mismatch"));
        }
        let mut reader = ByteReader::new(body, MAGIC.len());
        if reader.u32()? != FORMAT_VERSION {
            return Err(corrupt("unsupported format version"));
        }
        let config = FingerprintConfig { k: reader.u32()?, window: reader.u32()? };
        let mut index = TextIndex::new(config);
        if index.config != config {
            return Err(corrupt("fingerprint parameters out of range"));
        }
        let work_count = reader.count(24)?;
        for slot in 0..work_count {
            let meta = WorkMeta {
                id: WorkId(reader.u64()?),
                tokens: reader.u32()?,
                fingerprints: reader.u32()?,
                simhash: reader.u64()?,
                alive: true,
            };
            if index.slots.insert(meta.id, slot as u32).is_some() {
                return Err(corrupt("duplicate work id"));
            }
            index.works.push(meta);
        }
        let posting_count = reader.count(16)?;
        let mut postings = Vec::with_capacity(posting_count);
        let mut per_work = vec![0u32; work_count];
        for _ in 0..posting_count {
            let p = Posting { key: reader.u32()?, slot: reader.u32()?, token: reader.u32()?, span: reader.u32()? };
            let meta = index.works.get(p.slot as usize).ok_or(corrupt("posting for an unknown work"))?;
            if p.token >= meta.tokens {
                return Err(corrupt("posting beyond its work"));
            }
            per_work[p.slot as usize] += 1;
            postings.push(p);
        }
        if !reader.is_done() {
            return Err(corrupt("trailing bytes"));
        }
        if per_work.iter().zip(&index.works).any(|(n, meta)| *n != meta.fingerprints) {
            return Err(corrupt("fingerprint counts disagree with postings"));
        }
        index.set_base(postings);
        Ok(index)
    }
}

impl From<Malformed> for TextError {
    fn from(malformed: Malformed) -> Self {
        TextError::CorruptIndex(malformed.0)
    }
}
