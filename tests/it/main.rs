//! The root package's one integration-test binary (one binary keeps link time down). Each module tests one
//! capability end to end over the fixtures in `fixtures/`, through the library crates and the `seal` binary.

mod text;
