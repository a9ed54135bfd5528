//! Image fingerprints and matching: perceptual hashes and a Hamming index (issue 3, not built yet).
