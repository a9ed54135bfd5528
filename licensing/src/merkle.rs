//! Merkle tree hashing and proofs as RFC 6962 / RFC 9162 define them: the arithmetic of the platform's
//! transparency log (issue 12), kept pure like the rest of this crate. Storage, checkpoints and
//! signatures come on top of it.
//!
//! - A leaf hash is SHA-256(0x00 ‖ data) and a node hash SHA-256(0x01 ‖ left ‖ right), so a leaf can
//!   never pass for a node (second-preimage resistance).
//! - The tree of n leaves splits at the largest power of two below n (RFC 9162 §2.1.1); the empty tree's
//!   hash is SHA-256 of nothing.
//! - [`verify_inclusion`] and [`verify_consistency`] check RFC 9162 proofs (§2.1.3.2, §2.1.4.2) as the
//!   special case of subtree proofs where the subtree starts at leaf 0: one verification loop for all
//!   four kinds. They refuse a proof with missing, extra or altered hashes, checked against the
//!   transparency-dev/merkle vectors in `fixtures/merkle`.
//! - [`inclusion_proof_in`] and [`consistency_proof_in`] build proofs (RFC 9162 §2.1.3.1 and §2.1.4.1)
//!   from any [`TreeHashes`]: the leaf hashes themselves (the reference), or a log's [`NodeStore`] of
//!   complete subtree hashes, which [`append`] fills one leaf at a time and [`Stored`] reads; a
//!   proptest checks that both give the same roots and proofs.
//! - Subtree proofs (draft-ietf-plants-merkle-tree-certs, "subtree inclusion" and "subtree
//!   consistency"): a range `[start, end)` of leaves whose left edge is aligned (`start` is a multiple of
//!   a power of two at least `end - start`) has a hash of its own; [`verify_subtree_inclusion`] proves a
//!   leaf is in it and [`verify_subtree_consistency`] that it is part of a tree of `size` leaves, so a
//!   batch of registrations can be proven against one checkpoint with one hash per batch.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index or sizes cannot describe a proof (an index past the tree, a shrinking tree).
    #[error("the proof's positions are impossible: {0}")]
    Positions(&'static str),
    /// The proof has the wrong number of hashes.
    #[error("the proof has the wrong length")]
    Length,
    /// The hashes do not lead to the root.
    #[error("the proof does not lead to the root")]
    Mismatch,
}

/// The hash of a leaf holding `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The root hash of a tree with these leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Where proofs get the hash of a range of leaves `[lo, hi)` (`lo < hi`): the leaves themselves, or a
/// log's stored nodes ([`NodeStore`]). `None` means the range is not there (past the tree, or a store
/// missing a node).
pub trait TreeHashes {
    /// The Merkle tree hash of leaves `[lo, hi)`.
    fn range_hash(&self, lo: u64, hi: u64) -> Option<Hash>;
}

impl TreeHashes for [Hash] {
    fn range_hash(&self, lo: u64, hi: u64) -> Option<Hash> {
        let range = self.get(usize::try_from(lo).ok()?..usize::try_from(hi).ok()?)?;
        (!range.is_empty()).then(|| root(range))
    }
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves of `tree`
/// (RFC 9162 §2.1.3.1), or `None` for an index past it.
pub fn inclusion_proof_in<T: TreeHashes + ?Sized>(tree: &T, size: u64, index: u64) -> Option<Vec<Hash>> {
    fn path<T: TreeHashes + ?Sized>(t: &T, lo: u64, hi: u64, index: u64, out: &mut Vec<Hash>) -> Option<()> {
        if hi - lo <= 1 {
            return Some(());
        }
        let k = split(usize::try_from(hi - lo).ok()?) as u64;
        if index < lo + k {
            path(t, lo, lo + k, index, out)?;
            out.push(t.range_hash(lo + k, hi)?);
        } else {
            path(t, lo + k, hi, index, out)?;
            out.push(t.range_hash(lo, lo + k)?);
        }
        Some(())
    }
    if index >= size {
        return None;
    }
    let mut out = Vec::new();
    path(tree, 0, size, index, &mut out)?;
    Some(out)
}

/// The consistency proof between the trees of the first `old_size` and the first `size` leaves of
/// `tree` (RFC 9162 §2.1.4.1), or `None` when `old_size` is past `size`.
pub fn consistency_proof_in<T: TreeHashes + ?Sized>(tree: &T, size: u64, old_size: u64) -> Option<Vec<Hash>> {
    fn subproof<T: TreeHashes + ?Sized>(
        t: &T,
        m: u64,
        (lo, hi): (u64, u64),
        complete: bool,
        out: &mut Vec<Hash>,
    ) -> Option<()> {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(t.range_hash(lo, hi)?);
            }
            return Some(());
        }
        let k = split(usize::try_from(n).ok()?) as u64;
        if m <= k {
            subproof(t, m, (lo, lo + k), complete, out)?;
            out.push(t.range_hash(lo + k, hi)?);
        } else {
            subproof(t, m - k, (lo + k, hi), false, out)?;
            out.push(t.range_hash(lo, lo + k)?);
        }
        Some(())
    }
    if old_size > size {
        return None;
    }
    let mut out = Vec::new();
    if old_size > 0 && old_size < size {
        subproof(tree, old_size, (0, size), true, &mut out)?;
    }
    Some(out)
}

/// The inclusion proof of leaf `index` in the tree of `leaves`, or `None` for an index past it.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    inclusion_proof_in(leaves, leaves.len() as u64, index as u64)
}

/// The consistency proof between the tree of the first `old_size` leaves and the tree of all of them,
/// or `None` when `old_size` is past the tree.
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Option<Vec<Hash>> {
    consistency_proof_in(leaves, leaves.len() as u64, old_size as u64)
}

/// A log's storage of complete subtree hashes: node `(level, index)` is the hash of leaves
/// `[index << level, (index + 1) << level)`, written once when its last leaf arrives and never changed.
/// Appending writes one leaf node and on average one inner node, so a log of 10M leaves appends at
/// the speed of its store; a root or proof reads O(log² n) nodes.
pub trait NodeStore {
    /// A stored node.
    fn node(&self, level: u32, index: u64) -> Option<Hash>;
    /// Stores a node.
    fn put_node(&mut self, level: u32, index: u64, hash: Hash);
}

/// Appends leaf number `size` (the log's current size) to `store`, completing the parents it closes.
pub fn append<S: NodeStore + ?Sized>(store: &mut S, size: u64, leaf: Hash) {
    store.put_node(0, size, leaf);
    let (mut level, mut index, mut hash) = (0u32, size, leaf);
    while index & 1 == 1 {
        let Some(left) = store.node(level, index - 1) else { return };
        hash = node_hash(&left, &hash);
        level += 1;
        index >>= 1;
        store.put_node(level, index, hash);
    }
}

/// Proofs over a [`NodeStore`]: complete aligned ranges are read, the rest computed from them.
pub struct Stored<'a, S: ?Sized>(pub &'a S);

impl<S: NodeStore + ?Sized> TreeHashes for Stored<'_, S> {
    fn range_hash(&self, lo: u64, hi: u64) -> Option<Hash> {
        let n = hi.checked_sub(lo).filter(|n| *n > 0)?;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            return self.0.node(n.trailing_zeros(), lo / n);
        }
        let k = split(usize::try_from(n).ok()?) as u64;
        Some(node_hash(&self.range_hash(lo, lo + k)?, &self.range_hash(lo + k, hi)?))
    }
}

/// The root of the first `size` leaves of a stored log (the empty tree's hash for 0).
pub fn stored_root<S: NodeStore + ?Sized>(store: &S, size: u64) -> Option<Hash> {
    if size == 0 {
        return Some(Sha256::digest([]).into());
    }
    Stored(store).range_hash(0, size)
}

/// A [`NodeStore`] in memory: tests, benchmarks and small logs.
#[derive(Debug, Clone, Default)]
pub struct MemoryNodes {
    levels: Vec<Vec<Hash>>,
}

impl NodeStore for MemoryNodes {
    fn node(&self, level: u32, index: u64) -> Option<Hash> {
        self.levels.get(level as usize)?.get(usize::try_from(index).ok()?).copied()
    }

    fn put_node(&mut self, level: u32, index: u64, hash: Hash) {
        let level = level as usize;
        if self.levels.len() <= level {
            self.levels.resize(level + 1, Vec::new());
        }
        let nodes = &mut self.levels[level];
        match usize::try_from(index) {
            Ok(i) if i == nodes.len() => nodes.push(hash),
            Ok(i) if i < nodes.len() => nodes[i] = hash,
            // Nodes arrive in order; a gap would be a caller's bug, and is not stored.
            _ => {}
        }
    }
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2: the whole tree is the subtree `[0, size)`).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    verify_subtree_inclusion(index, 0, size, leaf, proof, root)
}

/// Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2` leaves
/// with root `root2` (RFC 9162 §2.1.4.2: the old tree is the subtree `[0, size1)` of the new one).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size1 == 0 {
        // Every tree extends the empty one: a "proof" of it proves nothing, and is refused rather than
        // mistaken for a check (as transparency-dev/merkle does).
        return Err(ProofError::Positions("consistency with the empty tree proves nothing"));
    }
    verify_subtree_consistency(size2, 0, size1, proof, root1, root2)
}

/// Whether `[start, end)` is a subtree: non-empty, and no wider than the largest power of two that
/// divides `start` (its left edge is a node boundary at its own height).
pub fn is_subtree(start: u64, end: u64) -> bool {
    start < end && (start == 0 || end - start <= start & start.wrapping_neg())
}

/// Checks that the subtree `[start, end)` with hash `subtree_hash` is part of the tree of `size` leaves
/// whose root is `root`.
pub fn verify_subtree_consistency(
    size: u64,
    start: u64,
    end: u64,
    proof: &[Hash],
    subtree_hash: &Hash,
    root: &Hash,
) -> Result<(), ProofError> {
    if start == end && end <= size {
        // The empty range: its hash is the empty tree's, and there is nothing to prove about it.
        let empty: Hash = Sha256::digest([]).into();
        return match (proof.is_empty(), subtree_hash == &empty) {
            (true, true) => Ok(()),
            (false, _) => Err(ProofError::Length),
            (true, false) => Err(ProofError::Mismatch),
        };
    }
    if !is_subtree(start, end) || size < end {
        return Err(ProofError::Positions("not a subtree of this tree"));
    }
    // Paths to the subtree's first and last leaves and to the tree's last leaf; each level up consumes
    // one bit of each.
    let (mut f, mut s, mut t) = (start, end - 1, size - 1);
    let up = |f: &mut u64, s: &mut u64, t: &mut u64| {
        *f >>= 1;
        *s >>= 1;
        *t >>= 1;
    };
    // Start where the proof starts: at the subtree's own root when the tree ends with it, else at the
    // highest complete node on the subtree's right edge.
    if s == t {
        while f != s {
            up(&mut f, &mut s, &mut t);
        }
    } else {
        while f != s && s & 1 == 1 {
            up(&mut f, &mut s, &mut t);
        }
    }
    let mut rest = proof.iter();
    let (mut fr, mut sr) = if f == s {
        (*subtree_hash, *subtree_hash)
    } else {
        let first = rest.next().ok_or(ProofError::Length)?;
        (*first, *first)
    };
    for p in rest {
        if t == 0 {
            return Err(ProofError::Length);
        }
        if s & 1 == 1 || s == t {
            if f < s {
                fr = node_hash(p, &fr);
            }
            sr = node_hash(p, &sr);
            while s & 1 == 0 && s != 0 {
                up(&mut f, &mut s, &mut t);
            }
        } else {
            sr = node_hash(&sr, p);
        }
        up(&mut f, &mut s, &mut t);
    }
    if t != 0 {
        return Err(ProofError::Length);
    }
    if &fr == subtree_hash && &sr == root {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// Checks that `leaf` is leaf `index` of the subtree `[start, end)` whose hash is `subtree_hash`.
pub fn verify_subtree_inclusion(
    index: u64,
    start: u64,
    end: u64,
    leaf: &Hash,
    proof: &[Hash],
    subtree_hash: &Hash,
) -> Result<(), ProofError> {
    if !is_subtree(start, end) || index < start || index >= end {
        return Err(ProofError::Positions("the leaf is not in the subtree"));
    }
    // The subtree is a tree of its own; the leaf is a one-leaf subtree of it.
    let at = index - start;
    verify_subtree_consistency(end - start, at, at + 1, proof, leaf, subtree_hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("the vectors folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }

    fn vectors(kind: &str) -> Vec<(PathBuf, serde_json::Value)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/merkle").join(kind);
        let mut paths = Vec::new();
        files(&root, &mut paths);
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                let v = serde_json::from_str(&std::fs::read_to_string(&p).expect("readable")).expect("JSON");
                (p, v)
            })
            .collect()
    }

    /// A base64 hash, or `None` when it is not 32 bytes: the vectors corrupt hashes by cutting or
    /// extending them, and this API's typed hashes refuse those before any proof is checked.
    fn hash(v: &serde_json::Value) -> Option<Hash> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default()).ok()?;
        bytes.try_into().ok()
    }

    /// A root that only has to compare equal or not (some consistency vectors use short placeholders):
    /// a value that is not 32 bytes becomes a digest of it that no proof reaches.
    fn root_value(v: &serde_json::Value) -> Hash {
        hash(v).unwrap_or_else(|| {
            Sha256::new().chain_update(b"placeholder").chain_update(v.as_str().unwrap_or_default()).finalize().into()
        })
    }

    fn proof(v: &serde_json::Value) -> Option<Vec<Hash>> {
        v.as_array().map_or(Some(Vec::new()), |a| a.iter().map(hash).collect())
    }

    fn int(v: &serde_json::Value) -> u64 {
        v.as_u64().unwrap_or(u64::MAX)
    }

    #[test]
    fn inclusion_vectors() {
        let cases = vectors("inclusion");
        assert!(cases.len() >= 90, "{} inclusion vectors", cases.len());
        for (path, v) in cases {
            let want_err = v["wantErr"].as_bool().unwrap_or(false);
            let got = match (hash(&v["leafHash"]), hash(&v["root"]), proof(&v["proof"])) {
                (Some(leaf), Some(root), Some(proof)) => {
                    verify_inclusion(int(&v["leafIdx"]), int(&v["treeSize"]), &leaf, &proof, &root)
                }
                _ => Err(ProofError::Mismatch),
            };
            assert_eq!(got.is_err(), want_err, "{}: {got:?}", path.display());
        }
    }

    #[test]
    fn consistency_vectors() {
        let cases = vectors("consistency");
        assert!(cases.len() >= 90, "{} consistency vectors", cases.len());
        for (path, v) in cases {
            let want_err = v["wantErr"].as_bool().unwrap_or(false);
            let (r1, r2) = (root_value(&v["root1"]), root_value(&v["root2"]));
            let got = match proof(&v["proof"]) {
                Some(proof) => verify_consistency(int(&v["size1"]), int(&v["size2"]), &proof, &r1, &r2),
                None => Err(ProofError::Mismatch),
            };
            assert_eq!(got.is_err(), want_err, "{}: {got:?}", path.display());
        }
    }

    #[test]
    fn subtree_inclusion_vectors() {
        let cases = vectors("subtreeinclusion");
        assert!(cases.len() >= 200, "{} subtree inclusion vectors", cases.len());
        for (path, v) in cases {
            let want_err = v["wantErr"].as_bool().unwrap_or(false);
            let got = match (hash(&v["leafHash"]), hash(&v["root"]), proof(&v["proof"])) {
                (Some(leaf), Some(root), Some(proof)) => {
                    verify_subtree_inclusion(int(&v["leafIdx"]), int(&v["start"]), int(&v["end"]), &leaf, &proof, &root)
                }
                _ => Err(ProofError::Mismatch),
            };
            assert_eq!(got.is_err(), want_err, "{}: {got:?}", path.display());
        }
    }

    #[test]
    fn subtree_consistency_vectors() {
        let cases = vectors("subtreeconsistency");
        assert!(cases.len() >= 110, "{} subtree consistency vectors", cases.len());
        for (path, v) in cases {
            let want_err = v["wantErr"].as_bool().unwrap_or(false);
            let (r1, r2) = (root_value(&v["root1"]), root_value(&v["root2"]));
            let got = match proof(&v["proof"]) {
                Some(proof) => {
                    verify_subtree_consistency(int(&v["size"]), int(&v["start"]), int(&v["end"]), &proof, &r1, &r2)
                }
                None => Err(ProofError::Mismatch),
            };
            assert_eq!(got.is_err(), want_err, "{}: {got:?}", path.display());
        }
    }

    proptest! {
        /// A stored log answers exactly as the leaves do: roots of every prefix, inclusion and
        /// consistency proofs.
        #[test]
        fn stored_logs_prove_what_the_leaves_prove(n in 1usize..90, m_seed in any::<u64>(), i_seed in any::<u64>()) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&(i as u64).to_be_bytes())).collect();
            let mut nodes = MemoryNodes::default();
            for (i, leaf) in leaves.iter().enumerate() {
                append(&mut nodes, i as u64, *leaf);
                prop_assert_eq!(stored_root(&nodes, i as u64 + 1), Some(root(&leaves[..=i])));
            }
            let size = n as u64;
            let m = 1 + m_seed % size;
            let i = i_seed % size;
            prop_assert_eq!(inclusion_proof_in(&Stored(&nodes), size, i), inclusion_proof(&leaves, i as usize));
            prop_assert_eq!(consistency_proof_in(&Stored(&nodes), size, m), consistency_proof(&leaves, m as usize));
            // A proof for an older checkpoint, from the same store.
            prop_assert_eq!(
                inclusion_proof_in(&Stored(&nodes), m, i % m),
                inclusion_proof(&leaves[..m as usize], (i % m) as usize)
            );
        }

        /// Every earlier leaf stays provable in every later tree, and every earlier tree is consistent
        /// with every later one; a changed hash breaks both.
        #[test]
        fn proofs_hold_as_the_tree_grows(n in 1usize..70, m_seed in any::<usize>(), i_seed in any::<usize>()) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
            let m = 1 + m_seed % n;
            let old_root = root(&leaves[..m]);
            let new_root = root(&leaves);
            let c = consistency_proof(&leaves, m).expect("m is inside the tree");
            prop_assert_eq!(verify_consistency(m as u64, n as u64, &c, &old_root, &new_root), Ok(()));
            let i = i_seed % n;
            let p = inclusion_proof(&leaves, i).expect("i is inside the tree");
            prop_assert_eq!(verify_inclusion(i as u64, n as u64, &leaves[i], &p, &new_root), Ok(()));
            if let Some(first) = p.first() {
                let mut bad = p.clone();
                bad[0][0] ^= 1;
                prop_assert!(verify_inclusion(i as u64, n as u64, &leaves[i], &bad, &new_root).is_err());
                prop_assert!(first != &new_root);
            }
            if 0 < m && m < n {
                let mut bad = c.clone();
                bad[0][31] ^= 0x80;
                prop_assert!(verify_consistency(m as u64, n as u64, &bad, &old_root, &new_root).is_err());
            }
        }
    }
}
