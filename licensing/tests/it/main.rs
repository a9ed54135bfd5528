//! `seal-licensing`'s integration tests, one binary (one link instead of one per file). Each module
//! exercises the crate only through its public API, against something outside it.

mod tsa;
