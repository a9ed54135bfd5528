//! `seal-licensing`: the pure licensing domain (not built yet).
//!
//! It will hold offers, licences, the double-entry escrow ledger, settlement, invoices and cases. It does
//! no IO: time comes in as an argument and storage lives in `seal-api`.
